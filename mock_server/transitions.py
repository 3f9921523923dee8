"""Which messages of a batch changed stage in a time window, read off the schedule.

``transitions(batch, timelines, t0, t1)`` yields every :class:`Transition` with ``t0 < at <= t1``
in time order (ties: by message index, then by the order of the stages). Nothing is stored per
message: a message sent at ``s`` with outcome ``c`` reaches each stage of ``timelines.steps[c]``
at ``s + offset``, so for one offset the messages that reached a stage in the window are the ones
sent in ``(t0 - offset, t1 - offset]`` — an index range found by bisection on the schedule — whose
outcome byte has a step at that offset (found with ``bytes.find``, C speed, per code). The cost
is proportional to the answer plus the bytes between the range's ends, never the batch's size;
the stream is lazy, so a consumer can stop early (e.g. a webhook dispatcher taking 500 at a time
and resuming from the last ``at``).

Messages never sent (after a cancellation's ``sent_limit``, or of a batch not started) have no
transitions. The webhooks (CONTRACT §10) and long-polls (``/_mock/messages?wait_for``) use this
and :meth:`~mock_server.batches.Batch.next_change`.
"""

from __future__ import annotations

import heapq
from typing import Iterator, NamedTuple

from .batches import Batch
from .delivery import Timelines


class Transition(NamedTuple):
    at: float          # epoch seconds (mock time) when the message reached ``stage``
    index: int         # 0-based recipient index in the batch (file order)
    stage: str         # generic stage (``delivery.SENT``, ``CHANNEL``, ``USER``, ``READ``, ``REPLY``, ``FAILED``)
    code: int          # the message's outcome code
    step: int          # position of ``stage`` among the code's steps (orders ties)


def transitions(batch: Batch, timelines: Timelines, t0: float, t1: float) -> Iterator[Transition]:
    """Every stage change of ``batch``'s messages with ``t0 < at <= t1``, in time order."""
    schedule = batch.schedule
    limit = batch.total if batch.sent_limit is None else min(batch.sent_limit, batch.total)
    if not schedule.segments or limit == 0 or t1 <= t0:
        return iter(())
    streams = []
    for code, steps in batch.fates(timelines).steps.items():
        for step, (offset, stage) in enumerate(steps):
            low = min(schedule.sent_by(t0 - offset), limit)
            high = min(schedule.sent_by(t1 - offset), limit)
            if high > low:
                streams.append(_stream(batch.outcomes, schedule, code, step, offset, stage, low, high))
    return heapq.merge(*streams, key=_order)


def _order(item: Transition) -> tuple[float, int, int]:
    return item.at, item.index, item.step


def _stream(outcomes: bytes, schedule, code: int, step: int, offset: float, stage: str,
            low: int, high: int) -> Iterator[Transition]:
    """The messages with outcome ``code`` among indexes [low, high): they reach ``stage`` in order."""
    find, send_time = outcomes.find, schedule.send_time
    index = find(code, low, high)
    while index >= 0:
        yield Transition(send_time(index) + offset, index, stage, code, step)
        index = find(code, index + 1, high)
