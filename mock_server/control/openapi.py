"""The control plane's operations (``/_mock``) for the OpenAPI document: what is not a schema.

Bodies and answers are declared once, on the routes, with the schemas of ``schemas``
(``mock_server.wire``); ``mock_server.apidoc`` joins them to these operations.
"""

from __future__ import annotations

from ..errors import ControlError
from ..openapi_parts import json_content as _json, query
from ..queryargs import MAX_SAFE

NAME = "control"
BAD_REQUEST = {"400": {"description": "Invalid parameter or body", **_json(ControlError.schema)}}


def control_error(description: str) -> dict:
    """A response in the control plane's error envelope."""
    return {"description": description, **_json(ControlError.schema)}


def operations(settings: dict, providers) -> dict[str, dict[str, dict]]:
    limits = settings.inspection
    names = [provider.name for provider in providers]
    records = " or ".join(provider.record_phrase for provider in providers)
    tags = ["Control plane"]

    return {
        "/_mock/health": {"get": {"tags": tags, "summary": "Liveness", "operationId": "mockHealth"}},
        "/_mock/reset": {"post": {"tags": tags, "summary": "Reset the sandbox: drop its campaigns, tasks, messages "
                                                            "and slot ledgers", "operationId": "mockReset",
                                  "responses": {**BAD_REQUEST}}},
        "/_mock/sandboxes": {"get": {"tags": tags, "summary": "Every sandbox with its clock and record counts",
                                     "operationId": "mockSandboxes"}},
        "/_mock/sandboxes/{name}": {"delete": {
            "tags": tags, "summary": "Drop a sandbox and everything in it", "operationId": "mockDropSandbox",
            "parameters": [{"in": "path", "name": "name", "required": True, "schema": {"type": "string"}}],
            "responses": {**BAD_REQUEST, "404": control_error("No such sandbox")}}},
        "/_mock/clock": {
            "get": {"tags": tags, "summary": "The mock clock", "operationId": "mockGetClock"},
            "post": {"tags": tags, "summary": "Set, advance or freeze the clock", "operationId": "mockSetClock",
                     "responses": {**BAD_REQUEST}},
        },
        "/_mock/profile": {
            "get": {"tags": tags, "summary": "The sandbox's traffic profile (every field resolved)",
                    "operationId": "mockGetProfile"},
            "put": {"tags": tags, "summary": "Set the sandbox's traffic profile: a known name or an inline profile",
                    "operationId": "mockSetProfile", "responses": {**BAD_REQUEST}},
        },
        "/_mock/messages/curve": {"get": {
            "tags": tags, "summary": "One campaign's or task's statuses over mock time", "operationId": "mockCurve",
            "parameters": [
                query("campaign", {"type": "string"}, records),
                query("task", {"type": "string"}, "alias of campaign"),
                query("provider", {"type": "string", "enum": names}, "only this provider"),
                query("step", {"type": "string"}, "ISO 8601 duration between points (default: the smallest nice "
                                                  "step giving at most 2,000 points)"),
            ],
            "responses": {**BAD_REQUEST, "404": control_error("No such campaign or task")},
        }},
        "/_mock/messages": {"get": {
            "tags": tags, "summary": "Messages the mock has sent", "operationId": "mockMessages",
            "parameters": [
                query("provider", {"type": "string", "enum": names}, "only this provider"),
                query("campaign", {"type": "string"}, records),
                query("task", {"type": "string"}, "alias of campaign"),
                query("status", {"type": "string"}, "provider status name (any case)"),
                query("offset", {"type": "integer", "minimum": 0, "maximum": MAX_SAFE}, "skip this many"),
                query("limit", {"type": "integer", "minimum": 1, "maximum": limits.max_limit}, "page size"),
                query("wait_for", {"type": "integer", "minimum": 0, "maximum": MAX_SAFE}, "hold until this many match"),
                query("timeout", {"type": "number", "minimum": 0, "maximum": limits.max_wait_seconds},
                      "seconds to hold at most (wait_for)"),
            ],
            "responses": {**BAD_REQUEST},
        }},
        "/_mock/metrics": {"get": {
            "tags": tags, "summary": "Prometheus metrics (text exposition; summed over the processes of --workers N)",
            "operationId": "mockMetrics",
            "responses": {"200": {"description": "Prometheus text format 1.0.0",
                                  "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
        "/_mock/openapi.json": {"get": {"tags": tags, "summary": "This document", "operationId": "mockOpenapi",
                                        "responses": {"200": {"description": "OpenAPI 3.1",
                                                              **_json({"type": "object"})}}}},
    }
