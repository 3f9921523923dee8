"""The event walker: windows of mock time tile exactly, and match the per-message timelines."""

from __future__ import annotations

import random

import pytest

from mock_server import delivery
from mock_server.delivery import Schedule, Segment, Timelines
from mock_server.settings import DEFAULTS
from mock_server.webhooks.events import EVENT_OF, Source, Walker

TIMELINES = Timelines(DEFAULTS["delivery"])
ALL = {provider: frozenset(names.values()) for provider, names in EVENT_OF.items()}


def _source(provider: str, count: int, segments: list[Segment], limit: int | None = None, seed: int = 1) -> Source:
    rng = random.Random(seed)
    outcomes = bytearray(rng.choice(range(10)) for _ in range(count))
    return Source(provider, "b1", 1, "owner", outcomes, Schedule(segments), count if limit is None else limit,
                  lambda index, moment, event: {})


def _expected(source: Source, t0: float, t1: float) -> list[tuple[float, int, str]]:
    """Brute force: every message's timeline, every stage reached in (t0, t1]."""
    out = []
    names = EVENT_OF[source.provider]
    for index in range(source.limit):
        sent = source.schedule.send_time(index)
        for offset, stage in TIMELINES.steps[source.outcomes[index]]:
            at = sent + offset
            if t0 < at <= t1 and stage in names:
                out.append((at, index, names[stage]))
    return sorted(out)


@pytest.mark.parametrize("provider", ["jelou", "indigitall"])
def test_random_windows_tile_and_match_the_timelines(provider):
    start = 1_767_607_200.0
    source = _source(provider, 500, [Segment(0, 300, start, 100.0), Segment(300, 200, start + 3600, 50.0)])
    walker = Walker(TIMELINES)
    end = start + 3600 + 1000
    rng = random.Random(5)
    cuts = sorted({start - 5, end, *(rng.uniform(start - 5, end) for _ in range(40))})
    produced = []
    for t0, t1 in zip(cuts, cuts[1:]):
        produced += [(e.at, e.index, e.name) for e in walker.events([source], t0, t1, lambda s: ALL[provider])]
    assert sorted(produced) == _expected(source, start - 5, end)
    assert len(produced) == len(set(produced))


def test_window_end_caps_the_events_of_a_window():
    start = 1_767_607_200.0
    source = _source("jelou", 10_000, [Segment(0, 10_000, start, 1000.0)])
    walker = Walker(TIMELINES)
    cursor, now, windows = start - 1, start + 86_400, 0
    total = 0
    while cursor < now:
        end = walker.window_end([source], cursor, now, 500)
        events = walker.events([source], cursor, end, lambda s: ALL["jelou"])
        assert len(events) <= 500
        assert [e.at for e in events] == sorted(e.at for e in events)
        total += len(events)
        cursor, windows = end, windows + 1
    assert total == len(_expected(source, start - 1, now)) and windows >= total // 500


def test_a_canceled_task_has_no_events_for_unsent_messages():
    start = 1_767_607_200.0
    source = _source("indigitall", 100, [Segment(0, 100, start, 10.0)], limit=40)
    events = Walker(TIMELINES).events([source], start - 1, start + 3600, lambda s: ALL["indigitall"])
    assert events and max(e.index for e in events) < 40
    assert sorted((e.at, e.index, e.name) for e in events) == _expected(source, start - 1, start + 3600)


def test_only_wanted_event_names_are_produced():
    start = 1_767_607_200.0
    source = _source("jelou", 200, [Segment(0, 200, start, 100.0)])
    events = Walker(TIMELINES).events([source], start - 1, start + 3600, lambda s: frozenset({"failed"}))
    assert events and {e.name for e in events} == {"failed"}
    fails = {index for index, code in enumerate(source.outcomes)
             if code in (delivery.FAIL_SEND, delivery.FAIL_LATE, delivery.INVALID)}
    assert {e.index for e in events} == fails
