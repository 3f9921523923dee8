"""Jelou's OpenAPI description: response and error-envelope schemas, and the operations table.

The request schemas are the ones the routes load with (``schemas.py``); the shapes below are what
``routes.py``/``backend.py``/``errors.py`` answer, one marshmallow schema per envelope. The table is
read by ``mock_server.apidoc``; ``tests/test_openapi.py`` checks that every route is in it and
schemathesis checks that every answer matches it.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..openapi_parts import json_content as _json
from .campaigns import MESSAGE_STATUSES
from .webhooks import WebhooksSchema
from .schemas import CAMPAIGN_STATUSES, TYPES, CampaignListSchema, CampaignUpdateSchema, NotificationListSchema, SendSchema

NAME = "jelou"
SECURITY = [{"jelouBasic": []}]
SECURITY_SCHEME = ("jelouBasic", {"type": "http", "scheme": "basic",
                                  "description": "Basic base64(clientId:clientSecret); demo: demo-client-id / demo-client-secret"})
NULLABLE_TEXT = {"required": True, "allow_none": True}


# -- error envelopes ---------------------------------------------------------------------------
class ErrorCodeSchema(Schema):
    code = fields.String(required=True, metadata={"examples": ["bot_not_found", "forbidden_bot"]})


class JelouFailedSchema(Schema):
    """``{"message": [text], "status": "failed"}`` (+ ``error.code`` for bot errors): 400, 401, 403, 404, 405, 413."""

    message = fields.List(fields.String(), required=True)
    status = fields.String(required=True, validate=validate.OneOf(["failed"]))
    error = fields.Nested(ErrorCodeSchema)


class LocalizedSchema(Schema):
    en = fields.String(required=True)
    es = fields.String(required=True)


class ValidationEntrySchema(LocalizedSchema):
    """One problem; CSV problems also name the 1-based line, the column, the value and the reason."""

    line = fields.Integer(allow_none=True)
    column = fields.String(allow_none=True)
    value = fields.String(allow_none=True)
    reason = fields.String()


class ValidatorErrorSchema(Schema):
    key = fields.String(required=True, validate=validate.OneOf(["VALIDATOR_ERROR"]))
    code = fields.String(required=True, validate=validate.OneOf(["E0422"]))
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


# -- success bodies ----------------------------------------------------------------------------
class SentSchema(Schema):
    message = fields.List(fields.String(), required=True)
    status = fields.String(required=True, validate=validate.OneOf(["success"]))


class HsmFileFormSchema(Schema):
    """``POST /v1/hsm/file`` as ``multipart/form-data``: the CSV in ``file``, structured fields as JSON text."""

    campaignName = fields.String(required=True)
    elementName = fields.String(required=True)
    botId = fields.String(required=True)
    params = fields.String(required=True, metadata={"description": 'JSON array, e.g. [{"param": 1, "column": "name"}]'})
    type = fields.String(validate=validate.OneOf(TYPES))
    mediaUrl = fields.String()
    buttonPayloads = fields.String(metadata={"description": 'JSON array of {"flowId", "action"} (at most 3)'})
    actions = fields.String(metadata={"description": "JSON object"})
    scheduledAt = fields.String(metadata={"description": "ISO 8601 date-time; naive is UTC"})
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary", "description": "the CSV (.csv)"})


class CampaignSchema(Schema):
    """A campaign in the current documented shape (``campaigns_shape: current``)."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    elementName = fields.String(required=True)
    botId = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(CAMPAIGN_STATUSES))
    totalMessages = fields.Integer(required=True)
    deliveredMessages = fields.Integer(required=True)
    failedMessages = fields.Integer(required=True)
    createdAt = fields.DateTime(required=True)
    completedAt = fields.DateTime(**NULLABLE_TEXT)
    scheduledAt = fields.DateTime(**NULLABLE_TEXT)
    startedAt = fields.DateTime(**NULLABLE_TEXT)
    updatedAt = fields.DateTime(required=True)
    type = fields.String(required=True)
    fileName = fields.String(required=True)


class NamedSchema(Schema):
    id = fields.Raw(required=True)
    name = fields.String(required=True)


class LegacyCampaignSchema(Schema):
    """A campaign in the older (GitBook) shape (``campaigns_shape: legacy``)."""

    _id = fields.String(required=True)
    name = fields.String(required=True)
    fileName = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(CAMPAIGN_STATUSES))
    botId = fields.String(required=True)
    companyId = fields.Raw(required=True)
    bot = fields.Nested(NamedSchema, required=True)
    company = fields.Nested(NamedSchema, required=True)
    rowCount = fields.Integer(required=True)
    storageUrl = fields.String(**NULLABLE_TEXT)
    metadata = fields.Dict(required=True)
    totalMessages = fields.Integer(required=True)
    deliveredMessages = fields.Integer(required=True)
    failedMessages = fields.Integer(required=True)
    scheduledAt = fields.DateTime(**NULLABLE_TEXT)
    createdAt = fields.DateTime(required=True)
    updatedAt = fields.DateTime(required=True)


class PaginationSchema(Schema):
    limit = fields.Integer(required=True)
    page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    offset = fields.Integer(required=True)
    totalPages = fields.Integer(required=True)


class ErrorMessageSchema(Schema):
    message = fields.String(allow_none=True)


class NotificationSchema(Schema):
    id = fields.String(required=True)
    internalId = fields.String(required=True)
    destination = fields.String(required=True)
    sentStatus = fields.String(required=True, validate=validate.OneOf(MESSAGE_STATUSES))
    wasRead = fields.Boolean(required=True)
    origin = fields.String(required=True, validate=validate.OneOf(["BULK"]))
    campaignId = fields.String(required=True)
    elementName = fields.String(required=True)
    botId = fields.String(required=True)
    createdAt = fields.DateTime(required=True)
    sentDate = fields.DateTime(**NULLABLE_TEXT)
    deliveryChannelAt = fields.DateTime(**NULLABLE_TEXT)
    deliveryUserAt = fields.DateTime(**NULLABLE_TEXT)
    readAt = fields.DateTime(**NULLABLE_TEXT)
    replyAt = fields.DateTime(**NULLABLE_TEXT)
    failedAt = fields.DateTime(**NULLABLE_TEXT)
    error = fields.Nested(ErrorMessageSchema, **NULLABLE_TEXT)


class NotificationMetadataSchema(Schema):
    CREATED = fields.Integer(required=True)
    DELIVERED_CHANNEL = fields.Integer(required=True)
    DELIVERED_USER = fields.Integer(required=True)
    READ = fields.Integer(required=True)
    REPLY = fields.Integer(required=True)
    FAILED = fields.Integer(required=True)
    total = fields.Integer(required=True)


class NotificationPageSchema(Schema):
    pagination = fields.Nested(PaginationSchema, required=True)
    results = fields.List(fields.Nested(NotificationSchema), required=True)
    _metadata = fields.Nested(NotificationMetadataSchema, required=True)


class WebhookEntryAnswerSchema(Schema):
    url = fields.String(required=True)
    events = fields.List(fields.String(), required=True)


class WebhooksAnswerSchema(Schema):
    """``{"message", "statusMessage": "success", "status": 1, "data"}`` of the webhook API."""

    message = fields.List(fields.String(), required=True)
    statusMessage = fields.String(required=True)
    status = fields.Integer(required=True)


class WebhooksSetSchema(WebhooksAnswerSchema):
    data = fields.List(fields.Nested(WebhookEntryAnswerSchema), required=True)


class WebhooksGetSchema(WebhooksAnswerSchema):
    data = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True), required=True,
                       metadata={"description": "event -> URL (null when nobody subscribed)"})


def _campaign_schemas(shape: str):
    """The item, list, one-campaign and update bodies for the configured ``campaigns_shape``."""
    item = LegacyCampaignSchema if shape == "legacy" else CampaignSchema

    class CampaignListData(Schema):
        results = fields.List(fields.Nested(item), required=True)
        pagination = fields.Nested(PaginationSchema, required=True)

    if shape == "legacy":
        class CampaignList(Schema):
            pagination = fields.Nested(PaginationSchema, required=True)
            _metadata = fields.Dict(required=True)
            results = fields.List(fields.Nested(item), required=True)
    else:
        class CampaignList(SentSchema):
            data = fields.Nested(CampaignListData, required=True)

    class CampaignOne(Schema):
        data = fields.Nested(item, required=True)

    class CampaignUpdated(SentSchema):
        data = fields.Nested(item, required=True)

    return CampaignList, CampaignOne, CampaignUpdated


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
        schema = JelouValidationFailedSchema if status == 422 else JelouFailedSchema
        out[str(status)] = {"description": described[status], **_json(schema)}
        if status == 401:
            out[str(status)]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"},
                                                                "description": 'Basic realm="Jelou"'}}
    return out


def _bot_path() -> dict:
    return {"in": "path", "name": "botId", "required": True, "schema": {"type": "string"}}


def operations(settings: dict) -> dict[str, dict[str, dict]]:
    """``{path: {method: operation}}`` for the app's settings."""
    campaign_list, campaign_one, campaign_updated = _campaign_schemas(settings.jelou.campaigns_shape)
    tags = ["Jelou"]
    campaign_id = {"in": "path", "name": "campaignId", "required": True, "schema": {"type": "string"}}
    notification_id = {"in": "path", "name": "notificationId", "required": True, "schema": {"type": "string"}}
    send = {
        "tags": tags, "summary": "Send Bulk HSM", "security": SECURITY, "operationId": "jelouSendBulk",
        "description": "JSON with `fileUrl`, or multipart with the CSV in `file` (structured fields as JSON text).",
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": SendSchema},
            "multipart/form-data": {"schema": HsmFileFormSchema},
        }},
        "responses": {"200": {"description": "Campaign created", **_json(SentSchema), "headers": {
            "X-Mock-Campaign-Id": {"schema": {"type": "string"}, "description": "the new campaign's id (mock only)"}}},
            **_errors(400, 401, 403, 404, 413, 422)},
    }
    list_campaigns = {
        "tags": tags, "summary": "List a bot's campaigns", "security": SECURITY, "operationId": "jelouListCampaigns",
        "parameters": [{"in": "query", "schema": CampaignListSchema}],
        "responses": {"200": {"description": "One page, newest first", **_json(campaign_list)},
                      **_errors(401, 403, 404, 422)},
    }
    get_campaign = {
        "tags": tags, "summary": "One campaign", "security": SECURITY, "operationId": "jelouGetCampaign",
        "parameters": [campaign_id],
        "responses": {"200": {"description": "The campaign", **_json(campaign_one)}, **_errors(401, 404)},
    }
    update_campaign = {
        "tags": tags, "summary": "Cancel or reschedule a SCHEDULED/CANCELLED campaign", "security": SECURITY,
        "operationId": "jelouUpdateCampaign", "parameters": [campaign_id],
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": CampaignUpdateSchema},
            "multipart/form-data": {"schema": CampaignUpdateSchema},
            "application/x-www-form-urlencoded": {"schema": CampaignUpdateSchema},
        }},
        "responses": {"200": {"description": "Updated", **_json(campaign_updated)}, **_errors(400, 401, 404, 422)},
    }
    notifications = {
        "tags": tags, "summary": "A bot's notifications (one per recipient of a started campaign)",
        "security": SECURITY, "parameters": [_bot_path(), {"in": "query", "schema": NotificationListSchema}],
        "responses": {"200": {"description": "One page", **_json(NotificationPageSchema)},
                      **_errors(401, 403, 404, 422)},
    }
    notification = {
        "tags": tags, "summary": "One notification", "security": SECURITY,
        "parameters": [_bot_path(), notification_id],
        "responses": {"200": {"description": "The notification", **_json(NotificationSchema)},
                      **_errors(401, 403, 404)},
    }
    paths = {
        "/v1/hsm/file": {"post": send},
        "/v1/campaigns": {"get": list_campaigns},
        "/v1/campaigns/{campaignId}": {"get": get_campaign, "put": update_campaign},
    }
    paths["/v1/bots/{botId}/events/webhook"] = {
        "get": {"tags": tags, "summary": "The bot's webhook URLs, one per event", "security": SECURITY,
                "operationId": "jelouGetWebhooks", "parameters": [_bot_path()],
                "responses": {"200": {"description": "Event -> URL", **_json(WebhooksGetSchema)}, **_errors(401, 403, 404)}},
        "post": {"tags": tags, "summary": "Replace the bot's webhook subscriptions", "security": SECURITY,
                 "operationId": "jelouSetWebhooks", "parameters": [_bot_path()],
                 "requestBody": {"required": True, **_json(WebhooksSchema)},
                 "responses": {"200": {"description": "The subscriptions", **_json(WebhooksSetSchema)},
                               **_errors(400, 401, 403, 404, 422)}},
    }
    for prefix, suffix in (("/v1/external/bots", ""), ("/v1/bots", "Legacy")):
        paths[f"{prefix}/{{botId}}/notifications"] = {"get": {**notifications, "operationId": f"jelouListNotifications{suffix}"}}
        paths[f"{prefix}/{{botId}}/notifications/{{notificationId}}"] = {
            "get": {**notification, "operationId": f"jelouGetNotification{suffix}"}}
    return paths

