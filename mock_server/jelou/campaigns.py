"""A Jelou campaign: its request, its recipients (compact) and its state as a function of time.

Lifecycle (CONTRACT §4): ``SCHEDULED`` until ``scheduledAt``; then ``PENDING`` while it waits
for the bot (``jelou.start_delay`` seconds, longer if the bot is still sending an earlier
campaign); ``IN_PROGRESS`` while its messages are sent at the bot's rate; ``COMPLETED`` when the
last one has been sent, or ``FAILED`` if every message fails. ``CANCELLED`` only by PUT.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import delivery
from ..batches import Batch
from ..csvfile import Rows
from ..delivery import Schedule, Segment, Timelines
from ..isotime import Stamps, from_timestamp, isoformat
from ..store.repository import Index, IndexFamily, RecordKind
from ..store.values import COUNTED

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

# Store indexes (record kinds: CAMPAIGNS and LANES, below the classes).
ALL = Index("jelou.all")               # every campaign, by creation
QUEUE = Index(COUNTED + "jelou.queue")           # campaigns not started yet, by scheduledAt (or creation)
BY_BOT = IndexFamily("jelou.bot")      # one bot's campaigns, by creation (``GET /v1/campaigns`` windows)


@dataclass(frozen=True)
class Lane:
    """A bot's sending lane: when the last campaign started on it finishes sending (epoch s)."""

    end: float


@dataclass(frozen=True)
class Campaign(Batch):
    """A stored campaign (a value: every change is a new one, written by the store)."""

    id: str
    name: str
    element_name: str
    bot_id: str
    company_id: Any
    template_text: str
    type: str
    params: tuple[tuple[int, str], ...]      # (placeholder number, CSV column), by number
    param_indexes: tuple[int, ...]           # the column index of each param
    media_url: str | None
    button_payloads: str | None              # JSON text, as validated
    actions: str | None                      # JSON text, as validated
    file_name: str
    storage_url: str | None
    rows: Rows
    outcomes: bytes
    rate: float
    scheduled_at: float | None               # epoch seconds
    created_us: int = 0                      # the record's creation instant (given to its builder)
    updated_us: int | None = None            # None: never updated since creation
    started_at: float | None = None
    cancelled: bool = False
    all_fail: bool = False
    fail_after: float = 0.0                  # all-failing campaigns: seconds after the last send until it has failed too
    profile: str | None = None               # the traffic profile it was accepted with (None: ideal)
    segments: tuple[tuple[int, int, float], ...] | None = None   # (first, count, start): sends held by a tier

    @staticmethod
    def failing_profile(outcomes: bytes, timelines: Timelines) -> tuple[bool, float]:
        """``(all_fail, fail_after)``: whether every message fails, and how long after the last
        send the last failure can land."""
        failing = timelines.failing
        all_fail = sum(outcomes.count(code) for code in failing) == len(outcomes)
        after = max((timelines.steps[code][-1][0] for code in failing if code in outcomes), default=0.0)
        return all_fail, after if all_fail else 0.0

    @property
    def created_at(self) -> datetime:
        return from_timestamp(self.created_us / 1_000_000)

    @property
    def updated_at(self) -> datetime:
        return self.created_at if self.updated_us is None else from_timestamp(self.updated_us / 1_000_000)

    @property
    def due_at(self) -> float:
        """When it may start: its creation, or ``scheduledAt`` when later."""
        created = self.created_us / 1_000_000
        return created if self.scheduled_at is None else max(created, self.scheduled_at)

    def build_schedule(self) -> Schedule:
        if self.started_at is None or self.cancelled:
            return Schedule([])
        if self.segments is not None:
            return Schedule([Segment(first, count, start, self.rate) for first, count, start in self.segments])
        return Schedule([Segment(0, self.total, self.started_at, self.rate)])

    @property
    def finishes_at(self) -> float | None:
        if self.started_at is None:
            return None
        if self.segments is not None:
            first, count, start = self.segments[-1]
            return start + (count - 1) / self.rate
        return self.started_at + (self.total - 1) / self.rate

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
        return self.sent_by(now)

    def message_counts(self, timelines: Timelines, now: float, *, sent_only: bool = False) -> dict[str, int]:
        """Jelou status -> count; empty until the campaign starts. ``sent_only`` leaves out the
        messages still waiting their turn (which Jelou also calls ``CREATED``)."""
        if not self.has_started(now):
            return {}
        counts: dict[str, int] = {}
        for stage, number in self.stage_counts(timelines, now).items():
            if sent_only and stage == delivery.QUEUED:
                continue
            name = STATUS_NAMES[stage]
            counts[name] = counts.get(name, 0) + number
        return counts

    def status_of(self, index: int, timelines: Timelines, now: float) -> str:
        """Recipient ``index``'s Jelou status (cheap: no row parsing)."""
        return STATUS_NAMES[self.stage_of(index, timelines, now)[0]]

    def message(self, index: int, timelines: Timelines, now: float, stamps: Stamps | None = None, *,
                parameters: bool = True) -> dict[str, Any]:
        """The state of recipient ``index`` as Jelou names it, with its timestamps (``stamps``: the
        instants formatted so far, when many messages are rendered together; ``parameters``
        False: without its template parameters, which a notification does not show)."""
        code = self.outcomes[index]
        stage, reached = self.stage_of(index, timelines, now)
        stamps = Stamps() if stamps is None else stamps
        when = {key: stamps[value] for key, value in reached.items()}
        error = None
        if stage == delivery.FAILED:
            reason = self.rows.invalid.get(index) if code == delivery.INVALID else delivery.FAILURE_REASONS.get(code)
            error = self.error(index, timelines, reason)
        if parameters:
            cells = self.rows.row(index)
            destination = cells[0] if cells else ""
            shown = {str(number): (cells[i] if i < len(cells) else "") for (number, _), i in zip(self.params, self.param_indexes)}
        else:                             # the first cell alone (a row parsed whole cost a third of a body)
            destination, shown = self.rows.first_cell(index), None
        return {
            "status": STATUS_NAMES[stage],
            "destination": destination,
            "parameters": shown,
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
            "botId": self.bot_id,
            "status": self.status(now),
            **self.counters(timelines, now),
            "createdAt": isoformat(self.created_at),
            "completedAt": self.completed_at(now),
            "scheduledAt": _iso(self.scheduled_at),
            "startedAt": isoformat(from_timestamp(self.started_at)) if self.has_started(now) else None,
            "updatedAt": isoformat(self.updated_at),
            "type": self.type,
            "fileName": self.file_name,
        }

    def to_legacy(self, timelines: Timelines, now: float, bot: dict, company: dict) -> dict[str, Any]:
        """The item shape of the older (GitBook) ``GET /v1/campaigns`` the dashboard consumes."""
        return {
            "_id": self.id,
            "name": self.name,
            "fileName": self.file_name,
            "status": self.status(now),
            "botId": self.bot_id,
            "companyId": self.company_id,
            "bot": {"id": self.bot_id, "name": bot.get("name", self.bot_id)},
            "company": {"id": self.company_id, "name": company.get("name", "")},
            "rowCount": self.total,
            "storageUrl": self.storage_url,
            "metadata": {
                "elementName": self.element_name,
                "mediaUrl": self.media_url,
                "buttonPayloads": _json(self.button_payloads),
                "actions": _json(self.actions),
                "params": [{"param": number, "column": column} for number, column in self.params],
                "type": self.type,
            },
            **self.counters(timelines, now),
            "scheduledAt": _iso(self.scheduled_at),
            "createdAt": isoformat(self.created_at),
            "updatedAt": isoformat(self.updated_at),
        }


def _iso(moment: float | None) -> str | None:
    return None if moment is None else isoformat(from_timestamp(moment))


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _entries(campaign: Campaign) -> list[tuple[str, float | None]]:
    entries = [ALL.entry(), BY_BOT[campaign.bot_id].entry()]
    if campaign.started_at is None and not campaign.cancelled:
        entries.append(QUEUE.entry(campaign.scheduled_at))
    return entries


CAMPAIGNS: RecordKind[Campaign, Campaign] = RecordKind("jelou.campaign", (ALL, QUEUE, BY_BOT), _entries)
LANES: RecordKind[Lane, Lane] = RecordKind("jelou.lane")        # one per bot (id: the bot's): when it is free again
TIERS: RecordKind[dict, dict] = RecordKind("jelou.tier")        # one per bot: recipient -> latest send (tiers.py)
