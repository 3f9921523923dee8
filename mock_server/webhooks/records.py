"""Delivery records: one per (event, subscription), what ``/_mock/webhooks/deliveries`` shows.

Live records (``pending``, ``retrying``) are bounded by the dispatcher's back-pressure; finished
ones (``delivered``, ``dead``) are kept in two bounded logs of ``webhooks.max_records`` each, the
oldest dropped first (the answer says how many were dropped). The dispatcher keeps one log per
sandbox, in the memory of the process that delivers (records hold the bytes sent, for redelivery);
a reset or a drop of the sandbox drops its log.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import threading
from collections import OrderedDict
from typing import Any, Iterator

from .subscriptions import SIGNATURE_HEADERS, Subscription, shown_url

STATUSES = ("pending", "retrying", "delivered", "dead")


class Delivery:
    """One event on its way to one subscription."""

    __slots__ = ("seq", "sandbox", "id", "event_id", "event", "subscription", "recipient", "due_at", "body", "status",
                 "attempt", "budget", "history", "next_retry", "lane", "generation", "_signature")

    def __init__(self, seq: int, sandbox: str, event_id: str, event: str, subscription: Subscription, recipient: str | None,
                 due_at: float, body: bytes, lane: int, generation: int, budget: int) -> None:
        self.seq = seq
        self.sandbox = sandbox
        self.id = f"{event_id}@{subscription.id}"
        self.event_id = event_id
        self.event = event
        self.subscription = subscription
        self.recipient = recipient
        self.due_at = due_at
        self.body = body
        self.status = "pending"
        self.attempt = 0              # attempts made so far (X-Mock-Attempt of the next one is attempt + 1)
        self.budget = budget          # the attempt number after which a failure is final
        self.history: list[dict[str, Any]] = []
        self.next_retry: float | None = None
        self.lane = lane
        self.generation = generation
        self._signature: str | None = None

    def headers(self, attempt: int) -> dict[str, str]:
        sub = self.subscription
        headers = {"Content-Type": "application/json", "X-Mock-Event-Id": self.event_id,
                   "X-Mock-Attempt": str(attempt), "User-Agent": "bulk-messaging-mock-webhooks",
                   **sub.auth_headers()}
        if sub.signing_secret is not None:
            if self._signature is None:
                digest = hmac.new(sub.signing_secret.encode("utf-8"), self.body, hashlib.sha256).hexdigest()
                self._signature = f"sha256={digest}"
            headers[SIGNATURE_HEADERS[sub.provider]] = self._signature
        return headers

    def to_dict(self, now_real: float, iso) -> dict[str, Any]:
        retry_in = None
        if self.status == "retrying" and self.next_retry is not None:
            retry_in = round(max(0.0, self.next_retry - now_real), 3)
        return {"id": self.id, "eventId": self.event_id, "event": self.event, "status": self.status,
                "subscription": self.subscription.id, "provider": self.subscription.provider,
                "url": shown_url(self.subscription.url), "recipient": self.recipient, "dueAt": iso(self.due_at),
                "attempts": self.attempt, "history": list(self.history), "nextRetryInSeconds": retry_in}


class DeliveryLog:
    """The records of one store (thread-safe)."""

    def __init__(self, max_records: int) -> None:
        self.lock = threading.Lock()
        self.max_records = max_records
        self.live: dict[str, Delivery] = {}
        self.delivered: OrderedDict[str, Delivery] = OrderedDict()
        self.dead: OrderedDict[str, Delivery] = OrderedDict()
        self.dropped = {"delivered": 0, "dead": 0}
        self.sequence = itertools.count(1)

    def add_live(self, delivery: Delivery) -> None:
        with self.lock:
            self.live[delivery.id] = delivery

    def finish(self, delivery: Delivery, status: str) -> None:
        """``delivered`` or ``dead``: from the live set into its bounded log."""
        with self.lock:
            self.live.pop(delivery.id, None)
            delivery.status = status
            delivery.next_retry = None
            log = self.delivered if status == "delivered" else self.dead
            log.pop(delivery.id, None)
            log[delivery.id] = delivery
            while len(log) > self.max_records:
                log.popitem(last=False)
                self.dropped[status] += 1

    def take(self, ids: list[str] | None, status: str | None) -> tuple[list[Delivery], list[str]]:
        """Finished records to deliver again (by id, or every one in ``status``); unknown ids."""
        with self.lock:
            if ids is None:
                chosen = list((self.dead if status == "dead" else self.delivered).values())
                unknown: list[str] = []
            else:
                chosen = [self.dead.get(i) or self.delivered.get(i) for i in ids]
                unknown = [i for i, found in zip(ids, chosen) if found is None]
                chosen = [found for found in chosen if found is not None]
            if unknown:
                return [], unknown
            for delivery in chosen:
                (self.dead if delivery.status == "dead" else self.delivered).pop(delivery.id, None)
                delivery.status = "pending"
                self.live[delivery.id] = delivery
            return chosen, []

    def select(self, status: str | None, event: str | None, recipient: str | None) -> Iterator[Delivery]:
        with self.lock:
            groups = [list(self.live.values()), list(self.delivered.values()), list(self.dead.values())]
        rows = sorted((d for group in groups for d in group), key=lambda d: d.seq)
        for delivery in rows:
            if status and delivery.status != status:
                continue
            if event and delivery.event != event:
                continue
            if recipient and delivery.recipient != recipient:
                continue
            yield delivery

    def counts(self) -> dict[str, int]:
        with self.lock:
            counts = dict.fromkeys(STATUSES, 0)
            for delivery in self.live.values():
                counts[delivery.status] += 1
            counts["delivered"] = len(self.delivered)
            counts["dead"] = len(self.dead)
            return counts
