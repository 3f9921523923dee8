"""An indigitall task: its rows (compact), its plan, and its state as a function of the clock.

Lifecycle (CONTRACT §5): ``scheduled`` until its first message is sent, ``processing`` until the
last one is, then ``finished``; ``canceled`` when slicing could not place its messages (nothing is
ever sent) or by ``DELETE`` (messages not yet sent become ``canceled``). The 201 answer reports the
task as accepted (``scheduled``); a task due now sends its first message at once, so a later read
at the same instant already shows it ``processing``.

Messages: ``queued`` → ``sent`` → ``delivered`` → ``read``, or ``failed``; the generic stages of
``delivery`` map as channel→sent, user→delivered, reply→read; an unsent message of a canceled
task is ``canceled``. Nothing is stored per message: one outcome byte per row, the send times come
from the task's :class:`~mock_server.delivery.Schedule`, the rest from the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import delivery
from ..csvfile import Rows
from ..delivery import Schedule, Segment, Timelines
from ..isotime import from_timestamp, isoformat
from .layout import Layout
from .slicing import Allocation, Plan, SlicingSettings, slot_bounds
from .validation import Checker

STATUS_NAMES = {
    delivery.QUEUED: "queued",
    delivery.SENT: "sent",
    delivery.CHANNEL: "sent",
    delivery.USER: "delivered",
    delivery.READ: "read",
    delivery.REPLY: "read",
    delivery.FAILED: "failed",
    delivery.CANCELED: "canceled",
}
MESSAGE_STATUSES = ("queued", "sent", "delivered", "read", "failed", "canceled")
TIMESTAMPS = {"sentAt": delivery.SENT, "deliveredAt": delivery.USER, "readAt": delivery.READ,
              "repliedAt": delivery.REPLY, "failedAt": delivery.FAILED}


def build_schedule(plan: Plan | None, settings: SlicingSettings, start: float, total: int, rate: float) -> Schedule:
    """Send times: from the start at ``rate`` (not sliced), or from each slot's start (sliced).

    The first slot may begin before the task's start: sending begins at the later of the two. A
    slot's messages never start before the previous slot's last one (only possible when
    ``capacity / rate`` exceeds the slot length).
    """
    if plan is None:
        return Schedule([Segment(0, total, start, rate)])
    segments, first, earliest = [], 0, start
    for allocation in plan.allocations:
        begin = max(slot_bounds(allocation.slot, settings)[0].timestamp(), earliest)
        segment = Segment(first, allocation.count, begin, rate)
        segments.append(segment)
        first += allocation.count
        earliest = segment.last_send + 1.0 / rate
    return Schedule(segments)


@dataclass(eq=False)
class Task:
    id: int
    application_id: int
    layout: Layout
    checker: Checker
    rows: Rows
    outcomes: bytearray
    condition: str
    plan: Plan | None             # None: not sliced
    slicing: SlicingSettings
    schedule: Schedule
    start: datetime
    created_at: datetime
    canceled_reason: str | None = None
    canceled_at: float | None = None
    sent_limit: int | None = None  # messages sent before a DELETE; the rest are canceled

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def sliced(self) -> bool:
        return self.plan is not None

    # -- state -----------------------------------------------------------------------------
    def sent_by(self, now: float) -> int:
        sent = self.schedule.sent_by(now)
        return sent if self.sent_limit is None else min(sent, self.sent_limit)

    def status(self, now: float) -> str:
        if self.canceled_at is not None:
            return "canceled"
        first, last = self.schedule.first_send, self.schedule.last_send
        if first is None or now < first:
            return "scheduled"
        return "processing" if now < last else "finished"

    def has_started(self, now: float) -> bool:
        return self.sent_by(now) > 0

    def message_counts(self, timelines: Timelines, now: float) -> dict[str, int]:
        counts = dict.fromkeys(MESSAGE_STATUSES, 0)
        if self.canceled_at is not None and not self.sent_limit:
            counts["canceled"] = self.total
            return counts
        for stage, number in timelines.count(self.outcomes, self.schedule, now, self.sent_limit).items():
            counts[STATUS_NAMES[stage]] += number
        return counts

    def unsent_allocations(self) -> list[Allocation]:
        """Per slot, the capacity of messages not sent before the cancellation (to give back)."""
        if self.plan is None:
            return []
        limit = self.sent_limit or 0
        out = []
        for allocation, segment in zip(self.plan.allocations, self.schedule.segments):
            unsent = allocation.count - min(max(limit - segment.first, 0), segment.count)
            if unsent > 0:
                out.append(Allocation(allocation.slot, unsent))
        return out

    def cancel(self, now: float, reason: str | None = None) -> None:
        self.sent_limit = self.schedule.sent_by(now)
        self.canceled_at = now
        self.canceled_reason = reason

    # -- one message ----------------------------------------------------------------------
    def stage_of(self, index: int, timelines: Timelines, now: float) -> tuple[str, dict[str, float]]:
        if self.sent_limit is not None and index >= self.sent_limit:
            return delivery.CANCELED, {delivery.CANCELED: self.canceled_at}
        if not self.schedule.segments:
            return delivery.QUEUED, {}
        return timelines.stage(self.outcomes[index], self.schedule.send_time(index), now)

    def status_of(self, index: int, timelines: Timelines, now: float) -> str:
        return STATUS_NAMES[self.stage_of(index, timelines, now)[0]]

    def failure_reason(self, index: int, cells: list[str]) -> str | None:
        code = self.outcomes[index]
        if code != delivery.INVALID:
            return delivery.FAILURE_REASONS.get(code)
        if index in self.rows.invalid:
            return self.rows.invalid[index]
        problems = self.checker.problems(cells)
        if problems:
            return "; ".join(reason for _, _, _, reason in problems)
        return self.checker.send_failure(cells)

    def message(self, index: int, timelines: Timelines, now: float) -> dict[str, Any]:
        """Message ``index`` (0-based row) with its rendered layout, for the control plane."""
        stage, reached = self.stage_of(index, timelines, now)
        cells = self.rows.row(index)
        record = {name: cells[i] if i < len(cells) else "" for i, name in enumerate(self.rows.header)}
        stamps = {name: _iso(reached.get(key)) for name, key in TIMESTAMPS.items()}
        stamps["canceledAt"] = _iso(reached.get(delivery.CANCELED))
        error = None
        if stage == delivery.FAILED:
            error = {"message": self.failure_reason(index, cells)}
        content = self.layout.render(record)
        return {
            "provider": "indigitall",
            "id": f"{self.id}-{index + 1}",
            "campaign": str(self.id),
            "applicationId": self.application_id,
            "recipient": content.get("contactCode") if isinstance(content.get("contactCode"), str) else "",
            "status": STATUS_NAMES[stage],
            "line": self.rows.line(index),
            "timestamps": stamps,
            "error": error,
            "content": content,
        }

    # -- the API shape ---------------------------------------------------------------------
    def to_dict(self, timelines: Timelines, now: float) -> dict[str, Any]:
        status = self.status(now)
        first, last = self.schedule.first_send, self.schedule.last_send
        started = self.has_started(now)
        return {
            "taskId": self.id,
            "applicationId": self.application_id,
            "status": status,
            "scheduledAt": isoformat(self.start),
            "slicingCondition": self.condition,
            "sliced": self.sliced,
            "total": self.total,
            "slots": self.slots(),
            "canceledReason": self.canceled_reason if status == "canceled" else None,
            "messages": self.message_counts(timelines, now),
            "createdAt": isoformat(self.created_at),
            "startedAt": _iso(first) if started else None,
            "finishedAt": _iso(last) if status == "finished" else None,
            "canceledAt": _iso(self.canceled_at) if status == "canceled" else None,
        }

    def slots(self) -> list[dict[str, Any]]:
        out = []
        for allocation in self.plan.allocations if self.plan else ():
            begin, end = slot_bounds(allocation.slot, self.slicing)
            out.append({"start": isoformat(begin), "end": isoformat(end), "count": allocation.count})
        return out


def _iso(moment: float | None) -> str | None:
    return None if moment is None else isoformat(from_timestamp(moment))
