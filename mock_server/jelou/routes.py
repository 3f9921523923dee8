"""Jelou's HTTP surface: parse the request, call the backend, shape the documented answer."""

from __future__ import annotations

from flask import Blueprint, Request, current_app, request

from .. import bodies
from ..providers import hand_over_record
from ..sandbox import current
from ..wire import answers, takes
from . import answers as shapes, schemas
from .answers import NotificationPageSchema, NotificationSchema, SentSchema, WebhooksGetSchema, WebhooksSetSchema
from .schemas import CampaignUpdateSchema, HsmFileFormSchema, SendSchema
from .webhooks import WebhooksSchema
from .errors import JelouError, message

bp = Blueprint("jelou", __name__)


def _backend():
    return current_app.extensions["mock"].backends["jelou"]


def _client():
    return _backend().authenticate(request.headers.get("Authorization"))


@bp.post("/v1/hsm/file")
@answers(SentSchema, description="Campaign created", headers={"X-Mock-Campaign-Id": {
    "schema": {"type": "string"}, "description": "the new campaign's id (mock only)"}})
@takes(SendSchema)
@takes(HsmFileFormSchema, ("multipart/form-data",))
def send_bulk():
    """Send Bulk HSM: JSON with ``fileUrl`` or multipart with the CSV in ``file``."""
    backend = _backend()
    client = _client()
    data, upload, errors = _read_send_body()
    campaign = backend.send_bulk(current(), client, data, upload, errors)
    hand_over_record("campaignId", campaign.id, messages=campaign.to_send)   # the request journal's created record
    return {"message": [backend.settings.success_message], "status": "success"}, 200, {"X-Mock-Campaign-Id": campaign.id}


@bp.get("/v1/bots/<bot_id>/events/webhook")
@answers(WebhooksGetSchema, description="Event -> URL")
def get_webhooks(bot_id: str):
    urls = _backend().get_webhooks(current(), _client(), bot_id)
    return {"message": ["Webhooks retrieved succesfully!"], "statusMessage": "success", "status": 1, "data": urls}


@bp.post("/v1/bots/<bot_id>/events/webhook")
@answers(WebhooksSetSchema, description="The subscriptions")
@takes(WebhooksSchema)
def set_webhooks(bot_id: str):
    """Replace the bot's subscriptions (documented spelling of the messages kept, typo included)."""
    backend = _backend()
    client = _client()
    if request.mimetype != "application/json":
        raise JelouError(f"Unsupported Content-Type '{request.mimetype or 'none'}': send application/json.")
    entries = backend.set_webhooks(current(), client, bot_id, _json_value())
    return {"message": ["Webhooks created successfully!"], "statusMessage": "success", "status": 1, "data": entries}


@bp.get("/v1/campaigns")
@answers(shapes.campaign_list, description="One page, newest first")
def list_campaigns():
    backend = _backend()
    client = _client()
    query = schemas.load(schemas.CAMPAIGN_LIST, request.args.to_dict())
    campaigns, total = backend.list_campaigns(current(), client, query)
    items = [backend.render(current(), campaign) for campaign in campaigns]
    limit, page = query["limit"], query["page"]
    pagination = {"limit": limit, "page": page, "total": total, "offset": (page - 1) * limit,
                  "totalPages": -(-total // limit)}
    if backend.settings.campaigns_shape == "legacy":
        return {"pagination": pagination, "_metadata": {}, "results": items}
    return {"message": ["Campaigns retrieved successfully"], "status": "success",
            "data": {"results": items, "pagination": pagination}}


@bp.get("/v1/campaigns/<campaign_id>")
@answers(shapes.campaign_one, description="The campaign")
def get_campaign(campaign_id: str):
    backend = _backend()
    return {"data": backend.render(current(), backend.campaign_for(current(), _client(), campaign_id))}


@bp.put("/v1/campaigns/<campaign_id>")
@answers(shapes.campaign_updated, description="Updated")
@takes(CampaignUpdateSchema, ("application/json", "multipart/form-data", "application/x-www-form-urlencoded"))
def update_campaign(campaign_id: str):
    """Cancel or reschedule; the dashboard sends a multipart form, API clients JSON."""
    backend = _backend()
    client = _client()
    backend.campaign_for(current(), client, campaign_id)
    if request.mimetype == "application/json":
        data = _json_object()
    elif request.mimetype == "multipart/form-data":
        data = _multipart().fields
    elif request.mimetype == "application/x-www-form-urlencoded":
        data = request.form.to_dict()
    else:
        raise JelouError(f"Unsupported Content-Type '{request.mimetype or 'none'}': send application/json "
                         "or a form (multipart/form-data or application/x-www-form-urlencoded).")
    changes = schemas.load(schemas.CAMPAIGN_UPDATE, data)
    campaign = backend.update_campaign(current(), client, campaign_id, changes)
    return {"message": ["Campaign updated successfully"], "status": "success",
            "data": backend.render(current(), campaign)}


@bp.get("/v1/external/bots/<bot_id>/notifications")
@bp.get("/v1/bots/<bot_id>/notifications")
@answers(NotificationPageSchema, description="One page")
def list_notifications(bot_id: str):
    backend = _backend()
    client = _client()
    query = schemas.load(schemas.NOTIFICATION_LIST, request.args.to_dict())
    return backend.list_notifications(current(), client, bot_id, query)


@bp.get("/v1/external/bots/<bot_id>/notifications/<notification_id>")
@bp.get("/v1/bots/<bot_id>/notifications/<notification_id>")
@answers(NotificationSchema, description="The notification")
def get_notification(bot_id: str, notification_id: str):
    backend = _backend()
    return backend.get_notification(current(), _client(), bot_id, notification_id)


def _read_send_body():
    """``(fields, the CSV part (``bodies.FilePart``) | None, field errors)`` from a JSON or multipart body."""
    if request.mimetype == "application/json":
        return _json_object(), None, {}
    if request.mimetype == "multipart/form-data":
        body = _multipart()
        data = body.fields
        errors = {name: [message(f"'{name}' was sent {body.counts[name]} times; send it once.",
                                 f"'{name}' se envió más de una vez; envíelo una sola vez.")] for name in body.repeated}
        upload = None
        if "file" in body.files:
            upload = body.files["file"]
        elif "file" in data:
            errors["file"] = [message("'file' must be a file part (the CSV itself), not a text field.",
                                      "'file' debe ser un archivo adjunto.")]
            data.pop("file")
        return data, upload, errors
    shown = request.mimetype or "none"
    raise JelouError(f"Unsupported Content-Type '{shown}': send application/json (with fileUrl) "
                     "or multipart/form-data (with the CSV in 'file').")


def _multipart():
    try:
        return bodies.multipart(request)
    except bodies.BodyError as exc:
        raise JelouError(str(exc)) from None


def _json_value():
    try:
        return bodies.json_body(request.get_data(cache=True))
    except bodies.BodyError as exc:
        raise JelouError(str(exc)) from None


def _json_object() -> dict:
    body = _json_value()
    if not isinstance(body, dict):
        raise JelouError("The JSON body must be an object with the campaign fields.")
    return body


def bot_of_request(request: Request) -> str | None:
    """The bot a request is about (rate limits ``per: bot``): in the path, or the send body's ``botId``."""
    if request.view_args and request.view_args.get("bot_id"):
        return request.view_args["bot_id"]
    if request.path.endswith("/hsm/file") and request.method == "POST":
        if request.mimetype == "multipart/form-data":
            try:
                return bodies.multipart(request).fields.get("botId") or None
            except bodies.BodyError:
                return None                      # the route answers the unreadable body
        if request.mimetype == "application/x-www-form-urlencoded":
            return request.form.get("botId") or None
        body = request.get_json(silent=True)
        if isinstance(body, dict) and isinstance(body.get("botId"), str):
            return body["botId"]
    return None
