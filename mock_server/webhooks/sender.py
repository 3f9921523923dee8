"""One worker's HTTP side: POST a body, keep one persistent connection per receiver.

``http.client`` rather than ``requests``: a webhook is one small POST on a kept-alive
connection, and the dispatcher must sustain thousands per second on a shared core; ``requests``
costs several times more per call. A connection the receiver closed between two events is
reopened once, transparently (that is not a failed attempt).

``webhooks.timeout`` bounds the WHOLE attempt (CONTRACT §18): connecting, sending, the answer's
headers and at most :data:`BODY_LIMIT` bytes of its body; the rest of a longer body is never read
(the connection is dropped instead). An interim answer (``102 Processing``, ``103 Early Hints``)
is skipped like ``100 Continue``: the attempt's answer is the final one that follows (taking the
1xx for it would leave the final answer unread in a kept-alive connection, to be read as the next
attempt's). Per-read socket timeouts cannot give that bound (a receiver
that drips one byte a second never lets a read time out), so a :class:`Deadlines` watchdog, one
thread for all the workers, shuts an attempt's socket down when its deadline passes or when the
attempt is cancelled (its sandbox was reset, its subscription deleted). A redirect (3xx) is a
failed attempt like any other non-2xx answer: it is never followed (a webhook URL must answer
itself; following it would also let a receiver point the mock at another host).
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

BODY_LIMIT = 64 * 1024            # bytes of an answer's body read at most; the rest is dropped unread
EXCERPT = 200                     # characters of an answer's body kept with its attempt (the UI shows them)


class FinalResponse(http.client.HTTPResponse):
    """An answer read past its interim 1xx responses (RFC 9110 §15.2: a client must accept any
    number of them). ``http.client`` only skips ``100 Continue``; ``101 Switching Protocols`` is
    kept (the mock never asks for an upgrade: it is a failed attempt, its connection dropped)."""

    def _read_status(self):
        while True:
            version, status, reason = super()._read_status()
            if not 101 < status < 200:
                return version, status, reason
            http.client.parse_headers(self.fp)      # the interim answer's headers; a slow one is cut by the deadline


class _OneSend:
    """The request's head and body in one ``send`` (``http.client`` sends them apart: a system
    call more per request, and a small segment the receiver must wait for)."""

    def _send_output(self, message_body=None, encode_chunked=False):
        if type(message_body) is bytes:
            self._buffer.extend((b"", message_body))
            message = b"\r\n".join(self._buffer)
            del self._buffer[:]
            self.send(message)
            return
        super()._send_output(message_body, encode_chunked)


class Connection(_OneSend, http.client.HTTPConnection):
    pass


class TLSConnection(_OneSend, http.client.HTTPSConnection):
    pass


@dataclass(frozen=True)
class Outcome:
    status: int | None              # HTTP status, None when no answer came
    error: str | None               # why it failed (None on a 2xx)
    latency_ms: float
    excerpt: str | None = None      # the start of the answer's body (at most EXCERPT characters), None if empty

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Deadlines:
    """Shuts down the socket of an attempt whose deadline passed, or that was cancelled.

    One daemon thread for every worker of a dispatcher, sleeping until the earliest deadline.
    ``arm`` registers an attempt's socket (with a ``tag`` saying whose work it is, for
    :meth:`cancel`); ``disarm`` ends the registration and says whether the socket was cut, so a
    cut connection is never reused.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._armed: dict[int, list] = {}         # token -> [deadline, socket, tag, cut]
        self._tokens = 0
        self._next: float | None = None           # the deadline the watcher sleeps until (None: no limit)
        self._thread: threading.Thread | None = None
        self._stopping = False

    def start(self) -> None:
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._watch, name="webhooks-deadlines", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            thread, self._thread = self._thread, None
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout=5)

    def arm(self, sock: socket.socket, deadline: float, tag: object = None) -> int:
        with self._cond:
            self._tokens += 1
            self._armed[self._tokens] = [deadline, sock, tag, False]
            if deadline <= time.monotonic():
                self._cut(self._armed[self._tokens])
            elif self._next is None or deadline < self._next:
                self._cond.notify()           # the watcher sleeps past this deadline: wake it
            return self._tokens

    def watch(self, token: int, sock: socket.socket) -> None:
        """The attempt goes on on another socket object (TLS wraps the connected one)."""
        with self._cond:
            entry = self._armed.get(token)
            if entry is not None:
                entry[1] = sock
                if entry[3]:
                    self._cut(entry)

    def disarm(self, token: int) -> bool:
        """The attempt is over: stop watching its socket. Whether it was cut."""
        with self._cond:
            entry = self._armed.pop(token, None)
        return entry is not None and entry[3]

    def cancel(self, matches: Callable[[object], bool]) -> int:
        """Cut the attempts under way whose tag ``matches``; how many."""
        with self._cond:
            chosen = [entry for entry in self._armed.values() if not entry[3] and matches(entry[2])]
            for entry in chosen:
                self._cut(entry)
            return len(chosen)

    @staticmethod
    def _cut(entry: list) -> None:
        entry[3] = True
        try:
            entry[1].shutdown(socket.SHUT_RDWR)   # unblocks the worker's connect, send or read at once
        except OSError:
            pass

    def _watch(self) -> None:
        with self._cond:
            while not self._stopping:
                now = time.monotonic()
                live = []
                for entry in self._armed.values():
                    if entry[3]:
                        continue
                    if entry[0] <= now:
                        self._cut(entry)
                    else:
                        live.append(entry[0])
                self._next = min(live) if live else None
                self._cond.wait(self._next - now if live else None)


class Sender:
    """:param connect: a ``create_connection`` replacement for http.client (the host policy's
    connect-time check, CONTRACT §13: ``fetch.policy_connector``); None: the standard one.
    :param deadlines: the watchdog that bounds each attempt (a private one when None)."""

    def __init__(self, timeout: float, connect=None, deadlines: Deadlines | None = None) -> None:
        self.timeout = timeout
        self.connect = connect
        self.deadlines = deadlines
        if deadlines is None:
            self.deadlines = Deadlines()
            self.deadlines.start()
            self._own_deadlines = True
        else:
            self._own_deadlines = False
        self._connections: dict[tuple[str, str, int], http.client.HTTPConnection] = {}
        self._arming: tuple | None = None        # (deadline, tag, [token]) while connecting

    def post(self, url: str, body: bytes, headers: dict[str, str], tag: object = None) -> Outcome:
        """POST ``body``; the outcome within ``timeout`` seconds, whatever the receiver does.
        ``tag``: whose attempt this is (:meth:`Deadlines.cancel` may cut it short)."""
        parts = urlsplit(url)
        https = parts.scheme.lower() == "https"
        key = (parts.scheme.lower(), parts.hostname or "", parts.port or (443 if https else 80))
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        started = time.monotonic()
        deadline = started + self.timeout
        elapsed = lambda: (time.monotonic() - started) * 1000    # noqa: E731
        for second_try in (False, True):
            reused = key in self._connections
            token, status, read = None, None, 0
            try:
                connection = self._connection(key, https)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                if connection.sock is None:
                    connection.timeout = remaining       # the TCP connect's own bound
                    self._arming = (deadline, tag, [])
                    try:
                        connection.connect()             # the TLS handshake is watched (see _connection)
                    finally:
                        token = next(iter(self._arming[2]), None)
                        self._arming = None
                if token is None:
                    token = self.deadlines.arm(connection.sock, deadline, tag)
                else:
                    self.deadlines.watch(token, connection.sock)      # the TLS socket, once wrapped
                if connection.sock.gettimeout() != self.timeout + 1.0:
                    # a backstop only: the watchdog cuts the attempt at its deadline first. Set once
                    # per connection (each settimeout is a system call that lets go of the GIL)
                    connection.sock.settimeout(self.timeout + 1.0)
                connection.request("POST", target, body=body, headers=headers)
                response = connection.getresponse()
                status, declared = response.status, response.length
                answer = response.read(BODY_LIMIT)
                read, excerpt = len(answer), body_excerpt(answer)
                cut = self.deadlines.disarm(token)
                token = None
                # the body ended by its own framing (a cut socket reads as an early end of it)
                if declared is not None:
                    complete = response.length == 0
                else:
                    complete = response.isclosed() and (response.chunked or not cut)
                if not complete and (cut or time.monotonic() >= deadline):
                    self._drop(key)
                    return self._late(tag, cut, status, read, elapsed())
                if cut or not complete or response.will_close or status < 200:
                    self._drop(key)                     # never read the rest of a longer body
                if 200 <= status < 300:
                    return Outcome(status, None, elapsed(), excerpt)
                error = f"HTTP {status} {response.reason}".strip()
                if 300 <= status < 400:
                    error += " (redirects are not followed: the webhook URL must answer 2xx itself)"
                return Outcome(status, error, elapsed(), excerpt)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                cut = token is not None and self.deadlines.disarm(token)
                self._drop(key)
                if cut or time.monotonic() >= deadline:
                    return self._late(tag, cut, status, read, elapsed())
                if reused and not second_try:
                    continue          # the receiver closed an idle kept-alive connection: reopen once
                return Outcome(None, f"connection closed by the receiver ({type(exc).__name__})", elapsed())
            except Exception as exc:          # a timeout, OSError, HTTPException, SSLError, a refused host ...
                cut = token is not None and self.deadlines.disarm(token)
                self._drop(key)
                if cut or isinstance(exc, (socket.timeout, TimeoutError)) or time.monotonic() >= deadline:
                    return self._late(tag, cut, status, read, elapsed())
                return Outcome(None, _describe(exc), elapsed())
        return Outcome(None, "connection closed by the receiver", elapsed())

    def _late(self, tag: object, cut: bool, status: int | None, read: int, latency_ms: float) -> Outcome:
        """The outcome of an attempt the deadline (or a cancellation) cut short."""
        reason = getattr(tag, "cancelled", None)
        if cut and reason:
            return Outcome(None, f"cancelled while under way: {reason}", latency_ms)
        bound = f"within {self.timeout:g} s (webhooks.timeout bounds the whole attempt)"
        if status is None:
            return Outcome(None, f"no answer {bound}", latency_ms)
        return Outcome(None, f"answered HTTP {status} but its body did not end {bound}; "
                             f"{read:,} bytes read (at most {BODY_LIMIT:,} are)", latency_ms)

    def _connection(self, key, https: bool) -> http.client.HTTPConnection:
        if key not in self._connections:
            kind = TLSConnection if https else Connection
            connection = kind(key[1], key[2], timeout=self.timeout)
            connection.response_class = FinalResponse
            connection._create_connection = self._create_connection
            self._connections[key] = connection
        return self._connections[key]

    def _create_connection(self, address, timeout=None, source_address=None) -> socket.socket:
        """Connect (the host policy's connector, or the standard one), then watch the socket at
        once: a TLS handshake that drips is cut at the attempt's deadline too."""
        create = self.connect or socket.create_connection
        sock = create(address, timeout, source_address)
        if self._arming is not None:
            deadline, tag, tokens = self._arming
            tokens.append(self.deadlines.arm(sock, deadline, tag))
        return sock

    def _drop(self, key) -> None:
        connection = self._connections.pop(key, None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        for key in list(self._connections):
            self._drop(key)
        if self._own_deadlines:
            self.deadlines.stop()


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
