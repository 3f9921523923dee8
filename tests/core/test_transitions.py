"""``mock_server.transitions``: stage changes in a window, read off the schedule, in time order."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from mock_server import delivery
from mock_server.batches import Batch
from mock_server.delivery import Schedule, Segment, Timelines
from mock_server.settings import defaults
from mock_server.transitions import Transition, transitions
from support.delivery import TIMELINES, FakeBatch

def every_transition(batch: FakeBatch, t0: float, t1: float) -> list[tuple[float, int, str]]:
    """The brute-force answer: every message, every step."""
    limit = batch.total if batch.sent_limit is None else batch.sent_limit
    found = []
    for index in range(limit):
        sent = batch.schedule.send_time(index)
        for offset, stage in TIMELINES.steps[batch.outcomes[index]]:
            if t0 < sent + offset <= t1:
                found.append((sent + offset, index, stage))
    return found


def mixed_batch(count: int, seed: int = 1, **kwargs) -> FakeBatch:
    rng = random.Random(seed)
    outcomes = bytes(rng.choice(range(10)) for _ in range(count))
    segments = (Segment(0, count // 2, 1000.0, 4.0), Segment(count // 2, count - count // 2, 5000.0, 0.5))
    return FakeBatch(outcomes, segments, **kwargs)


@pytest.mark.parametrize("t0, t1", [(0, 10_000), (999, 1001), (1000, 1000.25), (1010, 1060), (4990, 5100),
                                    (5050, 5051), (1000.5, 1030.5), (20_000, 30_000), (1100, 1000)])
def test_the_same_transitions_as_brute_force_in_time_order(t0, t1):
    batch = mixed_batch(400)
    got = list(transitions(batch, TIMELINES, t0, t1))
    assert sorted((t.at, t.index, t.stage) for t in got) == sorted(every_transition(batch, t0, t1))
    assert [(t.at, t.index, t.step) for t in got] == sorted((t.at, t.index, t.step) for t in got)
    for item in got:
        assert isinstance(item, Transition) and item.code == batch.outcomes[item.index]
        assert TIMELINES.steps[item.code][item.step][1] == item.stage


def test_consecutive_windows_partition_the_stream():
    batch = mixed_batch(300, seed=4)
    whole = list(transitions(batch, TIMELINES, 0, 50_000))
    pieces = [item for start in range(0, 50_000, 700) for item in transitions(batch, TIMELINES, start, start + 700)]
    assert pieces == whole and len(whole) == len(every_transition(batch, 0, 50_000))


def test_unsent_and_unstarted_messages_have_no_transitions():
    batch = mixed_batch(100, sent_limit=10)
    got = list(transitions(batch, TIMELINES, 0, 100_000))
    assert {item.index for item in got} == set(range(10))
    assert sorted((t.at, t.index, t.stage) for t in got) == sorted(every_transition(batch, 0, 100_000))
    assert list(transitions(FakeBatch(b"\x00" * 5, ()), TIMELINES, 0, 1e12)) == []


def test_reserved_outcomes_follow_their_timelines():
    outcomes = bytes([delivery.REPLIED, delivery.FAIL_SEND, delivery.FAIL_LATE])
    batch = FakeBatch(outcomes, (Segment(0, 3, 100.0, 1.0),))
    got = [(t.at, t.index, t.stage) for t in transitions(batch, TIMELINES, 0, 1000)]
    assert got == [
        (100.0, 0, delivery.SENT), (101.0, 0, delivery.CHANNEL), (101.0, 1, delivery.FAILED),
        (102.0, 0, delivery.USER), (102.0, 2, delivery.SENT), (103.0, 2, delivery.CHANNEL),
        (104.0, 2, delivery.FAILED), (130.0, 0, delivery.READ), (160.0, 0, delivery.REPLY),
    ]


class CountingSchedule(Schedule):
    calls = 0

    def send_time(self, index: int) -> float:
        CountingSchedule.calls += 1
        return super().send_time(index)


@dataclass(frozen=True)
class CountedBatch(FakeBatch):
    def build_schedule(self) -> Schedule:
        return CountingSchedule(list(self.segments))


def test_cost_follows_the_answer_not_the_batch():
    count = 1_000_000
    outcomes = bytes(random.Random(3).choices(range(8), k=count))
    batch = CountedBatch(outcomes, (Segment(0, count, 0.0, 100.0),))
    CountingSchedule.calls = 0
    got = list(transitions(batch, TIMELINES, 5000.0, 5000.05))        # 0.05 s of a 10,000 s campaign
    assert 0 < len(got) < 100
    assert CountingSchedule.calls == len(got)                          # one send_time per event yielded
    assert sorted((t.at, t.index, t.stage) for t in got) == sorted(
        (at, index, stage) for index in range(430_000, 500_006)         # sent within the longest offset (600 s)
        for offset, stage in TIMELINES.steps[outcomes[index]] if 5000.0 < (at := index / 100 + offset) <= 5000.05)


def test_next_change_is_the_first_transition_after():
    batch = mixed_batch(200, seed=9)
    for after in (0.0, 999.0, 1000.0, 1003.3, 1049.75, 4999.0, 5100.0, 1e9):
        expected = min((at for at, _, _ in every_transition(batch, after, 1e12)), default=None)
        assert batch.next_change(TIMELINES, after) == expected
