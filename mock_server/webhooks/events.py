"""Webhook events derived from the send schedule, a window of mock time at a time.

A message's stage is a pure function of (outcome byte, send time, clock) (``delivery.py``), so the
events that fall due in ``(t0, t1]`` are, for each offset at which some stage is reached, the
messages sent in ``(t0 - offset, t1 - offset]``: an index range found by bisection on the
schedule. Counting a window costs a few bisections per batch, never a loop over recipients, so the
dispatcher picks windows that hold at most ``webhooks.window_events`` events and a 1,000,000-row
campaign advanced by a day never has more than one window's events in memory.

Windows tile exactly (the same ``sent_by`` bounds close one window and open the next), so every
transition is produced once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from .. import delivery
from ..delivery import Schedule, Timelines
from ..isotime import from_timestamp, isoformat

# Generic stage -> event name, per provider (indigitall's "sent" is the send itself; its channel
# stage has no event of its own, and a reply shows as "read").
EVENT_OF = {
    "jelou": {delivery.CHANNEL: "delivered_channel", delivery.USER: "delivered_user", delivery.READ: "read",
              delivery.REPLY: "reply", delivery.FAILED: "failed"},
    "indigitall": {delivery.SENT: "sent", delivery.USER: "delivered", delivery.READ: "read",
                   delivery.FAILED: "failed"},
}
STAGE_RANK = {stage: rank for rank, stage in enumerate(
    (delivery.SENT, delivery.CHANNEL, delivery.USER, delivery.READ, delivery.REPLY, delivery.FAILED))}


@dataclass(frozen=True)
class Source:
    """One batch that can produce events: a started Jelou campaign or an indigitall task."""

    provider: str
    batch_id: str
    number: int                     # a small integer per batch (lanes, ordering)
    owner: str                      # botId / applicationId (as text): whose subscriptions apply
    outcomes: bytes
    schedule: Schedule
    limit: int                      # messages ever sent (a canceled task stops early)
    render: Callable[[int, float, str], dict[str, Any]]   # (index, moment, event) -> body


@dataclass(frozen=True)
class Event:
    at: float                       # mock time of the transition
    name: str
    index: int
    source: Source

    @property
    def id(self) -> str:
        """Stable across retries, duplicates and restarts: the same transition, the same id."""
        return f"{self.source.provider}-{self.source.batch_id}-{self.index + 1}-{self.name}"

    def render(self) -> dict[str, Any]:
        return self.source.render(self.index, self.at, self.name)


def encode(body: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact UTF-8 JSON."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class Walker:
    """The transitions of the sources in a window of mock time, per provider's event names."""

    def __init__(self, timelines: Timelines) -> None:
        self.timelines = timelines
        # code -> offset -> stages reached at that offset (in order)
        self.table: dict[int, dict[float, list[str]]] = {}
        for code, steps in timelines.steps.items():
            for offset, stage in steps:
                self.table.setdefault(code, {}).setdefault(offset, []).append(stage)
        self.offsets = sorted({offset for by_offset in self.table.values() for offset in by_offset})
        self.latest = self.offsets[-1] if self.offsets else 0.0

    def active(self, source: Source, t0: float, t1: float) -> bool:
        first, last = source.schedule.first_send, source.schedule.last_send
        return first is not None and source.limit > 0 and first <= t1 and last + self.latest > t0

    def ranges(self, source: Source, t0: float, t1: float) -> list[tuple[float, int, int]]:
        """``(offset, low, high)``: messages ``low..high-1`` reach their offset-stage in ``(t0, t1]``."""
        out = []
        sent_by = source.schedule.sent_by
        for offset in self.offsets:
            low = min(sent_by(t0 - offset), source.limit)
            high = min(sent_by(t1 - offset), source.limit)
            if high > low:
                out.append((offset, low, high))
        return out

    def count(self, sources: list[Source], t0: float, t1: float) -> int:
        """An upper bound of the events in ``(t0, t1]`` (every message at every offset)."""
        return sum(high - low for source in sources if self.active(source, t0, t1)
                   for _, low, high in self.ranges(source, t0, t1))

    def window_end(self, sources: list[Source], t0: float, now: float, cap: int) -> float:
        """The latest ``t1 <= now`` whose window holds at most ``cap`` events (at least one instant)."""
        if self.count(sources, t0, now) <= cap:
            return now
        low, high = t0, now
        for _ in range(60):
            middle = (low + high) / 2
            if middle in (low, high):
                break
            if self.count(sources, t0, middle) <= cap:
                low = middle
            else:
                high = middle
        return low if low > t0 else high

    def events(self, sources: list[Source], t0: float, t1: float, wanted: Callable[[Source], frozenset[str]]) -> list[Event]:
        """Every transition in ``(t0, t1]`` whose event name ``wanted(source)`` contains, in time order."""
        found: list[tuple[float, int, int, int, Event]] = []
        for source in sources:
            names = wanted(source)
            if not names or not self.active(source, t0, t1):
                continue
            event_of = EVENT_OF[source.provider]
            send_time, outcomes = source.schedule.send_time, source.outcomes
            for offset, low, high in self.ranges(source, t0, t1):
                for index in range(low, high):
                    for stage in self.table[outcomes[index]].get(offset, ()):
                        name = event_of.get(stage)
                        if name in names:
                            at = send_time(index) + offset
                            found.append((at, STAGE_RANK[stage], source.number, index, Event(at, name, index, source)))
        found.sort(key=lambda item: item[:4])
        return [item[4] for item in found]


def jelou_sources(backend, sandbox, owners, after: float, latest: float) -> list[Source]:
    """Started Jelou campaigns of a bot in ``owners`` with transitions still to come after ``after``
    (their bodies: the notification right after the transition). Costs one look per campaign."""
    from ..jelou.campaigns import ALL
    sources = []
    for record in backend.store.scan(sandbox.name, ALL, newest_first=False):
        value = record.value
        if value.started_at is None or value.cancelled or ("jelou", str(value.bot_id)) not in owners:
            continue
        if value.finishes_at + latest < after:
            continue
        campaign = backend.campaign(record)

        def render(index: int, moment: float, event: str, campaign=campaign) -> dict[str, Any]:
            return {"event": event, "timestamp": isoformat(from_timestamp(moment)), "botId": campaign.bot_id,
                    "campaignId": campaign.id, "notification": backend._notification(campaign, index, moment)}

        sources.append(Source("jelou", campaign.id, record.seq, str(campaign.bot_id), campaign.outcomes,
                              campaign.schedule, campaign.total, render))
    return sources


def indigitall_sources(backend, sandbox, owners, after: float, latest: float) -> list[Source]:
    """indigitall tasks with a send plan, of an application in ``owners``, with transitions still
    to come after ``after`` (their bodies: the message as ``/_mock/messages`` shows it)."""
    from ..indigitall.tasks import ALL
    sources = []
    timelines = backend.timelines
    for record in backend.store.scan(sandbox.name, ALL, newest_first=False):
        value = record.value
        if ("indigitall", str(value.application_id)) not in owners:
            continue
        task = backend.task(record)
        schedule = task.schedule
        limit = task.total if task.sent_limit is None else min(task.sent_limit, task.total)
        if not schedule.segments or limit == 0 or schedule.last_send + latest < after:
            continue
        layout, checker = backend.compiled(task)

        def render(index: int, moment: float, event: str, task=task, layout=layout, checker=checker) -> dict[str, Any]:
            return {"event": event, "timestamp": isoformat(from_timestamp(moment)), "applicationId": task.application_id,
                    "taskId": task.id, "message": task.message(index, timelines, moment, layout, checker)}

        sources.append(Source("indigitall", str(task.id), record.seq, str(task.application_id), task.outcomes,
                              schedule, limit, render))
    return sources


def recipient_of(body: dict[str, Any]) -> str | None:
    if "notification" in body:
        return body["notification"].get("destination")
    return (body.get("message") or {}).get("recipient")
