"""The dispatcher's HTTP side: every attempt of a process on one asyncio event loop.

One loop thread makes all the attempts (``lanes.py``): non-blocking sockets, no thread per attempt
(``http.client`` cost ~100 µs of CPU per request, most of it system calls and GIL hand-offs).
Connections are kept alive, several per receiver (scheme, host and port), and a connection the
receiver closed between two events is reopened once, transparently (that is not a failed
attempt). The most recently used one is taken first, so one left unused for :data:`IDLE_FOR`
seconds is not needed (nothing more is queued for its receiver, or fewer at once): it is closed. Each request goes out in one write: its head is pre-built per subscription
(:meth:`Sender.prepare`: request line, ``Host`` and the fixed headers); only the per-attempt
headers (event id, attempt number, signature), ``Content-Length`` and the body are added.

The answer is read by a minimal, strict HTTP/1.1 reader (:class:`Reader`): the status line and
headers (at most :data:`HEAD_LIMIT` bytes), a body framed by ``Content-Length``, chunked, or the
connection's close; interim answers (``100``, ``102 Processing``, ``103 Early Hints``) are skipped:
the attempt's answer is the final one that follows. ``101 Switching Protocols`` is final (the mock
never asks for an upgrade: a failed attempt, its connection dropped). A redirect (3xx) is a failed
attempt like any other non-2xx answer: it is never followed.

``webhooks.timeout`` bounds the WHOLE attempt (CONTRACT §18): connecting, sending, the answer's
headers and at most :data:`BODY_LIMIT` bytes of its body; the rest of a longer body is never read
(the connection is dropped instead). The bound is one loop timer per attempt, which aborts its
connection: a receiver that drips one byte a second never holds an attempt longer.
:meth:`Sender.cancel` (any thread) cuts attempts short the same way (their sandbox was reset,
their subscription deleted).

:class:`BlockingSender` runs the same code on a private loop, one call at a time (tools, tests).
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Mapping
from urllib.parse import urlsplit

from .answers import BODY_LIMIT, ProtocolError, Reader

CONNECT_THREADS = 16              # threads making policy-checked connects (Sender's ``connect``)
CONNECT_PER_RECEIVER = 4          # of those, at most this many for one receiver: a blackholed one never holds them all
IDLE_FOR = 30.0                   # seconds a kept-alive connection may stay unused before it is closed
EXCERPT = 200                     # characters of an answer's body kept with its attempt (the UI shows them)
_BAD_TARGET = re.compile("[\x00-\x20\x7f]")          # what http.client refuses in a request target too
_BAD_VALUE = re.compile("[\x00\r\n]")


@dataclass(frozen=True)
class Outcome:
    status: int | None              # HTTP status, None when no answer came
    error: str | None               # why it failed (None on a 2xx)
    latency_ms: float
    excerpt: str | None = None      # the start of the answer's body (at most EXCERPT characters), None if empty

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Closed(Exception):
    """The receiver closed the connection before the answer ended."""


class Cut(Exception):
    """The attempt was cut short: its deadline passed, or it was cancelled."""


class _Link(asyncio.Protocol):
    """One connection to a receiver and the answer being read on it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.reader: Reader | None = None
        self.waiter: asyncio.Future | None = None
        self.lost = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.owner: _Attempt | None = None         # the attempt using it (None while it is idle)
        self.idle_since = 0.0                      # (loop time) when it was last put back, unused

    def close(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.close()

    def connection_made(self, transport) -> None:
        self.transport, self.loop = transport, asyncio.get_running_loop()

    def write(self, data: bytes) -> None:
        self.transport.write(data)

    def exchange(self, message: bytes) -> asyncio.Future:
        """Send a request in one write; a future set once its answer is over (:attr:`reader`)."""
        self.reader = Reader()
        self.waiter = self.loop.create_future()
        self.write(message)
        return self.waiter

    def data_received(self, data: bytes) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():       # bytes nobody asked for: never reuse this connection
            self.abort()
            return
        try:
            if self.reader.feed(data):
                waiter.set_result(None)
        except ProtocolError as exc:
            waiter.set_exception(exc)

    def eof_received(self) -> bool:
        return False                               # close our side too: connection_lost follows

    def connection_lost(self, exc) -> None:
        self.lost = True
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            if self.reader.eof():
                waiter.set_result(None)
            else:
                waiter.set_exception(Closed(f" ({type(exc).__name__})" if exc is not None else ""))

    def abort(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.abort()


@dataclass(frozen=True)
class Prepared:
    """A subscription's request head, built once: the request line, ``Host`` and fixed headers."""

    key: tuple[str, str, int]       # (scheme, host, port): the receiver
    prefix: bytes


class _Attempt:
    """An attempt under way: cut by its deadline's timer or by :meth:`Sender.cancel`."""

    __slots__ = ("tag", "link", "opening", "cut", "timer", "over")

    def __init__(self, tag: object) -> None:
        self.tag = tag
        self.link: _Link | None = None
        self.opening: asyncio.Future | None = None
        self.cut = False
        self.over = False                          # it ended: a late stop() does nothing
        self.timer: asyncio.TimerHandle | None = None

    def stop(self) -> None:
        """(On the loop) end it now: abort its connection, or its connecting. Nothing once it
        ended (a :meth:`Sender.cancel` chose it under way; its callback ran later), and never a
        connection it no longer owns (back among the idle ones, or another attempt's since)."""
        if self.over:
            return
        self.cut = True
        link, opening = self.link, self.opening
        if opening is not None and not opening.done():
            opening.cancel()
        if link is not None and link.owner is self:
            waiter = link.waiter
            link.abort()
            if waiter is not None and not waiter.done():
                waiter.set_exception(Cut())


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
        self._guard = threading.Lock()             # _attempts: cancel() is called from any thread
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._connecting: dict[tuple[str, str, int], list] = {}    # receiver: [its slots, attempts using them]
        self._sweeping: asyncio.TimerHandle | None = None            # the next look for unused connections
        self._tls: ssl.SSLContext | None = None
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
            return Outcome(None, _describe(exc), 0.0)
        return await self.send(prepared, body, b"", tag)

    async def send(self, prepared: Prepared, body: bytes, headers: bytes, tag: object = None) -> Outcome:
        """POST ``body`` with the prepared head and these per-attempt header lines (CRLF-ended)."""
        loop = self._loop = asyncio.get_running_loop()
        started = loop.time()
        message = b"".join((prepared.prefix, headers, b"Content-Length: %d\r\n\r\n" % len(body), body))
        attempt = _Attempt(tag)
        attempt.timer = loop.call_at(started + self.timeout, attempt.stop)
        token = id(attempt)
        with self._guard:
            self._attempts[token] = attempt
        try:
            return await self._exchange(loop, prepared.key, message, attempt, started)
        finally:
            attempt.over = True
            attempt.timer.cancel()
            with self._guard:
                self._attempts.pop(token, None)

    async def _exchange(self, loop, key, message: bytes, attempt: _Attempt, started: float) -> Outcome:
        elapsed = lambda: (loop.time() - started) * 1000    # noqa: E731
        for second_try in (False, True):
            link, reused = self._take(key), True
            try:
                if link is None:
                    reused, link = False, await self._open(loop, key, attempt, started + self.timeout)
                attempt.link, link.owner = link, attempt
                await link.exchange(message)
            except Cut:
                link is not None and link.abort()
                return self._late(attempt, link, elapsed())
            except Closed as exc:
                reader = link.reader
                if reader.status is not None:           # a body cut short: the answer is what came
                    return self._answered(reader, elapsed())
                if reused and not second_try and not reader.buffer:
                    continue       # the receiver closed a kept-alive connection as the request went: reopen once
                return Outcome(None, f"connection closed by the receiver before it answered{exc}", elapsed())
            except ProtocolError as exc:
                link.abort()
                return Outcome(None, f"the answer is not HTTP/1.1: {exc}", elapsed())
            except asyncio.CancelledError:
                if link is not None:
                    link.abort()
                if not attempt.cut:
                    raise                               # the loop is stopping
                return self._late(attempt, link, elapsed())
            except Exception as exc:                    # a refused host, a name not found, TLS ...
                if link is not None:
                    link.abort()
                if attempt.cut:
                    return self._late(attempt, link, elapsed())
                return Outcome(None, _describe(exc), elapsed())
            reader = link.reader
            if reader.complete and reader.keep and not reader.buffer and not link.lost:   # nothing unasked-for
                link.waiter = link.reader = link.owner = None
                self._keep(loop, key, link)
            else:
                link.abort()                            # never read the rest of a longer body
            return self._answered(reader, elapsed())
        raise AssertionError("unreachable")

    @staticmethod
    def _answered(reader: Reader, latency_ms: float) -> Outcome:
        status, excerpt = reader.status, body_excerpt(bytes(reader.body))
        if 200 <= status < 300:
            return Outcome(status, None, latency_ms, excerpt)
        error = f"HTTP {status} {reader.reason}".strip()
        if 300 <= status < 400:
            error += " (redirects are not followed: the webhook URL must answer 2xx itself)"
        return Outcome(status, error, latency_ms, excerpt)

    def _late(self, attempt: _Attempt, link: _Link | None, latency_ms: float) -> Outcome:
        """The outcome of an attempt the deadline (or a cancellation) cut short."""
        reason = getattr(attempt.tag, "cancelled", None)
        if reason:
            return Outcome(None, f"cancelled while under way: {reason}", latency_ms)
        bound = f"within {self.timeout:g} s (webhooks.timeout bounds the whole attempt)"
        reader = None if link is None else link.reader
        if reader is None or reader.status is None:
            return Outcome(None, f"no answer {bound}", latency_ms)
        return Outcome(None, f"answered HTTP {reader.status} but its body did not end {bound}; "
                             f"{len(reader.body):,} bytes read (at most {BODY_LIMIT:,} are)", latency_ms)

    def _keep(self, loop, key, link: _Link) -> None:
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

    def _take(self, key) -> _Link | None:
        links = self._idle.get(key)
        while links:
            link = links.pop()
            if not link.lost:
                return link
        return None

    async def _open(self, loop, key, attempt: _Attempt, deadline: float) -> _Link:
        """A new connection to the receiver (the TLS handshake included), cut with the attempt."""
        scheme, host, port = key
        tls = None
        if scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            tls = self._tls
        if self.connect is None:
            opening = loop.create_task(loop.create_connection(_Link, host, port, ssl=tls,
                                                              server_hostname=host if tls else None))
        else:
            opening = loop.create_task(self._open_checked(loop, key, tls, deadline))
        attempt.opening = opening
        try:
            _, link = await opening
        finally:
            attempt.opening = None
        if attempt.cut:
            link.abort()
            raise Cut()
        return link

    async def _open_checked(self, loop, key, tls, deadline: float):
        """A connect by the blocking ``connect`` in a thread: at most :data:`CONNECT_PER_RECEIVER`
        at once per receiver (the others wait their turn on the loop, cut with their attempt), each
        given what remains of its attempt's time when its thread takes it."""
        _, host, port = key
        entry = self._connecting.get(key)
        if entry is None:
            entry = self._connecting[key] = [asyncio.Semaphore(CONNECT_PER_RECEIVER), 0]
        entry[1] += 1
        try:
            async with entry[0]:
                sock = await self._connect_in_thread(loop, host, port, deadline)
        finally:
            entry[1] -= 1
            if not entry[1]:
                del self._connecting[key]
        try:
            remaining = max(deadline - loop.time(), 0.001)
            return await loop.create_connection(_Link, sock=sock, ssl=tls, server_hostname=host if tls else None,
                                                ssl_handshake_timeout=remaining if tls else None)
        except BaseException:
            sock.close()
            raise

    async def _connect_in_thread(self, loop, host: str, port: int, deadline: float) -> socket.socket:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(CONNECT_THREADS, thread_name_prefix="webhooks-connect")
        connecting = self._pool.submit(_connect_by, self.connect, (host, port), deadline, loop.time)
        try:
            return await asyncio.wrap_future(connecting)
        except asyncio.CancelledError:
            if not connecting.cancel():     # under way in its thread: close what it makes
                connecting.add_done_callback(_close_made)
            raise

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
        if self._sweeping is not None:
            self._sweeping.cancel()
            self._sweeping = None
        for links in self._idle.values():
            for link in links:
                link.abort()
        self._idle.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None


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
    return "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode("latin-1")


def _connect_by(connect, address, deadline: float, clock) -> socket.socket:
    """(In a connect thread) ``connect`` with what remains of the attempt's time (``clock``: the loop's)."""
    remaining = deadline - clock()
    if remaining <= 0:
        raise TimeoutError("the attempt's time ran out before its connect began")
    return connect(address, remaining)


def _close_made(future) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().close()


def body_excerpt(answer: bytes) -> str | None:
    """The start of an answer's body as text (at most :data:`EXCERPT` characters, control
    characters but newlines and tabs shown as U+FFFD), or None for an empty body."""
    if not answer:
        return None
    decoded = answer[:EXCERPT * 4].decode("utf-8", errors="replace")
    text = "".join(ch if ch >= " " or ch in "\n\t" else "\ufffd" for ch in decoded[:EXCERPT])
    return text + ("…" if len(decoded) > EXCERPT or len(answer) > EXCERPT * 4 else "")


def _describe(exc: Exception) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the receiver running?)"
    if isinstance(exc, socket.gaierror):
        return f"host name not found ({exc.strerror})"
    return f"{type(exc).__name__}: {exc}"
