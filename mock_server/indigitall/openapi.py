"""indigitall's operations for the OpenAPI document: what is not a schema (summaries, ids,
parameters, error statuses). Bodies, answers and the error envelope are the schemas of
``schemas.py``, declared on the routes (``mock_server.wire``) and joined by ``mock_server.apidoc``.

Paths are under the configured ``indigitall.path_prefix`` (the real path is not public);
``tests/ui/test_openapi.py`` checks every route is described and schemathesis checks every answer.
"""

from __future__ import annotations

from ..openapi_parts import json_content as _json
from .errors import IndigitallError
from .schemas import TaskListSchema

NAME = "indigitall"
SECURITY = [{"indigitallServerKey": []}]
SECURITY_SCHEME = ("indigitallServerKey", {
    "type": "apiKey", "in": "header", "name": "Authorization",
    "description": "`ServerKey <key>`; demo: `ServerKey demo-server-key`"})


# -- operations --------------------------------------------------------------------------------
def _errors(*statuses: int) -> dict:
    described = {
        400: "Invalid fields, CSV, layout variables or rows (errors lists them)", 401: "Access token is not valid",
        403: "The key has no access to the application", 404: "Unknown application, task or route",
        409: "The task is finished or already canceled", 413: "Body larger than max_request_bytes",
    }
    return {str(status): {"description": described[status], **_json(IndigitallError.schema)} for status in statuses}


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
            "responses": _errors(400, 401, 403, 404, 413),
        }},
        f"{base}/task": {"get": {
            "tags": tags, "summary": "The application's tasks, newest first", "operationId": "indigitallListTasks",
            "security": SECURITY, "parameters": [application, {"in": "query", "schema": TaskListSchema}],
            "responses": _errors(400, 401, 403, 404),
        }},
        f"{base}/task/{{taskId}}": {
            "get": {
                "tags": tags, "summary": "One task", "operationId": "indigitallGetTask", "security": SECURITY,
                "parameters": [application, task_id],
                "responses": _errors(401, 403, 404),
            },
            "delete": {
                "tags": tags, "summary": "Cancel a scheduled or processing task", "operationId": "indigitallCancelTask",
                "security": SECURITY, "parameters": [application, task_id],
                "responses": _errors(401, 403, 404, 409),
            },
        },
    }
