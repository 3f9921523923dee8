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

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from .. import delivery
from ..batches import Batch
from ..clock import from_us
from ..csvfile import Rows
from ..delivery import Schedule, Segment, Timelines
from ..isotime import Stamps, from_timestamp, isoformat
from ..store.repository import Index, IndexFamily, RecordKind
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


# Store indexes (the record kind: TASKS, below the class).
ALL = Index("indigitall.all")                  # every task, by creation
BY_APPLICATION = IndexFamily("indigitall.app")  # one application's tasks, by creation


def ledger_name(application_id: int) -> str:
    """The slot ledger shared by every task of an application."""
    return f"indigitall.ledger:{application_id}"


@dataclass(frozen=True)
class Task(Batch):
    """A stored task (a value: a cancellation is a new value written by the store).

    The layout is kept as its JSON text; the backend compiles it (and the row checker) on use.
    """

    id: int
    application_id: int
    layout_text: str
    rows: Rows
    outcomes: bytes
    condition: str
    plan: Plan | None             # None: not sliced
    slicing: SlicingSettings
    start_us: int
    rate: float
    created_us: int = 0           # the record's creation instant (given to its builder)
    canceled_reason: str | None = None
    canceled_at: float | None = None
    sent_limit: int | None = None  # messages sent before a DELETE; the rest are canceled
    profile: str | None = None     # the traffic profile it was accepted with (None: ideal)
    segments: tuple[tuple[int, int, float], ...] | None = None   # (first, count, start): placed by the profile

    @property
    def start(self) -> datetime:
        return from_us(self.start_us)

    @property
    def created_at(self) -> datetime:
        return from_us(self.created_us)

    @property
    def sliced(self) -> bool:
        return self.plan is not None

    def build_schedule(self) -> Schedule:
        if self.plan is not None and self.plan.canceled:
            return Schedule([])
        if self.segments is not None:
            return Schedule([Segment(first, count, start, self.rate) for first, count, start in self.segments])
        return build_schedule(self.plan, self.slicing, self.start_us / 1_000_000, self.total, self.rate)

    # -- state -----------------------------------------------------------------------------
    @property
    def canceled(self) -> bool:
        return self.canceled_at is not None or (self.plan is not None and self.plan.canceled)

    def canceled_time(self) -> float | None:
        """When the task was canceled: by DELETE, or at creation when slicing could not place it."""
        if self.canceled_at is not None:
            return self.canceled_at
        return self.created_us / 1_000_000 if self.canceled else None

    @property
    def reason(self) -> str | None:
        return self.canceled_reason or (self.plan.canceled_reason if self.plan is not None else None)

    def status(self, now: float) -> str:
        if self.canceled:
            return "canceled"
        first, last = self.schedule.first_send, self.schedule.last_send
        if first is None or now < first:
            return "scheduled"
        return "processing" if now < last else "finished"

    def message_counts(self, timelines: Timelines, now: float) -> dict[str, int]:
        counts = dict.fromkeys(MESSAGE_STATUSES, 0)
        if self.canceled and not self.sent_limit:
            counts["canceled"] = self.total
            return counts
        for stage, number in self.stage_counts(timelines, now).items():
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

    def with_cancellation(self, now: float, reason: str | None = None) -> "Task":
        """This task canceled at ``now``: messages not sent by then never will be."""
        return replace(self, sent_limit=self.schedule.sent_by(now), canceled_at=now, canceled_reason=reason)

    # -- one message ----------------------------------------------------------------------
    def status_of(self, index: int, timelines: Timelines, now: float) -> str:
        return STATUS_NAMES[self.stage_of(index, timelines, now)[0]]

    def failure_reason(self, index: int, cells: list[str], checker: Checker) -> str | None:
        code = self.outcomes[index]
        if code != delivery.INVALID:
            return delivery.FAILURE_REASONS.get(code)
        if index in self.rows.invalid:
            return self.rows.invalid[index]
        problems = checker.problems(cells)
        if problems:
            return "; ".join(reason for _, _, _, reason in problems)
        return checker.send_failure(cells)

    def message(self, index: int, timelines: Timelines, now: float, layout: Layout, checker: Checker,
                formatted: Stamps | None = None) -> dict[str, Any]:
        """Message ``index`` (0-based row) with its rendered layout, for the control plane
        (``formatted``: the instants formatted so far, when many messages are rendered together)."""
        stage, reached = self.stage_of(index, timelines, now)
        cells = self.rows.row(index)
        record = {name: cells[i] if i < len(cells) else "" for i, name in enumerate(self.rows.header)}
        formatted = Stamps() if formatted is None else formatted
        stamps = {name: None if (moment := reached.get(key)) is None else formatted[moment]
                  for name, key in TIMESTAMPS.items()}
        canceled = reached.get(delivery.CANCELED)
        stamps["canceledAt"] = None if canceled is None else formatted[canceled]
        error = None
        if stage == delivery.FAILED:
            error = self.error(index, timelines, self.failure_reason(index, cells, checker))
        content = layout.render(record)
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
            "canceledReason": self.reason if status == "canceled" else None,
            "messages": self.message_counts(timelines, now),
            "createdAt": isoformat(self.created_at),
            "startedAt": _iso(first) if started else None,
            "finishedAt": _iso(last) if status == "finished" else None,
            "canceledAt": _iso(self.canceled_time()) if status == "canceled" else None,
        }

    def slots(self) -> list[dict[str, Any]]:
        out = []
        for allocation in self.plan.allocations if self.plan else ():
            begin, end = slot_bounds(allocation.slot, self.slicing)
            out.append({"start": isoformat(begin), "end": isoformat(end), "count": allocation.count})
        return out


def _iso(moment: float | None) -> str | None:
    return None if moment is None else isoformat(from_timestamp(moment))


TASKS: RecordKind[Task, Task] = RecordKind(
    "indigitall.task", (ALL, BY_APPLICATION), lambda task: (ALL.entry(), BY_APPLICATION[task.application_id].entry()),
    ids="sequence")
SHAPING: RecordKind[dict, dict] = RecordKind("indigitall.shaping")   # one per application (id: its id): under a
# profile, its busy intervals [start, end, task id] and tier ledger {recipient: {task id: latest send}} (tiers.py)
