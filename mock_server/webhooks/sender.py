"""One worker's HTTP side: POST a body, keep one persistent connection per receiver.

``http.client`` rather than ``requests``: a webhook is one small POST on a kept-alive
connection, and the dispatcher must sustain thousands per second on a shared core; ``requests``
costs several times more per call. A connection the receiver closed between two events is
reopened once, transparently (that is not a failed attempt).
"""

from __future__ import annotations

import http.client
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Outcome:
    status: int | None              # HTTP status, None when no answer came
    error: str | None               # why it failed (None on a 2xx)
    latency_ms: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Sender:
    """:param connect: a ``create_connection`` replacement for http.client (the host policy's
    connect-time check, CONTRACT §13: ``fetch.policy_connector``); None: the standard one."""

    def __init__(self, timeout: float, connect=None) -> None:
        self.timeout = timeout
        self.connect = connect
        self._connections: dict[tuple[str, str, int], http.client.HTTPConnection] = {}

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        parts = urlsplit(url)
        https = parts.scheme.lower() == "https"
        key = (parts.scheme.lower(), parts.hostname or "", parts.port or (443 if https else 80))
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        started = time.monotonic()
        for second_try in (False, True):
            reused = key in self._connections
            connection = self._connection(key, https)
            try:
                connection.request("POST", target, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.will_close:
                    self._drop(key)
                status = response.status
                elapsed = (time.monotonic() - started) * 1000
                error = None if 200 <= status < 300 else f"HTTP {status} {response.reason}".strip()
                return Outcome(status, error, elapsed)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._drop(key)
                if reused and not second_try:
                    continue          # the receiver closed an idle kept-alive connection: reopen once
                return Outcome(None, f"connection closed by the receiver ({type(exc).__name__})",
                               (time.monotonic() - started) * 1000)
            except (socket.timeout, TimeoutError):
                self._drop(key)
                return Outcome(None, f"no answer within {self.timeout:g} s (webhooks.timeout)",
                               (time.monotonic() - started) * 1000)
            except Exception as exc:          # OSError, HTTPException, SSLError, a refused host ...
                self._drop(key)
                return Outcome(None, _describe(exc), (time.monotonic() - started) * 1000)
        return Outcome(None, "connection closed by the receiver", (time.monotonic() - started) * 1000)

    def _connection(self, key, https: bool) -> http.client.HTTPConnection:
        if key not in self._connections:
            kind = http.client.HTTPSConnection if https else http.client.HTTPConnection
            connection = kind(key[1], key[2], timeout=self.timeout)
            if self.connect is not None:
                connection._create_connection = self.connect
            self._connections[key] = connection
        return self._connections[key]

    def _drop(self, key) -> None:
        connection = self._connections.pop(key, None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        for key in list(self._connections):
            self._drop(key)


def _describe(exc: Exception) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the receiver running?)"
    if isinstance(exc, socket.gaierror):
        return f"host name not found ({exc.strerror})"
    return f"{type(exc).__name__}: {exc}"
