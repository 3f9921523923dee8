"""The control plane's OpenAPI description (``/_mock``): envelope, bodies and the operations table."""

from __future__ import annotations

from marshmallow import Schema, fields

from ..openapi_parts import json_content as _json, query
from ..queryargs import MAX_SAFE

NAME = "control"


class ControlErrorDetailSchema(Schema):
    status = fields.Integer(required=True)
    message = fields.String(required=True)


class ControlErrorSchema(Schema):
    """``{"error": {"status", "message"}}``: every control-plane error."""

    error = fields.Nested(ControlErrorDetailSchema, required=True)


class HealthSchema(Schema):
    status = fields.String(required=True)


class ResetSchema(Schema):
    status = fields.String(required=True)
    sandbox = fields.String(required=True)
    now = fields.DateTime(required=True)


class ResetBodySchema(Schema):
    clock = fields.Boolean(metadata={"description": "also return the clock to its configured start"})


class DroppedSchema(Schema):
    status = fields.String(required=True)
    dropped = fields.String(required=True)


class ClockSchema(Schema):
    now = fields.DateTime(required=True)
    frozen = fields.Boolean(required=True)


class SandboxSchema(Schema):
    name = fields.String(required=True)
    clock = fields.Nested(ClockSchema, required=True)
    records = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    generation = fields.Integer(required=True)
    createdAt = fields.DateTime(required=True)
    lastUsedAt = fields.DateTime(required=True)


class SandboxListSchema(Schema):
    sandboxes = fields.List(fields.Nested(SandboxSchema), required=True)
    total = fields.Integer(required=True)
    idleTtl = fields.String(required=True)


class ClockChangeSchema(Schema):
    """Give ``now`` or ``advance`` (not both), and/or ``frozen``."""

    now = fields.String(metadata={"description": "ISO 8601 date-time to move to (never backwards)"})
    advance = fields.String(metadata={"description": "ISO 8601 duration, e.g. PT2H"})
    frozen = fields.Boolean()


class MessageSchema(Schema):
    """A sent message; ``content`` is the Jelou template and parameters or the rendered indigitall layout."""

    provider = fields.String(required=True)
    id = fields.String(required=True)
    campaign = fields.String(required=True)
    recipient = fields.String(required=True)
    status = fields.String(required=True)
    timestamps = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True), required=True)
    error = fields.Dict(required=True, allow_none=True)
    content = fields.Dict(required=True)
    applicationId = fields.Integer()
    line = fields.Integer()


class MessagesSchema(Schema):
    messages = fields.List(fields.Nested(MessageSchema), required=True)
    total = fields.Integer(required=True)
    offset = fields.Integer(required=True)
    limit = fields.Integer(required=True)


BAD_REQUEST = {"400": {"description": "Invalid parameter or body", **_json(ControlErrorSchema)}}


def control_error(description: str) -> dict:
    """A response in the control plane's error envelope."""
    return {"description": description, **_json(ControlErrorSchema)}


def operations(settings: dict, providers) -> dict[str, dict[str, dict]]:
    limits = settings.inspection
    names = [provider.name for provider in providers]
    records = " or ".join(provider.record_phrase for provider in providers)
    tags = ["Control plane"]

    return {
        "/_mock/health": {"get": {"tags": tags, "summary": "Liveness", "operationId": "mockHealth",
                                  "responses": {"200": {"description": "ok", **_json(HealthSchema)}}}},
        "/_mock/reset": {"post": {"tags": tags, "summary": "Reset the sandbox: drop its campaigns, tasks, messages "
                                                            "and slot ledgers", "operationId": "mockReset",
                                  "requestBody": {"required": False, **_json(ResetBodySchema)},
                                  "responses": {"200": {"description": "Reset", **_json(ResetSchema)}, **BAD_REQUEST}}},
        "/_mock/sandboxes": {"get": {"tags": tags, "summary": "Every sandbox with its clock and record counts",
                                     "operationId": "mockSandboxes",
                                     "responses": {"200": {"description": "The sandboxes", **_json(SandboxListSchema)}}}},
        "/_mock/sandboxes/{name}": {"delete": {
            "tags": tags, "summary": "Drop a sandbox and everything in it", "operationId": "mockDropSandbox",
            "parameters": [{"in": "path", "name": "name", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "Dropped", **_json(DroppedSchema)}, **BAD_REQUEST,
                          "404": {"description": "No such sandbox", **_json(ControlErrorSchema)}}}},
        "/_mock/clock": {
            "get": {"tags": tags, "summary": "The mock clock", "operationId": "mockGetClock",
                    "responses": {"200": {"description": "Now", **_json(ClockSchema)}}},
            "post": {"tags": tags, "summary": "Set, advance or freeze the clock", "operationId": "mockSetClock",
                     "requestBody": {"required": True, **_json(ClockChangeSchema)},
                     "responses": {"200": {"description": "The clock after the change", **_json(ClockSchema)},
                                   **BAD_REQUEST}},
        },
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
            "responses": {"200": {"description": "One page", **_json(MessagesSchema)}, **BAD_REQUEST},
        }},
        "/_mock/openapi.json": {"get": {"tags": tags, "summary": "This document", "operationId": "mockOpenapi",
                                        "responses": {"200": {"description": "OpenAPI 3.1",
                                                              **_json({"type": "object"})}}}},
    }
