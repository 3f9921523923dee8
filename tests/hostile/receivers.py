"""Misbehaving webhook receivers, served on loopback by the test itself.

Each is a raw socket server (no HTTP library: the point is to answer the way no library would):
it reads one request's head and body, then behaves as its ``kind`` says:

- ``drip``: ``200`` with ``Content-Length: 1000000``, then one byte a second, forever;
- ``huge``: ``200`` with a 50 MB body streamed as fast as the client takes it;
- ``silent``: accepts, reads the request, never answers;
- ``redirect``: ``302`` to ``location`` (a 3xx must be a failed attempt, never followed);
- ``interim``: ``102 Processing`` and ``103 Early Hints`` first, then the final answer, whose status
  is the next of ``finals`` (cycled); the connection is kept alive (the final answer is what counts).

``open`` counts the connections the client has not closed yet, ``sent`` the body bytes the
client's socket accepted, ``requests`` the requests read.
"""

from __future__ import annotations

import socket
import threading
import time

HUGE = 50 * 1024 * 1024
CHUNK = 16 * 1024


class Misbehaving:
    def __init__(self, kind: str, *, location: str = "", drip_every: float = 1.0, finals: tuple[int, ...] = (200,)) -> None:
        self.kind, self.location, self.drip_every, self.finals = kind, location, drip_every, finals
        self.requests = 0
        self.sent = 0
        self.open = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> "Misbehaving":
        thread = threading.Thread(target=self._accept, daemon=True, name=f"hostile-{self.kind}")
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc) -> None:
        self._stopping.set()
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._listener.close()

    def wait_open(self, count: int, timeout: float = 20.0) -> bool:
        return self._wait(lambda: self.open >= count, timeout)

    def wait_closed(self, timeout: float = 20.0) -> bool:
        return self._wait(lambda: self.open == 0, timeout)

    def _wait(self, condition, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.05)
        return condition()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        with self._lock:
            self.open += 1
        try:
            conn.settimeout(0.5)
            while not self._stopping.is_set():       # one request after another on a kept-alive connection
                if not self._read_request(conn):
                    return
                with self._lock:
                    self.requests += 1
                if not self._answer(conn):
                    return
        except OSError:
            return
        finally:
            with self._lock:
                self.open -= 1
            conn.close()

    def _read_request(self, conn: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self._recv(conn)
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            chunk = self._recv(conn)
            if not chunk:
                return False
            body += chunk
        return True

    def _recv(self, conn: socket.socket) -> bytes:
        while not self._stopping.is_set():
            try:
                return conn.recv(65536)
            except socket.timeout:
                continue
        return b""

    def _closed_by_client(self, conn: socket.socket) -> bool:
        """The client closed its side (the mock dropped the connection)."""
        try:
            conn.settimeout(0)
            return conn.recv(1, socket.MSG_PEEK) == b""
        except (BlockingIOError, socket.timeout):
            return False
        except OSError:
            return True
        finally:
            conn.settimeout(0.5)

    def _answer(self, conn: socket.socket) -> bool:
        """Behave; False when the connection is over."""
        if self.kind == "redirect":
            conn.sendall(f"HTTP/1.1 302 Found\r\nLocation: {self.location}\r\nContent-Length: 0\r\n\r\n".encode())
            return True
        if self.kind == "interim":
            final = self.finals[(self.requests - 1) % len(self.finals)]
            conn.sendall(b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
                         + f"HTTP/1.1 {final} Final\r\nContent-Length: 0\r\n\r\n".encode())
            return True
        if self.kind == "silent":
            while not self._stopping.is_set() and not self._closed_by_client(conn):
                time.sleep(0.05)
            return False
        if self.kind == "drip":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
            while not self._stopping.is_set() and not self._closed_by_client(conn):
                conn.sendall(b"x")
                with self._lock:
                    self.sent += 1
                self._stopping.wait(self.drip_every)
            return False
        # huge: as fast as the client's socket takes it
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {HUGE}\r\n\r\n".encode())
        block = b"y" * CHUNK
        conn.settimeout(2.0)
        while self.sent < HUGE and not self._stopping.is_set():
            try:
                conn.sendall(block)
            except socket.timeout:              # the client stopped reading (and keeps the socket)
                continue
            with self._lock:
                self.sent += len(block)
        return False
