"""Delivery records: one per (event, subscription), kept in the store and shared by every process.

A record is a store record of kind ``webhook.delivery``, id ``EVENT_ID@SUBSCRIPTION_ID``, whose
value is an immutable mapping (``delivery.py``). Every change is one compare-and-set of the store, so with
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

from typing import Any, Callable, Sequence

from ..store import codec
from ..store.base import Record
from ..store.repository import Repository
from .delivery import (ALL, BATCH, BY_EVENT, BY_RECIPIENT, BY_STATUS, DELIVERIES, DUE, FINISHED, FINISHED_AT, HISTORY,
                       STATUSES, UNFINISHED, Frozen, delivery_id, freeze, new_value, public)

__all__ = ["ALL", "BATCH", "BY_EVENT", "BY_RECIPIENT", "BY_STATUS", "DELIVERIES", "DUE", "FINISHED", "FINISHED_AT",
           "HISTORY", "STATUSES", "UNFINISHED", "Deliveries", "Frozen", "delivery_id", "freeze", "new_value", "public"]


class Deliveries:
    """The delivery records of every sandbox, as store operations (see the module docstring)."""

    def __init__(self, store, max_records: int) -> None:
        codec.register(Frozen, "webhooks.frozen", dict, Frozen)      # the same again changes nothing
        self.store = store
        self.records = Repository(store, DELIVERIES)
        self.max_records = max_records

    # -- the dispatcher's side ------------------------------------------------------------------
    def create(self, sandbox: str, generation: int, items: Sequence[tuple[str, Frozen]]) -> list[Record]:
        """Create the records that do not exist yet, in one step (``Store.create_missing``); those
        created (now owned by their ``owner``). Raises ``StaleGeneration`` after a reset."""
        if not items:
            return []
        return [record for record in self.records.create_missing(sandbox, items, generation=generation)
                if record is not None]

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
