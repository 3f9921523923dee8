"""The ``mock-server`` command: flags, config file, banner, and a real start under waitress."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import requests

from mock_server import create_app
from mock_server.__main__ import banner, build_config, main, parse_args
from support.servers import free_port, start_server


def test_flags_and_config_file(tmp_path):
    config = tmp_path / "mock.yaml"
    config.write_text("seed: 3\njelou:\n  sending_rate: 50\n")
    args = parse_args(["--host", "0.0.0.0", "--port", "9000", "--config", str(config), "--seed", "11"])
    assert (args.host, args.port) == ("0.0.0.0", 9000)
    assert build_config(args) == {"seed": 11, "jelou": {"sending_rate": 50}, "server": {"host": "0.0.0.0", "port": 9000},
                                  "access_log": "text"}
    assert build_config(parse_args(["--log-format", "json"]))["access_log"] == "json"
    assert build_config(parse_args(["--quiet", "--log-format", "json"]))["access_log"] is None


def test_server_flags_override_the_config_file(tmp_path):
    config = tmp_path / "mock.yaml"
    config.write_text("server:\n  threads: 4\n  connection_limit: 50\nstore:\n  prefix: 'x:'\n")
    args = parse_args(["--config", str(config), "--threads", "8", "--workers", "2", "--store", "redis://127.0.0.1:6379/0",
                       "--quiet"])
    assert build_config(args) == {"server": {"threads": 8, "connection_limit": 50, "workers": 2},
                                  "store": {"prefix": "x:", "url": "redis://127.0.0.1:6379/0"}, "access_log": None}


def test_banner_lists_routes_and_demo_credentials():
    text = banner(create_app(), "http://127.0.0.1:8080")
    assert "http://127.0.0.1:8080" in text
    assert "POST         /v1/hsm/file" in text
    assert "/_mock/messages" in text
    assert "clientId demo-client-id  clientSecret demo-client-secret" in text
    assert "ServerKey demo-server-key" in text
    assert "fileUrl hosts: any (the server listens on loopback only)" in text
    public = banner(create_app({"server": {"host": "0.0.0.0"}, "net": {"allow": ["10.1.0.0/16"]}}), "http://127.0.0.1:8080")
    assert "fileUrl hosts: public ones, plus net.allow (10.1.0.0/16): loopback and private addresses are refused" in public


def test_bad_config_exits_2_with_the_key(tmp_path, capsys):
    config = tmp_path / "mock.json"
    config.write_text(json.dumps({"jelou": {"sending_rat": 5}}))
    assert main(["--config", str(config), "--quiet"]) == 2
    assert "unknown setting 'jelou.sending_rat'" in capsys.readouterr().err


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


@pytest.mark.parametrize("argv, message", [
    (["--port", "99999"], "--port must be between 0 and 65535, not 99999"),
    (["--port", "-1"], "--port must be between 0 and 65535, not -1"),
    (["--port", "http"], "--port must be a whole number, not 'http'"),
    (["--threads", "0"], "--threads must be at least 1, not 0"),
    (["--workers", "0"], "--workers must be at least 1, not 0"),
    (["--store", "postgres://db"], "--store must be 'memory' or redis://HOST:PORT/DB, not 'postgres://db'"),
])
def test_bad_flags_exit_2_with_a_clear_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_several_workers_need_a_shared_store(capsys):
    assert main(["--workers", "2", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "server.workers 2 needs a shared store" in err and "--store redis://HOST:PORT/DB" in err


@pytest.mark.parametrize("key, value, message", [
    ("connection_limit", 0, "server.connection_limit must be an integer >= 1, not 0"),
    ("request_read_timeout", "soon", "server.request_read_timeout must be a number >= 1, not 'soon'"),
    ("port", 70000, "server.port must be an integer between 0 and 65535, not 70000"),
])
def test_server_settings_are_checked(tmp_path, capsys, key, value, message):
    config = tmp_path / "mock.json"
    config.write_text(json.dumps({"server": {key: value}}))
    assert main(["--config", str(config), "--quiet"]) == 2
    assert message in capsys.readouterr().err


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == "mock-server 0.2.0"


def run_cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mock_server", *argv], capture_output=True, text=True, timeout=30)


def test_an_impossible_host_is_a_clear_error_without_traceback():
    result = run_cli("--host", "999.1.1.1", "--port", "0")
    assert result.returncode == 1
    assert "mock-server: cannot listen on 999.1.1.1: not a valid IP address or known host name" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.slow
def test_sigterm_finishes_the_request_in_flight_and_exits_0():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from support.jelou import JELOU, ORDER_PARAMS, order_csv

    release, arrived = threading.Event(), threading.Event()

    class SlowFile(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            arrived.set()
            release.wait(30)                   # the mock's request is in flight until the test says so
            body = order_csv(3)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    files = ThreadingHTTPServer(("127.0.0.1", 0), SlowFile)
    threading.Thread(target=files.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    server, port = start_server("--quiet")
    answers = []
    body = {"campaignName": "in flight", "elementName": "order_confirmation", "botId": "demo-bot",
            "params": ORDER_PARAMS, "fileUrl": f"http://127.0.0.1:{files.server_port}/list.csv"}
    sender = threading.Thread(target=lambda: answers.append(
        requests.post(f"http://127.0.0.1:{port}/v1/hsm/file", json=body, headers=JELOU, timeout=20)))
    try:
        sender.start()
        assert arrived.wait(30), "the upload never asked for its file"
        server.terminate()                     # SIGTERM while the upload waits for its file
        time.sleep(0.5)
        assert server.poll() is None, "the server must wait for the request in flight"
        release.set()
        sender.join(20)
        out, err = server.communicate(timeout=20)
    finally:
        release.set()
        files.shutdown()
        files.server_close()
        if server.poll() is None:
            server.kill()
    assert answers and answers[0].status_code == 200, answers and answers[0].text
    assert server.returncode == 0
    assert "mock-server: SIGTERM received, finishing in-flight requests" in err
    assert "mock-server: stopped" in err


@pytest.mark.slow
def test_busy_port_is_reported_before_any_banner():
    server, port = start_server("--quiet")
    try:
        busy = run_cli("--port", str(port))
        assert busy.returncode == 1
        assert f"mock-server: cannot listen on 127.0.0.1:{port}: Address already in use. Is another server running there? Try --port {port + 1}." in busy.stderr
        assert "listening on" not in busy.stdout and busy.stdout == ""
    finally:
        server.terminate()
        server.communicate(timeout=20)


GRANIAN_SCRIPT = """
import sys
from mock_server.httpserver import log_line, serve_granian
from dataclasses import replace
from mock_server.settings import defaults
server = replace(defaults().server, workers=2, threads=4, port=int(sys.argv[1]), shutdown_grace=5)
sys.exit(serve_granian({"seed": 7}, server, log_line))
"""


@pytest.mark.slow
def test_several_workers_serve_under_granian_and_stop_cleanly_on_sigterm():
    """The --workers path (granian, 2 processes). The memory store stands in for the shared one here:
    each process has its own, so this checks serving and stopping, not shared state."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", GRANIAN_SCRIPT, str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/_mock/health", timeout=1).json() == {"status": "ok"}:
                    break
            except requests.ConnectionError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read() if server.poll() else "no start"
                time.sleep(0.2)
        bad = requests.get(f"http://127.0.0.1:{port}/v1/campaigns", timeout=5)
        assert bad.status_code == 401 and bad.json()["status"] == "failed"
        server.terminate()
        out, err = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0, err
    assert "mock-server: stop signal received, finishing in-flight requests (at most 5 s)" in err
    assert err.rstrip().endswith("mock-server: stopped")


@pytest.mark.slow
def test_workers_2_on_redis_act_as_one_mock(redis_url):
    """``mock-server --workers 2 --store redis://``: granian, two processes, one shared store."""
    from support.jelou import JELOU, ORDER_PARAMS, order_csv

    server, port = start_server("--quiet", "--workers", "2", "--store", redis_url, "--seed", "3")
    base = f"http://127.0.0.1:{port}"
    try:
        ids = []
        for index in range(6):               # spread over both workers by the kernel's accept balancing
            response = requests.post(f"{base}/v1/hsm/file", headers=JELOU, timeout=10,
                                     files={"file": ("r.csv", order_csv(3))},
                                     data={"campaignName": f"c{index}", "elementName": "order_confirmation",
                                           "botId": "demo-bot", "params": json.dumps(ORDER_PARAMS)})
            assert response.status_code == 200, response.text
            ids.append(response.headers["X-Mock-Campaign-Id"])
        for _ in range(3):                   # every read, whichever worker answers, sees every upload
            for campaign_id in ids:
                got = requests.get(f"{base}/v1/campaigns/{campaign_id}", headers=JELOU, timeout=10)
                assert got.status_code == 200 and got.json()["data"]["totalMessages"] == 3
        server.terminate()
        out, err = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0, err
    assert "mock-server: stopped" in err


def test_flags_are_the_models_settings_checked_by_the_model(capsys):
    """Each settings flag is a field of the model: the same check and limits as in a config file."""
    from mock_server.__main__ import model_flags

    assert {path for path, _ in model_flags()} == {"seed", "server.host", "server.port", "server.threads",
                                                   "server.workers", "store.url", "net.allow"}
    with pytest.raises(SystemExit):
        parse_args(["--port", "70000"])
    assert "--port must be between 0 and 65535, not 70000" in capsys.readouterr().err
    assert main(["--config", "/dev/null", "--port", "8080", "--workers", "2", "--quiet"]) == 2     # cross-field: model
    assert "server.workers 2 needs a shared store" in capsys.readouterr().err


@pytest.mark.parametrize("url", ["unix:///tmp/redis.sock", "unix:///run/redis/redis.sock?db=2", "rediss://h:6380/0"])
def test_store_flag_and_setting_accept_what_open_store_opens(url):
    """The drift fixed: --store, MOCK_STORE and store.url accept the same URLs (unix:// included)."""
    from mock_server.settings import build_settings

    assert parse_args(["--store", url]).store == url
    assert parse_args([], environ={"MOCK_STORE": url}).store == url
    assert build_config(parse_args(["--store", url]))["store"] == {"url": url}
    assert build_settings({"store": {"url": url}}).store.url == url


def test_a_unix_socket_store_serves(tmp_path):
    """``--store unix://PATH``: a real redis-server listening on a Unix socket only."""
    from loadtests.redisserver import find_binary
    from support.realredis import REDIS_MISSING, missing_binary

    binary = find_binary()
    if binary is None:
        missing_binary(*REDIS_MISSING)
    sock = tmp_path / "redis.sock"
    server = subprocess.Popen([binary, "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no",
                               "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not sock.exists():
            assert time.monotonic() < deadline and server.poll() is None, "redis-server did not start"
            time.sleep(0.05)
        app = create_app(build_config(parse_args(["--store", f"unix://{sock}?db=0", "--quiet"])))
        client = app.test_client()
        assert client.post("/_mock/clock", json={"frozen": True}).status_code == 200
        assert create_app({"store": {"url": f"unix://{sock}?db=0"}}).extensions["mock"].clock.frozen is True
    finally:
        server.terminate()
        server.wait(timeout=10)
