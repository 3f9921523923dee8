"""Unit tests for ``mock_server.delivery`` (outcome codes, schedules, stage timelines, counts)."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server import delivery
from mock_server.delivery import (
    CANCELED,
    CHANNEL,
    CHANNEL_ONLY,
    FAIL_LATE,
    FAIL_SEND,
    FAILED,
    INVALID,
    NEVER_READ,
    ORDINARY,
    ORDINARY_READ,
    QUEUED,
    READ,
    READ_CODE,
    REPLIED,
    REPLY,
    RESERVED,
    SENT,
    SLOW,
    USER,
    Schedule,
    Segment,
    Timelines,
    build_outcomes,
    reserved_outcome,
)
from mock_server.settings import SettingsError, build_settings
from mock_server.settings.core import DeliverySettings

DELIVERY = DeliverySettings(channel_after=1, user_after=2, read_after=30, reply_after=60, slow_user_after=600)
EPOCH = 1_767_607_200.0      # 2026-01-05T10:00:00Z, what real schedules start from


# --------------------------------------------------------------------------- reserved recipients


@pytest.mark.parametrize(
    ("digits", "code"),
    [("01", FAIL_SEND), ("02", CHANNEL_ONLY), ("03", NEVER_READ), ("04", READ_CODE), ("05", REPLIED),
     ("06", SLOW), ("07", FAIL_LATE)],
)
def test_reserved_outcome_every_code(digits, code):
    assert RESERVED[digits][0] == code
    assert reserved_outcome(f"999{digits}1234567") == code
    assert reserved_outcome(f"999{digits}") == code


def test_reserved_table_is_exactly_seven_codes():
    assert sorted(RESERVED) == ["01", "02", "03", "04", "05", "06", "07"]
    assert len({entry[0] for entry in RESERVED.values()}) == 7


@pytest.mark.parametrize("recipient", ["593912345678", "99900123456", "99908123456", "99999123456", "9990",
                                       "999", "99", "", "12399901000", "+99901123456", "999a1", " 99901123"])
def test_reserved_outcome_none_for_ordinary_and_unknown(recipient):
    assert reserved_outcome(recipient) is None


def test_outcome_code_values_fit_in_a_byte_and_are_distinct():
    codes = [ORDINARY, ORDINARY_READ, FAIL_SEND, CHANNEL_ONLY, NEVER_READ, READ_CODE, REPLIED, SLOW, FAIL_LATE, INVALID]
    assert codes == list(range(10))


# --------------------------------------------------------------------------- build_outcomes


def test_build_outcomes_read_share_zero():
    outcomes = build_outcomes(5000, random.Random(1), 0.0, {}, {})
    assert isinstance(outcomes, bytearray)
    assert len(outcomes) == 5000
    assert outcomes.count(ORDINARY) == 5000
    assert outcomes.count(ORDINARY_READ) == 0


def test_build_outcomes_read_share_one():
    outcomes = build_outcomes(5000, random.Random(1), 1.0, {}, {})
    assert outcomes.count(ORDINARY_READ) == 5000


def test_build_outcomes_read_share_half_on_10k():
    outcomes = build_outcomes(10_000, random.Random("seed:campaign-1"), 0.5, {}, {})
    read = outcomes.count(ORDINARY_READ)
    assert outcomes.count(ORDINARY) + read == 10_000
    assert 4800 <= read <= 5200           # binomial(10000, 0.5): sd 50, so +-4 sd


def test_build_outcomes_read_share_quarter_on_10k():
    read = build_outcomes(10_000, random.Random(7), 0.25, {}, {}).count(ORDINARY_READ)
    assert 2300 <= read <= 2700


def test_build_outcomes_same_seed_same_bytes():
    first = build_outcomes(2000, random.Random(42), 0.5, {}, {})
    second = build_outcomes(2000, random.Random(42), 0.5, {}, {})
    other = build_outcomes(2000, random.Random(43), 0.5, {}, {})
    assert first == second
    assert first != other


def test_build_outcomes_empty():
    assert build_outcomes(0, random.Random(0), 0.5, {}, {}) == bytearray()


def test_build_outcomes_reserved_and_invalid_overlay():
    reserved = {0: "99901000000", 3: "99905000003", 5: "99999000005", 7: "99906000007", 9: "99902000009"}
    invalid = {7: "line 9: bad", 8: "line 10: bad"}
    outcomes = build_outcomes(10, random.Random(3), 0.0, reserved, invalid)
    assert list(outcomes) == [FAIL_SEND, ORDINARY, ORDINARY, REPLIED, ORDINARY,
                              ORDINARY,            # 99999 is not a reserved code: keeps its draw
                              ORDINARY, INVALID,   # invalid wins over reserved
                              INVALID, CHANNEL_ONLY]


def test_build_outcomes_overlay_does_not_change_other_draws():
    plain = build_outcomes(100, random.Random(9), 0.5, {}, {})
    overlaid = build_outcomes(100, random.Random(9), 0.5, {10: "99904", 20: "99903"}, {30: "bad"})
    assert (overlaid[10], overlaid[20], overlaid[30]) == (READ_CODE, NEVER_READ, INVALID)
    assert [b for i, b in enumerate(overlaid) if i not in (10, 20, 30)] == \
        [b for i, b in enumerate(plain) if i not in (10, 20, 30)]


# --------------------------------------------------------------------------- Schedule


def three_segments() -> Schedule:
    return Schedule([
        Segment(0, 3, 100.0, 1.0),    # 100, 101, 102
        Segment(3, 4, 200.0, 2.0),    # 200, 200.5, 201, 201.5
        Segment(7, 2, 300.0, 0.5),    # 300, 302
    ])


def test_segment_last_send():
    assert Segment(0, 3, 100.0, 1.0).last_send == 102.0
    assert Segment(3, 4, 200.0, 2.0).last_send == 201.5
    assert Segment(0, 1, 5.0, 100.0).last_send == 5.0


def test_schedule_send_time():
    schedule = three_segments()
    assert schedule.total == 9
    assert [schedule.send_time(i) for i in range(9)] == [100.0, 101.0, 102.0, 200.0, 200.5, 201.0, 201.5, 300.0, 302.0]
    with pytest.raises(IndexError):
        schedule.send_time(9)
    assert (schedule.first_send, schedule.last_send) == (100.0, 302.0)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [(0.0, 0), (99.999, 0), (100.0, 1), (100.5, 1), (101.0, 2), (101.999, 2), (102.0, 3), (150.0, 3),
     (199.999, 3), (200.0, 4), (200.499, 4), (200.5, 5), (201.0, 6), (201.5, 7), (250.0, 7), (300.0, 8),
     (301.999, 8), (302.0, 9), (303.0, 9), (1e12, 9)],
)
def test_schedule_sent_by(moment, expected):
    assert three_segments().sent_by(moment) == expected


def test_sent_by_matches_send_time_on_small_numbers():
    schedule = Schedule([Segment(0, 50, 10.0, 4.0), Segment(50, 30, 40.0, 0.5), Segment(80, 20, 200.0, 8.0)])
    for index in range(schedule.total):
        assert schedule.sent_by(schedule.send_time(index)) == index + 1
        assert schedule.sent_by(schedule.send_time(index) - 1e-3) == index


def test_empty_schedule():
    schedule = Schedule([])
    assert schedule.total == 0
    assert schedule.sent_by(1e12) == 0
    assert schedule.first_send is None and schedule.last_send is None


@pytest.mark.parametrize("rate", [100.0, 3.0])
def test_sent_by_matches_send_time_with_epoch_start(rate):
    schedule = Schedule([Segment(0, 1000, EPOCH, rate)])
    wrong = [index for index in range(1000) if schedule.sent_by(schedule.send_time(index)) != index + 1]
    assert wrong == []


# --------------------------------------------------------------------------- Timelines.stage

T0 = 1000.0

# code -> [(seconds after sending, stage)] written out from the reserved-recipients table (docs/demo-tenant.md)
EXPECTED_STEPS = {
    ORDINARY: [(0, SENT), (1, CHANNEL), (2, USER)],
    ORDINARY_READ: [(0, SENT), (1, CHANNEL), (2, USER), (30, READ)],
    FAIL_SEND: [(0, FAILED)],
    CHANNEL_ONLY: [(0, SENT), (1, CHANNEL)],
    NEVER_READ: [(0, SENT), (1, CHANNEL), (2, USER)],
    READ_CODE: [(0, SENT), (1, CHANNEL), (2, USER), (30, READ)],
    REPLIED: [(0, SENT), (1, CHANNEL), (2, USER), (30, READ), (60, REPLY)],
    SLOW: [(0, SENT), (1, CHANNEL), (600, USER)],
    FAIL_LATE: [(0, SENT), (1, CHANNEL), (2, FAILED)],
    INVALID: [(0, FAILED)],
}


@pytest.mark.parametrize("code", sorted(EXPECTED_STEPS))
def test_stage_before_at_and_after_each_step(code):
    timelines = Timelines(DELIVERY)
    steps = EXPECTED_STEPS[code]
    assert timelines.stage(code, T0, T0 - 0.001) == (QUEUED, {})
    assert timelines.stage(code, None, T0 + 1e6) == (QUEUED, {})
    for position, (offset, stage) in enumerate(steps):
        reached = {name: T0 + when for when, name in steps[:position + 1]}
        before = {name: T0 + when for when, name in steps[:position]}
        previous = steps[position - 1][1] if position else QUEUED
        assert timelines.stage(code, T0, T0 + offset - 0.001) == (previous, before)
        assert timelines.stage(code, T0, T0 + offset) == (stage, reached)
        assert timelines.stage(code, T0, T0 + offset + 0.001) == (stage, reached)
    assert timelines.stage(code, T0, T0 + 1e6) == (steps[-1][1], {name: T0 + when for when, name in steps})
    assert timelines.final_stage(code) == steps[-1][1]


def test_stage_spot_checks():
    timelines = Timelines(DELIVERY)
    assert timelines.stage(REPLIED, 0.0, 45.0) == (READ, {SENT: 0.0, CHANNEL: 1.0, USER: 2.0, READ: 30.0})
    assert timelines.stage(SLOW, 0.0, 599.0) == (CHANNEL, {SENT: 0.0, CHANNEL: 1.0})
    assert timelines.stage(FAIL_LATE, 10.0, 12.0) == (FAILED, {SENT: 10.0, CHANNEL: 11.0, FAILED: 12.0})
    assert timelines.stage(FAIL_SEND, 10.0, 10.0) == (FAILED, {FAILED: 10.0})


def test_slow_user_never_before_user_after():
    timelines = Timelines(dataclasses.replace(DELIVERY, slow_user_after=0.5))
    assert timelines.stage(SLOW, 0.0, 1.5) == (CHANNEL, {SENT: 0.0, CHANNEL: 1.0})
    assert timelines.stage(SLOW, 0.0, 2.0) == (USER, {SENT: 0.0, CHANNEL: 1.0, USER: 2.0})


def test_timelines_accept_default_settings():
    timelines = Timelines(build_settings(None).delivery)
    assert timelines.steps[REPLIED] == ((0.0, SENT), (1.0, CHANNEL), (2.0, USER), (30.0, READ), (60.0, REPLY))
    assert timelines.steps[SLOW][-1] == (600.0, USER)


# --------------------------------------------------------------------------- Timelines.count


def brute_force(timelines: Timelines, outcomes: bytearray, schedule: Schedule, now: float,
                sent_limit: int | None = None) -> dict[str, int]:
    counts: Counter = Counter()
    for index, code in enumerate(outcomes):
        if sent_limit is not None and index >= sent_limit:
            counts[CANCELED] += 1
        else:
            counts[timelines.stage(code, schedule.send_time(index), now)[0]] += 1
    return dict(counts)


def nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {stage: number for stage, number in counts.items() if number}


def test_count_simple():
    timelines = Timelines(DELIVERY)
    outcomes = bytearray([ORDINARY] * 10)
    schedule = Schedule([Segment(0, 10, 0.0, 1.0)])       # sent at 0..9
    assert timelines.count(outcomes, schedule, -1.0) == {QUEUED: 10}
    assert timelines.count(outcomes, schedule, 0.0) == {QUEUED: 9, SENT: 1}
    assert timelines.count(outcomes, schedule, 4.0) == {QUEUED: 5, SENT: 1, CHANNEL: 1, USER: 3}
    assert timelines.count(outcomes, schedule, 100.0) == {QUEUED: 0, USER: 10}


def test_count_mixed_codes():
    timelines = Timelines(DELIVERY)
    outcomes = bytearray([ORDINARY_READ, FAIL_SEND, REPLIED, SLOW, FAIL_LATE, INVALID])
    schedule = Schedule([Segment(0, 6, 0.0, 1.0)])        # sent at 0..5
    assert timelines.count(outcomes, schedule, 61.0) == {QUEUED: 0, READ: 2, FAILED: 3, CHANNEL: 1}
    assert timelines.count(outcomes, schedule, 62.0) == {QUEUED: 0, READ: 1, FAILED: 3, REPLY: 1, CHANNEL: 1}
    assert timelines.count(outcomes, schedule, 2.5) == {QUEUED: 3, USER: 1, FAILED: 1, SENT: 1}
    assert timelines.count(outcomes, schedule, 1e6) == {QUEUED: 0, READ: 1, FAILED: 3, REPLY: 1, USER: 1}


def test_count_with_sent_limit_cancels_the_rest():
    timelines = Timelines(DELIVERY)
    outcomes = bytearray([ORDINARY] * 10)
    schedule = Schedule([Segment(0, 10, 0.0, 1.0)])
    assert timelines.count(outcomes, schedule, 100.0, sent_limit=4) == {QUEUED: 0, CANCELED: 6, USER: 4}
    assert timelines.count(outcomes, schedule, 4.5, sent_limit=4) == {QUEUED: 0, CANCELED: 6, CHANNEL: 1, USER: 3}
    assert timelines.count(outcomes, schedule, 100.0, sent_limit=0) == {QUEUED: 0, CANCELED: 10}


def test_count_empty():
    timelines = Timelines(DELIVERY)
    assert timelines.count(bytearray(), Schedule([]), 10.0) == {QUEUED: 0}


def test_count_unstarted_schedule_all_queued():
    timelines = Timelines(DELIVERY)
    assert timelines.count(bytearray([ORDINARY, REPLIED]), Schedule([]), 10.0) == {QUEUED: 2}


RATES = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0]   # powers of two keep every send time exact in floating point


@st.composite
def scenarios(draw):
    """Outcomes, a multi-segment schedule, delivery settings, a `now` (often on a boundary), a sent limit."""
    base = draw(st.sampled_from([0.0, 1000.0, EPOCH]))
    counts = draw(st.lists(st.integers(1, 12), min_size=1, max_size=4))
    segments, first, start = [], 0, base + draw(st.integers(0, 40)) / 4
    for count in counts:
        segment = Segment(first, count, start, draw(st.sampled_from(RATES)))
        segments.append(segment)
        first += count
        start = segment.last_send + draw(st.integers(0, 80)) / 4
    schedule = Schedule(segments)
    outcomes = bytearray(draw(st.lists(st.integers(0, 9), min_size=first, max_size=first)))
    if draw(st.booleans()):
        config = DELIVERY
    else:
        channel = draw(st.integers(0, 3))
        user = channel + draw(st.integers(0, 3))
        read = user + draw(st.integers(0, 40))
        reply = read + draw(st.integers(0, 40))
        config = DeliverySettings(channel_after=channel, user_after=user, read_after=read, reply_after=reply,
                                  slow_user_after=draw(st.integers(0, 700)))
    timelines = Timelines(config)
    offsets = sorted({offset for steps in timelines.steps.values() for offset, _ in steps})
    if draw(st.booleans()):
        index = draw(st.integers(0, first - 1))
        now = schedule.send_time(index) + draw(st.sampled_from(offsets)) + draw(st.sampled_from([-0.125, 0.0, 0.125]))
    else:
        now = base + draw(st.integers(-40, 4 * (int(schedule.last_send - base) + 800))) / 4
    sent_limit = None
    if draw(st.booleans()):
        sent_limit = draw(st.integers(0, schedule.sent_by(now)))
    return timelines, outcomes, schedule, now, sent_limit


@settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_count_matches_brute_force(scenario):
    timelines, outcomes, schedule, now, sent_limit = scenario
    counts = timelines.count(outcomes, schedule, now, sent_limit=sent_limit)
    assert nonzero(counts) == nonzero(brute_force(timelines, outcomes, schedule, now, sent_limit))
    assert sum(counts.values()) == len(outcomes)
    assert QUEUED in counts
    assert (CANCELED in counts) is (sent_limit is not None)


def test_count_matches_brute_force_seeded_random_large():
    rng = random.Random(2026)
    timelines = Timelines(DELIVERY)
    for _ in range(20):
        total = rng.randint(1, 400)
        outcomes = build_outcomes(total, rng, 0.5, {i: f"999{rng.choice(list(RESERVED))}" for i in range(0, total, 7)},
                                  {i: "bad" for i in range(3, total, 11)})
        split = rng.randint(0, total)
        segments = [Segment(0, split, 0.0, 2.0), Segment(split, total - split, 500.0, 4.0)] if 0 < split < total \
            else [Segment(0, total, 0.0, 2.0)]
        schedule = Schedule(segments)
        for now in (rng.randint(-10, 1500) / 8 for _ in range(10)):
            assert nonzero(timelines.count(outcomes, schedule, now)) == nonzero(
                brute_force(timelines, outcomes, schedule, now))


def test_count_matches_brute_force_with_epoch_start_at_send_instants():
    timelines = Timelines(DELIVERY)
    outcomes = bytearray([ORDINARY] * 200)
    schedule = Schedule([Segment(0, 200, EPOCH + 0.123, 100.0)])
    for index in (1, 17, 150):
        for offset in (0.0, 1.0, 2.0):
            now = schedule.send_time(index) + offset
            assert nonzero(timelines.count(outcomes, schedule, now)) == nonzero(
                brute_force(timelines, outcomes, schedule, now))


def test_count_with_out_of_order_delivery_settings_accepted_by_settings():
    try:
        config = build_settings({"delivery": {"channel_after": 5, "user_after": 2}}).delivery
    except SettingsError as exc:          # rejecting such settings is an acceptable fix too
        assert "delivery." in str(exc)
        return
    timelines = Timelines(config)
    outcomes = bytearray([ORDINARY] * 4)
    schedule = Schedule([Segment(0, 4, 0.0, 1.0)])
    counts = timelines.count(outcomes, schedule, 6.0)
    assert sum(counts.values()) == 4
    assert nonzero(counts) == nonzero(brute_force(timelines, outcomes, schedule, 6.0))


def test_module_stage_names():
    assert (QUEUED, SENT, CHANNEL, USER, READ, REPLY, FAILED, CANCELED) == (
        "queued", "sent", "channel", "user", "read", "reply", "failed", "canceled")
    assert delivery.RESERVED_PREFIX == "999"
