"""``bulkmock_message_transitions_total{provider,status}`` (CONTRACT §17): messages that have entered
each status, by each sandbox's clock.

Nothing is stored per message and nothing "happens" when a message changes status (its stages are
read off its batch's schedule), so the counter is derived at scrape time: for every sandbox and
every batch of every provider, how many messages have *entered* each of the provider's statuses by
the sandbox's now. A message enters its first status (Jelou ``CREATED``, indigitall ``queued``) when
its batch is accepted, then each status its stages map to (consecutive stages with one name, such
as indigitall's ``read`` for read and reply, count once); unsent messages of a canceled task enter
``canceled``.

Cost per scrape: one pass over the records of every sandbox's batches (a store ``scan``); a batch
whose last transition is behind its sandbox's clock is final and its counts are kept (per process,
keyed by the sandbox's creation and generation), the others are counted from their outcome bytes
(per outcome code one ``bytes.count`` pass, C speed, never a Python loop over messages).

The counts only grow while the clocks move forward and batches are added; a sandbox reset, drop or
expiry, or a clock set back, lowers them: Prometheus reads a lower value as a counter reset. The
value comes from the shared store, so with ``--workers N`` the process answering the scrape gives
it alone (it is not summed over the processes).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any, Iterable, Iterator, Mapping

from .batches import Batch
from .curves import span
from .delivery import CANCELED, QUEUED, Timelines
from .sandbox import Sandbox

KEEP = 100_000           # final batches whose counts a process keeps; beyond it the memory starts afresh


def entered(batch: Batch, timelines: Timelines, names: Mapping[str, str], now: float) -> dict[str, int]:
    """Provider status -> messages of ``batch`` that have entered it by ``now``."""
    total, limit, schedule = batch.total, batch.to_send, batch.schedule
    counts: dict[str, int] = defaultdict(int)
    counts[names[QUEUED]] = total
    if total > limit and CANCELED in names:
        counts[names[CANCELED]] += total - limit
    if not schedule.segments or limit == 0:
        return counts
    outcomes = batch.outcomes
    sent = min(schedule.sent_by(now), limit)
    for code, steps in batch.fates(timelines).steps.items():
        if outcomes.find(code, 0, sent) < 0:
            continue
        marks, previous = [], names[QUEUED]
        for offset, stage in steps:              # offsets grow along the steps: bounds shrink
            if names[stage] != previous:
                marks.append((min(schedule.sent_by(now - offset), limit), names[stage]))
            previous = names[stage]
        running, start = 0, 0
        for bound, name in reversed(marks):      # one pass over the code's bytes, prefix by prefix
            if bound > start:
                running += outcomes.count(code, start, bound)
                start = bound
            counts[name] += running
    return counts


class TransitionCounts:
    """The collector's source: ``(provider, status[, sandbox]) -> count`` over every sandbox."""

    def __init__(self, state, *, sandbox_label: bool = False) -> None:
        self.state = state
        self.sandbox_label = sandbox_label
        self._final: dict[tuple, dict[str, int]] = {}
        self._lock = threading.Lock()

    def __call__(self) -> Iterator[tuple[tuple[str, ...], int]]:
        totals: dict[tuple[str, ...], int] = defaultdict(int)
        store = self.state.store
        for info in store.sandboxes():
            sb = Sandbox(store, info.name, info)         # its clock as listed: one reading per sandbox
            now = sb.now()
            extra = (info.name,) if self.sandbox_label else ()
            for provider, backend in self.state.backends.items():
                source = getattr(backend, "transition_batches", None)
                if source is None:
                    continue
                batches, names = source(sb)
                stamp = (provider, info.name, info.created_real, info.generation)
                for status, number in self._counts(stamp, batches, names, now).items():
                    totals[(provider, status) + extra] += number
        return iter(totals.items())

    def _counts(self, stamp: tuple, batches: Iterable[Batch], names: Mapping[str, str], now: float) -> dict[str, int]:
        timelines = self.state.timelines
        out: dict[str, int] = defaultdict(int)
        for batch in batches:
            key = stamp + (getattr(batch, "id", None),)
            counts: Any = self._final.get(key)
            if counts is None:
                counts = entered(batch, timelines, names, now)
                if batch.schedule.segments and now >= span(batch, timelines)[1]:
                    with self._lock:
                        if len(self._final) >= KEEP:
                            self._final.clear()
                        self._final[key] = dict(counts)
            for status, number in counts.items():
                out[status] += number
        return out
