"""The control plane's wire shapes (``/_mock``): the bodies it loads and the answers it
dumps (``mock_server.wire``), each declared once; the OpenAPI document shows these. Its error
envelope is :class:`mock_server.errors.ControlErrorSchema`."""

from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validates_schema

from ..isotime import parse_datetime, parse_duration
from ..wire import Instant, KeysAsGiven

CLOCK_HINT = ('send a JSON object with "now" (ISO date-time), "advance" (ISO 8601 duration, e.g. "PT2H") '
              'and/or "frozen" (true/false)')


# -- fields of request bodies ----------------------------------------------------------------
class StrictBoolean(fields.Boolean):
    """JSON ``true`` or ``false`` only (no ``"yes"``, no ``1``)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class DateTimeText(fields.DateTime):
    """An ISO 8601 date-time (``Z`` or an offset; naive is UTC), loaded as an aware datetime."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_datetime(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class DurationText(fields.String):
    """An ISO 8601 duration (``PT2H``), loaded as ``isotime.Duration``."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


# -- request bodies ----------------------------------------------------------------------------
class ResetBodySchema(Schema):
    """``POST /_mock/reset`` (the body is optional)."""

    class Meta:
        unknown = RAISE

    error_messages = {"type": 'send a JSON object, e.g. {"clock": true}, or no body'}
    unknown_message = 'unknown reset field(s): {names}; the only one is "clock" (true/false)'

    clock = StrictBoolean(load_default=False, metadata={"description": "also return the clock to its configured start"},
                          error_messages={"invalid": '"clock" must be true (also rewind the clock to its configured '
                                                     'start) or false'})


class ClockChangeSchema(Schema):
    """Give ``now`` or ``advance`` (not both), and/or ``frozen``."""

    class Meta:
        unknown = RAISE

    error_messages = {"type": CLOCK_HINT}
    unknown_message = "unknown clock field(s): {names}; use now, advance or frozen"

    now = DateTimeText(metadata={"description": "ISO 8601 date-time to move to (never backwards)"})
    advance = DurationText(metadata={"description": "ISO 8601 duration, e.g. PT2H"})
    frozen = StrictBoolean(error_messages={"invalid": '"frozen" must be true or false'})

    @pre_load
    def one_change(self, data, **kwargs):
        if isinstance(data, dict):
            if not data.keys() & {"now", "advance", "frozen"}:
                raise ValidationError(CLOCK_HINT)
            if "now" in data and "advance" in data:
                raise ValidationError('"now" and "advance" cannot be combined: give one of them')
        return data

    @validates_schema
    def positive(self, data, **kwargs):
        if "advance" in data and data["advance"].is_zero:
            raise ValidationError('"advance" must be a positive duration such as PT1H', "advance")


# -- answers -----------------------------------------------------------------------------------
class HealthSchema(Schema):
    status = fields.String(required=True)


class ResetSchema(Schema):
    status = fields.String(required=True)
    sandbox = fields.String(required=True)
    now = Instant(required=True)


class DroppedSchema(Schema):
    status = fields.String(required=True)
    dropped = fields.String(required=True)


class ClockSchema(Schema):
    now = Instant(required=True)
    frozen = fields.Boolean(required=True)


class SandboxSchema(Schema):
    name = fields.String(required=True)
    clock = fields.Nested(ClockSchema, required=True)
    records = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    generation = fields.Integer(required=True)
    createdAt = Instant(required=True)
    lastUsedAt = Instant(required=True)


class SandboxListSchema(Schema):
    sandboxes = fields.List(fields.Nested(SandboxSchema), required=True)
    total = fields.Integer(required=True)
    idleTtl = fields.String(required=True)


class MessageSchema(KeysAsGiven):
    """A sent message; ``content`` is the Jelou template and parameters or the rendered indigitall layout
    (each provider writes its fields in its own order)."""

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



# -- traffic profiles (CONTRACT §14) -----------------------------------------------------------
class ProfileChangeSchema(Schema):
    """``{"name": "realistic"}`` or ``{"profile": {...}}`` (inline: its name is then ``custom``)."""

    class Meta:
        unknown = RAISE

    error_messages = {"type": 'send a JSON object: {"name": "realistic"} or {"profile": {...}}'}
    unknown_message = 'unknown profile field(s): {names}; send "name" (a known profile) or "profile" (inline)'

    name = fields.String(metadata={"description": "a known profile: ideal, realistic, degraded or one of the "
                                                  "delivery.profiles settings"})
    profile = fields.Dict(metadata={"description": "an inline profile (every key optional; missing ones take the "
                                                   "ideal values)"})

    @pre_load
    def one_of_them(self, data, **kwargs):
        if isinstance(data, dict) and data.keys() <= {"name", "profile"} and len(data) != 1:
            raise ValidationError('give exactly one of "name" (a known profile) and "profile" (an inline one)')
        return data


class ProfileSchema(Schema):
    """The sandbox's profile, every field resolved."""

    name = fields.String(required=True)
    profile = fields.Dict(required=True)
    available = fields.List(fields.String(), required=True,
                            metadata={"description": "the names PUT accepts"})


class CurvePointSchema(Schema):
    at = Instant(required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class CurveSchema(Schema):
    """A batch's statuses over mock time: every point's counts add up to the batch's size."""

    provider = fields.String(required=True)
    campaign = fields.String(required=True)
    total = fields.Integer(required=True)
    step = fields.String(required=True)
    points = fields.List(fields.Nested(CurvePointSchema), required=True)
