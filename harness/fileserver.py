"""``FileServer``: serve a directory over HTTP on a free local port (for Jelou's ``fileUrl``).

    with FileServer("fixtures") as files:
        jelou.send_url(files.url("jelou/valid.csv"), ...)

Plain ``http.server`` in a background thread, access log off; only for tests and demos.
"""
from __future__ import annotations

import functools
import os
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

from .server import ServingThread


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class FileServer(ServingThread):
    def __init__(self, directory: str | os.PathLike, host: str = "127.0.0.1") -> None:
        handler = functools.partial(_QuietHandler, directory=os.fspath(directory))
        httpd = ThreadingHTTPServer((host, 0), handler)
        httpd.daemon_threads = True
        self.base_url = f"http://{host}:{httpd.server_port}"
        super().__init__(httpd, f"file-server:{httpd.server_port}")

    def url(self, relative: str) -> str:
        return f"{self.base_url}/{relative.lstrip('/')}"
