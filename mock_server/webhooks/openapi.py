"""The OpenAPI description of ``/_mock/webhooks`` (read by ``mock_server.apidoc``); a provider's own
subscription API is described in its package's ``openapi.py``."""

from __future__ import annotations

from marshmallow import Schema, fields

from ..control.openapi import control_error as _error
from ..openapi_parts import json_content as _json, query
from ..queryargs import MAX_SAFE
from .records import STATUSES
from .subscriptions import control_subscription_schema

NAME = "webhooks"


def subscription_schemas(specs) -> tuple[type[Schema], type[Schema]]:
    """The listed subscription (one owner field per provider, typed as it posts) and the listing."""
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
    return subscription, listing


class DeliverySchema(Schema):
    id = fields.String(required=True)
    eventId = fields.String(required=True)
    event = fields.String(required=True)
    status = fields.String(required=True)
    subscription = fields.String(required=True)
    provider = fields.String(required=True)
    url = fields.String(required=True)
    recipient = fields.String(required=True, allow_none=True)
    dueAt = fields.DateTime(required=True)
    attempts = fields.Integer(required=True)
    history = fields.List(fields.Dict(), required=True)
    nextRetryInSeconds = fields.Float(required=True, allow_none=True)


class DeliveryPageSchema(Schema):
    deliveries = fields.List(fields.Nested(DeliverySchema), required=True)
    total = fields.Integer(required=True)
    offset = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    dropped = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class RedeliverSchema(Schema):
    ids = fields.List(fields.String(), metadata={"description": "delivery ids"})
    status = fields.String(metadata={"description": "dead or delivered"})


class RedeliveredSchema(Schema):
    redelivered = fields.Integer(required=True)


class UnsubscribedSchema(Schema):
    deleted = fields.String(required=True)


def operations(settings: dict, providers) -> dict[str, dict[str, dict]]:
    tags = ["Control plane"]
    specs = {provider.name: provider.webhooks for provider in providers if provider.webhooks}
    SubscriptionSchema, SubscriptionListSchema = subscription_schemas(specs)
    ControlSubscriptionSchema = control_subscription_schema(specs)

    return {
        "/_mock/webhooks": {
            "post": {"tags": tags, "summary": "Subscribe a URL to delivery-status events", "operationId": "mockSubscribe",
                     "requestBody": {"required": True, **_json(ControlSubscriptionSchema)},
                     "responses": {"201": {"description": "The subscription", **_json(SubscriptionSchema)},
                                   "400": _error("Invalid subscription")}},
            "get": {"tags": tags, "summary": "Every subscription of the sandbox", "operationId": "mockSubscriptions",
                    "responses": {"200": {"description": "Subscriptions", **_json(SubscriptionListSchema)}}},
        },
        "/_mock/webhooks/{subscriptionId}": {"delete": {
            "tags": tags, "summary": "Delete a subscription", "operationId": "mockUnsubscribe",
            "parameters": [{"in": "path", "name": "subscriptionId", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "Deleted", **_json(UnsubscribedSchema)},
                          "404": _error("No such subscription"),
                          "405": _error("'deliveries' and 'redeliver' name listings, not subscriptions: "
                                        "they cannot be deleted"),
                          "409": _error("The subscription comes from the settings")}}},
        "/_mock/webhooks/deliveries": {"get": {
            "tags": tags, "summary": "Delivery attempts, oldest first", "operationId": "mockDeliveries",
            "parameters": [query("status", {"type": "string", "enum": list(STATUSES)}, "delivery status"),
                           query("event", {"type": "string"}, "event name"),
                           query("recipient", {"type": "string"}, "recipient"),
                           query("offset", {"type": "integer", "minimum": 0, "maximum": MAX_SAFE}, "skip this many"),
                           query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "page size")],
            "responses": {"200": {"description": "One page", **_json(DeliveryPageSchema)}, "400": _error("Bad filter")}}},
        "/_mock/webhooks/redeliver": {"post": {
            "tags": tags, "summary": "Deliver finished records again", "operationId": "mockRedeliver",
            "requestBody": {"required": True, **_json(RedeliverSchema)},
            "responses": {"200": {"description": "How many", **_json(RedeliveredSchema)},
                          "400": _error("Give ids or status"), "404": _error("Unknown delivery ids")}}},
    }
