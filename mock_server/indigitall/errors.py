"""indigitall's error envelope (CONTRACT §5; research/indigitall.md §5.2).

Every error is ``{"statusCode", "message", "errorCode"}``; when there are details (several bad
fields, CSV problems, row problems, missing variables) they travel in ``errors`` (at most 100)
with ``totalErrors`` giving how many there were in all. ``message`` is the first detail's text,
so a client that only logs ``message`` still learns what to fix.

``errorCode`` values are the mock's own (indigitall's are not public); they are stable strings:
``INVALID_ACCESS_TOKEN`` 401, ``FORBIDDEN_APPLICATION`` 403, ``APPLICATION_NOT_FOUND`` /
``TASK_NOT_FOUND`` / ``ROUTE_NOT_FOUND`` 404, ``BAD_REQUEST`` (unreadable body),
``VALIDATION_ERROR`` (fields), ``INVALID_CSV``, ``MISSING_VARIABLES``, ``INVALID_ROWS`` 400,
``METHOD_NOT_ALLOWED`` 405, ``TASK_NOT_CANCELABLE`` 409, ``PAYLOAD_TOO_LARGE`` 413,
``HEADERS_TOO_LARGE`` 431, ``INTERNAL_ERROR`` 500, ``NOT_IMPLEMENTED`` 501; injected faults
(``/_mock/faults``) add ``TOO_MANY_REQUESTS`` 429, ``BAD_GATEWAY`` 502, ``SERVICE_UNAVAILABLE`` 503,
``GATEWAY_TIMEOUT`` 504 (``ERROR`` for others).
"""

from __future__ import annotations

from marshmallow import Schema, fields

from ..csvfile import MAX_LISTED, CsvIssue
from ..errors import ProviderError

HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "INVALID_ACCESS_TOKEN",
    403: "FORBIDDEN",
    404: "ROUTE_NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    429: "TOO_MANY_REQUESTS",
    431: "HEADERS_TOO_LARGE",
    500: "INTERNAL_ERROR",
    501: "NOT_IMPLEMENTED",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}


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


class IndigitallError(ProviderError):
    """``{"statusCode", "message", "errorCode"}`` (+ ``errors``/``totalErrors`` when detailed)."""

    status = 400
    error_code = "BAD_REQUEST"
    schema = IndigitallErrorSchema

    def __init__(self, message: str, *, status: int | None = None, error_code: str | None = None,
                 errors: list[dict] | None = None, total: int | None = None) -> None:
        super().__init__(message, status)
        if error_code is not None:
            self.error_code = error_code
        self.errors = list(errors or [])[:MAX_LISTED]
        self.total = total if total is not None else len(errors or [])

    def body(self) -> dict:
        body: dict = {"statusCode": self.status, "message": self.message, "errorCode": self.error_code}
        if self.errors:
            body["errors"] = self.errors
            body["totalErrors"] = self.total
        return body


class Unauthorized(IndigitallError):
    status = 401
    error_code = "INVALID_ACCESS_TOKEN"

    def __init__(self) -> None:
        super().__init__("Access token is not valid")


class ForbiddenApplication(IndigitallError):
    status = 403
    error_code = "FORBIDDEN_APPLICATION"

    def __init__(self, application_id: int) -> None:
        super().__init__(f"Operation forbidden: the server key has no access to application {application_id}")


class ApplicationNotFound(IndigitallError):
    status = 404
    error_code = "APPLICATION_NOT_FOUND"

    def __init__(self, application_id: str) -> None:
        super().__init__(f"Application {application_id} not found")


class TaskNotFound(IndigitallError):
    status = 404
    error_code = "TASK_NOT_FOUND"

    def __init__(self, task_id: str, application_id: int) -> None:
        super().__init__(f"Task {task_id} not found in application {application_id}")


class TaskNotCancelable(IndigitallError):
    status = 409
    error_code = "TASK_NOT_CANCELABLE"

    def __init__(self, task_id: int, status: str) -> None:
        super().__init__(f"Task {task_id} is {status}: only scheduled or processing tasks can be canceled")


class ValidationFailed(IndigitallError):
    """400 with one entry per problem; ``message`` repeats the first one."""

    error_code = "VALIDATION_ERROR"

    def __init__(self, errors: list[dict], *, total: int | None = None, error_code: str | None = None,
                 message: str | None = None) -> None:
        first = errors[0].get("message") or errors[0].get("reason") if errors else "invalid request"
        super().__init__(message or first, errors=errors, total=total, error_code=error_code)

    @classmethod
    def field(cls, field: str, text: str) -> "ValidationFailed":
        return cls([{"field": field, "message": text}])

    @classmethod
    def from_csv(cls, issues: list[CsvIssue], total: int) -> "ValidationFailed":
        entries = [{"field": "file", **issue.to_dict(), "message": f"file: {issue.describe()}"} for issue in issues]
        shown = f"file: {issues[0].describe()}" if issues else "file: invalid CSV"
        if total > 1:
            shown += f" (and {total - 1} more problem{'s' if total > 2 else ''})"
        return cls(entries, total=total, error_code="INVALID_CSV", message=shown)


def http_error(status: int, description: str) -> ProviderError:
    """Werkzeug errors (unknown route, wrong method, too large, 500) in indigitall's envelope."""
    if status == 401:
        return Unauthorized()
    return IndigitallError(description, status=status, error_code=HTTP_CODES.get(status, "ERROR"))
