"""Slow and half-open clients cannot lock /_mock/health out (issue 8 item 9). Loopback only, bounded."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests

from loadtests.slowclients import measure
from support.servers import start_server


@pytest.mark.slow
def test_health_answers_under_110_slow_connections_and_drippers_are_cut_off(tmp_path):
    config = tmp_path / "mock.json"
    config.write_text(json.dumps({"server": {"request_read_timeout": 2, "channel_timeout": 2}}))
    server, port = start_server("--quiet", "--config", str(config))
    try:
        figures = measure(f"http://127.0.0.1:{port}", connections=110, seconds=4)
        assert figures["failed"] == 0 and figures["answered"] >= 10, figures
        assert figures["max_ms"] < 1000, figures
        assert figures["refused"] == 0, figures
        # half-open ones by the idle timeout, header and body drippers by the total read deadline
        assert figures["slow_closed_by_server"] == 110, figures
        assert requests.get(f"http://127.0.0.1:{port}/_mock/health", timeout=2).json() == {"status": "ok"}
    finally:
        server.terminate()
        server.communicate(timeout=20)
    assert server.returncode == 0


@pytest.mark.slow
def test_slowclients_refuses_non_loopback_targets():
    result = subprocess.run([sys.executable, "-m", "loadtests.slowclients", "--base-url", "http://10.0.0.1:8080"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "only targets a loopback server" in result.stderr
