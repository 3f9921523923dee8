"""The in-memory store's generic primitives: slot ledgers, logs, counters and maps.

Mixed into :class:`~mock_server.store.memory.MemoryStore`, which provides ``_get(name)`` (the
sandbox, created on first use: what a write asks), ``_find(name)`` (the sandbox or None: what a
read asks, so a read never creates one), ``_for_write`` and ``_arrival`` and ``time_source``. Guarantees: see ``base.py``. Log values are
kept encoded (``codec``, as the Redis store keeps them: compact, and sized the same way), map values
are copied in and out, so a caller never shares a mutable value with the store.
"""

from __future__ import annotations

import time
from copy import deepcopy
from typing import Any, Callable, Mapping

from . import codec
from .base import Lease, LogPage, T
from .memory_parts import Log, ReadOnly


class Primitives:
    # -- slot ledgers --------------------------------------------------------------------------
    def ledger(self, sandbox: str, name: str) -> dict[int, int]:
        box = self._find(sandbox)
        if box is None:
            return {}
        with box.lock:
            return dict(box.data.ledgers.get(name, {}))

    def reserve(self, sandbox: str, name: str, plan: Callable[[Mapping[int, int]], tuple[T, Mapping[int, int]]], *,
                generation: int | None = None) -> T:
        box = self._for_write(sandbox, generation)
        if box is None:                          # nothing there: created only if the plan reserves
            result, deltas = plan(ReadOnly({}))
            if not any(deltas.values()):
                return result
            box = self._get(sandbox)
        with box.lock:
            box.check(generation)
            ledger = box.data.ledgers.setdefault(name, {})
            result, deltas = plan(ReadOnly(ledger))
            changed = False
            for slot, amount in deltas.items():
                if amount:
                    left = ledger.get(slot, 0) + amount
                    if left > 0:
                        ledger[slot] = left
                    else:
                        ledger.pop(slot, None)
                    changed = True
            if changed:
                box.bump()
            return result

    def release(self, sandbox: str, name: str, amounts: Mapping[int, int], *, generation: int | None = None) -> None:
        self.reserve(sandbox, name, lambda view: (None, {slot: -amount for slot, amount in amounts.items()}),
                     generation=generation)

    # -- logs --------------------------------------------------------------------------------
    def append(self, sandbox: str, log: str, value: Any, *, max_entries: int, max_bytes: int | None = None) -> int:
        data = codec.encode(value)               # kept encoded: a copy, and its size as Redis counts it
        box = self._get(sandbox)
        with box.lock:
            kept = box.data.logs.setdefault(log, Log())
            kept.last += 1
            kept.entries.append((kept.last, data))
            kept.bytes += len(data)
            excess = max(0, len(kept.entries) - max(0, max_entries))
            over = 0
            if max_bytes:                        # None or 0: no byte bound (as on Redis)
                left = kept.bytes - sum(len(old) for _, old in kept.entries[:excess])
                while left > max_bytes and excess + over < len(kept.entries) - 1:
                    left -= len(kept.entries[excess + over][1])
                    over += 1
            if excess + over:
                kept.bytes -= sum(len(old) for _, old in kept.entries[:excess + over])
                del kept.entries[:excess + over]
                kept.dropped += excess + over
                kept.dropped_for_bytes += over
            box.changed.notify_all()             # wakes wait_log; no version bump (base.py)
            return kept.last

    def wait_log(self, sandbox: str, log: str, after: int, timeout: float) -> int:
        deadline = time.monotonic() + max(0.0, timeout)
        box = self._arrival(sandbox, deadline, after)
        if box is None:
            return 0
        with box.changed:                        # Condition.wait releases the lock while it sleeps
            version = box.version
            while box.data.logs.get(log, Log()).last <= after and box.version == version:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                box.changed.wait(remaining)
            return box.data.logs.get(log, Log()).last

    def read_log(self, sandbox: str, log: str, *, after: int = 0, limit: int = 100) -> LogPage:
        box = self._find(sandbox)
        if box is None:
            return LogPage((), 0, 0)
        with box.lock:
            kept = box.data.logs.get(log) or Log()
            first = kept.entries[0][0] if kept.entries else kept.last + 1
            start = max(0, after + 1 - first)
            chosen = kept.entries[start:start + max(0, limit)]
            last, dropped, for_bytes, size = kept.last, kept.dropped, kept.dropped_for_bytes, kept.bytes
        return LogPage(tuple((seq, codec.decode(data)) for seq, data in chosen), last, dropped, for_bytes, size)

    def clear_log(self, sandbox: str, log: str) -> None:
        box = self._find(sandbox)
        if box is None:
            return
        with box.lock:
            kept = box.data.logs.get(log)
            if kept is not None:
                box.data.logs[log] = Log(last=kept.last)

    # -- counters ----------------------------------------------------------------------------
    def incr(self, sandbox: str, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        box = self._get(sandbox)
        now = self.time_source()
        with box.lock:
            counters = box.data.counters
            value, expires = counters.get(key, (0, None))
            if expires is not None and expires <= now:
                value, expires = 0, None
            if key not in counters or value == 0 and expires is None:
                expires = None if ttl is None else now + ttl
            value += amount
            counters[key] = (value, expires)
            box.data.increments += 1
            if box.data.increments % 1024 == 0:        # now and then, forget expired windows
                for name in [name for name, (_, end) in counters.items() if end is not None and end <= now]:
                    del counters[name]
            return value

    def counter(self, sandbox: str, key: str) -> int:
        box = self._find(sandbox)
        if box is None:
            return 0
        with box.lock:
            value, expires = box.data.counters.get(key, (0, None))
            return 0 if expires is not None and expires <= self.time_source() else value

    # -- leases ------------------------------------------------------------------------------
    def lease(self, sandbox: str, key: str, owner: str, seconds: float) -> Lease:
        now = self.time_source()
        with self._lock:
            box = self._sandboxes.get(sandbox)
        if box is None:                # a lease never creates a sandbox: a dropped one stays dropped
            return Lease(owner if seconds <= 0 else "", now)
        with box.lock:
            leases = box.data.leases
            current = leases.get(key)
            if current is None or current.holder == owner or current.until <= now:
                current = leases[key] = Lease(owner, now + max(0.0, float(seconds)))
            return current

    # -- maps --------------------------------------------------------------------------------
    def put(self, sandbox: str, name: str, key: str, value: Any) -> None:
        self.update_value(sandbox, name, key, lambda _: value)

    def get_value(self, sandbox: str, name: str, key: str) -> Any | None:
        box = self._find(sandbox)
        if box is None:
            return None
        with box.lock:
            return deepcopy(box.data.maps.get(name, {}).get(key))

    def update_value(self, sandbox: str, name: str, key: str, fn: Callable[[Any | None], Any | None]) -> Any | None:
        box = self._find(sandbox)
        if box is None:                          # nothing there: created only if ``fn`` writes
            if fn(None) is None:
                return None
            box = self._get(sandbox)
        with box.lock:
            values = box.data.maps.setdefault(name, {})
            current = values.get(key)
            new = fn(deepcopy(current))
            if new is None:
                return deepcopy(current)
            values[key] = deepcopy(new)
            box.bump(name)
            return new

    def delete(self, sandbox: str, name: str, key: str) -> bool:
        box = self._find(sandbox)
        if box is None:
            return False
        with box.lock:
            values = box.data.maps.get(name, {})
            if key not in values:
                return False
            del values[key]
            box.bump(name)
            return True

    def items(self, sandbox: str, name: str) -> list[tuple[str, Any]]:
        box = self._find(sandbox)
        if box is None:
            return []
        with box.lock:
            return deepcopy(list(box.data.maps.get(name, {}).items()))
