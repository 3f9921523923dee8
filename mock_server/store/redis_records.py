"""The Redis store's record writes (a mixin of :class:`~mock_server.store.redis.RedisStore`, which
has the plumbing: ``_run``, ``_retry``, the codec): ``create`` (ids, the creation instant, the
other record of ``with_``) and ``update_many``, each committed by one ``COMMIT`` script
(``redis_lua_records.py``) that compares what was read or assumed and, when it loses, answers
what it read for the next attempt."""

from __future__ import annotations

import json
import threading
import uuid
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from .base import ClockState, IdStyle, NewRecord, Record, StaleGeneration, With
from .redis_primitives import _Conflict
from .values import resolve

NO_RECORD_US = -(1 << 62)

_ENTRIES = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)    # a record's index entries, one argument


class RedisRecords:
    """``create`` and ``update_many`` of :class:`~mock_server.store.redis.RedisStore`."""

    def _record(self, kind: str, record_id: str, fields: Sequence[Any]) -> Record | None:
        value, seq, cus, version, indexes = fields
        if value is None:
            return None
        return Record(kind, record_id, int(seq), int(cus), int(version), self._decode(value), _indexes(indexes))

    # -- records -----------------------------------------------------------------------------
    def create(self, sandbox: str, kind: str, build: Callable[[str, int], NewRecord], *,
               ids: IdStyle = "uuid", generation: int | None = None, with_: With | None = None) -> Record:
        if with_ is None:
            return self._create(sandbox, kind, build, ids, generation, None)
        # creates that compare-and-set the same other record (a bot's lane) take turns here, so
        # this process's threads never make each other's commits fail
        (other_kind, other_id), _ = with_
        with self._turns.turn((sandbox, other_kind, other_id)):
            return self._create(sandbox, kind, build, ids, generation, with_)

    def _create(self, sandbox: str, kind: str, build: Callable[[str, int], NewRecord], ids: IdStyle,
                generation: int | None, with_: With | None) -> Record:
        field = "uuid" if ids == "uuid" else f"id:{kind}"

        guess = [ids == "uuid"]
        answered: list[Any] = [None]     # UUIDs: what the commit that failed read (the next guess)

        def attempt() -> Record:
            # UUIDs: the number is taken at once (concurrent creates never conflict over it; one
            # lost to a failed attempt is never reused). Sequence ids: compare-and-set, so they
            # increase in creation order.
            taking = ids == "uuid"
            fast, others = None, None
            if answered[0] is not None:
                epoch, generation_then, counter, newest, off, frz, *others = answered[0]
                answered[0] = None
                if generation is not None and generation != int(generation_then):
                    raise StaleGeneration(f"sandbox '{sandbox}' was reset since this operation began")
                fast = (f"{self.prefix}d:{sandbox}:{epoch.decode()}:".encode(), int(generation_then), int(counter),
                        int(newest) if newest else NO_RECORD_US, off, frz)
            elif guess[0]:
                fast = self._guess(sandbox, generation)
            guess[0] = False
            if fast is not None:
                # what this process's last create and touch left, or the commit that failed read:
                # the next UUID's number, the newest creation instant and the clock, all compared
                # by the commit (CONFLICT: it answers them as they are, for the next attempt)
                data_prefix, generation_now, drawn, last_us, off, frz = fast
                number, taking = drawn + 1, False
                record_id = self._uuid(number)
                created_us = max(_clock(off, frz).now_us(self._real_us()), last_us)
                given: Any = f"{created_us}|{off.decode()}|{frz.decode()}"
            else:
                out = self._run("ID_COUNTER", sandbox, field, 1 if taking else 0, pinned=generation)
                generation_now, number, data_prefix = int(out[0]), int(out[1] or 0), out[2]
                drawn = number
                if generation is not None and generation != generation_now:
                    raise StaleGeneration(f"sandbox '{sandbox}' was reset since this operation began")
                record_id = self._uuid(number) if taking else str(number + 1)
                # the creation instant, read with the counter: the commit refuses it (CONFLICT, read
                # again) if a newer record was created meanwhile, so instants still follow ``seq``
                created_us = _clock(out[3], out[4]).now_us(self._real_us())
                if out[5] is not None:
                    created_us = max(created_us, int(out[5]))
                given = created_us
            new = build(record_id, created_us)
            count = 1
            if with_ is not None:        # read in the epoch just read; the commit compares its version
                (other_kind, other_id), fn = with_
                other_key = data_prefix + f"rec:{other_kind}:{other_id}".encode()
                if not others:                # what this process's last commit of it wrote, or a read
                    others = self._others.get(other_key) or self.command(
                        lambda client: client.hmget(other_key, "v", "seq", "cus", "ver", "ix"))
                other = self._record(other_kind, other_id, others)
                new, replacement = fn(new, other)
            # a UUID whose number was just taken: no record can hold it (the commit does not look)
            item = self._item(sandbox, kind, record_id, "-" if taking or fast is not None else 0, new, data_prefix)
            if with_ is not None and replacement is not None:
                second = self._item(sandbox, other_kind, other_id, other.version if other is not None else 0,
                                    replacement, data_prefix)
                item, replaced, count = item + second, second[3], 2
            try:
                out = self._commit(sandbox, generation, generation_now, field, "" if taking else drawn, count,
                                   item, given)
            except _Conflict as conflict:
                if ids == "uuid":
                    answered[0] = conflict.state
                if with_ is not None:
                    self._others.pop(other_key, None)
                raise
            if with_ is not None:         # the other record as it is now, for this process's next create
                self._remember_other(other_key, others if replacement is None else [replaced, *out[4:8]])
            if ids == "uuid":
                made = self._made.get(sandbox)
                if made is None or made[0] != data_prefix or made[2] < number:
                    self._made[sandbox] = (data_prefix, generation_now, number, int(out[1]))
            return Record(kind, record_id, int(out[0]), int(out[1]), int(out[2]), new.value,
                          resolve(new.indexes, int(out[1])))
        return self._retry(attempt)

    def _remember_other(self, key: bytes, fields: list) -> None:
        """Keep a record a create just read or wrote as its other record (a bot's lane): the next
        create with it assumes it unchanged, and its commit compares the version (on ``CONFLICT``
        it answers the record as it is)."""
        if len(self._others) >= 4096:
            self._others.clear()
        self._others[key] = fields

    def _guess(self, sandbox: str, generation: int | None) -> tuple | None:
        """What a create may assume without reading (see ``create``), or None: the sandbox's
        epoch, generation and clock from this process's last touch, the number of the last UUID
        and the newest creation instant from its last create there or its last touch, whichever
        is newer."""
        made, known, clock = self._made.get(sandbox), self._epochs.get(sandbox), self._clocks.get(sandbox)
        if made is None or known is None or clock is None or (generation is not None and generation != known[1]):
            return None
        data_prefix, generation_then, number, last_us = made
        if data_prefix != f"{self.prefix}d:{sandbox}:{known[0]}:".encode() or generation_then != known[1]:
            return None
        return data_prefix, generation_then, number, last_us, *clock

    def _commit(self, sandbox: str, wanted: int | None, seen: int, field: str, drawn: Any, count: int,
                args: list[Any], created_us: int | str | None = None) -> list:
        try:
            out = self._run("COMMIT", sandbox, seen, self._real_us(), field, drawn, count,
                            "" if created_us is None else created_us, *args, pinned=seen)
        except StaleGeneration:
            if wanted is None:         # a reset since the read: the caller did not pin a generation
                raise _Conflict() from None
            raise
        if out and out[0] == b"CONFLICT":
            raise _Conflict(out[1:])
        return out

    def _item(self, sandbox: str, kind: str, record_id: str, version: int | str, new: NewRecord,
              data_prefix: bytes | None = None) -> list[Any]:
        entries = _ENTRIES.encode([(name, "" if score is None else repr(float(score))) for name, score in new.indexes])
        return [kind, record_id, version, self._encode(new.value, sandbox, data_prefix), entries]

    def _uuid(self, number: int) -> str:
        """The ``number``-th UUID (1-based) of the seeded sequence every fresh sandbox draws from:
        drawn once per process and kept (about 90 bytes an id)."""
        with self._uuid_lock:
            while len(self._uuids) < number:
                self._uuids.append(str(uuid.UUID(int=self._uuid_generator.getrandbits(128), version=4)))
            return self._uuids[number - 1]

    def update_many(self, sandbox: str, keys: Sequence[tuple[str, str]],
                    fn: Callable[[tuple[Record | None, ...]], Sequence[NewRecord | None]], *,
                    generation: int | None = None) -> tuple[Record | None, ...]:
        keys = tuple(keys)

        def attempt() -> tuple[Record | None, ...]:
            generation_now, current = self._get_many(sandbox, keys)
            if generation is not None and generation != generation_now:
                raise StaleGeneration(f"sandbox '{sandbox}' was reset since this operation began")
            replacements = tuple(fn(tuple(current)))
            if len(replacements) != len(keys):
                raise ValueError("update_many: give one replacement (or None) per key")
            args: list[Any] = []
            changed = []
            for (kind, record_id), old, new in zip(keys, current, replacements):
                if new is not None:
                    args += self._item(sandbox, kind, record_id, old.version if old is not None else 0, new)
                    changed.append(((kind, record_id), old, new))
            if not changed:
                return tuple(current)
            out = self._commit(sandbox, generation, generation_now, "", "", len(changed), args)
            made = {}
            for position, (key, old, new) in enumerate(changed):
                seq, cus, version = out[4 * position:4 * position + 3]
                made[key] = Record(key[0], key[1], int(seq), int(cus), int(version), new.value,
                                   resolve(new.indexes, int(cus)))     # as the script stored them (create_missing)
            return tuple(made.get(key, old) for key, old in zip(keys, current))
        return self._retry(attempt)

    def create_missing(self, sandbox: str, items: Sequence[tuple[str, str, NewRecord]], *,
                       generation: int | None = None) -> tuple[Record | None, ...]:
        """One ``COMMIT`` (each record created if it does not exist: version ``?``), no read first."""
        if not items:
            return ()
        args: list[Any] = []
        for kind, record_id, new in items:
            args += self._item(sandbox, kind, record_id, "?", new)
        out = self._commit(sandbox, generation, "" if generation is None else generation, "", "", len(items), args)
        made: list[Record | None] = []
        for position, (kind, record_id, new) in enumerate(items):
            seq, cus = int(out[4 * position]), int(out[4 * position + 1])
            # the entries as the script stored them (its '%.17g' of the same division reads back
            # the same float): computed, not parsed (parsing them was 5 % of a Redis worker's time)
            made.append(Record(kind, record_id, seq, cus, 1, new.value, resolve(new.indexes, cus)) if seq else None)
        return tuple(made)


class Turns:
    """Threads of one process that compare-and-set the same other record (a bot's lane) take
    turns, so they never make each other's commits lose. One lock per key, only while a thread
    uses or waits for it (unrelated keys never wait for each other); a thread holds at most one
    turn: a create nested in another one's ``build`` or ``fn`` runs without a turn (optimistic, as
    across processes), so no two threads can wait for each other in a cycle."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[Any, list] = {}          # key -> [its lock, threads using or waiting for it]
        self._mine = threading.local()

    @contextmanager
    def turn(self, key: Any) -> Iterator[None]:
        if getattr(self._mine, "holding", False):
            yield
            return
        with self._lock:
            entry = self._keys.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                self._mine.holding = True
                try:
                    yield
                finally:
                    self._mine.holding = False
        finally:
            with self._lock:
                entry[1] -= 1
                if not entry[1]:
                    del self._keys[key]


def _frz(clock: ClockState) -> str:
    return "" if clock.frozen_at_us is None else str(clock.frozen_at_us)


def _clock(offset: bytes, frozen: bytes) -> ClockState:
    return ClockState(int(offset), int(frozen) if frozen else None)


def _indexes(text: bytes | str | None) -> tuple[tuple[str, float], ...]:
    if not text:
        return ()
    return tuple((name, float(score)) for name, score in json.loads(text))
