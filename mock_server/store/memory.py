"""The in-memory store (the default): one lock per sandbox, values shared without copying.

Records are immutable values, so a reader gets the stored object itself (no copy, which keeps a
million-recipient campaign at its packed size). Each sandbox has its own lock and condition;
the lock guards only quick steps (an insert, a compare-and-set, a bisect), and ``wait`` sleeps
on the condition, which releases the lock. A reset replaces the sandbox's collections with new
ones instead of clearing them, so a ``scan`` already under way keeps its consistent snapshot.
"""

from __future__ import annotations

import bisect
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

from .base import ClockState, IdStyle, LogPage, NewRecord, Page, Record, SandboxInfo, StaleGeneration, T

_INF = float("inf")


class _Index:
    """Entries ordered by (score, seq): parallel lists of sort keys and record keys."""

    __slots__ = ("keys", "refs")

    def __init__(self) -> None:
        self.keys: list[tuple[float, int]] = []
        self.refs: list[tuple[str, str]] = []

    def add(self, key: tuple[float, int], ref: tuple[str, str]) -> None:
        if not self.keys or key >= self.keys[-1]:
            self.keys.append(key)
            self.refs.append(ref)
        else:
            position = bisect.bisect_right(self.keys, key)
            self.keys.insert(position, key)
            self.refs.insert(position, ref)

    def remove(self, key: tuple[float, int], ref: tuple[str, str]) -> None:
        position = bisect.bisect_left(self.keys, key)
        while position < len(self.keys) and self.keys[position] == key:
            if self.refs[position] == ref:
                del self.keys[position]
                del self.refs[position]
                return
            position += 1

    def bounds(self, low: float | None, high: float | None) -> tuple[int, int]:
        start = 0 if low is None else bisect.bisect_left(self.keys, (low, -1))
        end = len(self.keys) if high is None else bisect.bisect_right(self.keys, (high, _INF))
        return start, max(start, end)


@dataclass
class _Data:
    """Everything a reset drops (replaced whole, never cleared in place)."""

    seed: int
    records: dict[tuple[str, str], Record] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    indexes: dict[str, _Index] = field(default_factory=dict)
    ledgers: dict[str, dict[int, int]] = field(default_factory=dict)
    logs: dict[str, list] = field(default_factory=dict)          # name -> [entries list, last seq, dropped]
    counters: dict[str, tuple[int, float | None]] = field(default_factory=dict)
    maps: dict[str, dict[str, Any]] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=dict)
    seq: int = 0
    last_created_us: int | None = None
    uuids: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.uuids = random.Random(f"ids:{self.seed}")


class _Sandbox:
    def __init__(self, name: str, clock: ClockState, seed: int, real: float) -> None:
        self.name = name
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.clock = clock
        self.initial_clock = clock
        self.generation = 0
        self.version = 0
        self.created_real = real
        self.used_real = real
        self.seed = seed
        self.data = _Data(seed)

    def bump(self) -> None:
        self.version += 1
        self.changed.notify_all()

    def check(self, generation: int | None) -> None:
        if generation is not None and generation != self.generation:
            raise StaleGeneration(f"sandbox '{self.name}' was reset (generation {self.generation}, expected {generation})")

    def info(self) -> SandboxInfo:
        return SandboxInfo(self.name, self.clock, self.generation, self.version, self.created_real, self.used_real,
                           dict(self.data.counts))


class MemoryStore:
    """The default store. ``clock_start_us``/``clock_frozen``: how a new sandbox's clock starts."""

    def __init__(self, *, seed: int = 0, clock_start_us: int | None = None, clock_frozen: bool = False,
                 time_source: Callable[[], float] = time.time) -> None:
        self.seed = seed
        self.time_source = time_source
        self._clock_start_us = clock_start_us
        self._clock_frozen = clock_frozen
        self._lock = threading.Lock()
        self._sandboxes: dict[str, _Sandbox] = {}

    # -- sandboxes ---------------------------------------------------------------------------
    def _real_us(self) -> int:
        return round(self.time_source() * 1_000_000)

    def _initial_clock(self) -> ClockState:
        real = self._real_us()
        start = real if self._clock_start_us is None else self._clock_start_us
        return ClockState(offset_us=start - real, frozen_at_us=start if self._clock_frozen else None)

    def _get(self, name: str) -> _Sandbox:
        """The sandbox, created on first use (every operation touches it)."""
        sandbox = self._sandboxes.get(name)
        if sandbox is None:
            with self._lock:
                sandbox = self._sandboxes.get(name)
                if sandbox is None:
                    sandbox = _Sandbox(name, self._initial_clock(), self.seed, self.time_source())
                    self._sandboxes[name] = sandbox
        return sandbox

    def touch(self, sandbox: str) -> SandboxInfo:
        box = self._get(sandbox)
        with box.lock:
            box.used_real = self.time_source()
            return box.info()

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
            box.data = _Data(box.seed)
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
            box.data = _Data(box.seed)
            box.generation += 1
            if rewind_clock:
                box.clock = self._initial_clock()
            box.used_real = self.time_source()
            box.bump()
            return box.info()

    # -- clock -------------------------------------------------------------------------------
    def clock(self, sandbox: str) -> ClockState:
        return self._get(sandbox).clock

    def update_clock(self, sandbox: str, fn: Callable[[ClockState], ClockState]) -> ClockState:
        box = self._get(sandbox)
        with box.lock:
            new = fn(box.clock)
            if new != box.clock:
                box.clock = new
                box.bump()
            return new

    # -- records -----------------------------------------------------------------------------
    def create(self, sandbox: str, kind: str, build: Callable[[str], NewRecord], *,
               ids: IdStyle = "uuid", generation: int | None = None) -> Record:
        box = self._get(sandbox)
        with box.lock:
            box.check(generation)
            data = box.data
            if ids == "sequence":
                number = data.sequences.get(kind, 0) + 1
                record_id = str(number)
            else:
                record_id = str(uuid.UUID(int=data.uuids.getrandbits(128), version=4))
            new = build(record_id)
            now = box.clock.now_us(self._real_us())
            if data.last_created_us is not None and now < data.last_created_us:
                now = data.last_created_us
            if ids == "sequence":
                data.sequences[kind] = number
            data.seq += 1
            data.last_created_us = now
            record = Record(kind, record_id, data.seq, now, 1, new.value, _resolve(new.indexes, now))
            self._store(data, None, record)
            box.bump()
            return record

    def get(self, sandbox: str, kind: str, record_id: str) -> Record | None:
        return self._get(sandbox).data.records.get((kind, record_id))

    def update(self, sandbox: str, kind: str, record_id: str, fn: Callable[[Record], NewRecord | None], *,
               generation: int | None = None) -> Record | None:
        def many(current: tuple[Record | None, ...]) -> Sequence[NewRecord | None]:
            return (fn(current[0]) if current[0] is not None else None,)
        return self.update_many(sandbox, ((kind, record_id),), many, generation=generation)[0]

    def update_many(self, sandbox: str, keys: Sequence[tuple[str, str]],
                    fn: Callable[[tuple[Record | None, ...]], Sequence[NewRecord | None]], *,
                    generation: int | None = None) -> tuple[Record | None, ...]:
        box = self._get(sandbox)
        with box.lock:
            box.check(generation)
            data = box.data
            current = tuple(data.records.get((kind, record_id)) for kind, record_id in keys)
            replacements = tuple(fn(current))
            if len(replacements) != len(keys):
                raise ValueError("update_many: give one replacement (or None) per key")
            out, changed = [], False
            for (kind, record_id), old, new in zip(keys, current, replacements):
                if new is None:
                    out.append(old)
                    continue
                changed = True
                if old is None:
                    now = box.clock.now_us(self._real_us())
                    if data.last_created_us is not None and now < data.last_created_us:
                        now = data.last_created_us
                    data.seq += 1
                    data.last_created_us = now
                    record = Record(kind, record_id, data.seq, now, 1, new.value, _resolve(new.indexes, now))
                else:
                    record = Record(kind, record_id, old.seq, old.created_us, old.version + 1, new.value,
                                    _resolve(new.indexes, old.created_us))
                self._store(data, old, record)
                out.append(record)
            if changed:
                box.bump()
            return tuple(out)

    @staticmethod
    def _store(data: _Data, old: Record | None, record: Record) -> None:
        ref = (record.kind, record.id)
        before = set(old.indexes) if old is not None else set()
        after = set(record.indexes)
        for name, score in before - after:
            data.indexes[name].remove((score, record.seq), ref)
        for name, score in record.indexes:
            if (name, score) not in before:
                data.indexes.setdefault(name, _Index()).add((score, record.seq), ref)
        if old is None:
            data.counts[record.kind] = data.counts.get(record.kind, 0) + 1
        data.records[ref] = record

    def page(self, sandbox: str, index: str, *, low: float | None = None, high: float | None = None,
             offset: int = 0, limit: int | None = None, newest_first: bool = True) -> Page:
        box = self._get(sandbox)
        with box.lock:
            data = box.data
            found = data.indexes.get(index)
            if found is None:
                return Page((), 0)
            start, end = found.bounds(low, high)
            total = end - start
            count = total - offset if limit is None else min(limit, total - offset)
            if count <= 0:
                return Page((), total)
            if newest_first:
                refs = found.refs[end - offset - count:end - offset][::-1]
            else:
                refs = found.refs[start + offset:start + offset + count]
            return Page(tuple(data.records[ref] for ref in refs), total)

    def scan(self, sandbox: str, index: str, *, low: float | None = None, high: float | None = None,
             newest_first: bool = True) -> Iterator[Record]:
        box = self._get(sandbox)
        with box.lock:
            data = box.data
            found = data.indexes.get(index)
            if found is None:
                return iter(())
            start, end = found.bounds(low, high)
            refs = found.refs[start:end]      # a list of references: cheap, and immune to later inserts
            generation = box.generation
        if newest_first:
            refs.reverse()
        return _records(box, generation, data, refs)

    # -- slot ledgers --------------------------------------------------------------------------
    def ledger(self, sandbox: str, name: str) -> dict[int, int]:
        box = self._get(sandbox)
        with box.lock:
            return dict(box.data.ledgers.get(name, {}))

    def reserve(self, sandbox: str, name: str, plan: Callable[[Mapping[int, int]], tuple[T, Mapping[int, int]]], *,
                generation: int | None = None) -> T:
        box = self._get(sandbox)
        with box.lock:
            box.check(generation)
            ledger = box.data.ledgers.setdefault(name, {})
            result, deltas = plan(_ReadOnly(ledger))
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
    def append(self, sandbox: str, log: str, value: Any, *, max_entries: int) -> int:
        box = self._get(sandbox)
        with box.lock:
            entry = box.data.logs.setdefault(log, [[], 0, 0])
            entry[1] += 1
            entries = entry[0]
            entries.append((entry[1], value))
            excess = len(entries) - max(0, max_entries)
            if excess > 0:
                del entries[:excess]
                entry[2] += excess
            box.bump()
            return entry[1]

    def read_log(self, sandbox: str, log: str, *, after: int = 0, limit: int = 100) -> LogPage:
        box = self._get(sandbox)
        with box.lock:
            entries, last, dropped = box.data.logs.get(log, [[], 0, 0])
            first = entries[0][0] if entries else last + 1
            start = max(0, after + 1 - first)
            return LogPage(tuple(entries[start:start + max(0, limit)]), last, dropped)

    def clear_log(self, sandbox: str, log: str) -> None:
        box = self._get(sandbox)
        with box.lock:
            entry = box.data.logs.get(log)
            if entry is not None:
                box.data.logs[log] = [[], entry[1], 0]
                box.bump()

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
            if len(counters) > 1024 and len(counters) & 1023 == 0:
                for name in [name for name, (_, end) in counters.items() if end is not None and end <= now]:
                    del counters[name]
            return value

    def counter(self, sandbox: str, key: str) -> int:
        box = self._get(sandbox)
        with box.lock:
            value, expires = box.data.counters.get(key, (0, None))
            return 0 if expires is not None and expires <= self.time_source() else value

    # -- maps --------------------------------------------------------------------------------
    def put(self, sandbox: str, name: str, key: str, value: Any) -> None:
        self.update_value(sandbox, name, key, lambda _: value)

    def get_value(self, sandbox: str, name: str, key: str) -> Any | None:
        box = self._get(sandbox)
        with box.lock:
            return box.data.maps.get(name, {}).get(key)

    def update_value(self, sandbox: str, name: str, key: str, fn: Callable[[Any | None], Any | None]) -> Any | None:
        box = self._get(sandbox)
        with box.lock:
            values = box.data.maps.setdefault(name, {})
            current = values.get(key)
            new = fn(current)
            if new is None:
                return current
            values[key] = new
            box.bump()
            return new

    def delete(self, sandbox: str, name: str, key: str) -> bool:
        box = self._get(sandbox)
        with box.lock:
            values = box.data.maps.get(name, {})
            if key not in values:
                return False
            del values[key]
            box.bump()
            return True

    def items(self, sandbox: str, name: str) -> list[tuple[str, Any]]:
        box = self._get(sandbox)
        with box.lock:
            return list(box.data.maps.get(name, {}).items())

    # -- change notification ---------------------------------------------------------------------
    def version(self, sandbox: str) -> int:
        return self._get(sandbox).version

    def wait(self, sandbox: str, after: int, timeout: float) -> int:
        box = self._get(sandbox)
        deadline = time.monotonic() + max(0.0, timeout)
        with box.changed:             # Condition.wait releases the lock while it sleeps
            while box.version <= after:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                box.changed.wait(remaining)
            return box.version


class _ReadOnly(Mapping[int, int]):
    """A read-only view of a ledger for ``plan`` functions."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[int, int]) -> None:
        self._data = data

    def __getitem__(self, key: int) -> int:
        return self._data[key]

    def get(self, key, default=None):
        return self._data.get(key, default)

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def _resolve(indexes: tuple[tuple[str, float | None], ...], created_us: int) -> tuple[tuple[str, float], ...]:
    created = created_us / 1_000_000
    return tuple((name, created if score is None else float(score)) for name, score in indexes)


def _records(box: _Sandbox, generation: int, data: _Data, refs: list[tuple[str, str]]) -> Iterator[Record]:
    records = data.records
    for ref in refs:
        if box.generation != generation:     # reset (or dropped) meanwhile: its records are gone
            return
        record = records.get(ref)
        if record is not None:
            yield record


__all__ = ["MemoryStore"]
