"""Unit and property tests for mock_server.indigitall.slicing (CONTRACT.md section 5)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from mock_server.indigitall.slicing import (
    CONDITIONS,
    CONSECUTIVE_RUN_BROKEN,
    DEFAULT_CONDITION,
    DEFERRED,
    FRAGMENTED,
    IMMEDIATE,
    NO_CONSECUTIVE_RUN,
    WINDOW_EXCEEDED,
    Allocation,
    Plan,
    SlicingSettings,
    eligible_slots,
    free_capacity,
    needs_slicing,
    plan_slots,
    release,
    reserve,
    slot_bounds,
    slot_index,
    slot_schedule,
)

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
S = SlicingSettings()  # 1 h slots, 1000 per slot, 48 h window
T = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)  # on a slot boundary
S0 = slot_index(T, S)


def allocs(*pairs):
    """(offset from S0, count) pairs -> tuple of Allocation."""
    return tuple(Allocation(S0 + off, n) for off, n in pairs)


def ledger(**kw):
    """ledger(s0=600, s1=1000) -> {S0: 600, S0 + 1: 1000}."""
    return {S0 + int(k[1:]): v for k, v in kw.items()}


# --- settings, slots, windows ---------------------------------------------------------------------

def test_defaults_and_conditions():
    assert (S.slot_seconds, S.capacity, S.window_seconds) == (3600, 1000, 172800)
    assert CONDITIONS == ("fragmentedSlots", "immediateConsecutiveSlots", "deferredConsecutiveSlots")
    assert DEFAULT_CONDITION == "fragmentedSlots"


@pytest.mark.parametrize("field", ["slot_seconds", "capacity", "window_seconds"])
@pytest.mark.parametrize("value", [0, -1])
def test_settings_reject_non_positive(field, value):
    with pytest.raises(ValueError):
        SlicingSettings(**{field: value})


@pytest.mark.parametrize("value", [1.5, True, "10"])
def test_settings_reject_non_int(value):
    with pytest.raises(TypeError):
        SlicingSettings(capacity=value)


def test_slot_index_and_bounds():
    assert S0 == int((T - EPOCH).total_seconds()) // 3600
    assert slot_index(EPOCH, S) == 0
    assert slot_index(EPOCH - timedelta(microseconds=1), S) == -1
    assert slot_index(T + timedelta(minutes=59, seconds=59, microseconds=999999), S) == S0
    assert slot_index(T + timedelta(hours=1), S) == S0 + 1
    # another zone, same instant
    assert slot_index(datetime(2026, 11, 21, 12, 30, tzinfo=timezone(timedelta(hours=2))), S) == S0
    assert slot_bounds(S0, S) == (T, T + timedelta(hours=1))
    assert slot_bounds(0, S)[0] == EPOCH and slot_bounds(0, S)[0].tzinfo is UTC
    assert slot_index(T, SlicingSettings(slot_seconds=900)) == S0 * 4


def test_naive_datetime_rejected():
    with pytest.raises(ValueError):
        slot_index(datetime(2026, 11, 21, 10), S)
    with pytest.raises(ValueError):
        plan_slots({}, datetime(2026, 11, 21, 10), 10, S)


def test_eligible_slots_window():
    assert eligible_slots(T, S) == range(S0, S0 + 48)
    # start in the middle of a slot: that slot is eligible, and so is slot 48 (it starts before start+48h)
    assert eligible_slots(T + timedelta(minutes=30), S) == range(S0, S0 + 49)
    assert eligible_slots(T + timedelta(microseconds=1), S) == range(S0, S0 + 49)
    # window shorter than one slot
    short = SlicingSettings(window_seconds=1800)
    assert eligible_slots(T, short) == range(S0, S0 + 1)
    assert eligible_slots(T + timedelta(minutes=45), short) == range(S0, S0 + 2)


def test_free_capacity_clamped():
    used = ledger(s0=400, s1=1000, s2=1200, s3=-5)
    assert [free_capacity(used, S0 + k, S) for k in range(5)] == [600, 0, 0, 1000, 1000]


# --- fragmentedSlots ------------------------------------------------------------------------------

def test_fragmented_empty_ledger():
    plan = plan_slots({}, T, 2500, S, FRAGMENTED)
    assert plan == Plan(allocs((0, 1000), (1, 1000), (2, 500)), None)
    assert plan.placed == 2500 and not plan.canceled and plan.canceled_code is None


def test_default_condition_is_fragmented():
    used = ledger(s1=1000)
    assert plan_slots(used, T, 1500, S) == plan_slots(used, T, 1500, S, FRAGMENTED)
    assert plan_slots(used, T, 1500, S).allocations == allocs((0, 1000), (2, 500))


def test_fragmented_partly_full_skips_full_slot():
    used = ledger(s0=600, s1=1000, s2=200)
    plan = plan_slots(used, T, 1500, S, FRAGMENTED)
    assert plan.allocations == allocs((0, 400), (2, 800), (3, 300))
    assert used == ledger(s0=600, s1=1000, s2=200)  # planning does not touch the ledger


def test_fragmented_uses_scattered_capacity():
    used = {S0 + k: 1000 for k in range(10)} | {S0 + 12: 1000}
    plan = plan_slots(used, T, 2500, S, FRAGMENTED)
    assert plan.allocations == allocs((10, 1000), (11, 1000), (13, 500))


def test_fragmented_window_exceeded():
    used = {S0 + k: 900 for k in range(48)}  # 100 free per slot -> 4,800 free
    plan = plan_slots(used, T, 4801, S, FRAGMENTED)
    assert plan.canceled and plan.allocations == () and plan.placed == 0
    assert plan.canceled_reason == (
        "SLICING_WINDOW_EXCEEDED: 4,801 messages could not be placed within 48 hours of "
        "2026-11-21T10:00:00Z (4,800 free)")
    assert plan.canceled_code == WINDOW_EXCEEDED
    ok = plan_slots(used, T, 4800, S, FRAGMENTED)
    assert ok.placed == 4800 and ok.allocations[-1] == Allocation(S0 + 47, 100)


# --- immediateConsecutiveSlots --------------------------------------------------------------------

def test_immediate_empty_ledger():
    assert plan_slots({}, T, 2500, S, IMMEDIATE).allocations == allocs((0, 1000), (1, 1000), (2, 500))


def test_immediate_partly_full_slots():
    used = ledger(s0=600, s1=900)
    assert plan_slots(used, T, 1500, S, IMMEDIATE).allocations == allocs((0, 400), (1, 100), (2, 1000))


def test_immediate_full_slot_breaks_run():
    used = ledger(s0=600, s1=1000, s2=200)
    plan = plan_slots(used, T, 1500, S, IMMEDIATE)
    assert plan.canceled and plan.allocations == ()
    assert plan.canceled_code == CONSECUTIVE_RUN_BROKEN
    assert plan.canceled_reason == (
        "SLICING_CONSECUTIVE_RUN_BROKEN: the run of consecutive slots from 2026-11-21T10:00:00Z is "
        "broken by the full slot at 2026-11-21T11:00:00Z after 400 of 1,500 messages")
    # a full slot after everything is placed does not matter
    assert plan_slots(used, T, 400, S, IMMEDIATE).allocations == allocs((0, 400))


def test_immediate_full_start_slot_cancels():
    plan = plan_slots(ledger(s0=1000), T, 10, S, IMMEDIATE)
    assert plan.canceled_code == CONSECUTIVE_RUN_BROKEN and "after 0 of 10 messages" in plan.canceled_reason


def test_immediate_window_exceeded():
    plan = plan_slots({}, T, 48_001, S, IMMEDIATE)
    assert plan.canceled and plan.allocations == ()
    assert plan.canceled_reason == (
        "SLICING_WINDOW_EXCEEDED: 48,001 messages could not be placed in consecutive slots within "
        "48 hours of 2026-11-21T10:00:00Z (48,000 free)")
    full = plan_slots({}, T, 48_000, S, IMMEDIATE)
    assert len(full.allocations) == 48 and full.allocations[-1] == Allocation(S0 + 47, 1000)


# --- deferredConsecutiveSlots ---------------------------------------------------------------------

def test_deferred_empty_ledger():
    assert plan_slots({}, T, 2500, S, DEFERRED).allocations == allocs((0, 1000), (1, 1000), (2, 500))


def test_deferred_partly_full_uses_first_run_that_fits():
    used = ledger(s0=600, s1=900)
    assert plan_slots(used, T, 1500, S, DEFERRED).allocations == allocs((0, 400), (1, 100), (2, 1000))


def test_deferred_skips_run_broken_by_full_slot():
    used = ledger(s0=600, s1=1000, s2=200)
    assert plan_slots(used, T, 1500, S, DEFERRED).allocations == allocs((2, 800), (3, 700))
    # a small task still fits in the first run
    assert plan_slots(used, T, 400, S, DEFERRED).allocations == allocs((0, 400))


def test_deferred_run_found_only_later():
    used = {S0 + k: 1000 for k in range(10)} | {S0 + 12: 1000}
    plan = plan_slots(used, T, 2500, S, DEFERRED)
    assert plan.allocations == allocs((13, 1000), (14, 1000), (15, 500))
    assert plan_slots(used, T, 2000, S, DEFERRED).allocations == allocs((10, 1000), (11, 1000))
    assert plan_slots(used, T, 2500, S, IMMEDIATE).canceled_code == CONSECUTIVE_RUN_BROKEN


def test_deferred_no_run():
    used = {S0 + k: 1000 for k in range(0, 48, 3)}  # runs of 2 free slots -> at most 2,000 in a run
    plan = plan_slots(used, T, 2001, S, DEFERRED)
    assert plan.canceled and plan.allocations == ()
    assert plan.canceled_reason == (
        "SLICING_NO_CONSECUTIVE_RUN: no run of consecutive slots within 48 hours of "
        "2026-11-21T10:00:00Z holds 2,001 messages (largest run has 2,000 free)")
    assert plan.canceled_code == NO_CONSECUTIVE_RUN
    assert plan_slots(used, T, 2001, S, FRAGMENTED).placed == 2001


def test_deferred_window_exceeded():
    # the only long run starts at slot 45 and would need slots past the window
    used = {S0 + k: 1000 for k in range(45)}
    assert plan_slots(used, T, 3000, S, DEFERRED).allocations == allocs((45, 1000), (46, 1000), (47, 1000))
    assert plan_slots(used, T, 3001, S, DEFERRED).canceled_code == NO_CONSECUTIVE_RUN
    assert plan_slots({}, T, 48_001, S, DEFERRED).canceled_code == NO_CONSECUTIVE_RUN


# --- shared behaviour -----------------------------------------------------------------------------

@pytest.mark.parametrize("condition", CONDITIONS)
def test_start_mid_slot_uses_that_slot_and_extra_last_slot(condition):
    start = T + timedelta(minutes=30)
    plan = plan_slots(ledger(s0=250), start, 48_750, S, condition)
    assert plan.allocations[0] == Allocation(S0, 750)
    assert plan.allocations[-1] == Allocation(S0 + 48, 1000)  # starts 10:00 + 48 h < 10:30 + 48 h
    assert plan.placed == 48_750
    assert plan_slots(ledger(s0=250), start, 48_751, S, condition).canceled


@pytest.mark.parametrize("condition", CONDITIONS)
def test_count_exactly_filling_capacity(condition):
    assert plan_slots({}, T, 1000, S, condition).allocations == allocs((0, 1000))
    used = ledger(s0=400)
    plan = plan_slots(used, T, 600, S, condition)
    assert plan.allocations == allocs((0, 600))
    reserve(used, plan)
    assert used == ledger(s0=1000)
    assert free_capacity(used, S0, S) == 0


@pytest.mark.parametrize("condition", CONDITIONS)
def test_release_makes_impossible_plan_possible(condition):
    used: dict[int, int] = {}
    first = plan_slots(used, T, 48_000, S, condition)
    reserve(used, first)
    assert used == {S0 + k: 1000 for k in range(48)}
    blocked = plan_slots(used, T, 1500, S, condition)
    assert blocked.canceled and blocked.allocations == ()
    reserve(used, blocked)  # a canceled plan reserves nothing
    assert used == {S0 + k: 1000 for k in range(48)}
    release(used, first.allocations[5:7])
    assert plan_slots(used, T, 1500, S, FRAGMENTED).allocations == allocs((5, 1000), (6, 500))
    if condition == IMMEDIATE:
        assert plan_slots(used, T, 1500, S, condition).canceled_code == CONSECUTIVE_RUN_BROKEN
        release(used, first.allocations[:5])
        assert plan_slots(used, T, 1500, S, condition).allocations == allocs((0, 1000), (1, 500))
    else:
        assert plan_slots(used, T, 1500, S, condition).allocations == allocs((5, 1000), (6, 500))


def test_reserve_and_release_ledger():
    used = ledger(s0=100)
    reserve(used, Plan(allocs((0, 300), (2, 50))))
    assert used == ledger(s0=400, s2=50)
    release(used, allocs((0, 150)))
    assert used == ledger(s0=250, s2=50)
    release(used, allocs((2, 50), (0, 999), (7, 10)))  # reaches 0 / would go below 0 / missing key
    assert used == {}


def test_plan_invariants():
    with pytest.raises(ValueError):
        Plan(allocs((0, 1)), "SLICING_WINDOW_EXCEEDED: x")
    plan = Plan((), "SLICING_WINDOW_EXCEEDED: x")
    assert plan.canceled and plan.placed == 0 and plan.canceled_code == "SLICING_WINDOW_EXCEEDED"


def test_needs_slicing():
    assert needs_slicing(1001, S, True) is True
    assert needs_slicing(1000, S, True) is False
    assert needs_slicing(5000, S, False) is False
    assert needs_slicing(11, SlicingSettings(capacity=10), True) is True


def test_slot_schedule():
    assert slot_schedule(allocs((0, 400), (2, 800)), S) == [
        {"start": "2026-11-21T10:00:00Z", "end": "2026-11-21T11:00:00Z", "count": 400},
        {"start": "2026-11-21T12:00:00Z", "end": "2026-11-21T13:00:00Z", "count": 800},
    ]
    assert slot_schedule((), S) == []
    fifteen = SlicingSettings(slot_seconds=900)
    assert slot_schedule([Allocation(slot_index(T, fifteen) + 1, 5)], fifteen) == [
        {"start": "2026-11-21T10:15:00Z", "end": "2026-11-21T10:30:00Z", "count": 5}]


@pytest.mark.parametrize("count", [0, -1])
def test_non_positive_count_rejected(count):
    with pytest.raises(ValueError):
        plan_slots({}, T, count, S)


@pytest.mark.parametrize("count", [1.0, True, "5"])
def test_non_int_count_rejected(count):
    with pytest.raises(TypeError):
        plan_slots({}, T, count, S)


@pytest.mark.parametrize("condition", ["", "fragmented", "FragmentedSlots", None])
def test_unknown_condition_rejected(condition):
    with pytest.raises(ValueError):
        plan_slots({}, T, 10, S, condition)


# --- cost -----------------------------------------------------------------------------------------

class CountingLedger(dict):
    def __init__(self, *a):
        super().__init__(*a)
        self.reads = 0

    def get(self, key, default=None):
        self.reads += 1
        return super().get(key, default)


@pytest.mark.parametrize("condition", CONDITIONS)
def test_cost_does_not_grow_with_count(condition):
    big = SlicingSettings(capacity=10**9)
    reads = []
    for count in (10_000, 10**6, 10**12):
        used = CountingLedger()
        plan = plan_slots(used, T, count, big, condition)
        reads.append(used.reads)
        assert plan.placed == (count if count <= 48 * 10**9 else 0)
    assert reads == [48, 48, 48]


@pytest.mark.parametrize("condition", CONDITIONS)
def test_cost_is_linear_in_slots(condition):
    # 172,800 one-second slots, one message free in each: an O(slots^2) deferred search would not end.
    # This thread's CPU time, not the wall clock: a loaded machine stretches the latter, not the former.
    tiny = SlicingSettings(slot_seconds=1, capacity=1)
    began = time.thread_time()
    plan = plan_slots({}, T, 172_801, tiny, condition)
    assert time.thread_time() - began < 5
    assert plan.canceled
    assert plan_slots({}, T, 172_800, tiny, condition).placed == 172_800


# --- properties -----------------------------------------------------------------------------------

def eligible_reference(start, st_):
    """Slots from the start's slot while the slot starts before start + window (no shared code)."""
    s0 = (start - EPOCH) // timedelta(seconds=st_.slot_seconds)
    end = start + timedelta(seconds=st_.window_seconds)
    out, i = [], s0
    while EPOCH + timedelta(seconds=i * st_.slot_seconds) < end:
        out.append(i)
        i += 1
    return out


def greedy(slots, free, count):
    out, left = [], count
    for i in slots:
        take = min(free[i], left)
        if take:
            out.append(Allocation(i, take))
            left -= take
        if not left:
            break
    return tuple(out)


def reference_run(slots, free, count, fixed_start):
    """Brute force O(n^2): earliest (or only the first, if fixed_start) start of a run of free slots."""
    starts = slots[:1] if fixed_start else slots
    for a, first in enumerate(starts):
        total = 0
        for i in slots[a:]:
            if free[i] == 0:
                break
            total += free[i]
            if total >= count:
                return greedy(range(first, i + 1), free, count)
    return None


@st.composite
def cases(draw):
    slot = draw(st.sampled_from([60, 900, 3600]))
    sets = SlicingSettings(slot_seconds=slot, capacity=draw(st.integers(1, 50)),
                           window_seconds=draw(st.integers(1, 12 * slot)))
    start = T + timedelta(seconds=draw(st.integers(0, 3 * slot)), microseconds=draw(st.integers(0, 999_999)))
    s0 = slot_index(start, sets)
    used = draw(st.dictionaries(st.integers(s0 - 2, s0 + 15),
                                st.integers(0, sets.capacity), max_size=18))
    count = draw(st.integers(1, sets.capacity * 15))
    return sets, used, start, count, draw(st.sampled_from(CONDITIONS))


@hsettings(max_examples=400, deadline=None)
@given(cases())
def test_properties(case):
    sets, used, start, count, condition = case
    before = dict(used)
    plan = plan_slots(used, start, count, sets, condition)
    assert used == before
    assert plan == plan_slots(dict(used), start, count, sets, condition)  # deterministic

    slots = eligible_reference(start, sets)
    assert list(eligible_slots(start, sets)) == slots
    free = {i: max(0, sets.capacity - used.get(i, 0)) for i in slots}
    indices = [a.slot for a in plan.allocations]

    if plan.canceled:
        assert plan.allocations == () and plan.placed == 0
        assert plan.canceled_code in (WINDOW_EXCEEDED, CONSECUTIVE_RUN_BROKEN, NO_CONSECUTIVE_RUN)
    else:
        assert plan.placed == count
        assert all(a.count > 0 and a.count <= free[a.slot] for a in plan.allocations)
        assert indices == sorted(set(indices)) and set(indices) <= set(slots)
        assert indices[0] >= slots[0]
        end = start + timedelta(seconds=sets.window_seconds)
        assert all(slot_bounds(i, sets)[0] < end for i in indices)
        if condition != FRAGMENTED:
            assert indices == list(range(indices[0], indices[-1] + 1))

    after = dict(used)
    reserve(after, plan)
    assert all(after.get(i, 0) <= sets.capacity for i in set(after) | set(indices))
    release(after, plan.allocations)
    assert after == {k: v for k, v in used.items() if v or k not in indices}

    if condition == FRAGMENTED:
        assert plan.canceled == (sum(free.values()) < count)
        if not plan.canceled:
            assert plan.allocations == greedy(slots, free, count)
    else:
        expected = reference_run(slots, free, count, fixed_start=condition == IMMEDIATE)
        assert plan.allocations == (expected or ())
        assert plan.canceled == (expected is None)
