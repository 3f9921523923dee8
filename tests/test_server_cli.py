"""The ``mock-server`` command: flags, config file, banner, and a real start under waitress."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest
import requests

from mock_server import create_app
from mock_server.__main__ import banner, build_config, main, parse_args


def test_flags_and_config_file(tmp_path):
    config = tmp_path / "mock.yaml"
    config.write_text("seed: 3\njelou:\n  sending_rate: 50\n")
    args = parse_args(["--host", "0.0.0.0", "--port", "9000", "--config", str(config), "--seed", "11"])
    assert (args.host, args.port) == ("0.0.0.0", 9000)
    assert build_config(args) == {"seed": 11, "jelou": {"sending_rate": 50}, "access_log": "text"}
    assert build_config(parse_args(["--log-format", "json"]))["access_log"] == "json"
    assert build_config(parse_args(["--quiet", "--log-format", "json"]))["access_log"] is None


def test_banner_lists_routes_and_demo_credentials():
    text = banner(create_app(), "http://127.0.0.1:8080")
    assert "http://127.0.0.1:8080" in text
    assert "POST         /v1/hsm/file" in text
    assert "/_mock/messages" in text
    assert "clientId demo-client-id  clientSecret demo-client-secret" in text
    assert "ServerKey demo-server-key" in text


def test_bad_config_exits_2_with_the_key(tmp_path, capsys):
    config = tmp_path / "mock.json"
    config.write_text(json.dumps({"jelou": {"sending_rat": 5}}))
    assert main(["--config", str(config), "--quiet"]) == 2
    assert "unknown setting 'jelou.sending_rat'" in capsys.readouterr().err


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_serves_under_waitress_and_reports_a_busy_port():
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "mock_server", "--port", str(port), "--seed", "5"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with requests.get(f"http://127.0.0.1:{port}/_mock/health", timeout=1) as response:
                    assert response.json() == {"status": "ok"}
                    break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        busy = subprocess.run([sys.executable, "-m", "mock_server", "--port", str(port), "--quiet"],
                              capture_output=True, text=True, timeout=30)
        assert busy.returncode == 1
        assert f"Try --port {port + 1}" in busy.stderr
    finally:
        server.terminate()
        out, err = server.communicate(timeout=10)
    assert f"listening on http://127.0.0.1:{port}  (seed 5" in out
    assert "WARNING: This is a development server" not in out + err
