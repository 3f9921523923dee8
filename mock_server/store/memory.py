"""The in-memory store (the default): one lock per sandbox, immutable values shared without copying.

A record whose value is immutable (a frozen dataclass, a registered type, a scalar) is shared: a
reader gets the stored object itself (no copy, which keeps a million-recipient campaign at its
packed size). A value of mutable plain data (a webhook delivery record's dict) is kept encoded
(``memory_parts.Packed``) and every reader decodes its own copy, so a caller changing it changes
nothing in the store. Each sandbox has its own lock and condition;
the lock guards only quick steps (an insert, a compare-and-set, a bisect), and ``wait`` sleeps
on the condition, which releases the lock. A reset replaces the sandbox's collections with new
ones instead of clearing them, so a ``scan`` already under way keeps its consistent snapshot.
Ledgers, logs, counters and maps are in ``memory_primitives``; the building blocks in
``memory_parts``.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Callable, Iterator, Sequence

from .base import (ClockState, IdStyle, NewRecord, Page, Record, SandboxInfo, SandboxLimit, SingleUpdate, StaleGeneration,
                   With)
from .memory_parts import Data, Feed, Feeds, Index, Sandbox, kept, opened, records, resolve
from .memory_primitives import Primitives


class MemoryStore(Primitives, SingleUpdate):
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

    def _arrival(self, name: str, deadline: float) -> Sandbox | None:
        """The sandbox, waiting until ``deadline`` (``time.monotonic``) for it to be created if it
        does not exist (a wait never creates it); None if it still does not."""
        with self._born:
            while (box := self._sandboxes.get(name)) is None:
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

    # -- records -----------------------------------------------------------------------------
    def create(self, sandbox: str, kind: str, build: Callable[[str, int], NewRecord], *,
               ids: IdStyle = "uuid", generation: int | None = None, with_: With | None = None) -> Record:
        box = self._for_write(sandbox, generation) or self._get(sandbox)
        with box.lock:
            box.check(generation)
            data = box.data
            if ids == "sequence":
                number = data.sequences.get(kind, 0) + 1
                record_id = str(number)
            else:
                record_id = str(uuid.UUID(int=data.uuids.getrandbits(128), version=4))
            now = box.clock.now_us(self._real_us())
            if data.last_created_us is not None and now < data.last_created_us:
                now = data.last_created_us
            new = build(record_id, now)
            other_key, other, replacement = None, None, None
            if with_ is not None:
                other_key, fn = with_
                found = data.records.get(other_key)
                other = None if found is None else opened(found)
                new, replacement = fn(new, other)
            if ids == "sequence":
                data.sequences[kind] = number
            data.seq += 1
            data.last_created_us = now
            record = Record(kind, record_id, data.seq, now, 1, new.value, resolve(new.indexes, now))
            self._store(data, None, kept(record))
            if replacement is not None and other_key is not None:
                if other is None:
                    data.seq += 1
                    changed = Record(*other_key, data.seq, now, 1, replacement.value, resolve(replacement.indexes, now))
                else:
                    changed = Record(*other_key, other.seq, other.created_us, other.version + 1, replacement.value,
                                     resolve(replacement.indexes, other.created_us))
                self._store(data, other, kept(changed))
            box.bump()
            return record

    def get(self, sandbox: str, kind: str, record_id: str) -> Record | None:
        box = self._find(sandbox)
        record = None if box is None else box.data.records.get((kind, record_id))
        return None if record is None else opened(record)

    def update_many(self, sandbox: str, keys: Sequence[tuple[str, str]],
                    fn: Callable[[tuple[Record | None, ...]], Sequence[NewRecord | None]], *,
                    generation: int | None = None) -> tuple[Record | None, ...]:
        box = self._for_write(sandbox, generation)
        if box is None:               # nothing there: created only if ``fn`` writes something
            current = (None,) * len(keys)
            if all(new is None for new in _replacements(fn, current, keys)):
                return current
            box = self._get(sandbox)
        with box.lock:
            box.check(generation)
            data = box.data
            current = tuple(None if found is None else opened(found)
                            for found in (data.records.get(key) for key in keys))
            replacements = _replacements(fn, current, keys)
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
                    record = Record(kind, record_id, data.seq, now, 1, new.value, resolve(new.indexes, now))
                else:
                    record = Record(kind, record_id, old.seq, old.created_us, old.version + 1, new.value,
                                    resolve(new.indexes, old.created_us))
                self._store(data, old, kept(record))
                out.append(record)
            if changed:
                box.bump()
            return tuple(out)

    @staticmethod
    def _store(data: Data, old: Record | None, record: Record) -> None:
        ref = (record.kind, record.id)
        before = set(old.indexes) if old is not None else set()
        after = set(record.indexes)
        for name, score in before - after:
            index = data.indexes[name]
            index.remove((score, record.seq), ref)
            if not index.keys:            # per-recipient indexes come and go: never keep empty ones
                del data.indexes[name]
        for name, score in record.indexes:
            if (name, score) not in before:
                index = data.indexes.get(name)
                if index is None:
                    index = data.indexes[name] = Index()
                index.add((score, record.seq), ref)
        if old is None:
            data.counts[record.kind] = data.counts.get(record.kind, 0) + 1
        data.records[ref] = record

    def trim(self, sandbox: str, index: str, keep: int) -> int:
        box = self._find(sandbox)
        if box is None:
            return 0
        with box.lock:
            data = box.data
            found = data.indexes.get(index)
            cut = 0 if found is None else len(found.refs) - max(0, keep)
            if cut <= 0:
                return 0
            doomed = found.refs[:cut]
            del found.keys[:cut], found.refs[:cut]
            elsewhere: dict[str, list] = {}
            for ref in doomed:
                record = data.records.pop(ref)
                for name, score in record.indexes:
                    if name != index:
                        elsewhere.setdefault(name, []).append(((score, record.seq), ref))
                left = data.counts[record.kind] - 1
                if left:
                    data.counts[record.kind] = left
                else:
                    del data.counts[record.kind]
            for name, entries in elsewhere.items():
                other = data.indexes[name]
                other.remove_many(entries)
                if not other.keys:
                    del data.indexes[name]
            if not found.keys:
                del data.indexes[index]
            box.bump()
            return cut

    def page(self, sandbox: str, index: str, *, low: float | None = None, high: float | None = None,
             offset: int = 0, limit: int | None = None, newest_first: bool = True) -> Page:
        box = self._find(sandbox)
        if box is None:
            return Page((), 0)
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
            return Page(tuple(opened(data.records[ref]) for ref in refs), total)

    def scan(self, sandbox: str, index: str, *, low: float | None = None, high: float | None = None,
             newest_first: bool = True) -> Iterator[Record]:
        box = self._find(sandbox)
        if box is None:
            return iter(())
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
        return records(box, generation, data, refs)

    # -- change notification ---------------------------------------------------------------------
    def version(self, sandbox: str) -> int:
        box = self._find(sandbox)
        return 0 if box is None else box.version

    def wait(self, sandbox: str, after: int, timeout: float) -> int:
        deadline = time.monotonic() + max(0.0, timeout)
        box = self._arrival(sandbox, deadline)
        if box is None:
            return 0
        with box.changed:             # Condition.wait releases the lock while it sleeps
            while box.version <= after:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                box.changed.wait(remaining)
            return box.version

    def changes(self) -> Feed:
        return self._feeds.feed()


def _replacements(fn: Callable[[tuple[Record | None, ...]], Sequence[NewRecord | None]],
                  current: tuple[Record | None, ...], keys: Sequence[tuple[str, str]]) -> tuple[NewRecord | None, ...]:
    replacements = tuple(fn(current))
    if len(replacements) != len(keys):
        raise ValueError("update_many: give one replacement (or None) per key")
    return replacements


__all__ = ["MemoryStore"]
