"""Jelou's answers as marshmallow schemas, each declared once: the success bodies the routes dump
(``mock_server.wire``) and the OpenAPI document shows (a campaign in either configured shape, a
notification page, the webhook API's answers). The request bodies and the E0422 bridge are in
``schemas.py``, which re-exports these names."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..wire import Instant
from .campaigns import MESSAGE_STATUSES

CAMPAIGN_STATUSES = ("SCHEDULED", "PENDING", "IN_PROGRESS", "COMPLETED", "CANCELLED", "FAILED")
NULLABLE_TEXT = {"required": True, "allow_none": True}


class SentSchema(Schema):
    message = fields.List(fields.String(), required=True)
    status = fields.String(required=True, validate=validate.OneOf(["success"]))


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
    createdAt = Instant(required=True)
    completedAt = Instant(**NULLABLE_TEXT)
    scheduledAt = Instant(**NULLABLE_TEXT)
    startedAt = Instant(**NULLABLE_TEXT)
    updatedAt = Instant(required=True)
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
    scheduledAt = Instant(**NULLABLE_TEXT)
    createdAt = Instant(required=True)
    updatedAt = Instant(required=True)


class PaginationSchema(Schema):
    limit = fields.Integer(required=True)
    page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    offset = fields.Integer(required=True)
    totalPages = fields.Integer(required=True)


class ErrorMessageSchema(Schema):
    message = fields.String(allow_none=True)
    code = fields.Integer(allow_none=True, metadata={"description": "the WhatsApp error code (131026, 131049, ...)"})


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
    createdAt = Instant(required=True)
    sentDate = Instant(**NULLABLE_TEXT)
    deliveryChannelAt = Instant(**NULLABLE_TEXT)
    deliveryUserAt = Instant(**NULLABLE_TEXT)
    readAt = Instant(**NULLABLE_TEXT)
    replyAt = Instant(**NULLABLE_TEXT)
    failedAt = Instant(**NULLABLE_TEXT)
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


def campaign_schemas(shape: str):
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


def campaign_list(settings, providers) -> type[Schema]:
    """``GET /v1/campaigns`` in the configured ``jelou.campaigns_shape``."""
    return campaign_schemas(settings.jelou.campaigns_shape)[0]


def campaign_one(settings, providers) -> type[Schema]:
    """``GET /v1/campaigns/{campaignId}`` in the configured shape."""
    return campaign_schemas(settings.jelou.campaigns_shape)[1]


def campaign_updated(settings, providers) -> type[Schema]:
    """``PUT /v1/campaigns/{campaignId}`` in the configured shape."""
    return campaign_schemas(settings.jelou.campaigns_shape)[2]


# One instance of each, built at import: building a schema deep-copies all its fields (about 70 us
