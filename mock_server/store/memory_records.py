"""The in-memory store's records (a mixin of :class:`~mock_server.store.memory.MemoryStore`):
create, get, update, trim, page and scan over a sandbox's ``Data`` (``memory_parts``), under the
sandbox's lock. Guarantees: see ``base.py``. A read never creates a sandbox (``_find``); a write
that changes nothing creates none either.
"""

from __future__ import annotations

import uuid
from typing import Callable, Iterator, Sequence

from .base import IdStyle, NewRecord, Page, Record, With
from .memory_parts import Data, Index, kept, opened, records
from .values import COUNTED, resolve


class Records:
    """Records, indexes and their reads; uses ``MemoryStore``'s ``_get``, ``_find``, ``_for_write`` and
    ``_real_us``."""

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
            box.bump(records=True)
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
            out, changed, now = [], False, None
            for (kind, record_id), old, new in zip(keys, current, replacements):
                if new is None:
                    out.append(old)
                    continue
                changed = True
                if old is None:
                    if now is None:           # the records one step creates share its instant
                        now = self._instant(box, data)
                    data.seq += 1
                    record = Record(kind, record_id, data.seq, now, 1, new.value, resolve(new.indexes, now))
                else:
                    record = Record(kind, record_id, old.seq, old.created_us, old.version + 1, new.value,
                                    resolve(new.indexes, old.created_us))
                self._store(data, old, kept(record))
                out.append(record)
            if changed:
                box.bump(records=True)
            return tuple(out)

    def create_missing(self, sandbox: str, items: Sequence[tuple[str, str, NewRecord]], *,
                       generation: int | None = None) -> tuple[Record | None, ...]:
        box = self._for_write(sandbox, generation) or (self._get(sandbox) if items else None)
        if box is None:
            return ()
        with box.lock:
            box.check(generation)
            data = box.data
            present, out, now = data.records, [], None
            for kind, record_id, new in items:
                if (kind, record_id) in present:
                    out.append(None)
                    continue
                if now is None:               # the records one step creates share its instant
                    now = self._instant(box, data)
                data.seq += 1
                record = Record(kind, record_id, data.seq, now, 1, new.value, resolve(new.indexes, now))
                self._store(data, None, kept(record))
                out.append(record)
            if now is not None:
                box.bump(records=True)
            return tuple(out)

    def _instant(self, box, data: Data) -> int:
        """The creation instant of a step's new records: the clock now, never below the last one's."""
        now = box.clock.now_us(self._real_us())
        if data.last_created_us is not None and now < data.last_created_us:
            now = data.last_created_us
        data.last_created_us = now
        return now

    @staticmethod
    def _store(data: Data, old: Record | None, record: Record) -> None:
        ref, seq, indexes = (record.kind, record.id), record.seq, data.indexes
        after = record.indexes
        if old is None:
            added = after
            data.counts[record.kind] = data.counts.get(record.kind, 0) + 1
        else:
            before = old.indexes
            if before == after:
                added = ()
            else:
                for entry in before:       # (a handful each: lists, not sets; per record, it shows)
                    if entry not in after:
                        name = entry[0]
                        index = indexes[name]
                        index.remove((entry[1], seq, ref))
                        data.resized(name, index)  # per-recipient indexes come and go: never keep empty ones
                added = [entry for entry in after if entry not in before]
        for name, score in added:
            index = indexes.get(name)
            if index is None:
                index = indexes[name] = Index()
            index.add((score, seq, ref))
            if name[:1] == COUNTED:                          # (Data.resized, inline: per record, it shows)
                data.sizes[name] = len(index)
        data.records[ref] = record

    def trim(self, sandbox: str, index: str, keep: int) -> int:
        box = self._find(sandbox)
        if box is None:
            return 0
        with box.lock:
            data = box.data
            found = data.indexes.get(index)
            cut = 0 if found is None else len(found) - max(0, keep)
            if cut <= 0:
                return 0
            doomed = found.pop_front(cut)
            elsewhere: dict[str, list] = {}
            gone: dict[str, int] = {}
            for ref in doomed:
                record = data.records.pop(ref)
                for name, score in record.indexes:
                    if name != index:
                        elsewhere.setdefault(name, []).append((score, record.seq, ref))
                gone[record.kind] = gone.get(record.kind, 0) + 1
            for kind, number in gone.items():
                left = data.counts[kind] - number
                if left:
                    data.counts[kind] = left
                else:
                    del data.counts[kind]
            for name, entries in elsewhere.items():
                other = data.indexes[name]
                if len(entries) == len(other):            # all of it (distinct entries it holds): e.g. a
                    other.clear()                         # recipient whose every delivery goes
                else:
                    other.remove_many(entries)
                data.resized(name, other)
            data.resized(index, found)
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
                refs = found.slice(end - offset - count, end - offset)[::-1]
            else:
                refs = found.slice(start + offset, start + offset + count)
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
            refs = found.slice(start, end)    # a list of references: cheap, and immune to later inserts
            generation = box.generation
        if newest_first:
            refs.reverse()
        return records(box, generation, data, refs)


def _replacements(fn: Callable[[tuple[Record | None, ...]], Sequence[NewRecord | None]],
                  current: tuple[Record | None, ...], keys: Sequence[tuple[str, str]]) -> tuple[NewRecord | None, ...]:
    replacements = tuple(fn(current))
    if len(replacements) != len(keys):
        raise ValueError("update_many: give one replacement (or None) per key")
    return replacements
