"""Jelou's legacy webhook subscription API, ``GET|POST /v1/bots/{botId}/events/webhook``.

Documented (research/webhooks-rate-limits-scaling.md §1.1): the POST body is
``{"webhooks": [{"url", "events": [...]}]}`` and replaces the bot's subscriptions; the GET answers
one URL per event (``data: {"read": url, ...}``). So an event may appear in one entry only (a
second URL for it is a 422 on ``webhooks``); an event nobody subscribed is ``null`` in the GET.
These subscriptions carry no auth and no signing secret (the documented body has neither); use
the settings' ``notification_urls`` or ``POST /_mock/webhooks`` for those.
"""

from __future__ import annotations

from typing import Any, Mapping

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from .. import delivery
from ..isotime import Stamps
from ..providers import WebhookSpec
from ..sandbox import Sandbox
from ..webhooks.events import Slots, Source, Template
from ..webhooks.subscriptions import shown_url, url_problem
from . import schemas
from .answers import NotificationSchema
from .campaigns import ALL, CAMPAIGNS
from .errors import JelouError
from .notifications import WAS_READ, notification_shape

EVENTS = ("delivered_channel", "delivered_user", "failed", "read", "reply")
# delivery stage -> event name
EVENT_OF = {delivery.CHANNEL: "delivered_channel", delivery.USER: "delivered_user", delivery.READ: "read",
            delivery.REPLY: "reply", delivery.FAILED: "failed"}


class _WebhookUrl(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = url_problem(text)
        if problem:
            raise ValidationError(f"{problem}.")
        return text


class WebhookEntrySchema(Schema):
    class Meta:
        unknown = RAISE

    url = _WebhookUrl(required=True, error_messages=schemas.TEXT)
    events = fields.List(fields.String(validate=validate.OneOf(EVENTS)), required=True,
                         validate=validate.Length(min=1, error="Give at least one event."),
                         error_messages={**schemas.REQUIRED, "invalid": "events must be an array of event names."})


class WebhooksSchema(Schema):
    class Meta:
        unknown = RAISE

    webhooks = fields.List(fields.Nested(WebhookEntrySchema), required=True,
                           error_messages={**schemas.REQUIRED, "invalid": "webhooks must be an array of {{url, events}} objects."})

    @validates_schema
    def one_url_per_event(self, data, **kwargs):
        seen: dict[str, int] = {}
        for position, entry in enumerate(data.get("webhooks") or ()):
            for event in entry["events"]:
                if event in seen and seen[event] != position:
                    raise ValidationError(f"The event '{event}' is in webhooks[{seen[event]}] and webhooks[{position}]: "
                                          "each event has one URL.", "webhooks")
                seen[event] = position


WEBHOOKS = WebhooksSchema()


class WebhookEventSchema(Schema):
    """The body of a delivery-status webhook (``render`` below), for the OpenAPI ``webhooks``."""

    event = fields.String(required=True, validate=validate.OneOf(EVENTS))
    timestamp = fields.String(required=True, metadata={"description": "mock time of the transition (ISO 8601, UTC)"})
    botId = fields.String(required=True)
    campaignId = fields.String(required=True)
    notification = fields.Nested(NotificationSchema, required=True,
                                 metadata={"description": "the notification right after the transition"})


class WebhooksMixin:
    """Mixed into :class:`JelouBackend`; uses its ``bot_for`` and ``state``."""

    def get_webhooks(self, sb: Sandbox, client: dict, bot_id: str) -> dict[str, Any]:
        self.bot_for(client, bot_id)
        urls: dict[str, Any] = dict.fromkeys(EVENTS)
        for sub in self.state.webhooks.registry.all(sb.name):
            if sub.provider == "jelou" and sub.source == "api" and sub.owner == bot_id:
                for event in sub.events:
                    urls[event] = shown_url(sub.url)
        return urls

    def set_webhooks(self, sb: Sandbox, client: dict, bot_id: str, body: Any) -> list[dict]:
        self.bot_for(client, bot_id)
        if not isinstance(body, dict):
            raise JelouError("The JSON body must be an object: {\"webhooks\": [{\"url\": ..., \"events\": [...]}]}.")
        loaded = schemas.load(WEBHOOKS, body)
        entries = [{"url": entry["url"], "events": list(dict.fromkeys(entry["events"]))} for entry in loaded["webhooks"]]
        dispatcher, since = self.state.webhooks, sb.now()
        removed = dispatcher.registry.replace_api(sb.name, "jelou", bot_id,
                                                  [(e["url"], frozenset(e["events"])) for e in entries], since)
        dispatcher.unsubscribed(sb.name, removed)
        if entries:
            dispatcher.subscribed(sb.name, since)
        return [{**entry, "url": shown_url(entry["url"])} for entry in entries]

    def webhook_sources(self, sb: Sandbox, owners, after: float, latest: float) -> list[Source]:
        """Started campaigns of a bot in ``owners`` with transitions still to come after ``after``
        (their bodies: the notification right after the transition). Costs one look per campaign."""
        sources, stamps = [], Stamps()          # the window's instants, each formatted once
        timelines = self.timelines
        for record in self.store.scan(sb.name, ALL.name, newest_first=False):      # records: their ``seq``
            campaign = CAMPAIGNS.load(record)
            if campaign.started_at is None or campaign.cancelled or ("jelou", str(campaign.bot_id)) not in owners:
                continue
            if campaign.finishes_at + max(latest, campaign.fates(timelines).latest) < after:
                continue

            def render(index: int, moment: float, event: str, campaign=campaign) -> dict[str, Any]:
                return _body(campaign, event, stamps[moment], self.notification(campaign, index, moment, stamps))

            slots = Slots()
            template = Template(_body(campaign, slots["event"], slots["timestamp"],
                                      notification_shape(campaign, slots["id"], slots, slots["wasRead"],
                                                         stamps[campaign.started_at])))

            def encoded(index: int, moment: float, event: str, campaign=campaign,
                        template=template) -> tuple[bytes, str | None]:
                state = campaign.message(index, timelines, moment, stamps, parameters=False)
                state.update(event=event, timestamp=stamps[moment], id=f"{campaign.id}-{index + 1}",
                             wasRead=state["status"] in WAS_READ)
                return template.encode(state), state["destination"]

            sources.append(Source("jelou", campaign.id, record.seq, str(campaign.bot_id), campaign, render, encoded))
        return sources


def _body(campaign, event: str, timestamp: str, notification: Mapping[str, Any]) -> dict[str, Any]:
    """A delivery-status webhook's body (:class:`WebhookEventSchema`)."""
    return {"event": event, "timestamp": timestamp, "botId": campaign.bot_id, "campaignId": campaign.id,
            "notification": notification}


def _bot_problem(settings: Mapping[str, Any], owner: str) -> str | None:
    if owner not in {str(bot["id"]) for bot in settings.jelou.bots}:
        return f"botId: no bot '{owner}' in the settings (jelou.bots)"
    return None


def _notification_urls(settings: Mapping[str, Any]):
    """The dashboard's notification URLs: ``jelou.bots[].notification_urls``."""
    for bot in settings.jelou.bots:
        for position, entry in enumerate(bot.get("notification_urls") or ()):
            yield str(bot["id"]), position, entry, f"jelou.bots[{bot.get('id')}].notification_urls[{position}]"


SPEC = WebhookSpec(
    events=EVENTS, event_of=EVENT_OF, signature_header="X-Jelou-Signature",
    owner_key="botId", owner_field=lambda: fields.String(validate=validate.Length(min=1)), owner_problem=_bot_problem,
    recipient=lambda body: body["notification"].get("destination"),
    configured=_notification_urls, configured_where="jelou.bots[].notification_urls",
    event_schema=WebhookEventSchema)
