"""The Redis store's slot ledgers, logs, counters, maps and change notification (a mixin of
:class:`~mock_server.store.redis.RedisStore`, which has the plumbing: ``_run``, ``_retry``, the codec)."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, Callable, Iterable, Iterator, Mapping

import redis as redis_client

from .base import Lease, LogPage, StaleGeneration, StoreUnavailable, T

FEED_LISTENS = 60.0     # real seconds a change feed says it listens for; it says so again halfway


class _Conflict(Exception):
    """A compare-and-set lost; ``state``: what the script read instead, when it says (``COMMIT``)."""

    def __init__(self, state: list | None = None) -> None:
        super().__init__()
        self.state = state


class _NoSandbox(Exception):
    pass


class RedisPrimitives:
    """Everything of the store interface that is not sandboxes, clocks or records."""

    # -- slot ledgers --------------------------------------------------------------------------
    def _ledger(self, sandbox: str, name: str) -> tuple[int, int, dict[int, int]]:
        out = self._read("LEDGER", sandbox, [0], name)
        values, version = {}, 0
        for i in range(1, len(out), 2):
            key = out[i].decode()
            if key == "_v":
                version = int(out[i + 1])
            else:
                values[int(key)] = int(out[i + 1])
        return int(out[0]), version, dict(sorted(values.items()))

    def ledger(self, sandbox: str, name: str) -> dict[int, int]:
        return self._ledger(sandbox, name)[2]

    def reserve(self, sandbox: str, name: str, plan: Callable[[Mapping[int, int]], tuple[T, Mapping[int, int]]], *,
                generation: int | None = None) -> T:
        def attempt() -> T:
            generation_now, version, values = self._ledger(sandbox, name)
            if generation is not None and generation != generation_now:
                raise StaleGeneration(f"sandbox '{sandbox}' was reset since this operation began")
            result, deltas = plan(MappingProxyType(values))     # read-only: writing raises TypeError
            pairs = [part for slot, amount in deltas.items() if amount for part in (int(slot), int(amount))]
            if pairs:
                try:
                    self._run("RESERVE", sandbox, generation_now, name, version, *pairs, pinned=generation_now)
                except StaleGeneration:
                    if generation is None:     # reset or dropped since the read: read again
                        raise _Conflict() from None
                    raise
            return result
        return self._retry(attempt)

    def release(self, sandbox: str, name: str, amounts: Mapping[int, int], *, generation: int | None = None) -> None:
        self.reserve(sandbox, name, lambda view: (None, {slot: -amount for slot, amount in amounts.items()}),
                     generation=generation)

    # -- logs --------------------------------------------------------------------------------
    def append(self, sandbox: str, log: str, value: Any, *, max_entries: int, max_bytes: int | None = None) -> int:
        return int(self._run("APPEND", sandbox, log, self._encode(value, sandbox), max_entries, max_bytes or 0,
                             repr(self.time_source())))

    def wait_log(self, sandbox: str, log: str, after: int, timeout: float) -> int:
        """Subscribe to the log's channel and the sandbox's version channel, then tell appends to
        publish until the deadline (``LOG_WAIT``: appends nobody waits for publish nothing)."""
        deadline = time.monotonic() + max(0.0, timeout)
        channel = f"{self.prefix}log:{sandbox}:{log}".encode()
        with self._subscribed(channel, f"{self.prefix}ver:{sandbox}") as pubsub:
            last = int(self._call_read("LOG_WAIT", sandbox, log, repr(self.time_source() + max(0.0, timeout))))
            while last <= after:
                message = _message(pubsub, deadline)
                if message is False:
                    break
                if message is not None:
                    if message["channel"] != channel:          # reset, drop: the caller looks again
                        return int(self._call_read("LOG_WAIT", sandbox, log, "0"))
                    last = max(last, int(message["data"]))     # a log's channel: a plain number
            return last

    @contextmanager
    def _subscribed(self, *channels: Any) -> Iterator[Any]:
        """A pub/sub connection subscribed to ``channels``, closed afterwards (Redis errors become
        :class:`StoreUnavailable`)."""
        try:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(*channels)
                yield pubsub
            finally:
                pubsub.close()
        except redis_client.RedisError as exc:
            raise StoreUnavailable(f"Redis at {self.url} is unreachable: {exc}") from exc

    def read_log(self, sandbox: str, log: str, *, after: int = 0, limit: int = 100) -> LogPage:
        out = self._call_read("READ_LOG", sandbox, log, max(0, after), max(0, limit))
        last, dropped, first = int(out[0]), int(out[1]), int(out[2])
        entries = tuple((first + i, self._decode(value)) for i, value in enumerate(out[5:]))
        return LogPage(entries, last, dropped, int(out[3]), int(out[4]))

    def clear_log(self, sandbox: str, log: str) -> None:
        self._call_read("CLEAR_LOG", sandbox, log)

    def _call_read(self, script: str, sandbox: str, *args: Any) -> Any:
        """A script that answers "empty" itself in a sandbox that does not exist (never ``NOSANDBOX``)."""
        return self._call(script, sandbox, *args)

    # -- counters ----------------------------------------------------------------------------
    def incr(self, sandbox: str, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        return int(self._run("INCR", sandbox, key, int(amount), repr(self.time_source()), "" if ttl is None else repr(float(ttl))))

    def counter(self, sandbox: str, key: str) -> int:
        return int(self._call_read("COUNTER", sandbox, key, repr(self.time_source())))

    # -- leases ------------------------------------------------------------------------------
    def lease(self, sandbox: str, key: str, owner: str, seconds: float) -> Lease:
        now, seconds = self.time_source(), max(0.0, float(seconds))
        try:
            holder, until = self._call("LEASE", sandbox, key, owner, repr(now), repr(seconds))
        except _NoSandbox:             # a lease never creates a sandbox: a dropped one stays dropped
            return Lease(owner if seconds == 0 else "", now)
        return Lease(holder.decode(), float(until))

    # -- maps --------------------------------------------------------------------------------
    def put(self, sandbox: str, name: str, key: str, value: Any) -> None:
        self.update_value(sandbox, name, key, lambda _: value)

    def get_value(self, sandbox: str, name: str, key: str) -> Any | None:
        out = self._call_read("MAP_GET", sandbox, name, key)
        return None if out[1] is None else self._decode(out[1])

    def update_value(self, sandbox: str, name: str, key: str, fn: Callable[[Any | None], Any | None]) -> Any | None:
        def attempt() -> Any | None:
            raw = self._call_read("MAP_GET", sandbox, name, key)[1]
            current = None if raw is None else self._decode(raw)
            new = fn(current)
            if new is None:
                return current
            self._run("MAP_SET", sandbox, name, key, 0 if raw is None else 1, raw or b"", self._encode(new, sandbox))
            return new
        return self._retry(attempt)

    def delete(self, sandbox: str, name: str, key: str) -> bool:
        return bool(self._call_read("MAP_DELETE", sandbox, name, key))

    def items(self, sandbox: str, name: str) -> list[tuple[str, Any]]:
        out = self._call_read("MAP_ITEMS", sandbox, name)
        return [(out[i].decode(), self._decode(out[i + 1])) for i in range(0, len(out), 2) if out[i + 1] is not None]

    # -- change notification ---------------------------------------------------------------------
    def version(self, sandbox: str) -> int:
        return int(self._read("CLOCK", sandbox, [b"", b"", 0])[2])

    def wait(self, sandbox: str, after: int, timeout: float) -> int:
        deadline = time.monotonic() + max(0.0, timeout)
        with self._subscribed(f"{self.prefix}ver:{sandbox}") as pubsub:
            # read after subscribing, and commits publish from then on: no change is missed
            # (a sandbox that does not exist: 0, and the sandbox created meanwhile publishes too)
            version = int(self._call("WAIT", sandbox, repr(self.time_source() + max(0.0, timeout)),
                                     int(min(max(0.0, timeout), 86_400)) + 2))
            while version <= after:
                message = _message(pubsub, deadline)
                if message is False:
                    break
                if message is not None:
                    version = max(version, int(message["data"].rstrip(b"r")))
            return version

    def changes(self, watch: Iterable[str] | None = None) -> "RedisChangeFeed":
        return RedisChangeFeed(self, watch)


def _message(pubsub, deadline: float) -> dict | None | bool:
    """The next published message before the ``deadline`` (``time.monotonic``), None for
    anything else that arrived, False when the deadline passed."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return False
    message = pubsub.get_message(timeout=remaining)
    return message if message is not None and message["type"] == "message" else None


class RedisChangeFeed:
    """``Store.changes`` on Redis: one pattern subscription to every sandbox's version channel
    (``P ver:*``; messages are buffered on its connection between two ``wait`` calls), then the
    ``LISTEN`` script, which tells the commits of the watched sandboxes (``watch``; every sandbox,
    new ones too, until it is called) to publish for ``FEED_LISTENS`` real seconds; the feed says
    it again halfway, and at once for a sandbox it starts to watch. Changes that are not commits of
    records always publish. A commit's message ends in ``r``: one in a sandbox the feed does not
    watch (published because another process listens there) is skipped. If the connection is
    lost, redis-py subscribes again on the next ``wait``; changes published meanwhile are not
    seen, so a caller keeps a long fallback timeout."""

    def __init__(self, store, watch: Iterable[str] | None = None) -> None:
        self.url = store.url
        self._store = store
        self._renew_at = 0.0
        self._watching: frozenset[str] | None = None if watch is None else frozenset(watch)   # None: every sandbox
        self._listened: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self._channel = len(store.prefix + "ver:")
        pattern = store.prefix.replace("\\", "\\\\")
        for special in "*?[]":
            pattern = pattern.replace(special, "\\" + special)
        try:
            self.pubsub = store.redis.pubsub(ignore_subscribe_messages=True)
            self.pubsub.psubscribe(pattern + "ver:*")
        except redis_client.RedisError as exc:
            raise StoreUnavailable(f"Redis at {self.url} is unreachable: {exc}") from exc
        try:
            self._listen()
        except StoreUnavailable:
            self.close()
            raise

    def watch(self, names: Iterable[str] | None) -> None:
        """Report the commits of records of these sandboxes only (None: of every sandbox); every
        other change of any sandbox is reported still. A sandbox newly watched is listened to
        before this returns: read it afterwards and no commit is missed."""
        with self._lock:
            self._watching = None if names is None else frozenset(names)
        self._listen()

    def _listen(self) -> None:
        """Tell the commits of the watched sandboxes to publish (after subscribing: none is missed)."""
        with self._lock:
            now = self._store.time_source()
            watching = self._watching
            renew = now >= self._renew_at
            if watching is None:
                if renew or self._listened is not None:
                    self._store._call("LISTEN", "", repr(now + FEED_LISTENS), 1)
                    self._renew_at, self._listened = now + FEED_LISTENS / 2, None
                return
            names = watching if renew or self._listened is None else watching - self._listened
            if names:
                self._store._call("LISTEN", "", repr(now + FEED_LISTENS), 0, *sorted(names))
            if renew or self._listened is None:
                self._renew_at = now + FEED_LISTENS / 2
            self._listened = watching

    def wait(self, timeout: float) -> set[str]:
        deadline = time.monotonic() + max(0.0, timeout)
        names: set[str] = set()
        try:
            while True:
                self._listen()
                remaining = 0.0 if names else deadline - time.monotonic()
                message = self.pubsub.get_message(timeout=min(max(0.0, remaining), FEED_LISTENS / 4))
                if message is None:
                    if names or time.monotonic() >= deadline:
                        return names
                    continue
                if message["type"] == "pmessage":
                    name = message["channel"][self._channel:].decode()
                    watching = self._watching
                    if watching is None or name in watching or not message["data"].endswith(b"r"):
                        names.add(name)
        except redis_client.RedisError as exc:
            raise StoreUnavailable(f"Redis at {self.url} is unreachable: {exc}") from exc

    def close(self) -> None:
        try:
            self.pubsub.close()
        except redis_client.RedisError:
            pass
