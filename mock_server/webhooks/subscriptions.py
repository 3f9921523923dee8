"""Webhook subscriptions (CONTRACT §10): who wants which events, where, and how to authenticate.

Three sources, one shape (:class:`Subscription`):
- a provider's own subscription API (e.g. Jelou's legacy ``POST /v1/bots/{botId}/events/webhook``),
  through :meth:`Registry.replace_api`;
- the settings (``WebhookSpec.configured``, e.g. ``jelou.bots[].notification_urls``: events, one of
  four auth types, an optional signing secret);
- the control plane, ``POST /_mock/webhooks`` (any provider with webhooks; the owner field is the
  provider's ``WebhookSpec.owner_key``).

What a subscription may say (its URL, auth, events) is checked in ``subscription_fields.py``.
What each provider offers (event names, owner, signature header) is its
:class:`~mock_server.providers.WebhookSpec`; this module names none.

A subscription receives the transitions that happen at or after the mock time it was created
(settings ones: all of them). Secrets never leave the mock: listings show them masked.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

from marshmallow import ValidationError

from ..providers import WebhookSpec
from ..sandbox import MapCache, Sandbox
from .subscription_fields import (control_subscription_schema, notification_url_schema,  # noqa: F401 (re-exported)
                                  url_problem)

BUCKET = "webhooks.subscriptions"


@dataclass(frozen=True)
class Subscription:
    id: str
    provider: str                 # a registered provider's name
    owner: str                    # its owner id as text (WebhookSpec.owner_key: botId, applicationId ...)
    url: str
    events: frozenset[str]
    source: str                   # api (the provider's own API) | settings | control
    auth: Mapping[str, str] | None = None
    signing_secret: str | None = None
    since: float | None = None    # mock time it was created (None: since the start)
    signature_header: str = "X-Mock-Signature"    # its provider's (WebhookSpec), not stored

    def wants(self, event: str, moment: float) -> bool:
        return event in self.events and (self.since is None or moment >= self.since)

    def auth_headers(self) -> dict[str, str]:
        auth = self.auth or {"type": "no_auth"}
        kind = auth["type"]
        if kind == "basic":
            token = base64.b64encode(f"{auth['username']}:{auth['password']}".encode()).decode()
            return {"Authorization": f"Basic {token}"}
        if kind == "bearer":
            return {"Authorization": f"Bearer {auth['token']}"}
        if kind == "api_key":
            return {"X-API-Key": auth["key"]}
        return {}

    def public(self, spec: WebhookSpec) -> dict[str, Any]:
        """The subscription as listings show it (``spec``: its provider's): secrets masked, never echoed."""
        auth = dict(self.auth or {"type": "no_auth"})
        for name in ("password", "token", "key"):
            if name in auth:
                auth[name] = mask(auth[name])
        return {"id": self.id, "provider": self.provider, spec.owner_key: spec.owner_value(self.owner),
                "url": shown_url(self.url), "events": sorted(self.events), "auth": auth,
                "signing": self.signing_secret is not None, "source": self.source}


def shown_url(url: str) -> str:
    """``url`` without its ``user:password@`` part: credentials are never echoed (CONTRACT §13)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


def mask(secret: str) -> str:
    return "****" + secret[-2:] if len(secret) > 8 else "****"



def expand(spec: WebhookSpec, events: Iterable[str]) -> frozenset[str]:
    names = set(events)
    return frozenset(spec.events) if "all" in names else frozenset(names)


def from_settings(settings: Mapping[str, Any], specs: Mapping[str, WebhookSpec]) -> list[Subscription]:
    """The subscriptions every provider's settings declare; raise ``ValueError`` naming a bad one."""
    found = []
    for provider, spec in specs.items():
        schema = notification_url_schema(spec)
        for owner, position, entry, where in spec.configured(settings):
            try:
                loaded = schema.load(entry)
            except ValidationError as exc:
                raise ValueError(f"{where}: {exc.normalized_messages()}") from None
            except TypeError:
                raise ValueError(f"{where} must be a mapping") from None
            found.append(Subscription(
                id=f"settings-{owner}-{position + 1}", provider=provider, owner=owner,
                url=loaded["url"], events=expand(spec, loaded["events"]), source="settings",
                auth=loaded["auth"], signing_secret=loaded["signing_secret"], signature_header=spec.signature_header))
    return found


class Registry:
    """Every subscription of a sandbox: the settings' (shared by all sandboxes) and those created
    at run time, kept in the sandbox's store map ``webhooks.subscriptions`` as plain data (so
    ``POST /_mock/reset`` drops them and a shared store shares them)."""

    def __init__(self, store, configured: list[Subscription], specs: Mapping[str, WebhookSpec],
                 maps: MapCache | None = None) -> None:
        self.store = store
        self.maps = maps or MapCache(store)
        self.configured = configured
        self.specs = specs                # provider name -> its WebhookSpec

    def _signed(self, subscription: Subscription) -> Subscription:
        return replace(subscription, signature_header=self.specs[subscription.provider].signature_header)

    def public(self, subscription: Subscription) -> dict[str, Any]:
        return subscription.public(self.specs[subscription.provider])

    def all(self, sandbox: str) -> list[Subscription]:
        created = [self._signed(_from_plain(value)) for _, value in self.store.items(sandbox, BUCKET)]
        return [*self.configured, *created]

    def any(self, sandbox: str) -> bool:
        return bool(self.configured) or bool(self.store.items(sandbox, BUCKET))

    def may_have(self, info) -> bool:
        """Whether a sandbox (its ``SandboxInfo``) may have subscriptions: the settings' or a map
        that ever changed (a read that creates nothing: ``info``, not ``items``)."""
        return bool(self.configured) or info.maps.get(BUCKET, 0) > 0

    def any_in(self, sb: Sandbox) -> bool:
        """``any`` for a request context: the map is read again only when its version moved."""
        return bool(self.configured) or bool(self.maps.items(sb, BUCKET))

    def exists(self, sandbox: str, subscription: Subscription) -> bool:
        """Whether the subscription is still there (one store read; the settings' always are)."""
        return subscription.source == "settings" or self.store.get_value(sandbox, BUCKET, subscription.id) is not None

    def get(self, sandbox: str, subscription_id: str) -> Subscription | None:
        return next((sub for sub in self.all(sandbox) if sub.id == subscription_id), None)

    def add(self, sandbox: str, **fields: Any) -> Subscription:
        number = self.store.incr(sandbox, "webhooks.subscription")
        subscription = self._signed(Subscription(id=f"wh_{number}", **fields))
        self.store.put(sandbox, BUCKET, subscription.id, _to_plain(subscription))
        return subscription

    def remove(self, sandbox: str, subscription_id: str) -> bool:
        return self.store.delete(sandbox, BUCKET, subscription_id)

    def replace_api(self, sandbox: str, provider: str, owner: str, entries: list[tuple[str, frozenset[str]]],
                    since: float) -> list[str]:
        """A provider's own subscription API: the owner's ``source=api`` subscriptions become ``entries``;
        the ids removed."""
        removed = []
        for sub in self.all(sandbox):
            if sub.source == "api" and sub.provider == provider and sub.owner == owner:
                self.remove(sandbox, sub.id)
                removed.append(sub.id)
        for url, events in entries:
            self.add(sandbox, provider=provider, owner=owner, url=url, events=events, source="api", since=since)
        return removed

    def by_owner(self, sandbox: str) -> dict[tuple[str, str], list[Subscription]]:
        index: dict[tuple[str, str], list[Subscription]] = {}
        for sub in self.all(sandbox):
            index.setdefault((sub.provider, sub.owner), []).append(sub)
        return index


def _to_plain(sub: Subscription) -> dict[str, Any]:
    return {"id": sub.id, "provider": sub.provider, "owner": sub.owner, "url": sub.url, "events": sorted(sub.events),
            "source": sub.source, "auth": dict(sub.auth) if sub.auth else None, "signing_secret": sub.signing_secret,
            "since": sub.since}


def _from_plain(value: Mapping[str, Any]) -> Subscription:
    return Subscription(id=value["id"], provider=value["provider"], owner=value["owner"], url=value["url"],
                        events=frozenset(value["events"]), source=value["source"], auth=value["auth"],
                        signing_secret=value["signing_secret"], since=value["since"])