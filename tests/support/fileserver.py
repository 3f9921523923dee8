"""A local HTTP server with a few fixed behaviours, serving CSVs for ``fileUrl`` sends."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from support.jelou import order_csv

CSV = order_csv(4)


class FileServer:
    """A local HTTP server with a few fixed behaviours, started by the tests."""

    def __init__(self) -> None:
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split("?")[0]
                if path in ("/list.csv", "/list.CSV", "/export"):
                    self._send(200, CSV)
                elif path == "/huge.csv":
                    self._send(200, b"x" * 5000)
                elif path == "/huge-undeclared.csv":
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(order_csv(300))
                    self.close_connection = True
                elif path == "/slow.csv":
                    server.release.wait(10)     # holds until the test ends; the mock must give up first
                    self._send(200, CSV)
                elif path == "/bad-rows.csv":
                    self._send(200, b"phone_number,order_id,amount,delivery\n+593991111111,a,b,c\n")
                else:
                    self._send(404, b"not found")

            def _send(self, status, body):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)
