"""A private ``redis-server`` process for tests and the benchmark (``loadtests.bench``).

``RedisServer(binary).start()`` runs the ``redis-server`` found on PATH on a free 127.0.0.1 port,
in a temporary directory, with persistence off (no RDB snapshots, no AOF; ``durable=True`` turns on
an append-only file synced at every write, for outage tests that restart it); ``stop()`` kills it (as
an outage would; ``start()`` again brings it back on the same port), ``close()`` also removes its
directory. ``used_memory()`` reads ``used_memory`` for the benchmark's bytes-per-recipient figure.
``private_redis()`` is one for the length of a ``with`` block (None when ``redis-server`` is not on PATH).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

from .localhost import free_port


def find_binary() -> str | None:
    return shutil.which("redis-server")


class RedisServer:
    """One ``redis-server`` process on a free port; ``stop()`` kills it and removes its directory."""

    def __init__(self, binary: str, *, port: int | None = None, durable: bool = False) -> None:
        self.binary = binary
        self.durable = durable       # append-only file, fsync at every write: a kill loses nothing acknowledged
        self.port = port or free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="mock-redis-"))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> "RedisServer":
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
                   "--save", "", "--appendonly", "yes" if self.durable else "no",
                   "--appendfsync", "always", "--daemonize", "no", "--protected-mode", "yes",
                   "--logfile", str(self.directory / "redis.log")]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}: {self.log()[-2000:]}")
            if self.ping():
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not answer PING on port {self.port} within {timeout} s")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def log(self) -> str:
        path = self.directory / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Kill the server (as an outage would) and wait for it; the directory is kept for a restart."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def used_memory(self) -> int:
        """Redis's own ``used_memory`` (bytes), read with the ``redis`` client."""
        import redis

        with redis.Redis(port=self.port) as client:
            return int(client.info("memory")["used_memory"])


@contextlib.contextmanager
def private_redis() -> Iterator[RedisServer | None]:
    binary = find_binary()
    if binary is None:
        yield None
        return
    server = RedisServer(binary).start()
    try:
        yield server
    finally:
        server.close()
