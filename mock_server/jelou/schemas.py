"""Jelou's request bodies as marshmallow schemas, each declared once: the bodies and query
arguments the routes load, as the OpenAPI document shows them, and the bridge from marshmallow's
errors to E0422 entries. The answers are in ``answers.py`` (re-exported here), the error envelopes
with the errors, in ``errors.py``."""

from __future__ import annotations

import re
from typing import Any, Mapping

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from .. import bodies
from ..clock import range_problem
from ..isotime import parse_date_or_datetime, parse_datetime
from ..queryargs import MAX_SAFE, QueryInteger
from ..wire import multipart_form
from .answers import (CAMPAIGN_STATUSES, NULLABLE_TEXT, CampaignSchema, ErrorMessageSchema,  # noqa: F401 (re-exported)
                      LegacyCampaignSchema, NamedSchema, NotificationMetadataSchema, NotificationPageSchema,
                      NotificationSchema, PaginationSchema, SentSchema, WebhookEntryAnswerSchema, WebhooksAnswerSchema,
                      WebhooksGetSchema, WebhooksSetSchema, campaign_list, campaign_one, campaign_schemas,
                      campaign_updated)
from .errors import ValidationFailed, message

MEDIA_TYPES = ("image", "document", "video")
TYPES = ("text", *MEDIA_TYPES)
JSON_FIELDS = ("params", "buttonPayloads", "actions", "dynamicUrlParameter")
MAX_PAGE_SIZE = 50
MAX_FLOW_ID = 2**53 - 1
DIGITS = re.compile(r"[0-9]{1,16}")      # ASCII only: str.isdigit() also accepts "²"

# page and limit (query arguments): ASCII digits only (queryargs), each range named when malformed;
# a page out of range keeps marshmallow's wording ("Must be greater than or equal to 1.").
PAGE_RANGE = [validate.Range(min=1), validate.Range(max=MAX_SAFE)]
PAGE_INVALID = f"Not a valid integer; use digits 0-9, from 1 to {MAX_SAFE}."
LIMIT_INVALID = f"Not a valid integer; use digits 0-9, from 1 to {MAX_PAGE_SIZE}."

REQUIRED = {"required": "Missing data for required field."}
TEXT = {**REQUIRED, "invalid": "Not a valid string.", "null": "Field may not be null."}


class IsoDateTime(fields.Field):
    """An ISO 8601 date-time with ``Z`` or an offset (a naive value is UTC), inside the clock's range."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            moment = parse_datetime(str(value))
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        problem = range_problem(attr, moment)
        if problem:
            raise ValidationError(problem)
        return moment


class DateOrDateTime(fields.Field):
    """``YYYY-MM-DD`` or an ISO date-time; ``end_of_day`` makes a bare date inclusive."""

    def __init__(self, *, end_of_day: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.end_of_day = end_of_day

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_date_or_datetime(str(value), end_of_day=self.end_of_day)
        except ValueError as exc:
            raise ValidationError(f"{exc}; use YYYY-MM-DD or an ISO 8601 date-time") from None


class FlowId(fields.Field):
    """An integer, or a string of ASCII digits (the dashboard sends both), from 0 to 2**53 - 1.

    The bound is JavaScript's largest exact integer (Jelou's API runs on Node.js), which also keeps
    an oversized value out of Python's integer-conversion limit.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and DIGITS.fullmatch(value.strip()):
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("flowId must be an integer or a string of digits 0-9.")
        if not 0 <= value <= MAX_FLOW_ID:
            raise ValidationError(f"flowId must be between 0 and {MAX_FLOW_ID}.")
        return value


class HttpUrl(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not re.match(r"^https?://[^\s/]+", text, re.IGNORECASE):
            raise ValidationError("Must be a public http or https URL.")
        return text


class ParamSchema(Schema):
    param = fields.Integer(required=True, strict=True, validate=validate.Range(min=1),
                           error_messages={**REQUIRED, "invalid": "param must be an integer (the template placeholder number)."})
    column = fields.String(required=True, validate=validate.Length(min=1), error_messages=TEXT)


class ButtonPayloadSchema(Schema):
    flowId = FlowId(required=True, error_messages=REQUIRED)
    action = fields.String(required=True, validate=validate.Length(min=1), error_messages=TEXT)


class SendSchema(Schema):
    """``POST /v1/hsm/file`` body (JSON or multipart form fields). Extra fields are ignored."""

    class Meta:
        unknown = EXCLUDE

    campaignName = fields.String(required=True, validate=validate.Length(min=1), error_messages=TEXT)
    elementName = fields.String(required=True, validate=validate.Length(min=1), error_messages=TEXT)
    botId = fields.String(required=True, validate=validate.Length(min=1), error_messages=TEXT)
    params = fields.List(fields.Nested(ParamSchema), required=True,
                         error_messages={**REQUIRED, "invalid": "params must be an array of {{param, column}} objects."})
    type = fields.String(load_default="text", validate=validate.OneOf(TYPES))
    mediaUrl = HttpUrl()
    fileUrl = fields.String(validate=validate.Length(min=1))
    buttonPayloads = fields.List(fields.Nested(ButtonPayloadSchema), validate=validate.Length(max=3, error="At most 3 button payloads are allowed."))
    actions = fields.Dict(error_messages={"invalid": "actions must be a JSON object."})
    scheduledAt = IsoDateTime(allow_none=True)
    date = IsoDateTime(allow_none=True)          # the old dashboard's name for scheduledAt

    @validates_schema
    def unique_params(self, data, **kwargs):
        numbers = [item["param"] for item in data.get("params") or []]
        duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
        if duplicates:
            raise ValidationError(f"param numbers must be unique; repeated: {', '.join(map(str, duplicates))}.", "params")


class CampaignListSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    botId = fields.String(required=True, validate=validate.Length(min=1), error_messages=TEXT)
    startAt = DateOrDateTime(required=True, error_messages=REQUIRED)
    endAt = DateOrDateTime(required=True, end_of_day=True, error_messages=REQUIRED)
    page = QueryInteger(load_default=1, validate=PAGE_RANGE, error_messages={"invalid": PAGE_INVALID})
    limit = QueryInteger(load_default=10, validate=validate.Range(min=1, max=MAX_PAGE_SIZE),
                         error_messages={"invalid": LIMIT_INVALID})
    elementName = fields.String()
    status = fields.String(validate=validate.OneOf(CAMPAIGN_STATUSES))
    name = fields.String()


class NotificationListSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    campaignId = fields.String()
    messageId = fields.String()
    elementName = fields.String()
    status = fields.String()
    destination = fields.String()
    origin = fields.String()
    to_ = DateOrDateTime(data_key="to", end_of_day=True)
    from_ = DateOrDateTime(data_key="from")
    page = QueryInteger(load_default=1, validate=PAGE_RANGE, error_messages={"invalid": PAGE_INVALID})
    limit = QueryInteger(load_default=10, validate=validate.Range(min=1, max=MAX_PAGE_SIZE),
                         error_messages={"invalid": LIMIT_INVALID})


class CampaignUpdateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    status = fields.String(validate=validate.OneOf(("CANCELLED", "SCHEDULED")))
    scheduledAt = IsoDateTime()

    @validates_schema
    def something(self, data, **kwargs):
        if not data:
            raise ValidationError("Send status=CANCELLED to cancel, or scheduledAt to reschedule.", "status")


# the multipart form of POST /v1/hsm/file: the send body's fields with the CSV instead of fileUrl
HsmFileFormSchema = multipart_form(
    SendSchema, name="HsmFileFormSchema", exclude=("fileUrl", "date"),
    file=fields.Raw(required=True, metadata={"type": "string", "format": "binary", "description": "the CSV (.csv)"}),
    described={"params": 'JSON array, e.g. [{"param": 1, "column": "name"}]',
               "buttonPayloads": 'JSON array of {"flowId", "action"} (at most 3)',
               "actions": "JSON object", "scheduledAt": "ISO 8601 date-time; naive is UTC"})


# for SendSchema), and loading does not change the instance, so threads can share them.
SEND = SendSchema()
CAMPAIGN_LIST = CampaignListSchema()
NOTIFICATION_LIST = NotificationListSchema()
CAMPAIGN_UPDATE = CampaignUpdateSchema()


def decode_json_fields(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[dict]]]:
    """Parse the structured fields that multipart (and lenient JSON clients) send as JSON strings."""
    result, errors = dict(data), {}
    for name in JSON_FIELDS:
        value = result.get(name)
        if isinstance(value, str):
            try:
                result[name] = bodies.loads(value, name) if value.strip() else None
            except bodies.BodyError as exc:
                errors[name] = [message(str(exc), f"{name} no es un JSON válido.")]
            if result.get(name) is None and name in result and name not in errors:
                del result[name]
    return result, errors


def load(schema: Schema, data: Mapping[str, Any], extra_errors: dict | None = None) -> dict[str, Any]:
    """Load with ``schema``; raise :class:`ValidationFailed` naming every bad field."""
    errors = dict(extra_errors or {})
    try:
        loaded = schema.load({k: v for k, v in data.items() if k not in errors})
    except ValidationError as exc:
        for field, messages in exc.normalized_messages().items():
            errors.setdefault(field, []).extend(message(text, _spanish(text)) for text in _flatten(messages))
        loaded = None
    if errors:
        raise ValidationFailed(errors)
    return loaded


def _flatten(messages, path: str = "") -> list[str]:
    if isinstance(messages, str):
        return [f"{path}: {messages}" if path else messages]
    if isinstance(messages, list):
        return [text for item in messages for text in _flatten(item, path)]
    if isinstance(messages, dict):
        return [text for key, item in messages.items()
                for text in _flatten(item, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}".lstrip("."))]
    return [str(messages)]


_ES = {
    "Missing data for required field.": "Campo requerido.",
    "Not a valid string.": "No es un texto válido.",
    "Not a valid integer.": "No es un número entero válido.",
    PAGE_INVALID: f"No es un número entero válido; use dígitos 0-9, de 1 a {MAX_SAFE}.",
    LIMIT_INVALID: f"No es un número entero válido; use dígitos 0-9, de 1 a {MAX_PAGE_SIZE}.",
    "Not a valid list.": "No es una lista válida.",
    "Field may not be null.": "El campo no puede ser nulo.",
    "Shorter than minimum length 1.": "El campo no puede estar vacío.",
    "Unknown field.": "Campo desconocido.",
}


def _spanish(text: str) -> str:
    head, sep, tail = text.rpartition(": ")
    translated = _ES.get(tail if sep else text)
    if translated is None:
        return text
    return f"{head}: {translated}" if sep else translated
