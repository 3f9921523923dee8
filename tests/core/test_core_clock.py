"""Unit tests for ``mock_server.clock.Clock`` with an injected, hand-driven wall clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from mock_server.clock import Clock, ClockError
from mock_server.isotime import UTC, parse_duration

WALL_START = 1_767_607_200.0          # 2026-01-05T10:00:00Z
WALL = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
START = datetime(2025, 6, 1, 8, 30, tzinfo=UTC)


class FakeWall:
    """A wall clock the test moves by hand (seconds since the epoch)."""

    def __init__(self, now: float = WALL_START) -> None:
        self.now = now
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        return self.now

    def move(self, seconds: float) -> None:
        self.now += seconds


class TickingWall(FakeWall):
    """A wall clock that moves forward a little on every read, like a real one between two calls."""

    def __init__(self, now: float = WALL_START, tick: float = 0.001) -> None:
        super().__init__(now)
        self.tick = tick

    def __call__(self) -> float:
        value = super().__call__()
        self.now += self.tick
        return value


@pytest.fixture
def wall():
    return FakeWall()


# --------------------------------------------------------------------------- real mode


def test_default_start_is_the_source_time(wall):
    clock = Clock.standalone(source=wall)
    assert clock.now() == WALL
    assert clock.frozen is False
    wall.move(90)
    assert clock.now() == WALL + timedelta(seconds=90)


def test_real_mode_follows_source_plus_offset(wall):
    clock = Clock.standalone(START, source=wall)
    assert clock.now() == START
    wall.move(3600.5)
    assert clock.now() == START + timedelta(seconds=3600.5)
    wall.move(0.25)
    assert clock.now() == START + timedelta(seconds=3600.75)


def test_start_in_other_zone_is_converted_to_utc(wall):
    minus5 = timezone(timedelta(hours=-5))
    clock = Clock.standalone(datetime(2026, 1, 5, 5, 0, tzinfo=minus5), source=wall)
    assert clock.now() == WALL
    assert clock.now().utcoffset() == timedelta(0)


# --------------------------------------------------------------------------- frozen mode


def test_frozen_stays_put_while_source_moves(wall):
    clock = Clock.standalone(START, frozen=True, source=wall)
    assert clock.frozen is True
    assert clock.now() == START
    wall.move(86400)
    assert clock.now() == START
    wall.move(-5000)           # even a wall clock going back does not matter
    assert clock.now() == START


def test_set_forward_real_mode(wall):
    clock = Clock.standalone(START, source=wall)
    target = START + timedelta(days=2, seconds=7)
    assert clock.set(target) == target
    assert clock.now() == target
    wall.move(10)
    assert clock.now() == target + timedelta(seconds=10)
    assert clock.frozen is False


def test_set_forward_frozen_mode(wall):
    clock = Clock.standalone(START, frozen=True, source=wall)
    target = START + timedelta(hours=5)
    assert clock.set(target) == target
    wall.move(1000)
    assert clock.now() == target
    assert clock.frozen is True


def test_set_to_same_instant_is_allowed(wall):
    clock = Clock.standalone(START, frozen=True, source=wall)
    assert clock.set(START) == START
    assert clock.now() == START


def test_set_accepts_other_zone_and_returns_utc(wall):
    clock = Clock.standalone(START, frozen=True, source=wall)
    minus5 = timezone(timedelta(hours=-5))
    result = clock.set(datetime(2025, 6, 1, 5, 30, tzinfo=minus5))   # 10:30Z
    assert result == START + timedelta(hours=2)
    assert result.utcoffset() == timedelta(0)
    assert clock.now() == START + timedelta(hours=2)


@pytest.mark.parametrize("frozen", [True, False])
def test_set_backwards_raises(wall, frozen):
    clock = Clock.standalone(START, frozen=frozen, source=wall)
    earlier = START - timedelta(seconds=1)
    with pytest.raises(ClockError) as info:
        clock.set(earlier)
    assert str(info.value) == (f"the clock never goes backwards: {earlier.isoformat()} is before now "
                               f"({START.isoformat()})")
    assert "never goes backwards" in str(info.value)
    assert clock.now() == START   # unchanged


def test_clock_error_is_a_value_error():
    assert issubclass(ClockError, ValueError)


# --------------------------------------------------------------------------- advance


@pytest.mark.parametrize("frozen", [True, False])
def test_advance_by_duration(wall, frozen):
    clock = Clock.standalone(START, frozen=frozen, source=wall)
    assert clock.advance(parse_duration("PT2H30M")) == START + timedelta(hours=2, minutes=30)
    assert clock.now() == START + timedelta(hours=2, minutes=30)
    assert clock.advance(parse_duration("PT0.25S")) == START + timedelta(hours=2, minutes=30, seconds=0.25)


def test_advance_by_calendar_month(wall):
    clock = Clock.standalone(datetime(2026, 1, 31, 12, tzinfo=UTC), frozen=True, source=wall)
    assert clock.advance(parse_duration("P1M")) == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert clock.advance(parse_duration("P1M")) == datetime(2026, 3, 28, 12, tzinfo=UTC)
    assert clock.advance(parse_duration("P1Y1D")) == datetime(2027, 3, 29, 12, tzinfo=UTC)


def test_advance_by_timedelta(wall):
    clock = Clock.standalone(START, frozen=True, source=wall)
    assert clock.advance(timedelta(minutes=3)) == START + timedelta(minutes=3)
    assert clock.advance(timedelta(0)) == START + timedelta(minutes=3)
    assert clock.now() == START + timedelta(minutes=3)


def test_advance_real_mode_keeps_running(wall):
    clock = Clock.standalone(START, source=wall)
    wall.move(5)
    assert clock.advance(timedelta(hours=1)) == START + timedelta(hours=1, seconds=5)
    wall.move(5)
    assert clock.now() == START + timedelta(hours=1, seconds=10)


def test_advance_negative_timedelta_rejected(wall):
    clock = Clock.standalone(START, frozen=True, source=wall)
    with pytest.raises(ClockError) as info:
        clock.advance(timedelta(seconds=-1))
    assert str(info.value) == "the clock never goes backwards: advance by a positive duration"
    assert clock.now() == START


def test_advance_small_amount_in_real_mode_with_moving_wall_clock():
    wall = TickingWall(tick=0.001)           # 1 ms passes between any two reads of the wall clock
    clock = Clock.standalone(START, source=wall)
    before = clock.now()
    result = clock.advance(timedelta(microseconds=500))
    assert result >= before + timedelta(microseconds=500)


# --------------------------------------------------------------------------- freeze / resume


def test_freeze_then_resume_has_no_jump(wall):
    clock = Clock.standalone(START, source=wall)
    wall.move(10)
    frozen_at = clock.freeze(True)
    assert frozen_at == START + timedelta(seconds=10)
    assert clock.frozen is True
    wall.move(500)                                # time passes on the wall while frozen
    assert clock.now() == frozen_at
    assert clock.freeze(False) == frozen_at
    assert clock.frozen is False
    assert clock.now() == frozen_at                # resumes from the frozen instant, not +500 s
    wall.move(2)
    assert clock.now() == frozen_at + timedelta(seconds=2)


def test_freeze_after_set_while_frozen(wall):
    clock = Clock.standalone(START, frozen=True, source=wall)
    clock.set(START + timedelta(days=1))
    wall.move(100)
    assert clock.freeze(False) == START + timedelta(days=1)
    wall.move(3)
    assert clock.now() == START + timedelta(days=1, seconds=3)


def test_freeze_twice_and_unfreeze_running_clock_are_harmless(wall):
    clock = Clock.standalone(START, source=wall)
    assert clock.freeze(False) == START             # already running: nothing changes
    wall.move(4)
    assert clock.now() == START + timedelta(seconds=4)
    clock.freeze(True)
    wall.move(4)
    assert clock.freeze(True) == START + timedelta(seconds=4)
    assert clock.now() == START + timedelta(seconds=4)


# --------------------------------------------------------------------------- change notification


def _version(clock):
    return clock._store.version(clock.sandbox)


def test_every_change_bumps_the_sandbox_version(wall):
    clock = Clock.standalone(START, frozen=True, source=wall)
    versions = [_version(clock)]
    clock.set(START + timedelta(seconds=1))
    versions.append(_version(clock))
    clock.advance(timedelta(seconds=1))
    versions.append(_version(clock))
    clock.advance(parse_duration("P1D"))
    versions.append(_version(clock))
    clock.freeze(False)
    versions.append(_version(clock))
    clock.freeze(True)
    versions.append(_version(clock))
    assert versions == list(range(versions[0], versions[0] + 6))


def test_rejected_changes_and_reads_change_nothing(wall):
    clock = Clock.standalone(START, frozen=True, source=wall)
    before = _version(clock)
    clock.now()
    with pytest.raises(ClockError):
        clock.set(START - timedelta(days=1))
    with pytest.raises(ClockError):
        clock.advance(timedelta(seconds=-5))
    assert _version(clock) == before
    assert clock.now() == START


def test_a_waiter_sees_the_new_time(wall):
    clock = Clock.standalone(START, frozen=True, source=wall)
    before = _version(clock)
    clock.advance(timedelta(hours=1))
    assert clock._store.wait(clock.sandbox, before, timeout=1) > before
    assert clock.now() == START + timedelta(hours=1)


# --------------------------------------------------------------------------- supported range (issue 8 item 6)


@pytest.mark.parametrize("frozen", [True, False])
def test_set_beyond_the_range_is_refused_naming_it(wall, frozen):
    clock = Clock.standalone(START, frozen=frozen, source=wall)
    with pytest.raises(ClockError) as info:
        clock.set(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert "outside the clock's supported range (1970-01-01T00:00:00.000Z to 9000-01-01T00:00:00.000Z)" in str(info.value)
    with pytest.raises(ClockError) as info:
        clock.advance(parse_duration("P7000Y"))
    assert "beyond the supported dates" in str(info.value) and "9000-01-01" in str(info.value)
    assert clock.now() < datetime(2026, 1, 1, tzinfo=UTC)


def test_a_running_clock_stops_at_the_end_of_the_range(wall):
    clock = Clock.standalone(START, source=wall)
    end = datetime(9000, 1, 1, tzinfo=UTC)
    assert clock.set(end - timedelta(seconds=1)) == end - timedelta(seconds=1)
    wall.move(3600)
    assert clock.now() == end
    assert clock.set(end) == end
    with pytest.raises(ClockError):
        clock.advance(timedelta(seconds=1))
    assert clock.now() == end
