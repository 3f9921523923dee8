"""The mock's one source of time.

Every module asks the app's ``Clock`` for ``now()``; nothing else reads the wall clock. The clock
runs in real time (optionally shifted) or frozen, and the control plane can set or advance it.
It never goes backwards, so scheduled work already applied stays applied.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Callable

from .isotime import UTC, Duration, add_duration, from_timestamp


class ClockError(ValueError):
    """A clock change that is not allowed (moving backwards)."""


class Clock:
    """Real time plus an offset, or a frozen instant.

    :param start: the first "now" (default: the real time).
    :param frozen: start frozen at ``start``.
    :param source: the wall-clock function (seconds since the epoch); injected for tests.
    """

    def __init__(self, start: datetime | None = None, *, frozen: bool = False,
                 source: Callable[[], float] = time.time) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        real = from_timestamp(source())
        start = (start or real).astimezone(UTC)
        self._offset = start - real
        self._frozen_at: datetime | None = start if frozen else None

    def now(self) -> datetime:
        with self._lock:
            return self._now_locked()

    def _now_locked(self) -> datetime:
        if self._frozen_at is not None:
            return self._frozen_at
        return from_timestamp(self._source()) + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every set/advance/freeze (used to wake long-polls)."""
        self._listeners.append(listener)

    def set(self, moment: datetime) -> datetime:
        """Jump to ``moment``; raise ``ClockError`` if it is before now."""
        moment = moment.astimezone(UTC)
        with self._lock:
            self._move_locked(moment, self._now_locked())
        self._changed()
        return moment

    def advance(self, amount: Duration | timedelta) -> datetime:
        """Move forward by a duration (calendar months honoured) from the current instant."""
        if isinstance(amount, timedelta) and amount < timedelta(0):
            raise ClockError("the clock never goes backwards: advance by a positive duration")
        with self._lock:
            current = self._now_locked()
            target = current + amount if isinstance(amount, timedelta) else add_duration(current, amount)
            self._move_locked(target, current)
        self._changed()
        return target

    def _move_locked(self, moment: datetime, current: datetime) -> None:
        if moment < current:
            raise ClockError(
                f"the clock never goes backwards: {moment.isoformat()} is before now ({current.isoformat()})"
            )
        if self._frozen_at is not None:
            self._frozen_at = moment
        else:
            self._offset += moment - current

    def freeze(self, frozen: bool) -> datetime:
        """Stop (``True``) or restart (``False``) the clock at the current instant."""
        with self._lock:
            current = self._now_locked()
            if frozen:
                self._frozen_at = current
            elif self._frozen_at is not None:
                self._frozen_at = None
                self._offset = current - from_timestamp(self._source())
        self._changed()
        return current

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()
