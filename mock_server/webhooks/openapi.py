"""The operations of ``/_mock/webhooks`` for the OpenAPI document (read by ``mock_server.apidoc``):
what is not a schema. Bodies and answers are declared on the routes (``schemas``); a provider's
own subscription API is described in its package."""

from __future__ import annotations

from ..control.openapi import control_error as _error
from ..openapi_parts import query
from ..queryargs import MAX_SAFE
from .records import STATUSES
from .routes import MAX_LIMIT

NAME = "webhooks"


def operations(settings: dict, providers) -> dict[str, dict[str, dict]]:
    tags = ["Control plane"]
    return {
        "/_mock/webhooks": {
            "post": {"tags": tags, "summary": "Subscribe a URL to delivery-status events", "operationId": "mockSubscribe",
                     "responses": {"400": _error("Invalid subscription")}},
            "get": {"tags": tags, "summary": "Every subscription of the sandbox", "operationId": "mockSubscriptions"},
        },
        "/_mock/webhooks/{subscriptionId}": {"delete": {
            "tags": tags, "summary": "Delete a subscription", "operationId": "mockUnsubscribe",
            "parameters": [{"in": "path", "name": "subscriptionId", "required": True, "schema": {"type": "string"}}],
            "responses": {"404": _error("No such subscription"),
                          "405": _error("'deliveries' and 'redeliver' name listings, not subscriptions: "
                                        "they cannot be deleted"),
                          "409": _error("The subscription comes from the settings")}}},
        "/_mock/webhooks/deliveries": {"get": {
            "tags": tags, "summary": "Delivery attempts, oldest first", "operationId": "mockDeliveries",
            "parameters": [query("status", {"type": "string", "enum": list(STATUSES)}, "delivery status"),
                           query("event", {"type": "string"}, "event name"),
                           query("recipient", {"type": "string"}, "recipient"),
                           query("offset", {"type": "integer", "minimum": 0, "maximum": MAX_SAFE}, "skip this many"),
                           query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}, "page size")],
            "responses": {"400": _error("Bad filter")}}},
        "/_mock/webhooks/redeliver": {"post": {
            "tags": tags, "summary": "Deliver finished records again", "operationId": "mockRedeliver",
            "responses": {"400": _error("Give ids or status"), "404": _error("Unknown delivery ids")}}},
    }
