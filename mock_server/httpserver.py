"""Serving an app built by ``create_app``: waitress for one process, granian for ``--workers N``.

One process (the default): waitress. Its asyncore loop reads every request in full before a
worker thread sees it, so slow or half-open clients cost a socket, not a thread. On top of
waitress's idle timeout (``server.channel_timeout``; a dripped byte resets it) this module adds a
TOTAL deadline per request (``server.request_read_timeout``, checked every second): a client
dripping headers or a body is disconnected when it passes. ``server.connection_limit`` is raised
from waitress's 100 to 1,000, so ~100 slow clients no longer lock everyone out.

Several processes (``--workers N``): granian (a Rust HTTP server) with N worker processes, each
building its own app with ``create_app(config)`` (the store must then be shared: ``store.url``
redis://). Chosen over gunicorn's ``gthread`` workers, which read each request in a worker thread:
110 slow clients stopped /_mock/health there (README "Server setup" has the figures). Granian reads
requests asynchronously and enforces ``server.request_read_timeout`` on headers; it has no total
body deadline and no idle timeout of its own, so those two protections are waitress-only.
A worker that dies is replaced while the others keep serving (CONTRACT §18): one killed by a signal
(``kill -9``, the OOM killer) every time; one that exits by itself again within 5.5 s of being
replaced is a crash loop (it cannot start), and the server stops with exit status 1.

SIGTERM (and Ctrl-C): print a shutdown line, stop accepting, answer open long-polls at once (with
what they have), let in-flight requests finish (at most ``server.shutdown_grace`` seconds), exit 0.
"""

from __future__ import annotations

import gc
import json
import signal
import socket
import sys
import time
from typing import TYPE_CHECKING, Any, Callable, Mapping

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

from . import metrics
from .faults import background_access_log
from .server_errors import attach

if TYPE_CHECKING:
    from .settings.core import ServerSettings


# Bytes one read of the event loop takes from a socket (waitress: 8,192). A 40 KB upload then
# arrives in one or two reads instead of six, each of which is a loop round (a poll over every
# open connection) and a pass through the request parser; the socket buffer bounds it anyway.
RECV_BYTES = 256 * 1024


class ListenError(OSError):
    """The address cannot be listened on; the message says why and what to try."""


def bind(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """A listening socket on ``host:port`` (first address that binds), or :class:`ListenError`."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ListenError(f"cannot listen on {host}: not a valid IP address or known host name ({exc.strerror})") from None
    problem = None
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(backlog)
            return sock
        except OSError as exc:
            sock.close()
            problem = exc
    hint = f" Is another server running there? Try --port {port + 1}." if problem and problem.errno == 98 else ""
    reason = problem.strerror if problem else "no address"
    raise ListenError(f"cannot listen on {host}:{port}: {reason}.{hint}")


class DeadlineMixin:
    """For a waitress channel class: remember when the request being read started to arrive."""

    read_started: float | None = None

    def received(self, data: bytes) -> bool:  # type: ignore[override]
        fresh = self.request is None
        result = super().received(data)
        if self.request is None:
            self.read_started = None
        elif fresh or self.read_started is None:
            self.read_started = time.monotonic()
        return result


class DeadlineChannel(DeadlineMixin, HTTPChannel):
    """waitress's channel with the read start time :class:`DeadlineServer` needs."""


class DeadlineServer(TcpWSGIServer):
    """waitress's TCP server plus a total read deadline and a graceful stop."""

    channel_class = DeadlineChannel
    read_timeout = 120.0

    def maintenance(self, now: float) -> None:
        super().maintenance(now)
        cutoff = time.monotonic() - self.read_timeout
        for channel in list(self.active_channels.values()):
            started = getattr(channel, "read_started", None)
            if started is not None and started < cutoff and not channel.requests:
                channel.will_close = True

    def busy(self) -> bool:
        """Is any request being read, queued or answered?"""
        return any(channel.requests or channel.total_outbufs_len or channel.request is not None
                   for channel in list(self.active_channels.values()))

    def stop_accepting(self) -> None:
        if self.accepting:
            self.accepting = False
            self.del_channel()
            self.socket.close()


def waitress_server(app, server: ServerSettings, sock: socket.socket, *,
                    channel_class: type = DeadlineChannel, dispatcher: ThreadedTaskDispatcher | None = None,
                    ) -> DeadlineServer:
    """The one-process server on ``sock`` with the ``server`` settings; ``run()`` it, or :func:`serve_waitress`.

    ``channel_class`` must include :class:`DeadlineMixin`; ``dispatcher`` replaces waitress's thread pool."""
    adj = Adjustments(
        sockets=[sock], threads=server.threads, connection_limit=server.connection_limit,
        channel_timeout=max(1, int(server.channel_timeout)), cleanup_interval=1, ident="mock-server",
        max_request_body_size=app.config["MAX_CONTENT_LENGTH"] + 1,     # attach() sets the same
        recv_bytes=RECV_BYTES,
    )
    if dispatcher is None:
        dispatcher = ThreadedTaskDispatcher()
        dispatcher.set_thread_count(adj.threads)
    instance = DeadlineServer(app, {}, True, sock, dispatcher=dispatcher, adj=adj, bind_socket=False,
                              sockinfo=(sock.family, sock.type, sock.proto, sock.getsockname()))
    instance.channel_class = channel_class
    instance.read_timeout = float(server.request_read_timeout)
    return attach(instance, app)     # waitress's own errors answer as JSON in the owning envelope


def serve_waitress(app, server: ServerSettings, sock: socket.socket, say: Callable[[str], None],
                   **options: Any) -> int:
    """Serve until SIGTERM/SIGINT, then finish in-flight requests and return 0 (``options``: see
    :func:`waitress_server`)."""
    instance = waitress_server(app, server, sock, **options)
    close_log = background_access_log(app)            # written off the request threads; flushed below
    stopping: list[str] = []

    def on_signal(number, _frame) -> None:
        if not stopping:
            stopping.append(signal.Signals(number).name)

    previous = {number: signal.signal(number, on_signal) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stopping:
            instance.asyncore.loop(timeout=0.5, map=instance._map, use_poll=True, count=1)
        say(f"mock-server: {stopping[0]} received, finishing in-flight requests "
            f"(at most {server.shutdown_grace:g} s) and stopping")
        instance.stop_accepting()
        app.extensions["mock"].stopping.set()         # long-polls answer now rather than at their timeout
        grace_ends = time.monotonic() + float(server.shutdown_grace)
        while instance.busy() and time.monotonic() < grace_ends:
            instance.asyncore.loop(timeout=0.1, map=instance._map, use_poll=True, count=1)
        instance.task_dispatcher.shutdown(timeout=1)
        wasyncore.close_all(instance._map)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        close_log()                                   # every buffered line, before the last words
    say("mock-server: stopped")
    return 0


# Generation 0 of the cyclic garbage collector: collected after this many new container objects
# (Python's default is 700). The webhook dispatcher allocates many short-lived ones per event: at
# 700 a 200,000-row campaign's delivery spent 54-76 us of CPU per event in 3,000 collections, at
# 50,000 1-7 us in 7 (loadtests/README.md, "The garbage collector": python -m loadtests.gccost).
GC_GENERATION0 = 50_000


def tune_gc() -> None:
    """The serving process's garbage collector (``mock-server``, each ``--workers`` worker), once its
    app is built: generation 0 collected every :data:`GC_GENERATION0` allocations, generations 1 and
    2 as they are. (``gc.freeze()`` of the start-up objects measured no gain on top.) Never called
    by ``create_app``: a test suite embedding the app keeps its own collector."""
    gc.set_threshold(GC_GENERATION0, *gc.get_threshold()[1:])


def granian_app(target: str):
    """Granian's loader in each worker process: the app for the JSON config the parent passed (and
    the directory the workers' metrics go to, summed by any worker's ``/_mock/metrics``)."""
    from . import create_app, metrics
    given = json.loads(target)
    metrics.use_directory(given["metrics"])
    app = create_app(given["config"])
    tune_gc()
    app.extensions["mock"].webhooks.start()      # each worker delivers (the shared store hands out each event once)
    return app


def serve_granian(config: Mapping[str, Any], server: ServerSettings, say: Callable[[str], None]) -> int:
    """Serve with granian: ``server.workers`` processes, each with its own ``create_app(config)``."""
    from granian import Granian
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    class MockGranian(Granian):
        def signal_handler_interrupt(self, *args, **kwargs):
            if not self.interrupt_signal:
                say(f"mock-server: stop signal received, finishing in-flight requests "
                    f"(at most {server.shutdown_grace:g} s) and stopping")
            super().signal_handler_interrupt(*args, **kwargs)

        def _respawn_workers(self, workers, spawn_target, target_loader, delay: float = 0):
            # granian stops the whole server when a worker it has just replaced dies again within
            # 5.5 s ("crash loop"). Right for a worker that exits by itself (it cannot start), wrong for
            # one killed by a signal (kill -9, the OOM killer): that one is replaced every time.
            killed = [idx for idx in workers if (self.wrks[idx].inner.exitcode or 0) < 0]
            for idx in workers:
                code = self.wrks[idx].inner.exitcode
                if code is not None:
                    how = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
                    say(f"mock-server: worker-{idx + 1} {how}; starting a new one (the others keep serving)")
            super()._respawn_workers(workers, spawn_target, target_loader, delay)
            for idx in killed:
                self.respawned_wrks.pop(idx, None)

    with metrics.multiprocess_directory() as directory:      # the workers' metric files, removed at the end
        instance = MockGranian(
            json.dumps({"config": dict(config), "metrics": directory}, default=str), address=server.host,
            port=server.port, interface=Interfaces.WSGI, workers=server.workers, blocking_threads=server.threads,
            backpressure=server.connection_limit, log_level=LogLevels.error,
            http1_settings=HTTP1Settings(header_read_timeout=int(server.request_read_timeout * 1000)),
            workers_kill_timeout=max(1, int(server.shutdown_grace)),
            respawn_failed_workers=True,     # CONTRACT §18: a worker that dies is replaced
        )
        instance.on_shutdown(lambda: say("mock-server: stopped"))
        try:
            instance.serve(target_loader=granian_app)
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0


def log_line(text: str) -> None:
    """Shutdown and status lines go to stderr, flushed at once (they may be the last thing printed)."""
    print(text, file=sys.stderr, flush=True)
