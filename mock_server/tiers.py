"""Messaging tiers and shared throughput under a traffic profile (CONTRACT §14).

Tier: at most ``unique_recipients_24h`` distinct recipients per bot (application) in any rolling 24
hours of mock time. When a batch's send times are fixed (a Jelou campaign takes its bot's lane, an
indigitall task is planned) its rows are walked once in send order against the owner's *tier
ledger* (each admitted recipient with its latest send, at most the tier's size of entries): a
recipient already in the window passes, a new one passes while the window has room, any other
fails at send with the tier's code (``overflow: fail``: its outcome byte becomes
``fates.TIER_FAIL``) or waits until the window lets it through (``overflow: queue``: sending
pauses, and goes on at the batch's rate after). The ledger is kept in the store, so batches of one
owner share it in the order they are placed. Rows that fail at send anyway (reserved ``99901``,
invalid rows, a profile's send failures) reach nobody and do not count.

Throughput (``throughput.mps``), indigitall: tasks of one application under a profile never send
at the same time: each segment of a task's schedule starts once the application's earlier
segments are done (the *busy intervals*, kept in the store). Jelou campaigns already queue on their
bot's lane.
"""

from __future__ import annotations

from collections import deque
from typing import Iterable

from . import delivery as d
from .delivery import Schedule, Segment
from .fates import TIER_FAIL

WINDOW = 86400.0


def apply_tier(tier, ledger: dict[str, float] | None, recipients: Iterable[str], schedule: Schedule,
               outcomes: bytearray, failing_at_send: frozenset[int], rate: float
               ) -> tuple[dict[str, float], list[Segment] | None]:
    """Walk the rows in send order; return the new ledger and, for ``queue``, the new segments
    (None when nothing had to wait). ``fail`` marks refused rows in ``outcomes``."""
    last: dict[str, float] = dict(ledger or {})
    order = deque(sorted((moment, recipient) for recipient, moment in last.items()))
    limit, queue = tier.unique_recipients_24h, tier.overflow == "queue"
    step = 1.0 / rate
    segments: list[list] = []                  # [first, count, start] (queue)
    moved = False
    previous: float | None = None
    position = 0
    bounds = [(segment.first + segment.count, segment) for segment in schedule.segments]
    for index, recipient in enumerate(recipients):
        if index >= schedule.total:
            break
        while bounds[position][0] <= index:
            position += 1
        segment = bounds[position][1]
        original = segment.start + (index - segment.first) / segment.rate
        moment = original
        if queue and previous is not None:
            moment = max(moment, previous + step)
        if outcomes[index] in failing_at_send:
            admitted = True                      # reaches nobody: not counted, never held
        else:
            _expire(order, last, moment)
            admitted = recipient in last or len(last) < limit
            if not admitted and queue:
                moment = order[0][0] + WINDOW    # the oldest recipient leaves the window then
                _expire(order, last, moment)
                admitted = True
            if admitted:
                last[recipient] = moment
                order.append((moment, recipient))
            else:
                outcomes[index] = TIER_FAIL
        if queue:
            moved = moved or moment != original
            if segments and abs(moment - (previous + step)) <= 1e-6:
                segments[-1][1] += 1
            else:
                segments.append([index, 1, moment])
            previous = moment
    end = previous if previous is not None else (schedule.last_send or 0.0)
    _expire(order, last, end if queue else (schedule.last_send or 0.0))
    return last, ([Segment(first, count, start, rate) for first, count, start in segments] if moved else None)


def _expire(order: deque, last: dict[str, float], moment: float) -> None:
    """Drop the recipients whose latest send left the window ending at ``moment``."""
    while order and order[0][0] <= moment - WINDOW:
        sent, recipient = order.popleft()
        if last.get(recipient) == sent:
            del last[recipient]


def failing_at_send(timelines: d.Timelines) -> frozenset[int]:
    """The outcome codes whose messages fail when sent (they reach nobody)."""
    return frozenset(code for code, steps in timelines.steps.items() if steps[0] == (0.0, d.FAILED))


def place(busy: list[list[float]], segments: list[Segment], now: float) -> tuple[list[list[float]], list[Segment]]:
    """Shift each segment to the first moment at or after its start (and the previous segment's
    end) when the application sends nothing else; return the busy intervals with them added."""
    intervals = sorted(interval for interval in busy if interval[1] > now)
    placed: list[Segment] = []
    earliest = float("-inf")
    for segment in segments:
        start = max(segment.start, earliest)
        length = segment.count / segment.rate
        moved = True
        while moved:
            moved = False
            for low, high in intervals:
                if low < start + length and high > start:
                    start, moved = high, True
        placed.append(Segment(segment.first, segment.count, start, segment.rate))
        intervals.append([start, start + length])
        intervals.sort()
        earliest = start + length
    return intervals, placed
