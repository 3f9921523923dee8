"""Jelou's legacy webhook subscription API, ``GET|POST /v1/bots/{botId}/events/webhook``.

Documented (research/webhooks-rate-limits-scaling.md §1.1): the POST body is
``{"webhooks": [{"url", "events": [...]}]}`` and replaces the bot's subscriptions; the GET answers
one URL per event (``data: {"read": url, ...}``). So an event may appear in one entry only (a
second URL for it is a 422 on ``webhooks``); an event nobody subscribed is ``null`` in the GET.
These subscriptions carry no auth and no signing secret (the documented body has neither); use
the settings' ``notification_urls`` or ``POST /_mock/webhooks`` for those.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from ..sandbox import Sandbox
from ..webhooks.subscriptions import JELOU_EVENTS, shown_url, url_problem
from . import schemas
from .errors import JelouError


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
    events = fields.List(fields.String(validate=validate.OneOf(JELOU_EVENTS)), required=True,
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


class WebhooksMixin:
    """Mixed into :class:`JelouBackend`; uses its ``bot_for`` and ``state``."""

    def get_webhooks(self, sb: Sandbox, client: dict, bot_id: str) -> dict[str, Any]:
        self.bot_for(client, bot_id)
        urls: dict[str, Any] = dict.fromkeys(JELOU_EVENTS)
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
        removed = dispatcher.registry.replace_api(sb.name, bot_id, [(e["url"], frozenset(e["events"])) for e in entries],
                                                  since)
        dispatcher.unsubscribed(sb.name, removed)
        if entries:
            dispatcher.subscribed(sb.name, since)
        return [{**entry, "url": shown_url(entry["url"])} for entry in entries]
