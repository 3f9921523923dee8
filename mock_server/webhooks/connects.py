"""How the sender (``sender.py``) opens a connection to a receiver, the TLS handshake included.

Either the loop connects itself, or (the host policy's connect-time check, CONTRACT §13) a
blocking ``connect`` runs in a pool of :data:`CONNECT_THREADS` threads, :data:`CONNECT_PER_RECEIVER`
at most per receiver (the others wait their turn on the loop, cut with their attempt), each
given what remains of its attempt's time when its thread takes it.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from concurrent.futures import ThreadPoolExecutor

CONNECT_THREADS = 16              # threads making policy-checked connects (Sender's ``connect``)
CONNECT_PER_RECEIVER = 4          # of those, at most this many for one receiver: a blackholed one never holds them all


class Connector:
    """Opens connections for one sender; :meth:`open` is a Task (cancel it to cut the connect).

    :param protocol: the protocol factory of a connection (the sender's link).
    :param connect: a blocking ``create_connection(address, timeout)``, or None: the loop connects.
    """

    def __init__(self, protocol, connect=None) -> None:
        self.protocol, self.connect = protocol, connect
        self._pool: ThreadPoolExecutor | None = None
        self._connecting: dict[tuple[str, str, int], list] = {}    # receiver: [its slots, attempts using them]
        self._tls: ssl.SSLContext | None = None

    def open(self, loop: asyncio.AbstractEventLoop, key: tuple[str, str, int], deadline: float) -> asyncio.Task:
        """A Task whose result is ``(transport, protocol)`` for the receiver ``key``."""
        scheme, host, port = key
        tls = None
        if scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            tls = self._tls
        if self.connect is None:
            return loop.create_task(loop.create_connection(self.protocol, host, port, ssl=tls,
                                                           server_hostname=host if tls else None))
        return loop.create_task(self._open_checked(loop, key, tls, deadline))

    async def _open_checked(self, loop, key, tls, deadline: float):
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
            return await loop.create_connection(self.protocol, sock=sock, ssl=tls, server_hostname=host if tls else None,
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

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None


def _connect_by(connect, address, deadline: float, clock) -> socket.socket:
    """(In a connect thread) ``connect`` with what remains of the attempt's time (``clock``: the loop's)."""
    remaining = deadline - clock()
    if remaining <= 0:
        raise TimeoutError("the attempt's time ran out before its connect began")
    return connect(address, remaining)


def _close_made(future) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().close()
