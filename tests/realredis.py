"""A private, real ``redis-server`` for the tests (pytest plugin, loaded by ``conftest.py``).

``RedisServer`` starts the ``redis-server`` found on PATH on a free 127.0.0.1 port, in a temporary
directory, with persistence off (no RDB snapshots, no AOF), and stops it. Fixtures:

- ``redis_server`` (session): one server for the whole run;
- ``redis_url``: ``redis://127.0.0.1:PORT/0`` on that server, flushed before the test.

With no ``redis-server`` on PATH the tests that use them are skipped with the install command as
the reason — except under ``CI=true``, where a missing binary is a failure (CI must run them).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

INSTALL_HINT = "redis-server is not on PATH: install it with `apt-get install redis-server`"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def missing_binary(what: str) -> None:
    """Skip the test (locally) or fail it (``CI=true``) because ``what`` is not installed."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} (CI=true: the test must run, not be skipped)", pytrace=False)
    pytest.skip(what)


class RedisServer:
    """One ``redis-server`` process on a free port; ``stop()`` kills it and removes its directory."""

    def __init__(self, binary: str, *, port: int | None = None) -> None:
        self.binary = binary
        self.port = port or free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="mock-redis-"))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> "RedisServer":
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
                   "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes",
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


def start_redis() -> RedisServer:
    """A started private server, or skip/fail (see the module docstring) when there is none."""
    binary = shutil.which("redis-server")
    if binary is None:
        missing_binary(INSTALL_HINT)
    return RedisServer(binary).start()


@pytest.fixture(scope="session")
def redis_server():
    server = start_redis()
    yield server
    server.close()


@pytest.fixture
def redis_url(redis_server):
    """The URL of database 0 of the session's server, emptied before the test."""
    if redis_server.process is None:      # a test stopped it to emulate an outage
        redis_server.start()
    import redis

    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server.url
