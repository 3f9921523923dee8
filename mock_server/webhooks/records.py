"""Delivery records: one per (event, subscription), kept in the store and shared by every process.

A record is a store record of kind ``webhook.delivery``, id ``EVENT_ID@SUBSCRIPTION_ID``, whose
value is plain data (:func:`new_value`). Every change is one compare-and-set of the store, so with
a shared store (Redis, CONTRACT §12) ``/_mock/webhooks/deliveries`` and redelivery on any process
see the attempts of every process, and no unfinished delivery dies with the process holding it:

- **created** ``pending`` by the process that derived its event, *owned* by it for a lease of
  ``webhooks.lease`` real seconds. All the records of a window are created in one step, and only
  the missing ones: two processes deriving the same window create each record once (the one whose
  step lands first owns them all), and a window derived again after a crash adds nothing twice;
- a process renews the leases of the jobs it has queued before they run out (a busy process keeps
  its backlog), and before an attempt the lease is checked once more: a compare-and-set that fails
  when another process took the delivery over meanwhile (then it leaves it alone);
- after the attempt it is ``delivered`` or ``dead`` (finished), or ``retrying``, unowned, due
  again at ``retryAt``;
- the index ``wh:due`` holds every unfinished record at the real time from which any process may
  take it: its retry time, or its owner's lease end (a process that died), or "now" (redelivered).
  Each process's producer claims due records (owner and a new lease, compare-and-set);
- redelivery turns finished records ``pending`` again, unowned and due now, with a fresh budget.

Retention: beyond ``webhooks.max_records`` records each, the ``delivered`` and ``dead`` ones that
finished first are removed (the answer counts them as ``dropped``); each process trims after it
finished 2 % of ``max_records`` (at least one), so up to that many more may be kept for a while. Real times (retries, leases) are epoch seconds from the store's time source: one host's clock, or
across hosts as close as their clocks are synchronised.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping, Sequence

from ..store import codec
from ..store.base import Record
from ..store.repository import Index, IndexFamily, RecordKind, Repository
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
    entries = [_ALL_ENTRY, _STATUS_ENTRIES[status], BY_EVENT.entry(value["event"])]
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


# Readers get the whole record (its id is the delivery's); writers give the value.
DELIVERIES: RecordKind[dict[str, Any], Record] = RecordKind(
    "webhook.delivery", (ALL, BY_STATUS, BY_EVENT, BY_RECIPIENT, DUE, FINISHED_AT), _entries, load=lambda record: record,
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


class Deliveries:
    """The delivery records of every sandbox, as store operations (see the module docstring)."""

    def __init__(self, store, max_records: int) -> None:
        codec.register(Frozen, "webhooks.frozen", dict, Frozen)      # the same again changes nothing
        self.store = store
        self.records = Repository(store, DELIVERIES)
        self.max_records = max_records

    # -- the dispatcher's side ------------------------------------------------------------------
    def create(self, sandbox: str, generation: int, items: Sequence[tuple[str, Frozen]]) -> list[Record]:
        """Create the records that do not exist yet, in one step; those created (now owned by their
        ``owner``). Raises ``StaleGeneration`` after a reset."""
        if not items:
            return []
        prepared = dict(items)
        ids = list(prepared)
        made: set[str] = set()

        def build(current: tuple[Record | None, ...]) -> list[Frozen | None]:
            made.clear()              # the store may call again after a conflict: the last call counts
            made.update(record_id for record_id, found in zip(ids, current) if found is None)
            return [prepared[record_id] if found is None else None for record_id, found in zip(ids, current)]
        out = self.records.update_many(sandbox, ids, build, generation=generation)
        return [record for record in out if record is not None and record.id in made]

    def renew(self, sandbox: str, generation: int, record_ids: Sequence[str], owner: str,
              lease_end: float) -> set[str]:
        """Extend ``owner``'s lease of these records (one step per :data:`BATCH`); the ids still its
        own (the others were taken over after their lease ran out, finished, or reset away)."""
        mine: set[str] = set()
        for start in range(0, len(record_ids), BATCH):
            def extend(current: tuple[Record | None, ...]) -> list[Frozen | None]:
                return [found.value.updated(dueReal=lease_end)
                        if found is not None and found.value["owner"] == owner and found.value["status"] in UNFINISHED
                        else None for found in current]
            out = self.records.update_many(sandbox, record_ids[start:start + BATCH], extend, generation=generation)
            mine.update(record.id for record in out if record is not None and record.value["owner"] == owner
                        and record.value["dueReal"] == lease_end and record.value["status"] in UNFINISHED)
        return mine

    def finish(self, sandbox: str, generation: int, record_id: str, owner: str, entry: dict[str, Any],
               status: str, now_real: float, retry_at: float | None = None) -> Record | None:
        """Record an attempt and its consequence: ``delivered``, ``dead`` or ``retrying`` at
        ``retry_at``. None when the delivery is no longer ``owner``'s (its lease ran out and another
        process took it over: only the attempt is added to its history) or is gone (reset)."""
        return self.finish_many(sandbox, generation, owner, [(record_id, entry, status, retry_at)], now_real)[0]

    def finish_many(self, sandbox: str, generation: int, owner: str,
                    outcomes: Sequence[tuple[str, dict[str, Any], str, float | None]],
                    now_real: float) -> list[Record | None]:
        """:meth:`finish` for many attempts ``(record id, entry, status, retry_at)`` at once: one store
        step per :data:`BATCH` records (an id given twice starts a new step, so each attempt lands
        on the record as the previous one left it). Per attempt, its record when it was still
        ``owner``'s, else None."""
        out: list[Record | None] = []
        start = 0
        while start < len(outcomes):
            chunk, ids = [], set()
            for item in outcomes[start:start + BATCH]:
                if item[0] in ids:
                    break
                ids.add(item[0])
                chunk.append(item)
            start += len(chunk)
            ours = [False] * len(chunk)

            def change(current: tuple[Record | None, ...], chunk=chunk, ours=ours) -> list[Frozen | None]:
                values: list[Frozen | None] = []
                for position, ((_, entry, status, retry_at), found) in enumerate(zip(chunk, current)):
                    if found is None:             # gone (trimmed, or reset away)
                        ours[position] = False
                        values.append(None)
                        continue
                    value = found.value
                    ours[position] = value["owner"] == owner and value["status"] in UNFINISHED   # the last call counts
                    if not ours[position]:
                        values.append(value.attempted(entry))
                        continue
                    due = retry_at if status == "retrying" else None
                    values.append(value.attempted(entry, status=status, attempts=entry["attempt"], owner=None,
                                                  retryAt=due, dueReal=due,
                                                  finishedReal=None if status == "retrying" else now_real))
                return values
            records = self.records.update_many(sandbox, [item[0] for item in chunk], change, generation=generation)
            out.extend(record if record is not None and mine else None for record, mine in zip(records, ours))
        return out

    def note(self, sandbox: str, generation: int, record_id: str, entry: dict[str, Any]) -> None:
        """Add an attempt that changes nothing else (a seeded duplicate)."""
        self.records.update(sandbox, record_id,
                            lambda current: current.value.attempted(entry),
                            generation=generation)

    def claim_due(self, sandbox: str, generation: int, owner: str, now_real: float, lease_end: float, limit: int,
                  queued: Callable[[str], bool] = lambda record_id: False) -> list[Record]:
        """Take up to ``limit`` (at most :data:`BATCH`) unfinished records due by ``now_real``
        (retries, redeliveries, leases that ran out) for ``owner``, oldest due first. ``queued``:
        whether this process already has a job for a record (it is not taken twice)."""
        page, _ = self.records.page(sandbox, DUE, high=now_real, limit=min(limit, BATCH), newest_first=False)
        due = [record.id for record in page if not queued(record.id)]
        if not due:
            return []

        def claim(current: tuple[Record | None, ...]) -> list[Frozen | None]:
            return [found.value.updated(owner=owner, dueReal=lease_end)
                    if found is not None and found.value["status"] in UNFINISHED and found.value["dueReal"] <= now_real
                    else None for found in current]
        out = self.records.update_many(sandbox, due, claim, generation=generation)
        return [record for record in out if record is not None and record.value["owner"] == owner
                and record.value["dueReal"] == lease_end]

    def next_due(self, sandbox: str, after_real: float) -> float | None:
        """The real time the next unfinished record falls due after ``after_real`` (a retry, a
        redelivery, a lease running out), or None: when the producer must look again."""
        page, _ = self.records.page(sandbox, DUE, low=after_real, limit=1, newest_first=False)
        return dict(page[0].indexes)[DUE.name] if page else None

    def trim(self, sandbox: str) -> None:
        """Keep at most ``max_records`` delivered and dead records, counting what goes."""
        for status in FINISHED:
            removed = self.records.trim(sandbox, FINISHED_AT[status], self.max_records)
            if removed:
                self.store.incr(sandbox, f"webhooks.dropped.{status}", removed)

    # -- the control plane's side -----------------------------------------------------------------
    def redeliver(self, sandbox: str, ids: list[str] | None, status: str | None, max_attempts: int,
                  now_real: float) -> tuple[int, list[str]]:
        """Finished records due again now with ``max_attempts`` more attempts: the given ``ids`` (all
        or none: ``(0, unknown ids)`` when one is not a finished delivery), or every one in ``status``."""
        if ids is not None:
            ids = list(dict.fromkeys(ids))
            found = [self.records.get(sandbox, record_id) for record_id in ids]
            missing = [record_id for record_id, record in zip(ids, found)
                       if record is None or record.value["status"] not in FINISHED]
            if missing:
                return 0, missing
        else:
            ids = [record.id for record in self.records.scan(sandbox, BY_STATUS[status], newest_first=False)]

        def again(current: tuple[Record | None, ...]) -> list[Frozen | None]:
            return [None if found is None or found.value["status"] not in FINISHED else
                    found.value.updated(status="pending", owner=None, retryAt=None, dueReal=now_real, finishedReal=None,
                                        budget=found.value["attempts"] + max_attempts)
                    for found in current]
        count = 0
        for start in range(0, len(ids), BATCH):
            out = self.records.update_many(sandbox, ids[start:start + BATCH], again)
            count += sum(1 for record in out if record is not None and record.value["status"] == "pending"
                         and record.value["owner"] is None and record.value["dueReal"] == now_real)
        return count, []

    def counts(self, sandbox: str) -> dict[str, int]:
        return {status: self.records.count(sandbox, BY_STATUS[status]) for status in STATUSES}

    def dropped(self, sandbox: str) -> dict[str, int]:
        return {status: self.store.counter(sandbox, f"webhooks.dropped.{status}") for status in FINISHED}

    def select(self, sandbox: str, *, status: str | None = None, event: str | None = None,
               recipient: str | None = None, offset: int = 0, limit: int = 100,
               newest_first: bool = False) -> tuple[list[Record], int]:
        """One page of records in creation order (oldest first unless ``newest_first``) and the total."""
        if recipient:                 # one recipient's records are few
            index, rest = BY_RECIPIENT[recipient], (status, event)
        elif status and event:        # at most max_records (or the unfinished ones) to look through
            index, rest = BY_STATUS[status], (None, event)
        else:
            index, rest = (BY_STATUS[status] if status else BY_EVENT[event] if event else ALL), (None, None)
        if rest == (None, None):
            return self.records.page(sandbox, index, offset=offset, limit=limit, newest_first=newest_first)
        chosen = [record for record in self.records.scan(sandbox, index, newest_first=newest_first)
                  if (rest[0] is None or record.value["status"] == rest[0])
                  and (rest[1] is None or record.value["event"] == rest[1])]
        return chosen[offset:offset + limit], len(chosen)
