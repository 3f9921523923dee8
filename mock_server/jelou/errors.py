"""Jelou's error envelopes (CONTRACT §4; research/jelou.md §3).

- 401: ``{"message": ["Authentication failed"], "status": "failed"}`` + ``WWW-Authenticate``.
- 400/404/403/413/405/500: ``{"message": [text], "status": "failed"}`` (+ ``error.code`` where Jelou
  documents one: ``bot_not_found``, ``forbidden_bot``).
- 422: the E0422 VALIDATOR_ERROR body, ``validationError`` keyed by field, each entry
  ``{"en", "es"}`` plus, for CSV problems, ``line``/``column``/``value``/``reason``; when a field has
  more problems than are listed, ``validationErrorCount`` gives the total per field.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..csvfile import CsvIssue
from ..errors import ProviderError
from ..wire import KeysAsGiven


# -- the envelopes as declared (they write every error answer and document it) -----------------
class ErrorCodeSchema(Schema):
    code = fields.String(required=True, metadata={"examples": ["bot_not_found", "forbidden_bot"]})


class JelouFailedSchema(Schema):
    """``{"message": [text], "status": "failed"}`` (+ ``error.code`` for bot errors): 400, 401, 403, 404, 405, 413."""

    message = fields.List(fields.String(), required=True)
    status = fields.String(required=True, validate=validate.OneOf(["failed"]))
    error = fields.Nested(ErrorCodeSchema)


class LocalizedSchema(KeysAsGiven):
    en = fields.String(required=True)
    es = fields.String(required=True)


class ValidationEntrySchema(LocalizedSchema):
    """One problem; CSV problems also name the 1-based line, the column, the value and the reason."""

    line = fields.Integer(allow_none=True)
    column = fields.String(allow_none=True)
    value = fields.String(allow_none=True)
    reason = fields.String()


class ValidatorErrorSchema(Schema):
    code = fields.String(required=True, validate=validate.OneOf(["E0422"]))
    key = fields.String(required=True, validate=validate.OneOf(["VALIDATOR_ERROR"]))
    description = fields.String(required=True)
    developerMessages = fields.Nested(LocalizedSchema, required=True)
    clientMessages = fields.Nested(LocalizedSchema, required=True)


class JelouValidationFailedSchema(Schema):
    """422 E0422 VALIDATOR_ERROR: ``validationError`` maps each bad field to its problems."""

    message = fields.List(fields.String(), required=True)
    statusMessage = fields.String(required=True, validate=validate.OneOf(["failed"]))
    status = fields.Integer(required=True, validate=validate.OneOf([0]))
    error = fields.Nested(ValidatorErrorSchema, required=True)
    validationError = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(ValidationEntrySchema)),
                                  required=True)
    validationErrorCount = fields.Dict(keys=fields.String(), values=fields.Integer(),
                                       metadata={"description": "total problems per field, when more than are listed"})




class JelouError(ProviderError):
    """``{"message": [text], "status": "failed"}`` with an optional Jelou error code."""

    status = 400
    code: str | None = None
    schema = JelouFailedSchema

    def body(self) -> dict:
        body: dict = {"message": [self.message], "status": "failed"}
        if self.code:
            body["error"] = {"code": self.code}
        return body


class Unauthorized(JelouError):
    status = 401
    headers = {"WWW-Authenticate": 'Basic realm="Jelou"'}

    def __init__(self) -> None:
        super().__init__("Authentication failed")


class BotNotFound(JelouError):
    status = 404
    code = "bot_not_found"

    def __init__(self, bot_id: str) -> None:
        super().__init__("Bot not found")
        self.bot_id = bot_id


class ForbiddenBot(JelouError):
    status = 403
    code = "forbidden_bot"

    def __init__(self, bot_id: str) -> None:
        super().__init__("You do not have permission to use this bot.")
        self.bot_id = bot_id


class NotFound(JelouError):
    status = 404


def message(en: str, es: str | None = None, **extra) -> dict:
    """One ``validationError`` entry."""
    return {"en": en, "es": es or en, **extra}


def issue_message(issue: CsvIssue) -> dict:
    """A CSV problem as a ``validationError`` entry naming line, column, value and reason."""
    return message(issue.describe(), _spanish(issue), **issue.to_dict())


def _spanish(issue: CsvIssue) -> str:
    return issue.describe(("línea", "columna", "valor"), _ES_REASONS.get(issue.code, issue.reason))


_ES_REASONS = {
    "empty": "el archivo está vacío: necesita una fila de encabezado y al menos una fila de datos",
    "no_rows": "el archivo tiene encabezado pero no tiene filas de datos",
    "encoding": "el archivo debe estar codificado en UTF-8",
    "header": "los nombres de columna solo pueden tener letras, números y guion bajo (_), sin espacios",
    "header_duplicate": "nombre de columna duplicado",
    "row_width": "la fila no tiene la misma cantidad de celdas que el encabezado",
    "first_column": "la primera columna debe ser el teléfono con código internacional, sin '+' (8 a 15 dígitos)",
    "too_many_rows": "el archivo tiene demasiadas filas",
    "syntax": "el archivo no es un CSV válido",
    "extension": "solo se admiten archivos con extensión .csv",
    "cell_too_long": "la celda es demasiado larga (configuración max_cell_chars)",
}


class ValidationFailed(JelouError):
    """422 E0422 VALIDATOR_ERROR with entries per field."""

    status = 422
    schema = JelouValidationFailedSchema

    def __init__(self, fields: dict[str, list[dict]], totals: dict[str, int] | None = None) -> None:
        super().__init__("The values entered are not correct.")
        self.fields = fields
        self.totals = totals or {}

    @classmethod
    def single(cls, field: str, en: str, es: str | None = None) -> "ValidationFailed":
        return cls({field: [message(en, es)]})

    @classmethod
    def from_csv(cls, field: str, issues: list[CsvIssue], total: int) -> "ValidationFailed":
        totals = {field: total} if total > len(issues) else {}
        return cls({field: [issue_message(issue) for issue in issues]}, totals)

    def body(self) -> dict:
        body = {
            "message": ["The values entered are not correct."],
            "statusMessage": "failed",
            "status": 0,
            "error": {
                "code": "E0422",
                "key": "VALIDATOR_ERROR",
                "description": "Error to be thrown when cannot process request because of incoming values",
                "developerMessages": {"es": "Los valores del request no son correctos para ser procesados.",
                                      "en": "The request values are not correct for processing."},
                "clientMessages": {"es": "Los valores ingresados no son correctos.",
                                   "en": "The values entered are not correct."},
            },
            "validationError": self.fields,
        }
        if self.totals:
            body["validationErrorCount"] = self.totals
        return body


def http_error(status: int, description: str) -> ProviderError:
    """Werkzeug errors (unknown route, wrong method, too large, 500) in Jelou's envelope."""
    if status == 401:
        return Unauthorized()
    return JelouError(description, status)
