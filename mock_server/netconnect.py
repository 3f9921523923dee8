"""Connections under one deadline and the host policy (``fetch`` and webhook delivery use them).

A ``Watchdog`` shuts the current socket down when its deadline passes, which unblocks any read or
connect; a ``Budget`` is a deadline without one, for connections whose reads a socket timeout
bounds. The connectors resolve the host name within the deadline (in a daemon thread), check every
resolved address with the ``HostPolicy`` and connect to exactly an address that was checked, so a
name that resolves to a refused address (DNS rebinding) never gets a connection.
"""

from __future__ import annotations

import select
import socket
import threading
import time

from .netpolicy import HostPolicy


class FetchError(Exception):
    """The URL could not be fetched; the message says what happened and what to check."""


class Watchdog:
    """Shuts the current socket down when the deadline passes (unblocks any read or connect).

    ``fired``: the deadline has passed. ``cut``: the watchdog shut a socket down before ``finish()``
    (only then can an end of the body be the watchdog's doing rather than the server's).
    """

    def __init__(self, timeout: float) -> None:
        self.deadline = time.monotonic() + timeout
        self.fired = False
        self.cut = False
        self.finished = False
        self.sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(timeout, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> "Watchdog":
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.fired = True
        return max(left, 0.0)

    def expired(self) -> bool:
        """Whether the deadline has passed (by the clock too: the timer thread can be late under load)."""
        return self.fired or self.remaining() == 0

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self.sock = sock
            if self.fired and sock is not None and shutdown(sock):
                self.cut = True

    def finish(self) -> bool:
        """The body has ended: stop watching. Whether the watchdog had cut the connection before that."""
        with self._lock:
            self.finished = True
            return self.cut

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            if self.sock is not None and not self.finished and not peer_closed(self.sock) and shutdown(self.sock):
                self.cut = True


def shutdown(sock: socket.socket) -> bool:
    """Shut ``sock`` down; False when it was already closed (its reader was done with it)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        return False
    return True


def peer_closed(sock: socket.socket) -> bool:
    """Whether the server has closed its side of ``sock`` (all it sent is in the receive buffer).

    Linux reports it as POLLRDHUP; elsewhere this says False and the watchdog cuts as before."""
    flag = getattr(select, "POLLRDHUP", 0)
    fd = sock.fileno()
    if not flag or fd < 0:
        return False
    poller = select.poll()
    poller.register(fd, flag)
    return any(events & flag for _, events in poller.poll(0))


def resolve(host: str, port: int, dog: Watchdog) -> list[tuple]:
    """getaddrinfo bounded by the deadline (it runs in a daemon thread that may outlive us)."""
    result: list = []

    def work() -> None:
        try:
            result.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as exc:     # UnicodeError: a name IDNA cannot encode
            result.append(exc)

    worker = threading.Thread(target=work, daemon=True, name="fetch-resolve")
    worker.start()
    worker.join(dog.remaining())
    if not result:
        raise FetchError(f"resolving the host name {host} did not finish within the deadline")
    if isinstance(result[0], Exception):
        reason = getattr(result[0], "strerror", None) or result[0]
        raise FetchError(f"the host name {host} could not be resolved ({reason})")
    return result[0]


class Budget:
    """A deadline without a watchdog, for connections whose reads a socket timeout bounds."""

    def __init__(self, timeout: float) -> None:
        self.deadline = time.monotonic() + timeout
        self.fired = False

    def remaining(self) -> float:
        return max(self.deadline - time.monotonic(), 0.0)

    def watch(self, sock: socket.socket | None) -> None:
        pass


def policy_connector(policy: HostPolicy, timeout: float):
    """A ``create_connection`` that resolves, checks every address with ``policy`` and connects to an
    allowed one within ``timeout`` (:class:`FetchError` otherwise), or within the call's own timeout
    when given (webhook delivery: what remains of the attempt). For ``http.client`` users:
    ``connection._create_connection = policy_connector(policy, timeout)``."""

    def create_connection(address, timeout_=None, source_address=None):
        bound = timeout if timeout_ is None else timeout_
        sock = connector(policy, Budget(bound))(address)
        sock.settimeout(bound)
        return sock

    return create_connection


def connector(policy: HostPolicy, dog: Watchdog | Budget):
    """A ``create_connection`` for http.client that checks each resolved address, then connects to it."""

    def create_connection(address, timeout=None, source_address=None):
        host, port = address
        refusals, candidates = [], []
        for family, kind, proto, _, sockaddr in resolve(host, port, dog):
            reason = policy.refusal(sockaddr[0].split("%", 1)[0], host)
            (refusals if reason else candidates).append(reason or (family, kind, proto, sockaddr))
        if not candidates:
            raise FetchError(f"refused by the host policy: {refusals[0]}")
        problems = []
        for family, kind, proto, sockaddr in candidates:
            sock = socket.socket(family, kind, proto)
            dog.watch(sock)
            sock.settimeout(max(dog.remaining(), 0.001))
            try:
                sock.connect(sockaddr)
                sock.settimeout(dog.remaining() + 1.0)    # reads are cut by the watchdog, which fires first
                return sock
            except socket.timeout:
                problems.append("connect timed out" if not dog.fired else "the deadline passed while connecting")
            except ConnectionRefusedError:
                problems.append("connection refused (is anything listening there?)")
            except OSError as exc:
                problems.append(exc.strerror or str(exc))
            sock.close()
            dog.watch(None)
        raise FetchError(f"could not connect to {host}:{port}: {'; '.join(dict.fromkeys(problems))}")

    return create_connection
