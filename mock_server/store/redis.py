"""The Redis store (``--store redis://HOST:PORT/DB``): the store interface shared by processes and hosts.

This module has the plumbing (connections, scripts, the per-process sandbox caches);
``redis_sandboxes.py`` the sandboxes and their clocks; ``redis_records.py`` the record writes
(``create``, ``update_many``), ``redis_indexes.py`` the record reads (``get``, ``page``, ``scan``)
and ``trim``; ``redis_primitives.py`` the slot ledgers, logs, counters, maps and change
notification; ``redis_blobs.py`` the uploaded CSVs.

Every write is one Lua script (``redis_lua*.py``; ``redis_lua.py`` documents the key layout), so it is
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

import random
import threading
import time
from typing import Any, Callable

import redis as redis_client
from redis.backoff import NoBackoff
from redis.retry import Retry

from . import codec, redis_lua, redis_lua_primitives, redis_lua_records
from .redis_blobs import BlobCache
from .base import ClockState, SandboxLimit, SingleUpdate, StaleGeneration, StoreLayoutError, T
from .redis_indexes import RedisIndexes
from .redis_primitives import RedisPrimitives, StoreUnavailable, _Conflict, _NoSandbox
from .redis_records import NO_RECORD_US, RedisRecords, Turns, _frz
from .redis_sandboxes import RedisSandboxes, _fields

__all__ = ["RedisStore", "StoreUnavailable"]

DEFAULT_PREFIX = "bulkmock:"
# The version of the key layout (``redis_lua.py``), kept under ``P layout``: a process refuses keys of
# another layout (an earlier version's Redis, whose sandbox hashes lack the index sizes this one's
# touch relies on) instead of misreading them. Bump it whenever the layout changes.
LAYOUT = "2026.12"
CACHED_SANDBOXES = 4096   # sandbox names whose epoch, clock and counters a process keeps at most
USE_GRANULARITY = 1.0     # real seconds between two recordings of a sandbox's use by one process
_SCRIPTS = {name: getattr(module, name) for module in (redis_lua, redis_lua_records, redis_lua_primitives)
            for name in dir(module) if name.isupper() and name not in ("PRELUDE", "INFO_BODY", "RANGE_HEAD")}


class RedisStore(RedisSandboxes, RedisRecords, RedisIndexes, RedisPrimitives, SingleUpdate):
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
        self._scripts = {name: self.redis.register_script(script) for name, script in _SCRIPTS.items()}
        self._mine = threading.local()     # this thread's client (``_client``)
        self._layout_ok = False              # ``P layout`` checked (``_check_layout``), once per store
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
    def _client(self) -> redis_client.Redis:
        """This thread's client: its own connection from the pool, kept (a command then takes
        and gives back nothing: the pool's bookkeeping was 8 % of a worker's time on Redis)."""
        client = getattr(self._mine, "client", None)
        if client is None:
            client = self._mine.client = self.redis.client()
        if not self._layout_ok:
            self._check_layout(client)
        return client

    def _check_layout(self, client: redis_client.Redis) -> None:
        """Before this store's first command: the keys under the prefix are of this version's
        layout (an empty prefix gets the mark), else :class:`StoreLayoutError` for every operation."""
        try:
            mark = self._scripts["LAYOUT_CHECK"](args=[self.prefix, "", LAYOUT], client=client)
        except redis_client.RedisError as exc:
            raise StoreUnavailable(f"Redis at {self.url} is unreachable: {exc}") from exc
        mark = mark.decode() if isinstance(mark, bytes) else str(mark)
        if mark != LAYOUT:
            written = f"key layout {mark}" if mark else "an earlier version of the mock"
            raise StoreLayoutError(
                f"the Redis keys under prefix {self.prefix!r} were written by {written}; this version uses key "
                f"layout {LAYOUT} and will not misread them. Empty that database (redis-cli -n DB FLUSHDB) "
                f"or give this version another prefix (store.prefix in --config)")
        self._layout_ok = True

    def _call(self, script: str, sandbox: str, *args: Any) -> Any:
        try:
            return self._scripts[script](args=[self.prefix, sandbox, *args], client=self._client())
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

    def _run(self, script: str, sandbox: str, *args: Any, pinned: int | None = None) -> Any:
        """``_call`` of a write, creating the sandbox first if it does not exist. ``pinned``: the
        generation the write expects; a sandbox that does not exist cannot have one but 0, so the
        write then raises :class:`StaleGeneration` and creates nothing."""
        try:
            return self._call(script, sandbox, *args)
        except _NoSandbox:
            if pinned:
                raise StaleGeneration(f"sandbox '{sandbox}' is gone (expected generation {pinned})") from None
            self._ensure(sandbox)
            return self._call(script, sandbox, *args)

    def _read(self, script: str, sandbox: str, absent: Any, *args: Any) -> Any:
        """``_call`` of a read: ``absent`` (what a fresh sandbox answers) when the sandbox does not
        exist, which stays so (a read never creates a sandbox; no extra round trip)."""
        try:
            return self._call(script, sandbox, *args)
        except _NoSandbox:
            return absent

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
        if sandbox not in self._epochs and len(self._epochs) >= CACHED_SANDBOXES:
            self._forget_sandboxes()
        self._epochs[sandbox] = (epoch, generation)
        self._clocks[sandbox] = (meta["off"], meta.get("frz") or b"")
        data_prefix = f"{self.prefix}d:{sandbox}:{epoch}:".encode()
        number = int(meta.get("n:uuid") or 0)
        made = self._made.get(sandbox)
        if made is None or made[0] != data_prefix or made[1] != generation or made[2] < number:
            newest = meta.get("n:cus")
            self._made[sandbox] = (data_prefix, generation, number, int(newest) if newest else NO_RECORD_US)
        return meta

    def _forget_sandboxes(self, *names: str) -> None:
        """Drop what this process keeps about these sandboxes (none named: about every sandbox).
        Only guesses and shortcuts: a commit still compares what it assumed, and a touch reads them
        again. Called on a drop and when more than ``CACHED_SANDBOXES`` names were seen (sandboxes
        dropped by other processes or expired would otherwise stay here for ever)."""
        for cache in (self._used, self._epochs, self._clocks, self._made):
            if names:
                for name in names:
                    cache.pop(name, None)
            else:
                cache.clear()

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
            return fn(self._client())
        except redis_client.RedisError as exc:
            raise StoreUnavailable(f"Redis at {self.url} is unreachable: {exc}") from exc

    def _decode(self, data: bytes) -> Any:
        return codec.decode(data, blobs=self.blobs.source)


    def close(self) -> None:
        client = getattr(self._mine, "client", None)
        if client is not None:
            client.close()
        self.redis.close()                 # its pool too: every thread's connection
