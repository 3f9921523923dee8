"""``bulkmock_message_transitions_total{provider,status}`` (CONTRACT §17): messages that have entered
each status, by each sandbox's clock.

Nothing is stored per message and nothing "happens" when a message changes status (its stages are
read off its batch's schedule), so the counter is derived at scrape time: for every sandbox and
every batch of every provider, how many messages have *entered* each of the provider's statuses by
the sandbox's now. A message enters its first status (Jelou ``CREATED``, indigitall ``queued``) when
its batch is accepted, then each status its stages map to (consecutive stages with one name, such
as indigitall's ``read`` for read and reply, count once); unsent messages of a canceled task enter
``canceled``.

Cost per scrape: one ``sandboxes()`` listing; then per sandbox whose version moved since its last
scrape, or that has a batch still changing, one pass over its batch records (a store ``scan``). A
batch whose last transition is behind its sandbox's clock is final and its counts are kept (per
process, keyed by the sandbox's creation and generation); the others are counted from their
outcome bytes (per outcome code one ``bytes.count`` pass, C speed, never a Python loop over
messages). A sandbox whose batches are all final is not read again until its version moves.

The counts only grow while the clocks move forward and batches are added; a sandbox reset, drop or
expiry, or a clock set back, lowers them: Prometheus reads a lower value as a counter reset. The
value comes from the shared store, so with ``--workers N`` the process answering the scrape gives
it alone (it is not summed over the processes).
"""

from __future__ import annotations

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
        self._final: dict[tuple, tuple[float, dict[str, int]]] = {}     # batch -> (last transition, counts)
        self._settled: dict[str, tuple[tuple, dict[str, dict[str, int]]]] = {}   # sandbox -> (stamp, counts)

    def __call__(self) -> Iterator[tuple[tuple[str, ...], int]]:
        totals: dict[tuple[str, ...], int] = defaultdict(int)
        for info in self.state.store.sandboxes():
            extra = (info.name,) if self.sandbox_label else ()
            for provider, counts in self._sandbox(info).items():
                for status, number in counts.items():
                    totals[(provider, status) + extra] += number
        return iter(totals.items())

    def _sandbox(self, info) -> dict[str, dict[str, int]]:
        """Per provider, the sandbox's counts. A sandbox whose batches were all final when its
        version was ``info.version`` is not read again until that version moves."""
        stamp = (info.created_real, info.generation, info.version)
        kept = self._settled.get(info.name)
        if kept is not None and kept[0] == stamp:
            return kept[1]
        sb = Sandbox(self.state.store, info.name, info)     # its clock as listed: one reading per sandbox
        now, settled, out = sb.now(), True, {}
        for provider, backend in self.state.backends.items():
            source = getattr(backend, "transition_batches", None)
            if source is not None:
                batches, names = source(sb)
                out[provider], final = self._counts(stamp[:2] + (provider, info.name), batches, names, now)
                settled = settled and final
        if settled:
            _keep(self._settled, info.name, (stamp, out))
        return out

    def _counts(self, stamp: tuple, batches: Iterable[Batch], names: Mapping[str, str],
                now: float) -> tuple[dict[str, int], bool]:
        """The batches' counts summed, and whether every one of them is final."""
        timelines = self.state.timelines
        out: dict[str, int] = defaultdict(int)
        settled = True
        for batch in batches:
            key = stamp + (getattr(batch, "id", None),)
            kept = self._final.get(key)
            if kept is not None and now >= kept[0]:     # (a clock set back: counted again)
                counts = kept[1]
            else:
                counts = entered(batch, timelines, names, now)
                end = span(batch, timelines)[1] if batch.schedule.segments else None
                if end is not None and now >= end:
                    _keep(self._final, key, (end, dict(counts)))
                else:
                    settled = False
            for status, number in counts.items():
                out[status] += number
        return out, settled


def _keep(cache: dict, key: Any, value: Any) -> None:
    """``cache[key] = value``, the cache emptied first when it holds ``KEEP`` entries."""
    if len(cache) >= KEEP:
        cache.clear()
    cache[key] = value
