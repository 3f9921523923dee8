"""What a webhook subscription may say, checked the same way wherever one is accepted (the control
plane's ``POST /_mock/webhooks``, a provider's own subscription API, the settings' notification
URLs): the URL and its host (:func:`url_problem`), the auth types and their fields
(:class:`AuthSchema`), the provider's event names, and the two schemas built per provider
(:func:`notification_url_schema`, :func:`control_subscription_schema`).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from ..fetch import check_url
from ..providers import WebhookSpec

AUTH_TYPES = ("no_auth", "basic", "bearer", "api_key")
AUTH_FIELDS = {"no_auth": (), "basic": ("username", "password"), "bearer": ("token",), "api_key": ("key",)}
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z", re.IGNORECASE)


def host_problem(host: str) -> str | None:
    """Why ``host`` (a URL's, without brackets) is neither an IP literal nor an RFC 1123 host name."""
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    name = host[:-1] if host.endswith(".") else host
    if name and len(name) <= 253 and all(_LABEL.match(label) for label in name.split(".")):
        return None
    return (f"the host {host[:80]!r} is not a valid host name (RFC 1123: labels of letters, digits and "
            "hyphens, each 1-63 long, not starting or ending with a hyphen) nor an IP address")


def url_problem(value: Any) -> str | None:
    """Why a webhook URL cannot be used (every place one is accepted: the control plane, Jelou's
    legacy API, the settings' notification URLs), or None."""
    if not isinstance(value, str) or not value:
        return "must be an http or https URL"
    problem = check_url(value)
    if problem is None:
        problem = host_problem(urlsplit(value).hostname or "")
    return problem


class _Url(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = url_problem(text)
        if problem:
            raise ValidationError(problem)
        return text


class AuthSchema(Schema):
    class Meta:
        unknown = RAISE

    type = fields.String(required=True, validate=validate.OneOf(AUTH_TYPES))
    username = fields.String(validate=validate.Length(min=1))
    password = fields.String()
    token = fields.String(validate=validate.Length(min=1))
    key = fields.String(validate=validate.Length(min=1))

    @validates_schema
    def complete(self, data, **kwargs):
        needed = AUTH_FIELDS.get(data.get("type"), ())
        missing = [name for name in needed if name not in data]
        if missing:
            raise ValidationError(f"auth type {data['type']} needs {', '.join(missing)}", "type")
        extra = sorted(set(data) - {"type", *needed})
        if extra:
            raise ValidationError(f"auth type {data['type']} takes no {', '.join(extra)}", extra[0])


class _Events(fields.List):
    """A non-empty list of unique event names of the provider (``all`` = every one)."""

    def __init__(self, names: Iterable[str], **kwargs) -> None:
        super().__init__(fields.String(validate=validate.OneOf((*names, "all"))),
                         validate=validate.Length(min=1, error="give at least one event"), **kwargs)


def notification_url_schema(spec: WebhookSpec) -> Schema:
    """A subscription the settings declare (``WebhookSpec.configured``, e.g. a Jelou notification URL)."""
    return Schema.from_dict({
        "url": _Url(required=True), "events": _Events(spec.events, load_default=["all"]),
        "auth": fields.Nested(AuthSchema, load_default=None),
        "signing_secret": fields.String(load_default=None, validate=validate.Length(min=1)),
    }, name="NotificationUrlSchema")(unknown=RAISE)


class _ControlSubscription(Schema):
    specs: Mapping[str, WebhookSpec] = {}

    class Meta:
        unknown = RAISE

    @validates_schema
    def consistent(self, data, **kwargs):
        provider = data.get("provider")
        spec = self.specs.get(provider)
        if spec is None:
            return
        if spec.owner_key not in data:
            raise ValidationError(f"a {provider} subscription needs {spec.owner_key}", spec.owner_key)
        for other in dict.fromkeys(each.owner_key for each in self.specs.values()):
            if other != spec.owner_key and other in data:
                raise ValidationError(f"a {provider} subscription has no {other}", other)
        allowed = (*spec.events, "all")
        unknown = sorted({event for event in data.get("events", ()) if event not in allowed})
        if unknown:
            raise ValidationError(f"unknown {provider} event(s) {', '.join(unknown)}; use {', '.join(allowed)}", "events")


def control_subscription_schema(specs: Mapping[str, WebhookSpec]) -> type[Schema]:
    """``POST /_mock/webhooks``: ``provider`` picks the owner field (each provider's ``owner_key``)."""
    declared: dict[str, fields.Field] = {"provider": fields.String(required=True, validate=validate.OneOf(tuple(specs)))}
    for spec in specs.values():
        declared.setdefault(spec.owner_key, spec.owner_field())
    declared.update({
        "url": _Url(required=True),
        "events": fields.List(fields.String(), required=True,
                              validate=validate.Length(min=1, error="give at least one event")),
        "auth": fields.Nested(AuthSchema, load_default=None),
        "signing_secret": fields.String(load_default=None, validate=validate.Length(min=1)),
    })
    schema = _ControlSubscription.from_dict(declared, name="ControlSubscriptionSchema")
    schema.specs = dict(specs)
    schema.__doc__ = control_subscription_schema.__doc__
    return schema
