"""The OpenAPI description of ``/_mock/faults`` and ``/_mock/requests`` (read by ``mock_server.apidoc``).

The rule schema is the one the route loads with (:func:`~.rules.rule_schema`); the answers are
described here.
"""

from __future__ import annotations

from marshmallow import Schema, fields

from ..control.openapi import control_error as _error
from ..openapi_parts import json_content as _json, query
from ..queryargs import MAX_SAFE
from .rules import rule_schema

NAME = "faults"


class StoredRuleSchema(Schema):
    """A rule as stored: as given, plus its id, instants and counters."""

    id = fields.String(required=True)
    match = fields.Dict(required=True)
    action = fields.Dict(required=True)
    times = fields.Integer(required=True, allow_none=True)
    after = fields.Integer(required=True)
    probability = fields.Float(required=True)
    expiresAfter = fields.String(required=True, allow_none=True)
    createdAt = fields.DateTime(required=True)
    expiresAt = fields.DateTime(required=True, allow_none=True)
    matched = fields.Integer(required=True, metadata={"description": "requests the rule's match selected"})
    fired = fields.Integer(required=True, metadata={"description": "requests it acted on"})
    lastFired = fields.Integer(required=True, allow_none=True)


class RuleListSchema(Schema):
    faults = fields.List(fields.Nested(StoredRuleSchema), required=True)
    total = fields.Integer(required=True)


class DeletedRuleSchema(Schema):
    deleted = fields.String(required=True)


class DeletedRulesSchema(Schema):
    deleted = fields.Integer(required=True)


def journal_schemas(providers) -> tuple[type[Schema], type[Schema]]:
    """One journal entry (plus the created record's id field of each provider) and a page of them."""
    declared = {
        "id": fields.String(required=True),
        "receivedAt": fields.DateTime(required=True),
        "receivedAtReal": fields.DateTime(required=True),
        "provider": fields.String(required=True, allow_none=True),
        "method": fields.String(required=True),
        "path": fields.String(required=True),
        "query": fields.Dict(required=True),
        "headers": fields.Dict(keys=fields.String(), values=fields.String(), required=True),
        "body": fields.Dict(required=True, allow_none=True,
                            metadata={"description": "json, or form + files [{field, name, bytes, rows, sha256}], "
                                                     "or text; cut at 64 KiB"}),
        "response": fields.Dict(required=True, metadata={"description": "status (null when dropped), headers, body"}),
        "durationMs": fields.Float(required=True),
        "latencyMs": fields.Float(required=True),
        "fault": fields.String(required=True, allow_none=True),
    }
    for provider in providers:
        if provider.journal_record:
            key, kind = provider.journal_record
            declared.setdefault(key, kind())
    entry = Schema.from_dict(declared, name="JournalEntrySchema")
    entry.__doc__ = "One request as received (credentials masked) and what it was answered."
    page = Schema.from_dict({
        "requests": fields.List(fields.Nested(entry), required=True),
        "total": fields.Integer(required=True),
        "page": fields.Integer(required=True),
        "limit": fields.Integer(required=True),
        "dropped": fields.Integer(required=True, metadata={"description": "entries dropped by retention"}),
        "droppedBy": fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                                 metadata={"description": "of those, how many for each setting: journal.max_entries, "
                                                          "journal.max_bytes"}),
        "bytes": fields.Integer(required=True, metadata={"description": "bytes the kept entries take (as stored)"}),
        "lost": fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                            metadata={"description": "journal entries and access-log lines of this sandbox this "
                                                     "process could not write (the answers stood): {journal, accessLog}"}),
    }, name="JournalPageSchema")
    return entry, page


class ClearedSchema(Schema):
    status = fields.String(required=True)


def operations(settings: dict, providers) -> dict[str, dict[str, dict]]:
    names = [provider.name for provider in providers]
    RuleSchema = rule_schema(names)
    _, JournalPageSchema = journal_schemas(providers)
    tags = ["Control plane"]
    limits = settings.inspection

    rule_id = [{"in": "path", "name": "rule_id", "required": True, "schema": {"type": "string"}}]
    return {
        "/_mock/faults": {
            "post": {"tags": tags, "summary": "Add a fault rule", "operationId": "mockAddFault",
                     "requestBody": {"required": True, **_json(RuleSchema)},
                     "responses": {"201": {"description": "The rule", **_json(StoredRuleSchema)},
                                   "400": _error("Invalid rule (the message names the field and its range)"),
                                   "409": _error("The sandbox has faults.max_rules rules already")}},
            "get": {"tags": tags, "summary": "The sandbox's fault rules, in the order they are tried",
                    "operationId": "mockFaults",
                    "responses": {"200": {"description": "Rules", **_json(RuleListSchema)}}},
            "delete": {"tags": tags, "summary": "Delete every fault rule", "operationId": "mockClearFaults",
                       "responses": {"200": {"description": "How many", **_json(DeletedRulesSchema)}}},
        },
        "/_mock/faults/{rule_id}": {
            "get": {"tags": tags, "summary": "One fault rule with its counters", "operationId": "mockFault",
                    "parameters": rule_id,
                    "responses": {"200": {"description": "The rule", **_json(StoredRuleSchema)},
                                  "404": _error("No such rule")}},
            "delete": {"tags": tags, "summary": "Delete a fault rule", "operationId": "mockDeleteFault",
                       "parameters": rule_id,
                       "responses": {"200": {"description": "Deleted", **_json(DeletedRuleSchema)},
                                     "404": _error("No such rule")}},
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
                    "responses": {"200": {"description": "One page", **_json(JournalPageSchema)},
                                  "400": _error("Bad filter")}},
            "delete": {"tags": tags, "summary": "Clear the journal", "operationId": "mockClearRequests",
                       "responses": {"200": {"description": "Cleared", **_json(ClearedSchema)}}},
        },
    }
