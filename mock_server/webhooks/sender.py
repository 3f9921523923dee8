"""The dispatcher's HTTP side: every attempt of a process on one asyncio event loop.

One loop thread makes all the attempts (``lanes.py``): non-blocking sockets, no thread per attempt
(``http.client`` cost ~100 µs of CPU per request, most of it system calls and GIL hand-offs).
Connections are kept alive, several per receiver (scheme, host and port), and a connection the
receiver closed between two events is reopened once, transparently (that is not a failed
attempt). The most recently used one is taken first, so one left unused for :data:`IDLE_FOR`
seconds is not needed (nothing more is queued for its receiver, or fewer at once): it is closed. Each request goes out in one write: its head is pre-built per subscription
(:meth:`Sender.prepare`: request line, ``Host`` and the fixed headers); only the per-attempt
headers (event id, attempt number, signature), ``Content-Length`` and the body are added.

An attempt is protocol callbacks, not a Task (``exchange.py``): started by :meth:`Sender.start`
with a ``done`` callback, ended by its answer, its connection's loss, its timer or a cancel;
only opening a connection runs as a Task (``connects.py``). The answer is read by a minimal,
strict HTTP/1.1 reader (:class:`Reader`): the status line and
headers (at most :data:`HEAD_LIMIT` bytes), a body framed by ``Content-Length``, chunked, or the
connection's close; interim answers (``100``, ``102 Processing``, ``103 Early Hints``) are skipped:
the attempt's answer is the final one that follows. ``101 Switching Protocols`` is final (the mock
never asks for an upgrade: a failed attempt, its connection dropped). A redirect (3xx) is a failed
attempt like any other non-2xx answer: it is never followed.

``webhooks.timeout`` bounds the WHOLE attempt (CONTRACT §18): connecting, sending, the answer's
headers and at most :data:`BODY_LIMIT` bytes of its body; the rest of a longer body is never read
(the connection is dropped instead). The bound is the attempt's deadline: every attempt has the
same timeout, so the attempts under way wait in the order they started and one loop timer, set for
the oldest, aborts each one's connection when its time is up: a receiver that drips one byte a second never holds an attempt longer.
:meth:`Sender.cancel` (any thread) cuts attempts short the same way (their sandbox was reset,
their subscription deleted).

:meth:`Sender.send` awaits an attempt; :class:`BlockingSender` runs the same code on a private loop, one call at a time (tools, tests).
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import deque
from dataclasses import dataclass
from typing import Callable, Mapping
from urllib.parse import urlsplit

from .connects import CONNECT_PER_RECEIVER, CONNECT_THREADS, Connector  # noqa: F401  (the tests' figures)
from .exchange import EXCERPT, READ_SIZE, Outcome, _Attempt, _Link, body_excerpt, describe  # noqa: F401  (re-exported)

IDLE_FOR = 30.0                   # seconds a kept-alive connection may stay unused before it is closed
_BAD_TARGET = re.compile("[\x00-\x20\x7f]")          # what http.client refuses in a request target too
_BAD_VALUE = re.compile("[\x00\r\n]")


@dataclass(frozen=True)
class Prepared:
    """A subscription's request head, built once: the request line, ``Host`` and fixed headers."""

    key: tuple[str, str, int]       # (scheme, host, port): the receiver
    prefix: bytes


class Sender:
    """POSTs on the running loop, ``timeout`` seconds at most each, whatever the receiver does.

    :param connect: a blocking ``create_connection(address, timeout)`` (the host policy's
        connect-time check, CONTRACT §13: ``fetch.policy_connector``), run in a pool of
        :data:`CONNECT_THREADS` threads, :data:`CONNECT_PER_RECEIVER` at most per receiver, given
        what remains of the attempt's time; None: the loop connects itself.
    """

    def __init__(self, timeout: float, connect=None) -> None:
        self.timeout = timeout
        self.connect = connect
        self._idle: dict[tuple[str, str, int], list[_Link]] = {}     # kept-alive connections per receiver
        self._attempts: dict[int, _Attempt] = {}
        self._deadlines: deque[_Attempt] = deque()  # attempts by deadline (all take ``timeout``: in the order they started)
        self._timer: asyncio.TimerHandle | None = None   # set for the oldest's deadline
        self._guard = threading.Lock()             # _attempts: cancel() is called from any thread
        self._loop: asyncio.AbstractEventLoop | None = None
        space = memoryview(bytearray(READ_SIZE))     # where the loop reads every link's bytes (one at a time)
        self._connector = Connector(lambda: _Link(space), connect)
        self._sweeping: asyncio.TimerHandle | None = None            # the next look for unused connections
        self._prepared: dict[tuple, Prepared] = {}

    def prepare(self, url: str, headers: Mapping[str, str]) -> Prepared:
        """The request head for ``url`` with these fixed headers (cached); ValueError when the URL
        or a header cannot be sent as it is (a control character, a non-Latin-1 value)."""
        key = (url, *headers.items())
        found = self._prepared.get(key)
        if found is None:
            if len(self._prepared) > 4096:
                self._prepared.clear()
            found = self._prepared[key] = _prepare(url, headers)
        return found

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], tag: object = None) -> Outcome:
        """POST ``body`` with ``headers``; the outcome. ``tag``: whose attempt this is (:meth:`cancel`)."""
        try:
            prepared = self.prepare(url, headers)
        except ValueError as exc:
            return Outcome(None, describe(exc), 0.0)
        return await self.send(prepared, body, b"", tag)

    async def send(self, prepared: Prepared, body: bytes, headers: bytes, tag: object = None) -> Outcome:
        """:meth:`start`, awaited: the outcome."""
        waiter = asyncio.get_running_loop().create_future()
        attempt = self.start(prepared, body, headers, tag, lambda outcome: waiter.done() or waiter.set_result(outcome))
        try:
            return await waiter
        except asyncio.CancelledError:
            attempt.abandon()
            raise

    def start(self, prepared: Prepared, body: bytes, headers: bytes, tag: object,
              done: Callable[[Outcome], None]) -> _Attempt:
        """(On the loop) POST ``body`` with the prepared head and these per-attempt header lines
        (CRLF-ended); ``done(outcome)`` is called once, on the loop, when the attempt is over
        (never before this returns; never when this raises)."""
        loop = self._loop = asyncio.get_running_loop()
        message = b"".join((prepared.prefix, headers, b"Content-Length: %d\r\n\r\n" % len(body), body))
        attempt = _Attempt(tag, self, prepared.key, message, done)
        attempt.started = started = loop.time()
        attempt.deadline = started + self.timeout
        self._deadlines.append(attempt)
        if self._timer is None:
            self._timer = loop.call_at(attempt.deadline, self._expire)
        with self._guard:
            self._attempts[id(attempt)] = attempt
        try:
            attempt.go()
        except BaseException:
            attempt.abandon()                  # never called back: the exception tells the caller
            raise
        return attempt

    def _expire(self) -> None:
        """(The deadline timer) cut the attempts whose time is up; set the timer for the next one.
        ``_timer`` still holds this (fired) handle during the pass, so an attempt an outcome's
        callback starts meanwhile sets none of its own: one timer is set, here, at the end."""
        now, deadlines = self._loop.time(), self._deadlines
        while deadlines and (deadlines[0].over or deadlines[0].deadline <= now):
            attempt = deadlines.popleft()
            if not attempt.over:
                attempt.stop()
        self._timer = self._loop.call_at(deadlines[0].deadline, self._expire) if deadlines else None

    # -- the attempts' side (exchange.py) -----------------------------------------------------------
    def _ended(self, attempt: _Attempt) -> None:
        with self._guard:
            self._attempts.pop(id(attempt), None)
        deadlines = self._deadlines
        while deadlines and deadlines[0].over:     # the ended ones at the front (most: they end in order)
            deadlines.popleft()

    def _open(self, key, deadline: float) -> asyncio.Task:
        return self._connector.open(self._loop, key, deadline)

    def _take(self, key) -> _Link | None:
        links = self._idle.get(key)
        while links:
            link = links.pop()
            if not link.lost:
                return link
        return None

    def _keep(self, key, link: _Link) -> None:
        loop = self._loop
        link.idle_since = loop.time()
        self._idle.setdefault(key, []).append(link)
        if self._sweeping is None:
            self._sweeping = loop.call_later(IDLE_FOR, self._sweep, loop)

    def _sweep(self, loop) -> None:
        """(On the loop) close the connections unused for :data:`IDLE_FOR` seconds."""
        self._sweeping, now, next_due = None, loop.time(), None
        for key in list(self._idle):
            kept = []
            for link in self._idle[key]:
                if link.lost:
                    continue
                if link.idle_since + IDLE_FOR <= now + 0.05:      # a timer may fire a little early
                    link.close()
                else:
                    kept.append(link)
                    due = link.idle_since + IDLE_FOR
                    next_due = due if next_due is None else min(next_due, due)
            if kept:
                self._idle[key] = kept
            else:
                del self._idle[key]
        if next_due is not None:
            self._sweeping = loop.call_at(next_due, self._sweep, loop)

    # -- any thread ---------------------------------------------------------------------------------
    def cancel(self, matches: Callable[[object], bool]) -> int:
        """(Any thread) cut the attempts under way whose tag ``matches``; how many."""
        with self._guard:
            chosen = [attempt for attempt in self._attempts.values() if not attempt.cut and matches(attempt.tag)]
        loop = self._loop
        if chosen and loop is not None:
            try:
                for attempt in chosen:
                    loop.call_soon_threadsafe(attempt.stop)
            except RuntimeError:                # the loop is closed: nothing is under way
                return 0
        return len(chosen)

    def close(self) -> None:
        """(On the loop, or after it stopped) drop every kept-alive connection."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._sweeping is not None:
            self._sweeping.cancel()
            self._sweeping = None
        for links in self._idle.values():
            for link in links:
                link.abort()
        self._idle.clear()
        self._connector.close()


class BlockingSender:
    """:class:`Sender` one call at a time on a private loop: ``post`` blocks until the outcome."""

    def __init__(self, timeout: float, connect=None) -> None:
        self.sender = Sender(timeout, connect)
        self._loop = asyncio.new_event_loop()

    def post(self, url: str, body: bytes, headers: Mapping[str, str], tag: object = None) -> Outcome:
        return self._loop.run_until_complete(self.sender.post(url, body, headers, tag))

    def close(self) -> None:
        self.sender.close()
        self._loop.run_until_complete(asyncio.sleep(0))       # the aborted transports let go
        self._loop.close()


def _prepare(url: str, headers: Mapping[str, str]) -> Prepared:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    default = 443 if scheme == "https" else 80
    port = parts.port or default
    host = parts.hostname
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if _BAD_TARGET.search(target):
        raise ValueError(f"the URL's path has a control character or a space: {target!r}")
    shown = f"[{host}]" if ":" in host else host
    lines = [f"POST {target} HTTP/1.1", f"Host: {shown}" + ("" if port == default else f":{port}"),
             "Accept-Encoding: identity"]
    for name, value in headers.items():
        if _BAD_VALUE.search(name) or _BAD_VALUE.search(value) or ":" in name:
            raise ValueError(f"the header {name!r} has a value that cannot be sent (a control character)")
        lines.append(f"{name}: {value}")
    return Prepared((scheme, host, port), ("\r\n".join(lines) + "\r\n").encode("latin-1"))


def header_lines(headers: Mapping[str, str]) -> bytes:
    """Per-attempt headers (generated by the mock: no user input) as CRLF-ended lines."""
    return "".join([f"{name}: {value}\r\n" for name, value in headers.items()]).encode("latin-1")
