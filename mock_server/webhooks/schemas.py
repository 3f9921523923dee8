"""The wire shapes of ``/_mock/webhooks``: bodies loaded and answers dumped (``mock_server.wire``),
each declared once; the OpenAPI document shows these. A provider's own subscription API has its
shapes in its package.

The subscription shapes follow the registered providers (each adds its owner field, typed as it
posts: ``botId`` text, ``applicationId`` a number ...), so they are built per provider set.
"""

from __future__ import annotations

from functools import lru_cache

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from ..wire import Instant, Real
from .subscriptions import control_subscription_schema

REDELIVER_HINT = 'give either "ids" (a list of delivery ids) or "status" ("dead" or "delivered")'
IDS_INVALID = '"ids" must be a non-empty list of delivery ids (the "id" of /_mock/webhooks/deliveries)'


def specs_of(providers) -> dict:
    """Provider name -> its ``WebhookSpec``, for the providers with webhooks."""
    return {provider.name: provider.webhooks for provider in providers if provider.webhooks}


@lru_cache(maxsize=16)
def subscription_classes(providers: tuple) -> tuple[type[Schema], type[Schema], type[Schema]]:
    """``(body of POST /_mock/webhooks, a listed subscription, the listing)`` for these providers.

    Built once per provider set (the classes are immutable), so the document names each once.
    """
    specs = specs_of(providers)
    owners = " or ".join(f'"{spec.owner_key}" ({name})' for name, spec in sorted(specs.items()))
    body = control_subscription_schema(specs)
    body.error_messages = {"type": f'send a JSON object with "provider", "url", "events" and {owners}'}
    declared = {"id": fields.String(required=True), "provider": fields.String(required=True)}
    for spec in specs.values():
        declared.setdefault(spec.owner_key, type(spec.owner_field())())
    declared.update(url=fields.String(required=True), events=fields.List(fields.String(), required=True),
                    auth=fields.Dict(required=True), signing=fields.Boolean(required=True),
                    source=fields.String(required=True))
    subscription = Schema.from_dict(declared, name="SubscriptionSchema")
    subscription.__doc__ = "A subscription as listed: secrets masked, never echoed."
    listing = Schema.from_dict({"webhooks": fields.List(fields.Nested(subscription), required=True),
                                "total": fields.Integer(required=True)}, name="SubscriptionListSchema")
    return body, subscription, listing


def subscription_body(settings, providers) -> type[Schema]:
    return subscription_classes(tuple(providers))[0]


def subscription(settings, providers) -> type[Schema]:
    return subscription_classes(tuple(providers))[1]


def subscription_list(settings, providers) -> type[Schema]:
    return subscription_classes(tuple(providers))[2]


class DeliverySchema(Schema):
    id = fields.String(required=True)
    eventId = fields.String(required=True)
    event = fields.String(required=True)
    status = fields.String(required=True)
    subscription = fields.String(required=True)
    provider = fields.String(required=True)
    url = fields.String(required=True)
    recipient = fields.String(required=True, allow_none=True)
    dueAt = Instant(required=True)
    attempts = fields.Integer(required=True)
    history = fields.List(fields.Dict(), required=True)
    nextRetryInSeconds = Real(required=True, allow_none=True)


class DeliveryPageSchema(Schema):
    deliveries = fields.List(fields.Nested(DeliverySchema), required=True)
    total = fields.Integer(required=True)
    offset = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    dropped = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class RedeliverSchema(Schema):
    """Give ``ids`` or ``status``, not both (other fields are ignored)."""

    class Meta:
        unknown = EXCLUDE

    error_messages = {"type": 'send a JSON object with "ids" (delivery ids) or "status" ("dead" or "delivered")'}

    ids = fields.List(fields.String(error_messages={"invalid": IDS_INVALID}), allow_none=True,
                      validate=validate.Length(min=1, error=IDS_INVALID),
                      error_messages={"invalid": IDS_INVALID, "null": IDS_INVALID},
                      metadata={"description": "delivery ids"})
    status = fields.String(allow_none=True, validate=validate.OneOf(("dead", "delivered"),
                                                                     error='"status" must be "dead" or "delivered"'),
                           error_messages={"invalid": '"status" must be "dead" or "delivered"'},
                           metadata={"description": "dead or delivered"})

    @pre_load
    def one_of(self, data, **kwargs):
        if isinstance(data, dict) and (data.get("ids") is None) == (data.get("status") is None):
            raise ValidationError(REDELIVER_HINT)
        return data


class RedeliveredSchema(Schema):
    redelivered = fields.Integer(required=True)


class UnsubscribedSchema(Schema):
    deleted = fields.String(required=True)

