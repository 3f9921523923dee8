"""Fault rules (CONTRACT §8): their schema, and which rule a request triggers.

A rule as posted::

    {"match":  {"provider": "<name>", "method": "POST", "path": "/v1/hsm/file", "credential": "demo-client-id"},
     "action": {"status": 429, "retryAfter": "PT30S"},
     "times": 3, "after": 0, "probability": 1.0, "expiresAfter": "PT10M"}

Counting: every request the ``match`` keys select is *matched*; the first ``after`` matched
requests pass untouched, then the rule *fires* (subject to ``probability``) until it has fired
``times`` times. The probability draw for the N-th matched request comes from a generator seeded
with the settings' seed, the rule id and N, so the same run fires on the same requests.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping, Sequence

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from ..isotime import bounded_seconds, isoformat

DROPS = ("reset", "empty", "truncate")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# The longest duration each field takes (CONTRACT §18: no arithmetic may overflow).
MAX_DURATION = {
    "latency": "P1D",          # real time a request is held
    "retryAfter": "P366D",     # Retry-After, X-RateLimit-Reset
    "expiresAfter": "P36500D",  # mock time: about 100 years after the rule's creation
    "window": "P366D",         # rate_limits[].window (settings)
}
MAX_COUNT = 1_000_000_000      # times, after, action.limit
COUNT_RANGE = f"must be a whole number from {{min}} to {MAX_COUNT:,}"


def seconds(text: Any, name: str, kind: str | None = None) -> float:
    """The fixed-length duration ``text`` of the field ``name`` in seconds, within the range of its
    ``kind`` (a key of ``MAX_DURATION``; default: ``name``); ``ValidationError`` otherwise."""
    try:
        return bounded_seconds(text, name, MAX_DURATION[kind or name])
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class Duration(fields.Field):
    """An ISO 8601 duration kept as text, checked to have a fixed length and to be in range."""

    def _deserialize(self, value, attr, data, **kwargs):
        seconds(value, attr)
        return value


class Latency(fields.Field):
    """``"PT2S"`` (fixed) or ``{"min": "PT0.1S", "max": "PT1S"}`` (uniform, seeded)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            seconds(value, "latency")
            return value
        if not isinstance(value, Mapping) or set(value) != {"min", "max"}:
            raise ValidationError('latency must be a duration ("PT2S") or {"min": "PT0.1S", "max": "PT1S"}')
        low, high = seconds(value["min"], "latency.min", "latency"), seconds(value["max"], "latency.max", "latency")
        if low > high:
            raise ValidationError("latency.min must not be greater than latency.max")
        return dict(value)


class ActionSchema(Schema):
    class Meta:
        unknown = RAISE

    status = fields.Integer(strict=True, validate=validate.Range(400, 599, error="must be an HTTP error status, 400 to 599"))
    message = fields.String(validate=validate.Length(min=1, max=500))
    retryAfter = Duration()
    limit = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_COUNT, error=COUNT_RANGE))
    afterCommit = fields.Boolean()
    latency = Latency()
    drop = fields.String(validate=validate.OneOf(DROPS))

    @validates_schema
    def one_kind(self, data, **kwargs):
        if not data.keys() & {"status", "latency", "drop"}:
            raise ValidationError('give "status", "latency" or "drop"', "_schema")
        if "status" in data and "drop" in data:
            raise ValidationError('"status" and "drop" cannot be combined', "drop")
        if data.get("afterCommit") and not data.keys() & {"status", "drop"}:
            raise ValidationError('"afterCommit" needs a "status" or a "drop"', "afterCommit")
        for name in ("retryAfter", "limit", "message"):
            if name in data and "status" not in data:
                raise ValidationError(f'"{name}" goes with a "status"', name)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


def rule_schema(providers: Sequence[str]) -> type[Schema]:
    """The rule as posted, for an app serving ``providers`` (names: ``match.provider`` is one of them)."""
    match = _Strict.from_dict({
        "provider": fields.String(validate=validate.OneOf(tuple(providers))),
        "method": fields.String(validate=validate.OneOf(METHODS, error="must be one of: {choices}")),
        "path": fields.String(validate=validate.Regexp(
            r"^/", error="must start with '/' (exact path or a glob such as /v1/campaigns/*)")),
        "credential": fields.String(validate=validate.Length(min=1)),
    }, name="MatchSchema")
    return _Strict.from_dict({
        "match": fields.Nested(match, load_default=dict),
        "action": fields.Nested(ActionSchema, required=True),
        "times": fields.Integer(strict=True, allow_none=True,
                                validate=validate.Range(min=1, max=MAX_COUNT, error=COUNT_RANGE)),
        "after": fields.Integer(strict=True, load_default=0,
                                validate=validate.Range(min=0, max=MAX_COUNT, error=COUNT_RANGE)),
        "probability": fields.Float(load_default=1.0, validate=validate.Range(0.0, 1.0)),
        "expiresAfter": Duration(allow_none=True),
    }, name="RuleSchema")


def problems(messages: Any, prefix: str = "") -> list[str]:
    """Marshmallow's nested error dict as ``field.path: message`` lines."""
    if isinstance(messages, Mapping):
        lines = []
        for key, value in messages.items():
            where = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            lines.extend(problems(value, where))
        return lines
    if isinstance(messages, list):
        return [line for item in messages for line in problems(item, prefix)]
    return [f"{prefix}: {messages}" if prefix else str(messages)]


def load_rule(body: Any, providers: Sequence[str]) -> dict:
    """The checked rule (``providers``: the app's provider names); ``ValueError`` naming every bad field otherwise."""
    if not isinstance(body, Mapping):
        raise ValueError('send a JSON object: {"match": {...}, "action": {...}, "times", "after", "probability", "expiresAfter"}')
    try:
        return rule_schema(providers)().load(body)
    except ValidationError as exc:
        raise ValueError("; ".join(problems(exc.messages))) from None


@dataclass(frozen=True)
class RequestView:
    """What a rule can match on."""

    provider: str
    method: str
    path: str
    credential: str | None


def new_rule(rule_id: str, rule: dict, now: datetime) -> dict:
    """The stored form: the rule as given, its id, its expiry instant and its counters."""
    expires = rule.get("expiresAfter")
    expires_at = now + timedelta(seconds=seconds(expires, "expiresAfter")) if expires else None
    return {"id": rule_id, "match": rule["match"], "action": rule["action"], "times": rule.get("times"),
            "after": rule["after"], "probability": rule["probability"], "expiresAfter": expires,
            "createdAt": isoformat(now), "expiresAt": isoformat(expires_at) if expires_at else None,
            "matched": 0, "fired": 0, "lastFired": None}


def matches(rule: dict, view: RequestView) -> bool:
    match = rule["match"]
    if "provider" in match and match["provider"] != view.provider:
        return False
    if "method" in match and match["method"] != view.method:
        return False
    if "path" in match and not (match["path"] == view.path or fnmatch.fnmatchcase(view.path, match["path"])):
        return False
    return "credential" not in match or match["credential"] == view.credential


def expired(rule: dict, now: datetime) -> bool:
    return rule["expiresAt"] is not None and isoformat(now) >= rule["expiresAt"]


def fires(rule: dict, matched: int, draw: Callable[[str, int], float]) -> bool:
    """Whether the ``matched``-th matching request fires the rule (``after``, ``times``, ``probability``).

    ``draw(rule_id, n)`` is the seeded uniform draw for the n-th matched request of a rule.
    """
    if matched <= rule["after"]:
        return False
    if rule["times"] is not None and rule["fired"] >= rule["times"]:
        return False
    return rule["probability"] >= 1.0 or draw(rule["id"], matched) < rule["probability"]


def latency_seconds(latency: Any, draw: Callable[[], float]) -> float:
    """The real seconds of a latency action (a uniform draw between min and max)."""
    if isinstance(latency, str):
        return seconds(latency, "latency")
    low, high = seconds(latency["min"], "latency.min", "latency"), seconds(latency["max"], "latency.max", "latency")
    return low + (high - low) * draw()


def whole_seconds(value: float) -> int:
    """``Retry-After`` is whole seconds: round up, at least 1."""
    return max(1, math.ceil(value - 1e-9))
