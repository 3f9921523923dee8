"""Webhook events derived from the send schedule, a window of mock time at a time.

The transitions come from :func:`mock_server.transitions.transitions` (a message's stage is a
pure function of its outcome byte, its send time and the clock): lazily, in time order, at a cost
that follows the answer, never the batch's size. The dispatcher takes at most
``webhooks.window_events`` of them per window (plus any that share the last instant), so a
1,000,000-row campaign advanced by a day never has more than one window's events in memory.
A window ends at the last transition it took (or at "now"), so the next one starts exactly
there: every transition is produced once.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from .. import delivery
from ..batches import Batch
from ..delivery import Timelines
from ..isotime import from_timestamp, isoformat
from ..transitions import Transition, transitions

# Generic stage -> event name, per provider (indigitall's "sent" is the send itself; its channel
# stage has no event of its own, and a reply shows as "read").
EVENT_OF = {
    "jelou": {delivery.CHANNEL: "delivered_channel", delivery.USER: "delivered_user", delivery.READ: "read",
              delivery.REPLY: "reply", delivery.FAILED: "failed"},
    "indigitall": {delivery.SENT: "sent", delivery.USER: "delivered", delivery.READ: "read",
                   delivery.FAILED: "failed"},
}


@dataclass(frozen=True)
class Source:
    """One batch that can produce events: a started Jelou campaign or an indigitall task."""

    provider: str
    batch_id: str
    number: int                     # the record's creation sequence in its sandbox (lanes, ordering)
    owner: str                      # botId / applicationId (as text): whose subscriptions apply
    batch: Batch
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


Wanted = Callable[[Source], "frozenset[str] | None"]


class Walker:
    """The events of several batches in a window of mock time, in time order."""

    def __init__(self, timelines: Timelines) -> None:
        self.timelines = timelines
        self.latest = max((offset for offset, _ in timelines.groups()), default=0.0)

    def window(self, sources: list[Source], t0: float, now: float, cap: int, wanted: Wanted) -> tuple[list[Event], float]:
        """The events after ``t0``: at most about ``cap`` transitions' worth, and where the window
        ends (``now`` when every transition up to it fit; else the instant of the last one taken,
        with every transition of that instant taken too)."""
        taken: list[tuple[Transition, Source]] = []
        end = now
        for _, transition, source in heapq.merge(*(self._stream(source, t0, now) for source in sources)):
            if len(taken) >= cap and transition.at > taken[-1][0].at:
                end = taken[-1][0].at
                break
            taken.append((transition, source))
        events = []
        for transition, source in taken:
            name = EVENT_OF[source.provider].get(transition.stage)
            if name is not None and name in (wanted(source) or ()):
                events.append(Event(transition.at, name, transition.index, source))
        return events, end

    def events(self, sources: list[Source], t0: float, t1: float, wanted: Wanted) -> list[Event]:
        """Every event in ``(t0, t1]`` (no cap: for small windows)."""
        return self.window(sources, t0, t1, 1 << 62, wanted)[0]

    def _stream(self, source: Source, t0: float, t1: float) -> Iterator[tuple[tuple, Transition, Source]]:
        for transition in transitions(source.batch, self.timelines, t0, t1):
            yield (transition.at, source.number, transition.index, transition.step), transition, source


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

        sources.append(Source("jelou", campaign.id, record.seq, str(campaign.bot_id), campaign, render))
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

        sources.append(Source("indigitall", str(task.id), record.seq, str(task.application_id), task, render))
    return sources


def recipient_of(body: dict[str, Any]) -> str | None:
    if "notification" in body:
        return body["notification"].get("destination")
    return (body.get("message") or {}).get("recipient")
