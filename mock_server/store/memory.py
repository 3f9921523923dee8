"""The in-memory store (the default): one lock per sandbox, immutable values shared without copying.

A record whose value is immutable (a frozen dataclass, a registered type, a scalar) is shared: a
reader gets the stored object itself (no copy, which keeps a million-recipient campaign at its
packed size). A value of mutable plain data (a webhook delivery record's dict) is kept encoded
(``memory_parts.Packed``) and every reader decodes its own copy, so a caller changing it changes
nothing in the store. Each sandbox has its own lock and condition;
the lock guards only quick steps (an insert, a compare-and-set, a bisect), and ``wait`` sleeps
on the condition, which releases the lock. A reset replaces the sandbox's collections with new
ones instead of clearing them, so a ``scan`` already under way keeps its consistent snapshot.
Records are in ``memory_records``, ledgers, logs, counters and maps in ``memory_primitives``; the
building blocks in ``memory_parts``. A read never creates a sandbox (``_find``), nor does a write
that changes nothing; a touch, a reset or a write that changes something does (``_get``).
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Iterable

from .base import ClockState, SandboxInfo, SandboxLimit, SingleUpdate, StaleGeneration
from .memory_parts import Data, Feed, Feeds, Sandbox
from .memory_primitives import Primitives
from .memory_records import Records


class MemoryStore(Records, Primitives, SingleUpdate):
    """The default store. ``clock_start_us``/``clock_frozen``: how a new sandbox's clock starts;
    ``max_sandboxes``: how many may exist at once (None: no bound)."""

    def __init__(self, *, seed: int = 0, clock_start_us: int | None = None, clock_frozen: bool = False,
                 time_source: Callable[[], float] = time.time, max_sandboxes: int | None = None) -> None:
        self.seed = seed
        self.max_sandboxes = max_sandboxes
        self.time_source = time_source
        self._clock_start_us = clock_start_us
        self._clock_frozen = clock_frozen
        self._lock = threading.Lock()
        self._born = threading.Condition(self._lock)     # notified when a sandbox is created
        self._sandboxes: dict[str, Sandbox] = {}
        self._feeds = Feeds()

    # -- sandboxes ---------------------------------------------------------------------------
    def _real_us(self) -> int:
        return round(self.time_source() * 1_000_000)

    def _initial_clock(self) -> ClockState:
        real = self._real_us()
        start = real if self._clock_start_us is None else self._clock_start_us
        return ClockState(offset_us=start - real, frozen_at_us=start if self._clock_frozen else None)

    def _get(self, name: str) -> Sandbox:
        """The sandbox, created on first use (by a touch, a reset or a write; a read never creates
        one: it asks :meth:`_find`)."""
        sandbox = self._sandboxes.get(name)
        if sandbox is None:
            with self._lock:
                sandbox = self._sandboxes.get(name)
                if sandbox is None:
                    if self.max_sandboxes is not None and len(self._sandboxes) >= self.max_sandboxes:
                        raise SandboxLimit(name, self.max_sandboxes)
                    sandbox = Sandbox(name, self._initial_clock(), self.seed, self.time_source(), self._feeds)
                    self._sandboxes[name] = sandbox
                    self._born.notify_all()
        return sandbox

    def _find(self, name: str) -> Sandbox | None:
        """The sandbox, or None when it does not exist (what a read asks: it never creates one)."""
        return self._sandboxes.get(name)

    def _for_write(self, name: str, generation: int | None) -> Sandbox | None:
        """The existing sandbox a write pinned to ``generation`` goes to, or None when it does not
        exist (the write then creates it only if it changes something). A write pinned to a
        generation a fresh sandbox cannot have raises :class:`StaleGeneration` and creates nothing."""
        box = self._sandboxes.get(name)
        if box is None and generation:
            raise StaleGeneration(f"sandbox '{name}' is gone (expected generation {generation})")
        return box

    def _arrival(self, name: str, deadline: float, after: int) -> Sandbox | None:
        """The sandbox, waiting until ``deadline`` (``time.monotonic``) for it to be created if it
        does not exist (a wait never creates it); None if it still does not. A sandbox that does
        not exist is at version 0 with empty logs, so a wait for something after ``after`` < 0 is
        answered at once (None), as the Redis store's is."""
        with self._born:
            while (box := self._sandboxes.get(name)) is None:
                if after < 0:
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._born.wait(remaining)
            return box

    def touch(self, sandbox: str) -> SandboxInfo:
        box = self._get(sandbox)
        with box.lock:
            box.used_real = self.time_source()
            return box.info(counts=False)

    def info(self, sandbox: str) -> SandboxInfo | None:
        box = self._sandboxes.get(sandbox)
        if box is None:
            return None
        with box.lock:
            return box.info()

    def sandboxes(self) -> list[SandboxInfo]:
        with self._lock:
            boxes = sorted(self._sandboxes.values(), key=lambda box: box.name)
        out = []
        for box in boxes:
            with box.lock:
                out.append(box.info())
        return out

    def drop(self, sandbox: str) -> bool:
        with self._lock:
            box = self._sandboxes.pop(sandbox, None)
        if box is None:
            return False
        with box.lock:                # wake its waiters: they answer with what they have
            box.generation += 1
            box.data = Data(box.seed)
            box.bump()
        return True

    def expire_idle(self, ttl: float) -> list[str]:
        limit = self.time_source() - ttl
        with self._lock:
            idle = [name for name, box in self._sandboxes.items() if box.used_real < limit]
        return [name for name in idle if self._drop_if_idle(name, limit)]

    def _drop_if_idle(self, name: str, limit: float) -> bool:
        with self._lock:
            box = self._sandboxes.get(name)
            if box is None or box.used_real >= limit:
                return False
            del self._sandboxes[name]
        with box.lock:
            box.generation += 1
            box.bump()
        return True

    def reset(self, sandbox: str, *, rewind_clock: bool = False) -> SandboxInfo:
        box = self._get(sandbox)
        with box.lock:
            box.data = Data(box.seed)
            box.generation += 1
            if rewind_clock:
                box.clock = self._initial_clock()
            box.used_real = self.time_source()
            box.bump()
            return box.info()

    # -- clock -------------------------------------------------------------------------------
    def clock(self, sandbox: str) -> ClockState:
        box = self._find(sandbox)
        return self._initial_clock() if box is None else box.clock

    def update_clock(self, sandbox: str, fn: Callable[[ClockState], ClockState]) -> ClockState:
        box = self._get(sandbox)
        with box.lock:
            new = fn(box.clock)
            if new != box.clock:
                box.clock = new
                box.bump()
            return new

    # -- change notification ---------------------------------------------------------------------
    def version(self, sandbox: str) -> int:
        box = self._find(sandbox)
        return 0 if box is None else box.version

    def wait(self, sandbox: str, after: int, timeout: float) -> int:
        deadline = time.monotonic() + max(0.0, timeout)
        box = self._arrival(sandbox, deadline, after)
        if box is None:
            return 0
        with box.changed:             # Condition.wait releases the lock while it sleeps
            while box.version <= after:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                box.changed.wait(remaining)
            return box.version

    def changes(self, watch: Iterable[str] | None = None) -> Feed:
        return self._feeds.feed(watch)


__all__ = ["MemoryStore"]
