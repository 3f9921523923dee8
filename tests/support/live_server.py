"""Start ``mock-server`` as a real process on a free loopback port, for tests that need the real server."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from typing import Iterator

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def mock_server(*args: str, port: int | None = None, start_within: float = 20.0) -> Iterator[str]:
    """``python -m mock_server --port PORT --quiet *args``; yields its base URL once health answers."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, "-m", "mock_server", "--port", str(port), "--quiet", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + start_within
        while True:
            try:
                requests.get(f"{base}/_mock/health", timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, "mock-server did not start"
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.communicate(timeout=10)
