"""Jelou's operations for the OpenAPI document: what is not a schema (summaries, ids, parameters,
error statuses). Bodies, answers and error envelopes are the schemas of ``schemas.py`` and
``answers.py``: the routes declare the ones they load and dump (``mock_server.wire``), ``mock_server.apidoc`` joins them here.
``tests/ui/test_openapi.py`` checks that every route is described and schemathesis that every answer
matches.
"""

from __future__ import annotations

from ..openapi_parts import json_content as _json
from .errors import JelouError, ValidationFailed
from .schemas import CampaignListSchema, NotificationListSchema

NAME = "jelou"
SECURITY = [{"jelouBasic": []}]
SECURITY_SCHEME = ("jelouBasic", {"type": "http", "scheme": "basic",
                                  "description": "Basic base64(clientId:clientSecret); demo: demo-client-id / demo-client-secret"})


# -- operations --------------------------------------------------------------------------------
def _errors(*statuses: int) -> dict:
    described = {
        400: "Unreadable body or unsupported Content-Type", 401: "Authentication failed",
        403: "The bot belongs to another company (code forbidden_bot)",
        404: "Unknown bot (code bot_not_found), campaign, notification or route",
        413: "Body larger than max_request_bytes", 422: "E0422 VALIDATOR_ERROR naming each bad field",
    }
    out = {}
    for status in statuses:
        schema = ValidationFailed.schema if status == 422 else JelouError.schema
        out[str(status)] = {"description": described[status], **_json(schema)}
        if status == 401:
            out[str(status)]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"},
                                                                "description": 'Basic realm="Jelou"'}}
    return out


def _bot_path() -> dict:
    return {"in": "path", "name": "botId", "required": True, "schema": {"type": "string"}}


def operations(settings: dict) -> dict[str, dict[str, dict]]:
    """``{path: {method: operation}}`` for the app's settings."""
    tags = ["Jelou"]
    campaign_id = {"in": "path", "name": "campaignId", "required": True, "schema": {"type": "string"}}
    notification_id = {"in": "path", "name": "notificationId", "required": True, "schema": {"type": "string"}}
    send = {
        "tags": tags, "summary": "Send Bulk HSM", "security": SECURITY, "operationId": "jelouSendBulk",
        "description": "JSON with `fileUrl`, or multipart with the CSV in `file` (structured fields as JSON text).",
        "responses": _errors(400, 401, 403, 404, 413, 422),
    }
    list_campaigns = {
        "tags": tags, "summary": "List a bot's campaigns", "security": SECURITY, "operationId": "jelouListCampaigns",
        "parameters": [{"in": "query", "schema": CampaignListSchema}],
        "responses": _errors(401, 403, 404, 422),
    }
    get_campaign = {
        "tags": tags, "summary": "One campaign", "security": SECURITY, "operationId": "jelouGetCampaign",
        "parameters": [campaign_id],
        "responses": _errors(401, 404),
    }
    update_campaign = {
        "tags": tags, "summary": "Cancel or reschedule a SCHEDULED/CANCELLED campaign", "security": SECURITY,
        "operationId": "jelouUpdateCampaign", "parameters": [campaign_id],
        "responses": _errors(400, 401, 404, 422),
    }
    notifications = {
        "tags": tags, "summary": "A bot's notifications (one per recipient of a started campaign)",
        "security": SECURITY, "parameters": [_bot_path(), {"in": "query", "schema": NotificationListSchema}],
        "responses": _errors(401, 403, 404, 422),
    }
    notification = {
        "tags": tags, "summary": "One notification", "security": SECURITY,
        "parameters": [_bot_path(), notification_id],
        "responses": _errors(401, 403, 404),
    }
    paths = {
        "/v1/hsm/file": {"post": send},
        "/v1/campaigns": {"get": list_campaigns},
        "/v1/campaigns/{campaignId}": {"get": get_campaign, "put": update_campaign},
    }
    paths["/v1/bots/{botId}/events/webhook"] = {
        "get": {"tags": tags, "summary": "The bot's webhook URLs, one per event", "security": SECURITY,
                "operationId": "jelouGetWebhooks", "parameters": [_bot_path()],
                "responses": _errors(401, 403, 404)},
        "post": {"tags": tags, "summary": "Replace the bot's webhook subscriptions", "security": SECURITY,
                 "operationId": "jelouSetWebhooks", "parameters": [_bot_path()],
                 "responses": _errors(400, 401, 403, 404, 422)},
    }
    for prefix, suffix in (("/v1/external/bots", ""), ("/v1/bots", "Legacy")):
        paths[f"{prefix}/{{botId}}/notifications"] = {"get": {**notifications, "operationId": f"jelouListNotifications{suffix}"}}
        paths[f"{prefix}/{{botId}}/notifications/{{notificationId}}"] = {
            "get": {**notification, "operationId": f"jelouGetNotification{suffix}"}}
    return paths

