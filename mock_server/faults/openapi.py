"""The operations of ``/_mock/faults`` and ``/_mock/requests`` for the OpenAPI document (read by
``mock_server.apidoc``): what is not a schema. The rule the route loads and the answers it dumps
are declared on the routes (``schemas``)."""

from __future__ import annotations

from ..control.openapi import control_error as _error
from ..openapi_parts import query
from ..queryargs import MAX_SAFE

NAME = "faults"


def operations(settings: dict, providers) -> dict[str, dict[str, dict]]:
    names = [provider.name for provider in providers]
    tags = ["Control plane"]
    limits = settings.inspection

    rule_id = [{"in": "path", "name": "rule_id", "required": True, "schema": {"type": "string"}}]
    return {
        "/_mock/faults": {
            "post": {"tags": tags, "summary": "Add a fault rule", "operationId": "mockAddFault",
                     "responses": {"400": _error("Invalid rule (the message names the field and its range)"),
                                   "409": _error("The sandbox has faults.max_rules rules already")}},
            "get": {"tags": tags, "summary": "The sandbox's fault rules, in the order they are tried",
                    "operationId": "mockFaults"},
            "delete": {"tags": tags, "summary": "Delete every fault rule", "operationId": "mockClearFaults"},
        },
        "/_mock/faults/{rule_id}": {
            "get": {"tags": tags, "summary": "One fault rule with its counters", "operationId": "mockFault",
                    "parameters": rule_id, "responses": {"404": _error("No such rule")}},
            "delete": {"tags": tags, "summary": "Delete a fault rule", "operationId": "mockDeleteFault",
                       "parameters": rule_id, "responses": {"404": _error("No such rule")}},
        },
        "/_mock/requests": {
            "get": {"tags": tags, "summary": "The request journal, oldest first", "operationId": "mockRequests",
                    "parameters": [
                        query("provider", {"type": "string", "enum": names}, "provider"),
                        query("method", {"type": "string"}, "HTTP method"),
                        query("path", {"type": "string"}, "exact path or glob"),
                        query("status", {"type": "string"}, "503, 5xx or dropped"),
                        query("fault", {"type": "string"}, "fault rule id"),
                        query("since", {"type": "string", "format": "date-time"}, "received at or after (mock clock)"),
                        query("limit", {"type": "integer", "minimum": 1, "maximum": limits.max_limit}, "page size"),
                        query("page", {"type": "integer", "minimum": 1, "maximum": MAX_SAFE}, "page, from 1"),
                        query("wait_for", {"type": "integer", "minimum": 0, "maximum": MAX_SAFE}, "hold until this many match"),
                        query("timeout", {"type": "number", "minimum": 0, "maximum": limits.max_wait_seconds},
                              "longest hold, seconds")],
                    "responses": {"400": _error("Bad filter")}},
            "delete": {"tags": tags, "summary": "Clear the journal", "operationId": "mockClearRequests"},
        },
    }
