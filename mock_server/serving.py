"""Server plumbing: waitress with an elastic thread pool, and connection-level faults.

Two things a WSGI app cannot do by itself, provided here for the fault pipeline:

- ``hold_until(environ, seconds)``: wait until ``seconds`` of real time have passed since the
  request arrived (injected latency) *without starving the server*. Under :func:`create_server`
  the waiting request lends its worker back: the pool grows by one thread for as long as the wait
  lasts (up to ``max_held`` at once), so 100 slow requests never stop ``/_mock/health`` from
  answering at once; control-plane requests also go to the front of waitress's queue. Under any
  other server (werkzeug's threaded server gives each request its own thread) it simply waits.
- ``abort(environ)`` / ``reset_socket(environ)``: drop the connection with no (or a partial)
  response. Waitress closes the connection when the app raises its ``ClientDisconnected``;
  werkzeug does when the app raises a ``ConnectionError``. A reset sets ``SO_LINGER`` to zero
  (and under werkzeug closes the connection at once), so the client gets a TCP RST, not a FIN.

This is the only module that blocks on real time on purpose.
"""

from __future__ import annotations

import os
import re
import socket
import struct
import threading
import time
from typing import Any

from waitress.channel import ClientDisconnected
from waitress.server import create_server as _waitress_server
from waitress.task import ThreadedTaskDispatcher, WSGITask

from .server_errors import attach

CHANNEL_KEY = "mock.channel"
HOLD_KEY = "mock.hold"
CONTROL_PATH = re.compile(r"^(/sandboxes/[^/]+)?/_mock/")
RECEIVED_KEY = "mock.received"


class ElasticDispatcher(ThreadedTaskDispatcher):
    """Waitress's thread pool, plus a thread for every request held by injected latency."""

    def __init__(self, threads: int, max_held: int = 1000) -> None:
        super().__init__()
        self.base_threads = threads
        self.max_held = max_held
        self.held = 0
        self._held_lock = threading.Lock()
        self.task_class = _task_class(self)
        self.set_thread_count(threads)

    def add_task(self, channel) -> None:
        """Waitress queues a channel, which builds a ``task_class`` per request: use ours."""
        if getattr(channel, "task_class", None) is WSGITask:
            channel.task_class = self.task_class
        now = time.perf_counter()
        pending = list(getattr(channel, "requests", ()))
        for request in pending:
            if not hasattr(request, "mock_received"):
                request.mock_received = now          # fully read: latency counts from here
        if pending and CONTROL_PATH.search(getattr(pending[0], "path", "") or ""):
            with self.lock:                          # the control plane goes first: it is cheap, and a
                self.queue.appendleft(channel)       # test waits on it while load queues up behind
                self.queue_cv.notify()
            return
        super().add_task(channel)

    def hold(self, seconds: float) -> None:
        """Wait ``seconds``; meanwhile one extra worker serves the other requests."""
        with self._held_lock:
            lend = self.held < self.max_held
            if lend:
                self.held += 1
                self.set_thread_count(self.base_threads + self.held)
        try:
            threading.Event().wait(seconds)
        finally:
            if lend:
                with self._held_lock:
                    self.held -= 1
                    self.set_thread_count(self.base_threads + self.held)


def _task_class(dispatcher: ElasticDispatcher) -> type:
    class MockTask(WSGITask):
        """A waitress task whose environ reaches its connection and the dispatcher's ``hold``."""

        def get_environment(self):
            environ = super().get_environment()
            environ[CHANNEL_KEY] = self.channel
            environ[HOLD_KEY] = dispatcher.hold
            environ.setdefault(RECEIVED_KEY, getattr(self.request, "mock_received", None) or time.perf_counter())
            return environ

    return MockTask


def create_server(app, *, host: str, port: int, threads: int, **adjustments: Any):
    """A waitress server for ``app`` on the elastic pool (``server.run()`` serves until closed).

    ``connection_limit`` defaults to 1,000 open connections (waitress's own default, 100, would
    queue the 101st client of a latency test behind the held ones).
    """
    adjustments.setdefault("connection_limit", 1000)
    dispatcher = ElasticDispatcher(threads)
    server = _waitress_server(app, host=host, port=port, threads=threads, _dispatcher=dispatcher, **adjustments)
    return attach(server, app)          # the server's own errors answer in the owning envelope


def serve(app, *, host: str, port: int, threads: int, **adjustments: Any) -> None:
    """Like ``waitress.serve`` (blocks), on the elastic pool."""
    server = create_server(app, host=host, port=port, threads=threads, **adjustments)
    server.print_listen("Serving on http://{}:{}")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


class WaitressThread:
    """A waitress server on a free port in a daemon thread (tests, benchmarks).

    ``start()``/``stop()`` or a ``with`` block; ``base_url`` says where it listens.
    """

    def __init__(self, app, *, host: str = "127.0.0.1", port: int = 0, threads: int = 8, **adjustments: Any) -> None:
        self.server = create_server(app, host=host, port=port, threads=threads, **adjustments)
        self.host = host
        self.port = self.server.effective_port
        self._thread = threading.Thread(target=self._run, name=f"waitress:{self.port}", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        try:
            self.server.run()
        except (OSError, ValueError):            # the map is torn down under the loop by stop()
            pass

    def start(self) -> "WaitressThread":
        self._thread.start()
        return self

    def stop(self) -> None:
        for dispatcher in list(self.server._map.values()):
            if dispatcher is self.server:
                dispatcher.close()                   # the listening socket
            else:
                dispatcher.handle_close()            # connections and the loop's trigger
        self.server.task_dispatcher.shutdown(timeout=5)
        self._thread.join(timeout=5)

    def __enter__(self) -> "WaitressThread":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def mark_received(environ: dict) -> None:
    """Note when the request arrived, unless the server already did (waitress: when it was fully read)."""
    environ.setdefault(RECEIVED_KEY, time.perf_counter())


def hold_until(environ: dict, seconds: float) -> None:
    """Wait until ``seconds`` of real time have passed since the request arrived.

    Injected latency counts from arrival, so the time the mock itself took (queueing, parsing)
    is part of it rather than added on top. The wait does not hold one of the server's workers
    (see the module doc).
    """
    received = environ.get(RECEIVED_KEY)
    remaining = seconds - (time.perf_counter() - received if received is not None else 0.0)
    if remaining <= 0:
        return
    lender = environ.get(HOLD_KEY)
    if lender is not None:
        lender(remaining)
    else:
        threading.Event().wait(remaining)


def abort(environ: dict) -> BaseException:
    """The exception that makes the serving server close this connection without answering more.

    Werkzeug would keep a keep-alive connection open after it (waiting for a next request while
    the client waits for this answer), so its socket is shut down here first; what was already
    written (a truncated answer) has been sent.
    """
    if CHANNEL_KEY in environ:
        return ClientDisconnected("connection dropped by a mock fault rule")
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass                                 # already reset, or gone
    return ConnectionAbortedError("connection dropped by a mock fault rule")


def connection_socket(environ: dict) -> socket.socket | None:
    channel = environ.get(CHANNEL_KEY)
    if channel is not None:
        return channel.socket
    return environ.get("werkzeug.socket")


def reset_socket(environ: dict) -> None:
    """Arrange for the connection to end with a TCP RST, never a FIN first.

    ``SO_LINGER`` zero makes closing send a RST. Waitress closes the socket itself once the app
    raises :func:`abort`'s exception. Werkzeug's server would first ``shutdown(SHUT_WR)`` (a FIN),
    so under it the connection is closed here: an unconnected stand-in socket is ``dup2``-ed onto
    the connection's descriptor, which closes the connection (RST) while the descriptor number
    stays valid for werkzeug's own clean-up (it then fails quietly on the stand-in).
    """
    sock = connection_socket(environ)
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        if CHANNEL_KEY not in environ:
            with socket.socket(sock.family, sock.type) as stand_in:
                os.dup2(stand_in.fileno(), sock.fileno())
    except OSError:
        pass




def elapsed_ms(environ: dict) -> float:
    """Real milliseconds since the request arrived (see :func:`mark_received`)."""
    return (time.perf_counter() - environ[RECEIVED_KEY]) * 1000.0
