"""What an attempt sends besides its body: the headers, and the body as the UI shows it.

The sender builds :func:`fixed_headers` once per subscription and :func:`attempt_headers` per
attempt (the event, the attempt's number, the body's HMAC signature). Nothing is stored per
attempt but its outcome, so the UI re-derives what an attempt sent (:func:`sent_headers`), the
subscription's credentials masked.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from .subscriptions import Subscription, mask


def fixed_headers(subscription: Subscription) -> dict[str, str]:
    """The headers every attempt of a subscription sends alike (the sender pre-builds them once)."""
    return {"Content-Type": "application/json", "User-Agent": "bulk-messaging-mock-webhooks",
            **subscription.auth_headers()}


def attempt_headers(subscription: Subscription, body: bytes, event_id: str, attempt: int) -> dict[str, str]:
    """The headers that differ per attempt: the event, the attempt's number, the body's signature."""
    headers = {"X-Mock-Event-Id": event_id, "X-Mock-Attempt": str(attempt)}
    if subscription.signing_secret is not None:
        digest = hmac.new(subscription.signing_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
        headers[subscription.signature_header] = f"sha256={digest}"
    return headers


def signed_headers(subscription: Subscription, body: bytes, event_id: str, attempt: int) -> dict[str, str]:
    """Every header an attempt sends but ``Host``, ``Accept-Encoding`` and ``Content-Length``."""
    return {**fixed_headers(subscription), **attempt_headers(subscription, body, event_id, attempt)}


def sent_payload(value: dict[str, Any]) -> Any:
    """The body a delivery sends (the record keeps its event's body once), as JSON when it is."""
    try:
        return json.loads(value["body"])
    except (ValueError, UnicodeDecodeError):
        return value["body"].decode("utf-8", errors="replace")


AUTH_SCHEMES = frozenset({"basic", "bearer", "token", "serverkey", "apikey"})


def sent_headers(value: dict[str, Any], subscription: Subscription | None, attempt: int) -> dict[str, str] | None:
    """The headers attempt number ``attempt`` of a delivery was sent with, re-derived rather than
    stored (nothing is kept per attempt but its outcome): :func:`signed_headers` for that attempt,
    the signature included (an HMAC of the body, not a secret), the subscription's credentials
    masked. None when the subscription was deleted since (its secret is gone with it)."""
    if subscription is None:
        return None
    body = value["body"]
    headers = {**signed_headers(subscription, body, value["eventId"], attempt), "Content-Length": str(len(body))}
    for name, secret in subscription.auth_headers().items():
        scheme, _, rest = secret.partition(" ")      # a known scheme stays readable, nothing else does
        headers[name] = f"{scheme} {mask(rest)}" if rest and scheme.lower() in AUTH_SCHEMES else mask(secret)
    return headers
