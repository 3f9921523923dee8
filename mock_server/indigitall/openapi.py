"""indigitall's OpenAPI description: response and error-envelope schemas, and the operations table.

Paths are under the configured ``indigitall.path_prefix`` (the real path is not public). Read by
``mock_server.apidoc``; ``tests/test_openapi.py`` checks every route is described and schemathesis
checks every answer against it.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..openapi_parts import json_content as _json
from .schemas import TaskListSchema
from .slicing import CONDITIONS
from .tasks import MESSAGE_STATUSES

NAME = "indigitall"
SECURITY = [{"indigitallServerKey": []}]
SECURITY_SCHEME = ("indigitallServerKey", {
    "type": "apiKey", "in": "header", "name": "Authorization",
    "description": "`ServerKey <key>`; demo: `ServerKey demo-server-key`"})
TASK_STATUSES = ("scheduled", "processing", "finished", "canceled")
NULLABLE = {"required": True, "allow_none": True}


# -- error envelope ----------------------------------------------------------------------------
class IndigitallErrorSchema(Schema):
    """``{"statusCode", "message", "errorCode"}`` (+ ``errors``/``totalErrors`` when detailed), every status."""

    statusCode = fields.Integer(required=True)
    message = fields.String(required=True)
    errorCode = fields.String(required=True, metadata={"examples": [
        "INVALID_ACCESS_TOKEN", "FORBIDDEN_APPLICATION", "APPLICATION_NOT_FOUND", "TASK_NOT_FOUND", "VALIDATION_ERROR",
        "INVALID_CSV", "MISSING_VARIABLES", "INVALID_ROWS", "TASK_NOT_CANCELABLE", "PAYLOAD_TOO_LARGE"]})
    errors = fields.List(fields.Dict(), metadata={
        "description": "at most 100 details, each naming its field (and line/column/value/reason for rows)"})
    totalErrors = fields.Integer()


# -- request and success bodies ----------------------------------------------------------------
class CsvMessageFormSchema(Schema):
    """``POST .../message/csv`` (``multipart/form-data``)."""

    layout = fields.String(required=True, metadata={"description": "JSON object text with {{column}} variables"})
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary", "description": "the CSV"})
    scheduledAt = fields.String(metadata={"description": "ISO 8601 date-time, after now, at most 3 months ahead"})
    scheduleAt = fields.String(metadata={"description": "alias of scheduledAt"})
    delay = fields.String(metadata={"description": "ISO 8601 duration such as PT15M (not with scheduledAt)"})
    slicingCondition = fields.String(validate=validate.OneOf(CONDITIONS))


class SlotSchema(Schema):
    start = fields.DateTime(required=True)
    end = fields.DateTime(required=True)
    count = fields.Integer(required=True)


MessageCountsSchema = Schema.from_dict({status: fields.Integer(required=True) for status in MESSAGE_STATUSES},
                                       name="MessageCountsSchema")


class TaskSchema(Schema):
    taskId = fields.Integer(required=True)
    applicationId = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(TASK_STATUSES))
    scheduledAt = fields.DateTime(required=True)
    slicingCondition = fields.String(required=True, validate=validate.OneOf(CONDITIONS))
    sliced = fields.Boolean(required=True)
    total = fields.Integer(required=True)
    slots = fields.List(fields.Nested(SlotSchema), required=True)
    canceledReason = fields.String(**NULLABLE)
    messages = fields.Nested(MessageCountsSchema, required=True)
    createdAt = fields.DateTime(required=True)
    startedAt = fields.DateTime(**NULLABLE)
    finishedAt = fields.DateTime(**NULLABLE)
    canceledAt = fields.DateTime(**NULLABLE)


class TaskAnswerSchema(Schema):
    statusCode = fields.Integer(required=True)
    message = fields.String(required=True)
    data = fields.Nested(TaskSchema, required=True)


class TaskPageSchema(Schema):
    statusCode = fields.Integer(required=True)
    message = fields.String(required=True)
    count = fields.Integer(required=True)
    data = fields.List(fields.Nested(TaskSchema), required=True)


# -- operations --------------------------------------------------------------------------------
def _errors(*statuses: int) -> dict:
    described = {
        400: "Invalid fields, CSV, layout variables or rows (errors lists them)", 401: "Access token is not valid",
        403: "The key has no access to the application", 404: "Unknown application, task or route",
        409: "The task is finished or already canceled", 413: "Body larger than max_request_bytes",
    }
    return {str(status): {"description": described[status], **_json(IndigitallErrorSchema)} for status in statuses}


def operations(settings: dict) -> dict[str, dict[str, dict]]:
    """``{path: {method: operation}}`` under the configured prefix."""
    base = settings.indigitall.path_prefix + "/chat/application/{applicationId}"
    tags = ["indigitall"]
    application = {"in": "path", "name": "applicationId", "required": True, "schema": {"type": "string"},
                   "description": "demo: 100 (slicing on), 200 (slicing off), 300 (no access)"}
    task_id = {"in": "path", "name": "taskId", "required": True, "schema": {"type": "string"}}
    return {
        f"{base}/message/csv": {"post": {
            "tags": tags, "summary": "Send messages from CSV", "operationId": "indigitallSendCsv",
            "security": SECURITY, "parameters": [application],
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": CsvMessageFormSchema}}},
            "responses": {"201": {"description": "Task accepted (status canceled when slicing cannot place it)",
                                  **_json(TaskAnswerSchema)}, **_errors(400, 401, 403, 404, 413)},
        }},
        f"{base}/task": {"get": {
            "tags": tags, "summary": "The application's tasks, newest first", "operationId": "indigitallListTasks",
            "security": SECURITY, "parameters": [application, {"in": "query", "schema": TaskListSchema}],
            "responses": {"200": {"description": "One page", **_json(TaskPageSchema)}, **_errors(400, 401, 403, 404)},
        }},
        f"{base}/task/{{taskId}}": {
            "get": {
                "tags": tags, "summary": "One task", "operationId": "indigitallGetTask", "security": SECURITY,
                "parameters": [application, task_id],
                "responses": {"200": {"description": "The task", **_json(TaskAnswerSchema)}, **_errors(401, 403, 404)},
            },
            "delete": {
                "tags": tags, "summary": "Cancel a scheduled or processing task", "operationId": "indigitallCancelTask",
                "security": SECURITY, "parameters": [application, task_id],
                "responses": {"200": {"description": "Canceled", **_json(TaskAnswerSchema)},
                              **_errors(401, 403, 404, 409)},
            },
        },
    }
