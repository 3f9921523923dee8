"""Serve a mock app on a free local port in a background thread (tests, the pytest plugin).

The per-request access log of werkzeug is off by default (``quiet=True``): in a test run it
would only bury the output that matters.  Errors are still logged.
"""

from __future__ import annotations

import threading
from typing import Any, Mapping

from werkzeug.serving import WSGIRequestHandler, make_server

from mock_server import create_app


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:
        pass


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


class BackgroundServer(ServingThread):
    """A real HTTP server for ``create_app(config)`` on ``host``, port chosen by the OS.

    Use as a context manager, or call ``start()`` / ``stop()``. ``app`` gives direct access to
    the app (and so to its clock and store) for assertions. Werkzeug's threaded server gives each
    request its own thread, so injected latency never starves it; ``drop`` faults work on its
    connections too. ``mock_server.serving.WaitressThread`` serves an app as ``mock-server`` does.
    """

    def __init__(self, config: Mapping[str, Any] | None = None, *, app=None, host: str = "127.0.0.1",
                 quiet: bool = True) -> None:
        if app is None:    # the listen address decides the fileUrl host policy (net.allow): tell the app
            config = dict(config or {})
            config["server"] = {**(config.get("server") or {}), "host": host}
            app = create_app(config)
        self.app = app
        handler = _QuietHandler if quiet else None
        server = make_server(host, 0, self.app, threaded=True, request_handler=handler)
        self.host = host
        self.port = server.server_port
        super().__init__(server, f"mock-server:{self.port}")

    def start(self):
        """Serve, and run the app's webhook dispatcher (stopped again by ``stop``)."""
        self.app.extensions["mock"].webhooks.start()
        return super().start()

    def stop(self) -> None:
        super().stop()
        self.app.extensions["mock"].webhooks.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"
