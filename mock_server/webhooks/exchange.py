"""One attempt on the sender's loop (``sender.py``), as protocol callbacks: no Task, no future.

An :class:`_Attempt` takes a kept-alive :class:`_Link` of its receiver (or opens one: the only
step that runs as a Task), writes its request in one write and is called back by the link as the
answer's bytes come (:class:`answers.Reader`) and when the connection is lost; its deadline (the
sender's one timer) or a cancellation stops it (:meth:`_Attempt.stop`). Whichever comes first
ends it, once: its ``done`` callback gets the :class:`Outcome`. A kept-alive connection the receiver closed as the
request went is reopened once (that is not a failed attempt).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from typing import Callable

from .answers import BODY_LIMIT, ProtocolError, Reader

log = logging.getLogger("mock_server.webhooks")
EXCERPT = 200                     # characters of an answer's body kept with its attempt (the UI shows them)
READ_SIZE = 64 * 1024             # bytes read from a connection at most at once


@dataclass(frozen=True)
class Outcome:
    status: int | None              # HTTP status, None when no answer came
    error: str | None               # why it failed (None on a 2xx)
    latency_ms: float
    excerpt: str | None = None      # the start of the answer's body (at most EXCERPT characters), None if empty

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _Link(asyncio.BufferedProtocol):
    """One connection to a receiver; ``owner``: the attempt whose answer is being read on it.

    A buffered protocol: the loop reads into ``space``, one buffer its sender's links share (the
    loop hands each read over before the next). asyncio reads a plain protocol's data with
    ``recv(256 KiB)``: an allocation that size per read, which glibc serves with mmap and munmap
    (~12 us of CPU per read, most of it system time)."""

    def __init__(self, space: memoryview) -> None:
        self.space = space
        self.transport: asyncio.Transport | None = None
        self.reader: Reader | None = None
        self.lost = False
        self.owner: _Attempt | None = None         # the attempt using it (None while it is idle)
        self.idle_since = 0.0                      # (loop time) when it was last put back, unused

    def connection_made(self, transport) -> None:
        self.transport = transport

    def write(self, data: bytes) -> None:
        self.transport.write(data)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.space

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(self.space[:nbytes]))

    def data_received(self, data: bytes) -> None:
        owner = self.owner
        if owner is None:                          # bytes nobody asked for: never reuse this connection
            self.abort()
            return
        try:
            over = self.reader.feed(data)
        except ProtocolError as exc:
            owner.failed(exc)
            return
        except Exception as exc:                   # a bug of the reader's: a failed attempt saying so, never a 2xx
            log.exception("webhook attempt: reading its answer failed")
            owner.failed(exc)
            return
        if over:
            owner.answered()                       # (it may hand this link to the next attempt at once)

    def eof_received(self) -> bool:
        return False                               # close our side too: connection_lost follows

    def connection_lost(self, exc) -> None:
        self.lost = True
        owner = self.owner
        if owner is not None:
            if self.reader.eof():
                owner.answered()
            else:
                owner.closed(f" ({type(exc).__name__})" if exc is not None else "")

    def close(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.abort()


class _Attempt:
    """An attempt under way: ended by its answer, its connection's loss, its deadline or
    :meth:`stop`; ``done(outcome)`` is called once, on the loop."""

    __slots__ = ("tag", "sender", "key", "message", "done", "started", "link", "opening", "cut", "over",
                 "deadline", "reused", "retried")

    def __init__(self, tag: object, sender, key: tuple, message: bytes, done: Callable[[Outcome], None]) -> None:
        self.tag, self.sender, self.key, self.message, self.done = tag, sender, key, message, done
        self.started = 0.0
        self.link: _Link | None = None
        self.opening: asyncio.Future | None = None
        self.cut = False
        self.over = False                          # it ended: a late stop() does nothing
        self.deadline = 0.0                        # (loop time) when it is cut: started + the sender's timeout
        self.reused = self.retried = False

    def go(self) -> None:
        """Send on a kept-alive connection of the receiver, or open one."""
        link = self.sender._take(self.key)
        self.reused = link is not None
        if link is not None:
            self._send(link)
            return
        self.opening = self.sender._open(self.key, self.deadline)
        self.opening.add_done_callback(self._opened)

    def _opened(self, opening: asyncio.Future) -> None:
        self.opening = None
        link = None if opening.cancelled() or opening.exception() is not None else opening.result()[1]
        if self.over:                              # abandoned meanwhile
            if link is not None:
                link.abort()
            return
        if link is None and not self.cut:          # a refused host, a name not found, TLS ...
            exc = opening.exception() if not opening.cancelled() else asyncio.CancelledError()
            self._end(Outcome(None, describe(exc), self._elapsed()))
        elif self.cut:
            if link is not None:
                link.abort()
            self._end(self._late(None))
        else:
            self._send(link)

    def _send(self, link: _Link) -> None:
        self.link, link.owner, link.reader = link, self, Reader()
        link.write(self.message)

    # -- called back by the link --------------------------------------------------------------------
    def answered(self) -> None:
        """The answer is over (complete, or read to :data:`BODY_LIMIT`)."""
        link, reader = self.link, self.link.reader
        if reader.complete and reader.keep and not reader.buffer and not link.lost:   # nothing unasked-for
            link.reader = link.owner = None
            self.sender._keep(self.key, link)
        else:
            link.abort()                           # never read the rest of a longer body
        self._end(answer_outcome(reader, self._elapsed()))

    def closed(self, why: str) -> None:
        """The receiver closed the connection before the answer ended."""
        link = self.link
        reader = link.reader
        if reader.status is not None:              # a body cut short: the answer is what came
            self._end(answer_outcome(reader, self._elapsed()))
        elif self.reused and not self.retried and not reader.buffer:
            self.retried = True                    # it closed a kept-alive connection as the request went: reopen once
            link.owner = None
            self.go()
        else:
            self._end(Outcome(None, f"connection closed by the receiver before it answered{why}", self._elapsed()))

    def failed(self, exc: Exception) -> None:
        self.link.abort()
        why = (f"the answer is not HTTP/1.1: {exc}" if isinstance(exc, ProtocolError)
               else f"the mock failed to read the answer ({type(exc).__name__}: {exc}); please report it")
        self._end(Outcome(None, why, self._elapsed()))

    # -- cut short ------------------------------------------------------------------------------------
    def stop(self) -> None:
        """(On the loop) end it now: abort its connection, or its connecting. Nothing once it
        ended (a :meth:`Sender.cancel` chose it under way; its callback ran later), and never a
        connection it no longer owns (back among the idle ones, or another attempt's since)."""
        if self.over:
            return
        self.cut = True
        opening, link = self.opening, self.link
        if opening is not None:
            opening.cancel()                       # its callback ends the attempt
        elif link is not None and link.owner is self:
            link.abort()
            self._end(self._late(link))

    def abandon(self) -> None:
        """(On the loop) drop it without an outcome (whoever waited for it is gone)."""
        if not self.over:
            self.cut = True
            if self.opening is not None:
                self.opening.cancel()
            if self.link is not None and self.link.owner is self:
                self.link.abort()
            self._end(None)

    def _end(self, outcome: Outcome | None) -> None:
        if self.over:
            return
        self.over = True
        link, done = self.link, self.done
        if link is not None and link.owner is self:
            link.owner = None
        self.message = self.done = None            # (it may wait behind an older attempt in its sender's deadlines)
        self.sender._ended(self)
        if outcome is not None:
            try:
                done(outcome)
            except Exception:                      # a bug of the caller's: never the connection's
                log.exception("webhook attempt: its outcome's callback failed")

    def _elapsed(self) -> float:
        return (self.sender._loop.time() - self.started) * 1000

    def _late(self, link: _Link | None) -> Outcome:
        """The outcome of an attempt the deadline (or a cancellation) cut short."""
        latency_ms = self._elapsed()
        reason = getattr(self.tag, "cancelled", None)
        if reason:
            return Outcome(None, f"cancelled while under way: {reason}", latency_ms)
        bound = f"within {self.sender.timeout:g} s (webhooks.timeout bounds the whole attempt)"
        reader = None if link is None else link.reader
        if reader is None or reader.status is None:
            return Outcome(None, f"no answer {bound}", latency_ms)
        return Outcome(None, f"answered HTTP {reader.status} but its body did not end {bound}; "
                             f"{len(reader.body):,} bytes read (at most {BODY_LIMIT:,} are)", latency_ms)


def answer_outcome(reader: Reader, latency_ms: float) -> Outcome:
    status, excerpt = reader.status, body_excerpt(bytes(reader.body))
    if 200 <= status < 300:
        return Outcome(status, None, latency_ms, excerpt)
    error = f"HTTP {status} {reader.reason}".strip()
    if 300 <= status < 400:
        error += " (redirects are not followed: the webhook URL must answer 2xx itself)"
    return Outcome(status, error, latency_ms, excerpt)


def body_excerpt(answer: bytes) -> str | None:
    """The start of an answer's body as text (at most :data:`EXCERPT` characters, control
    characters but newlines and tabs shown as U+FFFD), or None for an empty body."""
    if not answer:
        return None
    decoded = answer[:EXCERPT * 4].decode("utf-8", errors="replace")
    text = "".join(ch if ch >= " " or ch in "\n\t" else "\ufffd" for ch in decoded[:EXCERPT])
    return text + ("…" if len(decoded) > EXCERPT or len(answer) > EXCERPT * 4 else "")


def describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the receiver running?)"
    if isinstance(exc, socket.gaierror):
        return f"host name not found ({exc.strerror})"
    return f"{type(exc).__name__}: {exc}"
