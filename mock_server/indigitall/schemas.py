"""indigitall wire shapes as marshmallow schemas, each declared once (the bodies the routes load,
the answers they dump through ``mock_server.wire``; the OpenAPI document shows these; the error
envelope is declared with the errors, in ``errors.py``), and the bridge from marshmallow's errors to the envelope.

Messages follow the wording the real API was seen to use for schema errors (research §5.2:
``request/query must have required property 'limit'``, ``... should be equal to one of: ...``).
Format rules live here; rules that need the clock (after now, at most 3 months ahead) and the
application live in the backend.
"""

from __future__ import annotations

from typing import Any, Mapping

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from ..isotime import parse_datetime, parse_duration
from ..queryargs import MAX_SAFE, QueryInteger
from ..wire import Instant, multipart_form
from .errors import ValidationFailed
from .layout import Layout, LayoutError
from .slicing import CONDITIONS, DEFAULT_CONDITION
from .tasks import MESSAGE_STATUSES

MAX_PAGE_SIZE = 100
TASK_STATUSES = ("scheduled", "processing", "finished", "canceled")
NULLABLE = {"required": True, "allow_none": True}
DATETIME_HINT = "an ISO 8601 date-time with Z or an offset, such as 2025-10-01T12:15:00Z"


def required(name: str, where: str = "body") -> dict:
    text = f"request/{where} must have required property '{name}'"
    return {"required": text, "null": text}


class LayoutField(fields.Field):
    """The ``layout`` text, parsed into a :class:`Layout` (a JSON object)."""

    def _deserialize(self, value, attr, data, **kwargs) -> Layout:
        if not isinstance(value, str):
            raise ValidationError("layout must be a string holding a JSON object")
        try:
            return Layout.parse(value)
        except LayoutError as exc:
            raise ValidationError(str(exc)) from None


class IsoDateTime(fields.Field):
    """An ISO 8601 date-time; one without ``Z`` or an offset is UTC or rejected (schema's ``naive_is_utc``)."""

    def _deserialize(self, value, attr, data, **kwargs):
        naive_is_utc = getattr(self.parent, "naive_is_utc", False)
        try:
            return parse_datetime(str(value), naive_is_utc=naive_is_utc)
        except ValueError as exc:
            raise ValidationError(f"{attr} must be {DATETIME_HINT}: {exc}") from None
        except OverflowError:       # e.g. 0001-01-01T00:00:00+01:00 has no UTC equivalent
            raise ValidationError(f"{attr} must be {DATETIME_HINT}: '{value}' is out of range") from None


class IsoDuration(fields.Field):
    """An ISO 8601 duration (``PT0.25S``, ``PT30M50.5S``, ``P2W``, ``P1M``, ``P1DT2H`` ...), not zero."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            duration = parse_duration(str(value))
        except ValueError as exc:
            raise ValidationError(f"delay must be an ISO 8601 duration: {exc}") from None
        if duration.is_zero:
            raise ValidationError(f"delay must be greater than zero (got {value})")
        return duration


class SendSchema(Schema):
    """The multipart text fields of ``POST .../message/csv`` (``file`` is the file part).

    Empty optional fields count as absent (HTML forms send them empty). ``scheduleAt`` is read as
    an alias of ``scheduledAt`` (the seed spells it both ways); giving both is an error.
    """

    class Meta:
        unknown = EXCLUDE

    layout = LayoutField(required=True, error_messages=required("layout"),
                         metadata={"description": "JSON object text with {{column}} variables"})
    scheduledAt = IsoDateTime(metadata={"description": "ISO 8601 date-time, after now, at most 3 months ahead"})
    scheduleAt = IsoDateTime(metadata={"description": "alias of scheduledAt"})
    delay = IsoDuration(metadata={"description": "ISO 8601 duration such as PT15M (not with scheduledAt)"})
    slicingCondition = fields.String(load_default=DEFAULT_CONDITION, validate=validate.OneOf(
        CONDITIONS, error=f"slicingCondition should be equal to one of: {', '.join(CONDITIONS)}"))

    def __init__(self, *, naive_is_utc: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.naive_is_utc = naive_is_utc

    @pre_load
    def drop_empty(self, data, **kwargs):
        return {key: value for key, value in data.items()
                if not (isinstance(value, str) and not value.strip())}

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def exclusive(self, data, original, **kwargs):
        given = self.drop_empty(original)
        if "scheduledAt" in given and "scheduleAt" in given:
            raise ValidationError("send scheduledAt or its alias scheduleAt, not both", "scheduleAt")
        scheduled = next((name for name in ("scheduledAt", "scheduleAt") if name in given), None)
        if scheduled and "delay" in given:
            raise ValidationError(f"delay can not be used in conjunction with {scheduled}", "delay")


CsvMessageFormSchema = multipart_form(
    SendSchema, name="CsvMessageFormSchema",
    file=fields.Raw(required=True, metadata={"type": "string", "format": "binary", "description": "the CSV"}))


class TaskListSchema(Schema):
    """``GET .../task?limit&page``: ``limit`` 1..100 (default 10), ``page`` from 1 (default 1)."""

    class Meta:
        unknown = EXCLUDE

    limit = QueryInteger(load_default=10, validate=validate.Range(
        min=1, max=MAX_PAGE_SIZE, error=f"querystring/limit must be between 1 and {MAX_PAGE_SIZE}"),
        error_messages={"invalid": f"querystring/limit must be integer (digits 0-9, between 1 and {MAX_PAGE_SIZE})"})
    page = QueryInteger(load_default=1, validate=[validate.Range(min=1, error="querystring/page must be >= 1"),
                                                  validate.Range(max=MAX_SAFE, error=f"querystring/page must be <= {MAX_SAFE}")],
                        error_messages={"invalid": f"querystring/page must be integer (digits 0-9, between 1 and {MAX_SAFE})"})


# == answers (dumped by the routes, mock_server.wire; the error envelope is in errors.py) ===========
# -- request and success bodies ----------------------------------------------------------------
class SlotSchema(Schema):
    start = Instant(required=True)
    end = Instant(required=True)
    count = fields.Integer(required=True)


MessageCountsSchema = Schema.from_dict({status: fields.Integer(required=True) for status in MESSAGE_STATUSES},
                                       name="MessageCountsSchema")


class TaskSchema(Schema):
    taskId = fields.Integer(required=True)
    applicationId = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(TASK_STATUSES))
    scheduledAt = Instant(required=True)
    slicingCondition = fields.String(required=True, validate=validate.OneOf(CONDITIONS))
    sliced = fields.Boolean(required=True)
    total = fields.Integer(required=True)
    slots = fields.List(fields.Nested(SlotSchema), required=True)
    canceledReason = fields.String(**NULLABLE)
    messages = fields.Nested(MessageCountsSchema, required=True)
    createdAt = Instant(required=True)
    startedAt = Instant(**NULLABLE)
    finishedAt = Instant(**NULLABLE)
    canceledAt = Instant(**NULLABLE)


class TaskAnswerSchema(Schema):
    statusCode = fields.Integer(required=True)
    message = fields.String(required=True)
    data = fields.Nested(TaskSchema, required=True)


class TaskPageSchema(Schema):
    statusCode = fields.Integer(required=True)
    message = fields.String(required=True)
    count = fields.Integer(required=True)
    data = fields.List(fields.Nested(TaskSchema), required=True)


def load(schema: Schema, data: Mapping[str, Any], extra: list[dict] | None = None) -> tuple[dict, list[dict]]:
    """Load ``data``; return the loaded fields and ``[{"field", "message"}]`` for every bad one.

    ``extra`` are errors found while reading the body; a field named there gets no second error.
    """
    errors = list(extra or [])
    known = {error["field"] for error in errors}
    try:
        return schema.load(data), errors
    except ValidationError as exc:
        for name, messages in exc.normalized_messages().items():
            if name not in known:
                errors.extend({"field": name, "message": text} for text in _flatten(messages))
        return dict(exc.valid_data or {}), errors


def load_or_fail(schema: Schema, data: Mapping[str, Any]) -> dict:
    loaded, errors = load(schema, data)
    if errors:
        raise ValidationFailed(errors)
    return loaded


def _flatten(messages) -> list[str]:
    if isinstance(messages, str):
        return [messages]
    if isinstance(messages, list):
        return [text for item in messages for text in _flatten(item)]
    if isinstance(messages, dict):
        return [text for item in messages.values() for text in _flatten(item)]
    return [str(messages)]
