"""``mock-server`` as a real process on a free loopback port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(*argv: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "mock_server", "--port", str(port), *argv],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while True:
        try:
            with requests.get(f"http://127.0.0.1:{port}/_mock/health", timeout=1) as response:
                assert response.status_code == 200
                return server, port
        except requests.ConnectionError:
            assert server.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
