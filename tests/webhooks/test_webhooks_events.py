"""The webhook windows over ``transitions``: they tile exactly, respect the cap, name the events."""

from __future__ import annotations

import random

from mock_server import delivery
from mock_server.delivery import Segment
from mock_server.app import PROVIDERS
from mock_server.webhooks.events import Source, Walker
from support.delivery import TIMELINES, FakeBatch

EVENT_OF = {provider.name: provider.webhooks.event_of for provider in PROVIDERS}
ALL = {provider: frozenset(names.values()) for provider, names in EVENT_OF.items()}
START = 1_767_607_200.0


def _source(provider: str, count: int, segments, limit: int | None = None, number: int = 1) -> Source:
    rng = random.Random(number)
    batch = FakeBatch(bytes(rng.choice(range(10)) for _ in range(count)), tuple(segments), limit)
    return Source(provider, f"b{number}", number, "owner", batch, lambda index, moment, event: {})


def _expected(source: Source, t0: float, t1: float) -> list[tuple[float, str, int, str]]:
    """Brute force: every message's timeline, every event-bearing stage reached in (t0, t1]."""
    batch, names, out = source.batch, EVENT_OF[source.provider], []
    limit = batch.total if batch.sent_limit is None else batch.sent_limit
    for index in range(limit):
        sent = batch.schedule.send_time(index)
        for offset, stage in TIMELINES.steps[batch.outcomes[index]]:
            if t0 < sent + offset <= t1 and stage in names:
                out.append((sent + offset, source.batch_id, index, names[stage]))
    return sorted(out)


def _walk(walker, sources, t0, t1, cap, wanted=lambda s: ALL[s.provider]):
    cursor, produced, windows = t0, [], 0
    while cursor < t1:
        events, end = walker.window(sources, cursor, t1, cap, wanted)
        assert end > cursor
        produced += [(e.at, e.source.batch_id, e.index, e.name) for e in events]
        cursor, windows = end, windows + 1
    return produced, windows


def test_capped_windows_tile_exactly_across_batches():
    jelou = _source("jelou", 400, [Segment(0, 400, START, 100.0)], number=1)
    other = _source("jelou", 300, [Segment(0, 200, START + 0.5, 50.0), Segment(200, 100, START + 3600, 10.0)], number=2)
    walker = Walker(TIMELINES, EVENT_OF)
    produced, windows = _walk(walker, [jelou, other], START - 5, START + 7200, 97)
    assert sorted(produced) == sorted(_expected(jelou, START - 5, START + 7200) + _expected(other, START - 5, START + 7200))
    assert len(produced) == len(set(produced)) and windows > 10
    assert [item[0] for item in produced] == sorted(item[0] for item in produced)      # time order


def test_a_window_holds_the_cap_plus_the_ties_of_its_last_instant():
    burst = _source("indigitall", 50, [Segment(0, 50, START, 1e9)])           # 50 sends within 50 ns
    events, end = Walker(TIMELINES, EVENT_OF).window([burst], START - 1, START + 10, 10, lambda s: ALL["indigitall"])
    assert len(events) >= 10 and end < START + 10
    assert all(e.at <= end for e in events)


def test_a_canceled_task_has_no_events_for_unsent_messages():
    task = _source("indigitall", 100, [Segment(0, 100, START, 10.0)], limit=40)
    events = Walker(TIMELINES, EVENT_OF).events([task], START - 1, START + 3600, lambda s: ALL["indigitall"])
    assert events and max(e.index for e in events) < 40
    assert sorted((e.at, e.source.batch_id, e.index, e.name) for e in events) == _expected(task, START - 1, START + 3600)


def test_only_wanted_event_names_are_produced():
    campaign = _source("jelou", 200, [Segment(0, 200, START, 100.0)])
    events = Walker(TIMELINES, EVENT_OF).events([campaign], START - 1, START + 3600, lambda s: frozenset({"failed"}))
    fails = {index for index, code in enumerate(campaign.batch.outcomes)
             if code in (delivery.FAIL_SEND, delivery.FAIL_LATE, delivery.INVALID)}
    assert events and {e.name for e in events} == {"failed"} and {e.index for e in events} == fails
