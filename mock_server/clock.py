"""The mock's one source of time: a sandbox's clock, kept by the store.

Every module asks the request's ``Clock`` for ``now()``; nothing else reads the wall clock. A
clock runs in real time (shifted by an offset) or is frozen, and the control plane sets, advances
or freezes it. Its state (:class:`~mock_server.store.base.ClockState`) lives in the store, per
sandbox; this class computes ``now`` from it and the store's time source, and changes it with
atomic compare-and-set updates. It never goes backwards (only ``POST /_mock/reset`` with
``{"clock": true}`` rewinds it, through the store).

Supported range: :data:`MIN_TIME` to :data:`MAX_TIME` (years 1970 to 9000). Setting or advancing
the clock beyond it is refused (``ClockError`` naming the range); a running clock that reaches
the end stays there. Every date the providers derive from "now" (scheduling months ahead, a
48-hour slicing window, a campaign's send times) then stays below year 9999, so no date
computation can overflow.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Callable, Sequence

from .isotime import UTC, Duration, add_duration, isoformat
from .store.base import ClockState, Store

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MIN_TIME = EPOCH
MAX_TIME = datetime(9000, 1, 1, tzinfo=UTC)
_MAX_US = (MAX_TIME - EPOCH) // timedelta(microseconds=1)
RANGE_TEXT = f"{isoformat(MIN_TIME)} to {isoformat(MAX_TIME)}"


class ClockError(ValueError):
    """A clock change that is not allowed (backwards, or outside the supported range)."""


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch (exact) of an aware datetime."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def from_us(value: int) -> datetime:
    """The datetime of ``value`` µs since the epoch, clamped to the supported range."""
    return EPOCH + timedelta(microseconds=min(max(value, 0), _MAX_US))


def in_range(moment: datetime) -> bool:
    return MIN_TIME <= moment <= MAX_TIME


def range_problem(name: str, moment: datetime) -> str | None:
    """Why a client's date-time ``name`` is outside the supported range, or None when it is inside.

    A schedule beyond the range could never fall due (the clock stops at :data:`MAX_TIME`) and
    would be shown clamped, so the providers refuse it naming the field and the range.
    """
    if in_range(moment):
        return None
    return f"{name} must be within the mock's supported dates ({RANGE_TEXT}); got {isoformat(moment)}"


class Clock:
    """The clock of one sandbox: ``Clock(store, sandbox)``; cheap to build per request."""

    def __init__(self, store: Store, sandbox: str, pinned: ClockState | None = None) -> None:
        self._store = store
        self.sandbox = sandbox
        self._pinned: tuple[ClockState, int] | None = None
        if pinned is not None:
            self.pin(pinned)

    def pin(self, state: ClockState) -> None:
        """Read the time once, now, from ``state``: ``now``/``timestamp``/``state`` give that instant
        from then on, without asking the store (a request's one clock reading). A change made
        through this clock (``set``, ``advance``, ``freeze``) pins the state it wrote."""
        self._pinned = (state, self._now_us(state))

    def unpin(self) -> None:
        """Read the store again at the next look (a long-poll that waits across real time)."""
        self._pinned = None

    def _read(self) -> tuple[ClockState, int]:
        if self._pinned is not None:
            return self._pinned
        state = self._store.clock(self.sandbox)
        return state, self._now_us(state)

    @classmethod
    def standalone(cls, start: datetime | None = None, *, frozen: bool = False,
                   source: Callable[[], float] = time.time) -> "Clock":
        """A clock with a private in-memory store (tools and tests that need just a clock)."""
        from .store.memory import MemoryStore
        start_us = None if start is None else to_us(start.astimezone(UTC))
        store = MemoryStore(clock_start_us=start_us, clock_frozen=frozen, time_source=source)
        store.touch("default")
        return cls(store, "default")

    def _real_us(self) -> int:
        return round(self._store.time_source() * 1_000_000)

    def _now_us(self, state: ClockState, real_us: int | None = None) -> int:
        return min(max(state.now_us(self._real_us() if real_us is None else real_us), 0), _MAX_US)

    def now(self) -> datetime:
        return from_us(self._read()[1])

    def timestamp(self) -> float:
        """``now()`` in epoch seconds (what the schedules compare against)."""
        return self._read()[1] / 1_000_000

    def timestamps_at(self, reals: Sequence[float]) -> list[float]:
        """The mock time (epoch seconds) at each of these real times (epoch seconds of the store's
        ``time_source``), from one reading of the clock: what many events that happened a moment
        ago, at known real times, are stamped with, without a store read each."""
        state = self._pinned[0] if self._pinned is not None else self._store.clock(self.sandbox)
        return [self._now_us(state, round(real * 1_000_000)) / 1_000_000 for real in reals]

    def state(self) -> tuple[datetime, bool]:
        """``(now, frozen)`` read together."""
        state, now_us = self._read()
        return from_us(now_us), state.frozen

    @property
    def frozen(self) -> bool:
        return self._read()[0].frozen

    def _update(self, fn: Callable[[ClockState], ClockState]) -> None:
        written = self._store.update_clock(self.sandbox, fn)
        if self._pinned is not None:
            self.pin(written)

    def set(self, moment: datetime) -> datetime:
        """Jump to ``moment``; ``ClockError`` if it is before now or outside the supported range."""
        moment = moment.astimezone(UTC)
        if not in_range(moment):
            raise ClockError(f"{isoformat(moment)} is outside the clock's supported range ({RANGE_TEXT})")
        target = to_us(moment)
        self._update(lambda state: self._moved(state, target, self._real_us()))
        return moment

    def advance(self, amount: Duration | timedelta) -> datetime:
        """Move forward by a duration (calendar months honoured) from the current instant."""
        if isinstance(amount, timedelta) and amount < timedelta(0):
            raise ClockError("the clock never goes backwards: advance by a positive duration")
        reached: list[datetime] = []

        def move(state: ClockState) -> ClockState:
            real = self._real_us()
            current = from_us(self._now_us(state, real))
            try:
                target = current + amount if isinstance(amount, timedelta) else add_duration(current, amount)
            except (OverflowError, ValueError):
                target = None
            if target is None or not in_range(target):
                raise ClockError(f"advancing {isoformat(current)} by {amount} goes beyond the supported dates "
                                 f"({RANGE_TEXT})")
            reached[:] = [target]
            return self._moved(state, to_us(target), real)

        self._update(move)
        return reached[0]

    def _moved(self, state: ClockState, target: int, real_us: int) -> ClockState:
        current = self._now_us(state, real_us)
        if target < current:
            raise ClockError(f"the clock never goes backwards: {from_us(target).isoformat()} is before now "
                             f"({from_us(current).isoformat()})")
        if state.frozen:
            return ClockState(state.offset_us, target)
        return ClockState(state.offset_us + (target - current), None)

    def freeze(self, frozen: bool) -> datetime:
        """Stop (``True``) or restart (``False``) the clock at the current instant."""
        reached: list[datetime] = []

        def change(state: ClockState) -> ClockState:
            real = self._real_us()
            current = self._now_us(state, real)
            reached[:] = [from_us(current)]
            if frozen:
                return ClockState(state.offset_us, current)
            if state.frozen:
                return ClockState(current - real, None)
            return state

        self._update(change)
        return reached[0]
