"""A Jelou campaign: its request, its recipients (compact) and its state as a function of time.

Lifecycle (CONTRACT §4): ``SCHEDULED`` until ``scheduledAt``; then ``PENDING`` while it waits
for the bot (``jelou.start_delay`` seconds, longer if the bot is still sending an earlier
campaign); ``IN_PROGRESS`` while its messages are sent at the bot's rate; ``COMPLETED`` when the
last one has been sent, or ``FAILED`` if every message fails. ``CANCELLED`` only by PUT.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .. import delivery
from ..csvfile import Rows
from ..delivery import Schedule, Segment, Timelines
from ..isotime import from_timestamp, isoformat

STATUS_NAMES = {
    delivery.QUEUED: "CREATED",
    delivery.SENT: "CREATED",
    delivery.CHANNEL: "DELIVERED_CHANNEL",
    delivery.USER: "DELIVERED_USER",
    delivery.READ: "READ",
    delivery.REPLY: "REPLY",
    delivery.FAILED: "FAILED",
}
MESSAGE_STATUSES = ("CREATED", "DELIVERED_CHANNEL", "DELIVERED_USER", "READ", "REPLY", "FAILED")
DELIVERED = ("DELIVERED_USER", "READ", "REPLY")
FAILING = (delivery.FAIL_SEND, delivery.FAIL_LATE, delivery.INVALID)


@dataclass(eq=False)
class Campaign:
    id: str
    seq: int
    name: str
    element_name: str
    bot: dict
    company: dict
    template: dict
    type: str
    params: list[dict]
    param_indexes: list[int]
    media_url: str | None
    button_payloads: list[dict] | None
    actions: dict | None
    file_name: str
    storage_url: str | None
    rows: Rows
    outcomes: bytearray
    rate: float
    created_at: datetime
    scheduled_at: datetime | None
    due_at: float
    updated_at: datetime
    started_at: float | None = None
    cancelled: bool = False
    all_fail: bool = False
    fail_after: float = 0.0          # all-failing campaigns: seconds after the last send until it has failed too
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.all_fail = sum(self.outcomes.count(code) for code in FAILING) == len(self.outcomes)

    def settle_failures(self, timelines: Timelines) -> None:
        """For an all-failing campaign, how long after the last send its last failure can land."""
        if self.all_fail:
            self.fail_after = max(timelines.steps[code][-1][0] for code in FAILING if code in self.outcomes)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def schedule(self) -> Schedule:
        if self.started_at is None:
            return Schedule([])
        cached = self.extra.get("schedule")      # built once per start time (webhooks read it per event)
        if cached is None or cached[0] != self.started_at:
            cached = (self.started_at, Schedule([Segment(0, self.total, self.started_at, self.rate)]))
            self.extra["schedule"] = cached
        return cached[1]

    @property
    def finishes_at(self) -> float | None:
        return None if self.started_at is None else self.started_at + (self.total - 1) / self.rate

    def status(self, now: float) -> str:
        if self.cancelled:
            return "CANCELLED"
        if self.started_at is None:
            return "SCHEDULED" if now < self.due_at else "PENDING"
        if now < self.started_at:
            return "PENDING"
        if now < self.ends_at:
            return "IN_PROGRESS"
        return "FAILED" if self.all_fail else "COMPLETED"

    @property
    def ends_at(self) -> float | None:
        """COMPLETED when the last message is sent; FAILED once the last one has failed."""
        if self.finishes_at is None:
            return None
        return self.finishes_at + (self.fail_after if self.all_fail else 0.0)

    def has_started(self, now: float) -> bool:
        return not self.cancelled and self.started_at is not None and now >= self.started_at

    def sent_count(self, now: float) -> int:
        """How many messages have been handed to the channel (they go out in file order)."""
        return self.schedule.sent_by(now) if self.has_started(now) else 0

    def message_counts(self, timelines: Timelines, now: float, *, sent_only: bool = False) -> dict[str, int]:
        """Jelou status -> count; empty until the campaign starts. ``sent_only`` leaves out the
        messages still waiting their turn (which Jelou also calls ``CREATED``)."""
        if not self.has_started(now):
            return {}
        counts: dict[str, int] = {}
        for stage, number in timelines.count(self.outcomes, self.schedule, now).items():
            if sent_only and stage == delivery.QUEUED:
                continue
            name = STATUS_NAMES[stage]
            counts[name] = counts.get(name, 0) + number
        return counts

    def status_of(self, index: int, timelines: Timelines, now: float) -> str:
        """Recipient ``index``'s Jelou status (cheap: no row parsing)."""
        sent_at = self.schedule.send_time(index) if self.started_at is not None else None
        return STATUS_NAMES[timelines.stage(self.outcomes[index], sent_at, now)[0]]

    def message(self, index: int, timelines: Timelines, now: float) -> dict[str, Any]:
        """The state of recipient ``index`` as Jelou names it, with its timestamps."""
        code = self.outcomes[index]
        sent_at = self.schedule.send_time(index) if self.started_at is not None else None
        stage, reached = timelines.stage(code, sent_at, now)
        when = {key: isoformat(from_timestamp(value)) for key, value in reached.items()}
        error = None
        if stage == delivery.FAILED:
            reason = self.rows.invalid.get(index) if code == delivery.INVALID else delivery.FAILURE_REASONS.get(code)
            error = {"message": reason}
        cells = self.rows.row(index)
        return {
            "status": STATUS_NAMES[stage],
            "destination": cells[0] if cells else "",
            "parameters": {str(item["param"]): (cells[i] if i < len(cells) else "")
                           for item, i in zip(self.params, self.param_indexes)},
            "sentAt": when.get(delivery.SENT) or when.get(delivery.FAILED),
            "deliveryChannelAt": when.get(delivery.CHANNEL),
            "deliveryUserAt": when.get(delivery.USER),
            "readAt": when.get(delivery.READ),
            "replyAt": when.get(delivery.REPLY),
            "failedAt": when.get(delivery.FAILED),
            "error": error,
        }

    def counters(self, timelines: Timelines, now: float) -> dict[str, int]:
        counts = self.message_counts(timelines, now)
        return {
            "totalMessages": self.total,
            "deliveredMessages": sum(counts.get(name, 0) for name in DELIVERED),
            "failedMessages": counts.get("FAILED", 0),
        }

    def completed_at(self, now: float) -> str | None:
        if self.status(now) in ("COMPLETED", "FAILED"):
            return isoformat(from_timestamp(self.ends_at))
        return None

    def to_current(self, timelines: Timelines, now: float) -> dict[str, Any]:
        """The item shape of the current OpenAPI ``GET /v1/campaigns``."""
        return {
            "id": self.id,
            "name": self.name,
            "elementName": self.element_name,
            "botId": self.bot["id"],
            "status": self.status(now),
            **self.counters(timelines, now),
            "createdAt": isoformat(self.created_at),
            "completedAt": self.completed_at(now),
            "scheduledAt": isoformat(self.scheduled_at),
            "startedAt": isoformat(from_timestamp(self.started_at)) if self.has_started(now) else None,
            "updatedAt": isoformat(self.updated_at),
            "type": self.type,
            "fileName": self.file_name,
        }

    def to_legacy(self, timelines: Timelines, now: float) -> dict[str, Any]:
        """The item shape of the older (GitBook) ``GET /v1/campaigns`` the dashboard consumes."""
        return {
            "_id": self.id,
            "name": self.name,
            "fileName": self.file_name,
            "status": self.status(now),
            "botId": self.bot["id"],
            "companyId": self.company["id"],
            "bot": {"id": self.bot["id"], "name": self.bot.get("name", self.bot["id"])},
            "company": {"id": self.company["id"], "name": self.company.get("name", "")},
            "rowCount": self.total,
            "storageUrl": self.storage_url,
            "metadata": {
                "elementName": self.element_name,
                "mediaUrl": self.media_url,
                "buttonPayloads": self.button_payloads,
                "actions": self.actions,
                "params": self.params,
                "type": self.type,
            },
            **self.counters(timelines, now),
            "scheduledAt": isoformat(self.scheduled_at),
            "createdAt": isoformat(self.created_at),
            "updatedAt": isoformat(self.updated_at),
        }
