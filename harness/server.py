"""Serve a mock app on a free local port in a background thread (tests, the pytest plugin).

The mock itself runs under waitress (:class:`BackgroundServer`); the small helper servers (CSV
files, webhook receivers) use werkzeug's through :class:`ServingThread`. The mock's access log is
off unless the config sets ``access_log``.
"""

from __future__ import annotations

import threading
from typing import Any, Mapping

from mock_server import create_app
from mock_server.serving import WaitressThread


class ServingThread:
    """A ``socketserver``-style server (``serve_forever``/``shutdown``) run in a daemon thread.

    Subclasses build the server and call ``super().__init__(server, name)``; this class gives
    them ``start()``, ``stop()`` and the context-manager protocol.
    """

    def __init__(self, server, name: str) -> None:
        self._server = server
        # A short poll interval makes stop() take ~50 ms instead of serve_forever's default 0.5 s.
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=name, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class BackgroundServer:
    """``create_app(config)`` served by waitress (as ``mock-server`` serves it) on ``host``, port chosen by the OS.

    Use as a context manager, or call ``start()`` / ``stop()``. ``app`` gives direct access to
    the app (and so to its clock and store) for assertions. The same server as in production
    means injected latency does not hold a worker and ``drop`` faults reset real connections.
    """

    def __init__(self, config: Mapping[str, Any] | None = None, *, app=None, host: str = "127.0.0.1",
                 threads: int = 32) -> None:
        self.app = app if app is not None else create_app(config)
        self._server = WaitressThread(self.app, host=host, threads=threads)
        self.host = host
        self.port = self._server.port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "BackgroundServer":
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
