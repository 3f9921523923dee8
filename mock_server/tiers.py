"""Messaging tiers and shared throughput under a traffic profile (CONTRACT §14).

Tier: at most ``unique_recipients_24h`` distinct recipients per bot (application) in any rolling 24
hours of mock time. When a batch's send times are fixed (a Jelou campaign takes its bot's lane, an
indigitall task is planned) its rows are walked once in send order against the owner's *tier
ledger* (each admitted recipient with its latest send, at most the tier's size of entries): a
recipient already in the window passes, a new one passes while the window has room, any other
fails at send with the tier's code (``overflow: fail``: its outcome byte becomes
``fates.TIER_FAIL``) or waits until the window lets it through (``overflow: queue``: sending
pauses, and goes on at the batch's rate after, each held send also after the owner's other sends). The ledger is kept in the store, so batches of one
owner share it in the order they are placed. Rows that fail at send anyway (reserved ``99901``,
invalid rows, a profile's send failures) reach nobody and do not count.

Throughput (``throughput.mps``), indigitall: tasks of one application under a profile never send
at the same time: each segment of a task's schedule starts once the application's earlier
segments are done (the *busy intervals*, kept in the store, each with the task that holds it).
Jelou campaigns already queue on their bot's lane.

Both are read and written in the same atomic store step as the batch they shape (a Jelou campaign
starts with its bot's lane and tier ledger; an indigitall task is created with its application's
*shaping* record, :func:`shape`), so concurrent sends never admit more than the tier. A canceled
task gives back its unsent part (:func:`give_back`): its busy intervals beyond its last send, and
its unsent recipients, which were never messaged (a tier counts recipients *messaged* in 24 hours).
For that the indigitall ledger keeps, per recipient, the latest send of each task that reached it.
"""

from __future__ import annotations

from collections import deque
from typing import Iterable, NamedTuple

from . import delivery as d
from .delivery import Schedule, Segment
from .fates import TIER_FAIL

WINDOW = 86400.0


class Admission(NamedTuple):
    """What :func:`apply_tier` decided for one batch."""

    ledger: dict[str, float]              # every recipient in the window -> its latest send, after the batch
    segments: list[Segment] | None        # ``queue``: the batch's new segments (None: nothing had to wait)
    reached: dict[str, float]             # the batch's admitted recipients -> their latest send in it
    horizon: float                        # sends at or before ``horizon - WINDOW`` have left the window


def apply_tier(tier, ledger: dict[str, float] | None, recipients: Iterable[str], schedule: Schedule,
               outcomes: bytearray, failing_at_send: frozenset[int], rate: float,
               busy: Iterable[list] = ()) -> Admission:
    """Walk the rows in send order against ``ledger`` (recipient -> latest send); ``fail`` marks
    refused rows in ``outcomes``, ``queue`` moves their sends later, each to the first moment the
    owner's other sends (``busy``: their intervals, as :func:`place` reads them) leave free."""
    last: dict[str, float] = dict(ledger or {})
    order = deque(sorted((moment, recipient) for recipient, moment in last.items()))
    limit, queue = tier.unique_recipients_24h, tier.overflow == "queue"
    step = 1.0 / rate
    free = _Gaps(busy, step)
    segments: list[list] = []                  # [first, count, start] (queue)
    reached: dict[str, float] = {}
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
        if queue and previous is not None and previous + step > moment:
            moment = free.after(previous + step)     # after the batch's held sends, and others' sends
        if outcomes[index] in failing_at_send:
            admitted = True                      # reaches nobody: not counted, never held
        else:
            _expire(order, last, moment)
            admitted = recipient in last or len(last) < limit
            if not admitted and queue:
                while len(last) >= limit and order:          # until the window has room: each turn one
                    sent, who = order.popleft()              # send leaves it (a stale entry frees nothing)
                    moment = free.after(max(moment, sent + WINDOW))
                    if last.get(who) == sent:
                        del last[who]
                    _expire(order, last, moment)
                admitted = True
            if admitted:
                last[recipient] = reached[recipient] = moment
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
    horizon = previous if queue and previous is not None else (schedule.last_send or 0.0)
    _expire(order, last, horizon)
    held = [Segment(first, count, start, rate) for first, count, start in segments] if moved else None
    return Admission(last, held, reached, horizon)


class _Gaps:
    """The owner's other sends (busy intervals) met in time order: :meth:`after` answers the first
    moment at or after a send's that one send (``step`` long) fits in without overlapping them."""

    def __init__(self, busy: Iterable[list], step: float) -> None:
        self.intervals = sorted((interval[0], interval[1]) for interval in busy)
        self.step, self.position = step, 0

    def after(self, moment: float) -> float:
        """Moments asked must not decrease (a batch's sends are walked in send order)."""
        intervals, position = self.intervals, self.position
        while position < len(intervals):
            low, high = intervals[position]
            if high <= moment + 1e-6:                        # over before the send: never again in the way
                position += 1
            elif low < moment + self.step - 1e-6:            # overlaps the send: wait for its end
                moment, position = high, position + 1
            else:                                            # starts after the send (and so do the rest)
                break
        self.position = position
        return moment


def _expire(order: deque, last: dict[str, float], moment: float) -> None:
    """Drop the recipients whose latest send left the window ending at ``moment``."""
    while order and order[0][0] <= moment - WINDOW:
        sent, recipient = order.popleft()
        if last.get(recipient) == sent:
            del last[recipient]


def failing_at_send(timelines: d.Timelines) -> frozenset[int]:
    """The outcome codes whose messages fail when sent (they reach nobody)."""
    return frozenset(code for code, steps in timelines.steps.items() if steps[0] == (0.0, d.FAILED))


# -- a ledger by owner (indigitall): recipient -> {task id: that task's latest send to it} ---------
def latest(by_owner: dict[str, dict[str, float]]) -> dict[str, float]:
    """Recipient -> its latest send by any owner (what :func:`apply_tier` reads)."""
    return {recipient: max(sends.values()) for recipient, sends in by_owner.items() if sends}


def record(by_owner: dict[str, dict[str, float]], owner: str, admission: Admission) -> dict[str, dict[str, float]]:
    """The ledger with ``owner``'s admitted recipients added and the sends gone from the window dropped."""
    cut = admission.horizon - WINDOW
    out: dict[str, dict[str, float]] = {}
    for recipient, sends in by_owner.items():
        kept = {who: moment for who, moment in sends.items() if moment > cut}
        if kept:
            out[recipient] = kept
    for recipient, moment in admission.reached.items():
        out.setdefault(recipient, {})[owner] = moment
    return out


def sent_recipients(recipients: Iterable[str], schedule: Schedule, outcomes: bytes, failing: frozenset[int],
                    limit: int) -> dict[str, float]:
    """Recipient -> latest send among the first ``limit`` rows that reached someone."""
    reached: dict[str, float] = {}
    for index, recipient in enumerate(recipients):
        if index >= limit:
            break
        if outcomes[index] not in failing:
            reached[recipient] = schedule.send_time(index)
    return reached


def give_back(by_owner: dict[str, dict[str, float]], owner: str, kept: dict[str, float]) -> dict[str, dict[str, float]]:
    """The ledger with ``owner``'s sends replaced by ``kept`` (those it really made)."""
    out: dict[str, dict[str, float]] = {}
    for recipient, sends in by_owner.items():
        sends = {who: moment for who, moment in sends.items() if who != owner}
        if recipient in kept and owner in by_owner[recipient]:
            sends[owner] = kept[recipient]
        if sends:
            out[recipient] = sends
    return out


# -- busy intervals (indigitall): [start, end, owner] ----------------------------------------------
def place(busy: Iterable[list], segments: list[Segment], now: float) -> list[Segment]:
    """Each segment shifted to the first moment at or after its start (and the previous segment's
    end) when the application sends nothing else."""
    intervals = sorted((interval[0], interval[1]) for interval in busy if interval[1] > now)
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
        intervals.append((start, start + length))
        intervals.sort()
        earliest = start + length
    return placed


def occupy(busy: Iterable[list], owner: str, segments: Iterable[Segment], now: float) -> list[list]:
    """The busy intervals still ahead of ``now``, with ``owner``'s replaced by those of ``segments``
    (touching ones merged)."""
    out = [list(interval) for interval in busy if interval[1] > now and (len(interval) < 3 or interval[2] != owner)]
    mine: list[list] = []
    for segment in segments:
        low, high = segment.start, segment.start + segment.count / segment.rate
        if mine and abs(low - mine[-1][1]) <= 1e-6:
            mine[-1][1] = high
        else:
            mine.append([low, high, owner])
    return sorted(out + [interval for interval in mine if interval[1] > now])


def sent_part(schedule: Schedule, limit: int) -> list[Segment]:
    """The segments of ``schedule`` cut to its first ``limit`` messages."""
    return [Segment(segment.first, min(limit - segment.first, segment.count), segment.start, segment.rate)
            for segment in schedule.segments if segment.first < limit]
