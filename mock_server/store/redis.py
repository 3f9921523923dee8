"""The Redis store (``--store redis://HOST:PORT/DB``): the store interface shared by processes and hosts.

This module has the plumbing, sandboxes, clocks and records; ``redis_primitives.py`` the slot
ledgers, logs, counters, maps and change notification; ``redis_blobs.py`` the uploaded CSVs.

Every write is one Lua script (``redis_lua.py``, which also documents the key layout), so it is
atomic across every process that uses the same Redis and prefix. Operations that take a Python
function (``create``'s ``build``, ``update``, ``reserve``, ``update_value``, ``update_clock``) are
optimistic: read, call the function, then a script applies the result only if what was read is
unchanged (``CONFLICT`` otherwise, and the function runs again), exactly as the interface allows.

Ids: UUIDs come from ``random.Random("ids:SEED")`` like the memory store; a sandbox keeps only the
count of ids taken, and each process replays the generator up to it (one draw per id, cached), so
sequential requests get the same ids as from one memory store, in every process.

Big values: a :class:`~mock_server.store.base.Blob` (a campaign's CSV, a field of a stored
dataclass) is written once as an immutable blob (``P blob:ID``) and the record keeps a reference;
reading the record gives the blob's type over a source that fetches the bytes on first use and
keeps them in a bounded per-store cache. So listing or updating a million-recipient campaign moves a few hundred bytes.

Change notification: every change publishes the sandbox's new version on ``P ver:NAME`` (a commit
of records only while someone listens: ``redis_lua.py``); ``wait`` subscribes, says until when it
listens while it re-reads the version, and sleeps on the subscription (no polling); a change feed
says until when it listens to every sandbox, and says it again before that passes.

Redis unreachable: operations raise :class:`StoreUnavailable` (a ``StoreError``); the app answers
503 in the provider's envelope and the next request tries again (redis-py reconnects).
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

import redis as redis_client
from redis.backoff import NoBackoff
from redis.retry import Retry

from . import codec, redis_lua
from .redis_blobs import BlobCache
from .base import (ClockState, IdStyle, NewRecord, Page, Record, SandboxInfo, SandboxLimit, SingleUpdate, StaleGeneration,
                   T, With)
from .redis_primitives import RedisPrimitives, StoreUnavailable, _Conflict, _NoSandbox

__all__ = ["RedisStore", "StoreUnavailable"]

DEFAULT_PREFIX = "bulkmock:"
USE_GRANULARITY = 1.0     # real seconds between two recordings of a sandbox's use by one process
_BATCH = 200
_NO_RECORD_US = -(1 << 62)


class RedisStore(RedisPrimitives, SingleUpdate):
    """The store on one Redis server; see the module docstring."""

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX, seed: int = 0, clock_start_us: int | None = None,
                 clock_frozen: bool = False, time_source: Callable[[], float] = time.time,
                 blob_cache_bytes: int = 256 * 1024 * 1024, socket_timeout: float = 5.0,
                 max_sandboxes: int | None = None) -> None:
        self.url, self.prefix, self.seed = url, prefix, seed
        self.max_sandboxes = max_sandboxes
        self.time_source = time_source
        self._clock_start_us, self._clock_frozen = clock_start_us, clock_frozen
        # One quick retry: after a Redis restart a pooled connection fails once, then reconnects.
        self.redis = redis_client.Redis.from_url(url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout,
                                                 health_check_interval=30, retry=Retry(NoBackoff(), 1))
        self._scripts = {name: self.redis.register_script(getattr(redis_lua, name))
                         for name in ("TOUCH", "WAIT", "LISTEN", "CLOCK", "ID_COUNTER", "DATA_PREFIX", "INFO", "RESET", "DROP", "CLOCK_SET", "GET", "COMMIT", "TRIM", "RANGE", "PAGE", "LEDGER",
                                      "RESERVE", "APPEND", "LOG_WAIT", "READ_LOG", "CLEAR_LOG", "INCR", "COUNTER", "LEASE", "MAP_GET",
                                      "MAP_SET", "MAP_DELETE", "MAP_ITEMS")}
        self._used: dict[str, float] = {}   # sandbox -> real time this process last recorded its use
        self._epochs: dict[str, tuple[str, int]] = {}   # sandbox -> (epoch, generation) at this process's last touch or info
        self._clocks: dict[str, tuple[bytes, bytes]] = {}   # sandbox -> its clock (off, frz) then
        # sandbox -> the newest UUID create this process knows of there (its own, or the counters a touch read)
        self._made: dict[str, tuple[bytes, int, int, int]] = {}
        self._others: dict[bytes, list] = {}     # record key -> its fields as this process last wrote or read them
        self._turns = Turns()      # creates that update the same other record take turns within a process
        self._uuid_generator = random.Random(f"ids:{seed}")
        self._uuids: list[str] = []
        self._uuid_lock = threading.Lock()
        self.blobs = BlobCache(self, blob_cache_bytes)

    def __repr__(self) -> str:
        return f"RedisStore({self.url!r}, prefix={self.prefix!r})"

    # -- plumbing ------------------------------------------------------------------------------
    def _call(self, script: str, sandbox: str, *args: Any) -> Any:
        try:
            return self._scripts[script](args=[self.prefix, sandbox, *args])
        except redis_client.ResponseError as exc:
            text = str(exc)
            if "NOSANDBOX" in text:
                raise _NoSandbox() from None
            if "CONFLICT" in text:
                raise _Conflict() from None
            if "TOOMANY" in text:
                raise SandboxLimit(sandbox, self.max_sandboxes or 0) from None
            if "STALE" in text:
                raise StaleGeneration(f"sandbox '{sandbox}' was reset since this operation began") from None
            raise StoreUnavailable(f"Redis refused an operation: {text}") from exc
        except redis_client.RedisError as exc:
            raise StoreUnavailable(f"Redis at {self.url} is unreachable: {exc}") from exc

    def _run(self, script: str, sandbox: str, *args: Any) -> Any:
        """``_call``, creating the sandbox first if it does not exist."""
        try:
            return self._call(script, sandbox, *args)
        except _NoSandbox:
            self._ensure(sandbox)
            return self._call(script, sandbox, *args)

    def _ensure(self, sandbox: str, *, record_use: bool = True) -> tuple[dict[str, bytes], float]:
        """Create the sandbox if needed and record its use (``record_use``: always; else only when
        this process has not recorded it for ``USE_GRANULARITY`` seconds): the sandbox hash's
        fields and the real time of the last recorded use. An existing sandbox whose use this
        process recorded lately costs one command (``HGETALL``), not a script."""
        real = self.time_source()
        last = self._used.get(sandbox)
        record = record_use or last is None or real - last >= USE_GRANULARITY
        if not record:
            meta = self.command(lambda client: client.hgetall(self.prefix + "s:" + sandbox))
            if meta:
                return self._learn(sandbox, {key.decode(): value for key, value in meta.items()}), last
        clock = self._initial_clock()
        limit = "" if self.max_sandboxes is None else self.max_sandboxes
        out = self._call("TOUCH", sandbox, repr(real) if record else "", repr(real), clock.offset_us, _frz(clock), limit)
        if out[0]:
            last = self._used[sandbox] = float(out[0])
        return self._learn(sandbox, _fields(out[1:])), real if last is None else last

    def _learn(self, sandbox: str, meta: dict[str, bytes]) -> dict[str, bytes]:
        """Keep the sandbox's epoch (where its data is now) for ``get``, its clock, and its UUID
        counter and newest creation instant for the next create's guess (``_guess``)."""
        epoch, generation = meta["ep"].decode(), int(meta["gen"])
        self._epochs[sandbox] = (epoch, generation)
        self._clocks[sandbox] = (meta["off"], meta.get("frz") or b"")
        data_prefix = f"{self.prefix}d:{sandbox}:{epoch}:".encode()
        number = int(meta.get("n:uuid") or 0)
        made = self._made.get(sandbox)
        if made is None or made[0] != data_prefix or made[1] != generation or made[2] < number:
            newest = meta.get("n:cus")
            self._made[sandbox] = (data_prefix, generation, number, int(newest) if newest else _NO_RECORD_US)
        return meta

    def _real_us(self) -> int:
        return round(self.time_source() * 1_000_000)

    def _initial_clock(self) -> ClockState:
        real = self._real_us()
        start = real if self._clock_start_us is None else self._clock_start_us
        return ClockState(offset_us=start - real, frozen_at_us=start if self._clock_frozen else None)

    def _retry(self, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` again while its commit loses to another writer. No backoff sleep (no sleep
        may run in a request): each commit is one atomic script, so every round has a winner, a
        losing commit answers what it read (the next attempt reads nothing) and the round trip to
        Redis paces the retries."""
        for _ in range(10_000):
            try:
                return attempt()
            except _Conflict:
                continue
        raise StoreUnavailable("too many conflicting writers on one record")

    def _encode(self, value: Any, sandbox: str | None = None, data_prefix: bytes | None = None) -> bytes:
        if sandbox is not None and self.blobs.holds_blobs(value):
            value = self.blobs.externalize(value, data_prefix or self._run("DATA_PREFIX", sandbox))
        return codec.encode(value)

    def command(self, fn: Callable[[redis_client.Redis], T]) -> T:
        """Run ``fn(client)``; a Redis failure becomes :class:`StoreUnavailable`."""
        try:
            return fn(self.redis)
        except redis_client.RedisError as exc:
            raise StoreUnavailable(f"Redis at {self.url} is unreachable: {exc}") from exc

    def _decode(self, data: bytes) -> Any:
        return codec.decode(data, blobs=self.blobs.source)

    def _record(self, kind: str, record_id: str, fields: Sequence[Any]) -> Record | None:
        value, seq, cus, version, indexes = fields
        if value is None:
            return None
        return Record(kind, record_id, int(seq), int(cus), int(version), self._decode(value), _indexes(indexes))

    # -- sandboxes ---------------------------------------------------------------------------
    def touch(self, sandbox: str) -> SandboxInfo:
        """One command (``HGETALL`` of the sandbox hash) when this process recorded the use less
        than ``USE_GRANULARITY`` ago, else one script of two or three (idle expiry counts in
        minutes); no record counts."""
        meta, used = self._ensure(sandbox, record_use=False)
        return _info(sandbox, meta, used, {})

    def info(self, sandbox: str) -> SandboxInfo | None:
        try:
            out = self._call("INFO", sandbox)
        except _NoSandbox:
            return None
        size = int(out[1])
        meta = self._learn(sandbox, _fields(out[2:2 + size]))
        counts = {out[i].decode(): int(out[i + 1]) for i in range(2 + size, len(out), 2)}
        return _info(sandbox, meta, float(out[0]) if out[0] else float(meta["created"]), counts)

    def sandboxes(self) -> list[SandboxInfo]:
        try:
            names = sorted(name.decode() for name in self.redis.hkeys(self.prefix + "sandboxes"))
        except redis_client.RedisError as exc:
            raise StoreUnavailable(f"Redis at {self.url} is unreachable: {exc}") from exc
        return [info for info in map(self.info, names) if info is not None]

    def drop(self, sandbox: str) -> bool:
        self._used.pop(sandbox, None)
        self._epochs.pop(sandbox, None)
        self._made.pop(sandbox, None)
        old = self._call("DROP", sandbox, "")
        if not old:
            return False
        self._unlink(old)
        return True

    def expire_idle(self, ttl: float) -> list[str]:
        limit = self.time_source() - ttl
        try:
            idle = sorted(name.decode() for name in self.redis.zrangebyscore(self.prefix + "used", "-inf", f"({limit!r}"))
        except redis_client.RedisError as exc:
            raise StoreUnavailable(f"Redis at {self.url} is unreachable: {exc}") from exc
        dropped = []
        for name in idle:
            old = self._call("DROP", name, repr(limit))
            if old:
                self._used.pop(name, None)
                self._epochs.pop(name, None)
                self._made.pop(name, None)
                self._unlink(old)
                dropped.append(name)
        return dropped

    def reset(self, sandbox: str, *, rewind_clock: bool = False) -> SandboxInfo:
        clock = self._initial_clock()
        old = self._run("RESET", sandbox, 1 if rewind_clock else 0, clock.offset_us, _frz(clock))
        self._unlink(old)
        return self.touch(sandbox)

    def _unlink(self, data_prefix: bytes) -> None:
        """Remove an old epoch's keys (nothing reads them any more): a background clean-up."""
        pattern = data_prefix.replace(b"*", b"\\*").replace(b"?", b"\\?").replace(b"[", b"\\[") + b"*"
        try:
            batch = []
            for key in self.redis.scan_iter(match=pattern, count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    self.redis.unlink(*batch)
                    batch.clear()
            if batch:
                self.redis.unlink(*batch)
        except redis_client.RedisError:
            pass        # unreachable keys of a dead epoch: harmless, the next reset or drop retries nothing

    # -- clock -------------------------------------------------------------------------------
    def clock(self, sandbox: str) -> ClockState:
        """The sandbox's clock (a request reads it once, with ``touch``: ``Sandbox.enter``)."""
        offset, frozen, _ = self._run("CLOCK", sandbox)
        return _clock(offset, frozen)

    def update_clock(self, sandbox: str, fn: Callable[[ClockState], ClockState]) -> ClockState:
        def attempt() -> ClockState:
            offset, frozen, _ = self._run("CLOCK", sandbox)
            current = _clock(offset, frozen)
            new = fn(current)
            self._run("CLOCK_SET", sandbox, current.offset_us, _frz(current), new.offset_us, _frz(new))
            return new
        return self._retry(attempt)

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
                        int(newest) if newest else _NO_RECORD_US, off, frz)
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
                out = self._run("ID_COUNTER", sandbox, field, 1 if taking else 0)
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
            return Record(kind, record_id, int(out[0]), int(out[1]), int(out[2]), new.value, _indexes(out[3]))
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
                            "" if created_us is None else created_us, *args)
        except StaleGeneration:
            if wanted is None:         # a reset since the read: the caller did not pin a generation
                raise _Conflict() from None
            raise
        if out and out[0] == b"CONFLICT":
            raise _Conflict(out[1:])
        return out

    def _item(self, sandbox: str, kind: str, record_id: str, version: int | str, new: NewRecord,
              data_prefix: bytes | None = None) -> list[Any]:
        args: list[Any] = [kind, record_id, version, self._encode(new.value, sandbox, data_prefix), len(new.indexes)]
        for name, score in new.indexes:
            args += [name, "" if score is None else repr(float(score))]
        return args

    def _uuid(self, number: int) -> str:
        """The ``number``-th UUID (1-based) of the seeded sequence every fresh sandbox draws from:
        drawn once per process and kept (about 90 bytes an id)."""
        with self._uuid_lock:
            while len(self._uuids) < number:
                self._uuids.append(str(uuid.UUID(int=self._uuid_generator.getrandbits(128), version=4)))
            return self._uuids[number - 1]

    def get(self, sandbox: str, kind: str, record_id: str) -> Record | None:
        """One command (``HMGET`` of the record's hash) in the epoch this process learned at its
        last touch or info of the sandbox (a request touches first, so it reads the sandbox as it
        found it then, as if it had read at that instant); the script, which reads the epoch, when
        that finds nothing or no epoch is known yet."""
        known = self._epochs.get(sandbox)
        if known is not None:
            epoch = known[0]
            key = f"{self.prefix}d:{sandbox}:{epoch}:rec:{kind}:{record_id}"
            fields = self.command(lambda client: client.hmget(key, "v", "seq", "cus", "ver", "ix"))
            if fields[0] is not None:
                return self._record(kind, record_id, fields)
        out = self._run("GET", sandbox, kind, record_id)
        return self._record(kind, record_id, out[1:6])

    def _get_many(self, sandbox: str, keys: Sequence[tuple[str, str]]) -> tuple[int, list[Record | None]]:
        flat = [part for key in keys for part in key]
        out = self._run("GET", sandbox, *flat)
        records = [self._record(kind, record_id, out[1 + 5 * i:6 + 5 * i]) for i, (kind, record_id) in enumerate(keys)]
        return int(out[0]), records

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
                seq, cus, version, indexes = out[4 * position:4 * position + 4]
                made[key] = Record(key[0], key[1], int(seq), int(cus), int(version), new.value, _indexes(indexes))
            return tuple(made.get(key, old) for key, old in zip(keys, current))
        return self._retry(attempt)

    def trim(self, sandbox: str, index: str, keep: int) -> int:
        return int(self._run("TRIM", sandbox, index, max(0, keep)))

    def _members(self, sandbox: str, index: str, low, high, offset: int, limit: int | None,
                 newest_first: bool, total: bool = True) -> tuple[int, int, list[tuple[str, str]]]:
        out = self._run("RANGE", sandbox, index, "-inf" if low is None else repr(float(low)),
                        "+inf" if high is None else repr(float(high)), max(0, offset),
                        -1 if limit is None else max(0, limit), 1 if newest_first else 0, 1 if total else 0)
        refs = []
        for member in out[2:]:
            _, kind, record_id = member.decode().split("|", 2)
            refs.append((kind, record_id))
        return int(out[0]), int(out[1]), refs

    def page(self, sandbox: str, index: str, *, low: float | None = None, high: float | None = None,
             offset: int = 0, limit: int | None = None, newest_first: bool = True) -> Page:
        if limit is not None and limit <= 0:
            return Page((), self._members(sandbox, index, low, high, 0, 0, newest_first)[1])
        if limit is not None and limit <= _BATCH and offset <= 0:
            found = self._plain_page(sandbox, index, low, high, limit, newest_first)
            if found is not None:
                return found
        if limit is not None and limit <= _BATCH:          # one step: members and records together
            out = self._run("PAGE", sandbox, index, "-inf" if low is None else repr(float(low)),
                            "+inf" if high is None else repr(float(high)), max(0, offset), limit,
                            1 if newest_first else 0)
            records = []
            for at in range(2, len(out), 6):
                _, kind, record_id = out[at].decode().split("|", 2)
                record = self._record(kind, record_id, out[at + 1:at + 6])
                if record is not None:
                    records.append(record)
            return Page(tuple(records), int(out[1]))
        for _ in range(100):
            generation, total, refs = self._members(sandbox, index, low, high, offset, limit, newest_first)
            if not refs:
                return Page((), total)
            records: list[Record] = []
            for start in range(0, len(refs), _BATCH):
                now_generation, found = self._get_many(sandbox, refs[start:start + _BATCH])
                if now_generation != generation:
                    break
                records += [record for record in found if record is not None]
            else:
                return Page(tuple(records), total)
        raise StoreUnavailable("the sandbox kept being reset while a page was read")

    def _plain_page(self, sandbox: str, index: str, low, high, limit: int, newest_first: bool) -> Page | None:
        """A first page that holds the whole range (fewer than ``limit`` members), read without
        the ``PAGE`` script: one plain ``ZRANGEBYSCORE`` in the epoch this process learned at its
        last touch (as ``get``), then, when it found members, their records in one ``GET``
        script (whose generation must be the one of that epoch). An empty range costs that one
        command (a settle's look at an empty queue). None: ask the script."""
        known = self._epochs.get(sandbox)
        if known is None:
            return None
        epoch, generation = known
        key = f"{self.prefix}d:{sandbox}:{epoch}:ix:{index}"
        low_text = "-inf" if low is None else repr(float(low))
        high_text = "+inf" if high is None else repr(float(high))
        if newest_first:
            members = self.command(lambda client: client.zrevrangebyscore(key, high_text, low_text, start=0, num=limit))
        else:
            members = self.command(lambda client: client.zrangebyscore(key, low_text, high_text, start=0, num=limit))
        if not members:
            return Page((), 0)
        if len(members) >= limit:
            return None                                     # the total needs a count: the script
        refs = [tuple(member.decode().split("|", 2)[1:]) for member in members]
        now_generation, found = self._get_many(sandbox, refs)
        if now_generation != generation:
            return None
        records = tuple(record for record in found if record is not None)
        return Page(records, len(records))

    def scan(self, sandbox: str, index: str, *, low: float | None = None, high: float | None = None,
             newest_first: bool = True) -> Iterator[Record]:
        generation, _, refs = self._members(sandbox, index, low, high, 0, None, newest_first, total=False)
        return self._scan(sandbox, generation, refs)

    def _scan(self, sandbox: str, generation: int, refs: list[tuple[str, str]]) -> Iterator[Record]:
        start, size = 0, 1         # batches of 1, 2, 4 ... 200: a reset is noticed soon after it happens
        while start < len(refs):
            now_generation, found = self._get_many(sandbox, refs[start:start + size])
            if now_generation != generation:
                return
            yield from (record for record in found if record is not None)
            start, size = start + size, min(_BATCH, size * 2)

    def close(self) -> None:
        self.redis.close()


# -- helpers ---------------------------------------------------------------------------------------

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


def _fields(flat: Sequence[bytes]) -> dict[str, bytes]:
    """A hash as ``HGETALL`` answers it (field, value, ...) as a dict of text fields."""
    return {flat[i].decode(): flat[i + 1] for i in range(0, len(flat), 2)}


def _info(sandbox: str, meta: dict[str, bytes], used: float, counts: dict[str, int]) -> SandboxInfo:
    maps = {field[3:]: int(value) for field, value in meta.items() if field.startswith("mv:")}
    return SandboxInfo(sandbox, _clock(meta["off"], meta["frz"]), int(meta["gen"]), int(meta["ver"]),
                       float(meta["created"]), used, counts, maps)


def _indexes(text: bytes | str | None) -> tuple[tuple[str, float], ...]:
    if not text:
        return ()
    return tuple((name, float(score)) for name, score in json.loads(text))


