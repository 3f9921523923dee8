"""A delivery record's value and index entries (the records and their store operations:
``records.py``): one record per (event, subscription), of kind ``webhook.delivery``, id
``EVENT_ID@SUBSCRIPTION_ID``, its value an immutable :class:`Frozen` mapping (:func:`new_value`),
and the public form ``/_mock/webhooks/deliveries`` and the UI show."""

from __future__ import annotations

import functools
from typing import Any, Iterator, Mapping, Sequence

from ..store.base import Record
from ..store.repository import Index, IndexFamily, RecordKind, whole
from .subscriptions import Subscription, shown_url

STATUSES = ("pending", "retrying", "delivered", "dead")
UNFINISHED = ("pending", "retrying")
FINISHED = ("delivered", "dead")
ALL = Index("wh")                          # every record, by creation
BY_STATUS = IndexFamily("wh:s")            # by creation, per status
BY_EVENT = IndexFamily("wh:e")             # by creation, per event
BY_RECIPIENT = IndexFamily("wh:r")         # by creation, per recipient
DUE = Index("wh:due")                      # unfinished ones, by when they are due (real time)
FINISHED_AT = IndexFamily("wh:f")          # finished ones, per status, by when they finished (retention)
HISTORY = 50                      # attempts kept per record
BATCH = 500                       # records per store step when many change at once (redelivery)


class Frozen(Mapping[str, Any]):
    """An immutable mapping: a delivery record's value, and each attempt of its history. The
    in-memory store keeps it as it is (a mutable dict it had to encode at every write and decode
    at every read: a fifth of the store's time per delivery) and its readers share it safely; a
    shared store encodes it (registered with the codec by :class:`Deliveries`)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any] | Sequence[tuple[str, Any]] = ()) -> None:
        self._items = dict(items)

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Frozen({self._items!r})"

    def updated(self, **changes: Any) -> "Frozen":
        """A copy with these fields changed (``{**frozen, ...}`` reads field by field, in Python)."""
        new = Frozen.__new__(Frozen)
        new._items = {**self._items, **changes}
        return new

    def attempted(self, entry: Mapping[str, Any], **changes: Any) -> "Frozen":
        """A copy with one more attempt in its history (the last :data:`HISTORY` kept), and ``changes``."""
        return self.updated(history=(*self._items["history"], Frozen(entry))[-HISTORY:], **changes)


def freeze(value: Mapping[str, Any]) -> Frozen:
    """A record's value as it is stored: immutable, its history a tuple of immutable attempts."""
    if type(value) is Frozen:
        return value
    history = tuple(entry if type(entry) is Frozen else Frozen(entry) for entry in value["history"])
    return Frozen({**value, "history": history})


def delivery_id(event_id: str, subscription_id: str) -> str:
    return f"{event_id}@{subscription_id}"


def new_value(*, event_id: str, event: str, subscription: Subscription, recipient: str | None, due_at: float,
              body: bytes, lane: int, budget: int, owner: str, lease_end: float) -> Frozen:
    """A fresh ``pending`` record owned by ``owner`` until ``lease_end``."""
    return Frozen({"eventId": event_id, "event": event, "subscription": subscription.id, "provider": subscription.provider,
                   "url": shown_url(subscription.url), "recipient": recipient, "dueAt": due_at, "body": body, "lane": lane,
                   "status": "pending", "attempts": 0, "budget": budget, "history": (), "retryAt": None,
                   "owner": owner, "dueReal": lease_end, "finishedReal": None})


def _entries(value: dict[str, Any]) -> list[tuple[str, float | None]]:
    """A record's index entries: creation order overall, per status, per event and per recipient
    (the listings); unfinished ones by when they are due; finished ones by when they finished
    (retention drops the oldest finished first)."""
    status = value["status"]
    entries = [_ALL_ENTRY, _STATUS_ENTRIES[status], _event_entry(value["event"])]
    recipient = value["recipient"]
    if recipient:
        entries.append(BY_RECIPIENT.entry(recipient))
    if status in UNFINISHED:
        entries.append((DUE.name, value["dueReal"]))
    else:
        entries.append((_FINISHED_NAMES[status], value["finishedReal"]))
    return entries


_ALL_ENTRY = ALL.entry()
_STATUS_ENTRIES = {status: BY_STATUS.entry(status) for status in STATUSES}      # constant: built once
_FINISHED_NAMES = {status: FINISHED_AT.name(status) for status in FINISHED}
_event_entry = functools.lru_cache(maxsize=256)(BY_EVENT.entry)      # a few event names: each entry built once


# Readers get the whole record (its id is the delivery's); writers give the value.
DELIVERIES: RecordKind[dict[str, Any], Record] = RecordKind(
    "webhook.delivery", (ALL, BY_STATUS, BY_EVENT, BY_RECIPIENT, DUE, FINISHED_AT), _entries, load=whole,
    keep=freeze)


def public(record: Record, now_real: float, iso) -> dict[str, Any]:
    """A record as ``/_mock/webhooks/deliveries`` and the UI show it (no body, no owner)."""
    value = record.value
    retry_in = None
    if value["status"] == "retrying" and value["retryAt"] is not None:
        retry_in = round(max(0.0, value["retryAt"] - now_real), 3)
    return {"id": record.id, "eventId": value["eventId"], "event": value["event"], "status": value["status"],
            "subscription": value["subscription"], "provider": value["provider"], "url": value["url"],
            "recipient": value["recipient"], "dueAt": iso(value["dueAt"]), "attempts": value["attempts"],
            "history": [dict(entry) for entry in value["history"]], "nextRetryInSeconds": retry_in}
