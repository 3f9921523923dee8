"""Serve a mock app on a free local port in a background thread (tests, the pytest plugin)."""

from __future__ import annotations

import threading
from typing import Any, Mapping

from werkzeug.serving import make_server

from mock_server import create_app


class BackgroundServer:
    """A real HTTP server for ``create_app(config)`` on ``host``, port chosen by the OS.

    Use as a context manager, or call ``start()`` / ``stop()``. ``app`` gives direct access to
    the app (and so to its clock and store) for assertions.
    """

    def __init__(self, config: Mapping[str, Any] | None = None, *, app=None, host: str = "127.0.0.1") -> None:
        self.app = app if app is not None else create_app(config)
        self._server = make_server(host, 0, self.app, threaded=True)
        self.host = host
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"mock-server:{self.port}", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "BackgroundServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
