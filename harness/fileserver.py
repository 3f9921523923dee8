"""``FileServer``: serve a directory over HTTP on a free local port (for Jelou's ``fileUrl``).

    with FileServer("fixtures") as files:
        jelou.send_url(files.url("jelou/valid.csv"), ...)

Plain ``http.server`` in a background thread, access log off; only for tests and demos.
"""
from __future__ import annotations

import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class FileServer:
    def __init__(self, directory: str | os.PathLike, host: str = "127.0.0.1") -> None:
        handler = functools.partial(_QuietHandler, directory=os.fspath(directory))
        self._httpd = ThreadingHTTPServer((host, 0), handler)
        self._httpd.daemon_threads = True
        self.base_url = f"http://{host}:{self._httpd.server_port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"file-server:{self._httpd.server_port}", daemon=True)

    def url(self, relative: str) -> str:
        return f"{self.base_url}/{relative.lstrip('/')}"

    def start(self) -> "FileServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "FileServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
