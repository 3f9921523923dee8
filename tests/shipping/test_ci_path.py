"""A team's CI (CONTRACT §16): MOCK_BASE_URL, the receiver's bind/advertised host, --net-allow, the
public API in a project with its own ``harness/``."""
from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

import bulk_messaging_mock
import bulk_messaging_mock.pytest_plugin as plugin
from harness.server import BackgroundServer
from mock_server import create_app
from mock_server.__main__ import build_config, parse_args
from support.webhooks import advance, config, send_indigitall, subscribe, wait_deliveries

pytest_plugins = ["pytester"]

ROOT = next(parent for parent in Path(__file__).resolve().parents if (parent / "pyproject.toml").exists())
PROJECT = ROOT / "scripts" / "ci-project"          # the foreign project scripts/container-smoke runs
STRICT_INI = "[pytest]\nfilterwarnings =\n    error\n"
CLOSED = "http://127.0.0.1:9"                      # loopback "discard": nothing listens, never reached

WHICH_SERVER = '''
import os

def test_which_server(mock_server, mock_clock):
    assert mock_server.app is None                      # not served by this process
    assert mock_server.service_url == os.environ["EXPECTED_URL"]
    assert mock_clock.now().startswith("2031-02-03T04:05:06")
'''


@pytest.fixture(scope="module")
def running_mock():
    with BackgroundServer({"clock": {"start": "2031-02-03T04:05:06Z", "frozen": True}}) as server:
        yield server


def test_mock_base_url_is_used_and_the_header_says_why(pytester, monkeypatch, running_mock):
    monkeypatch.setenv("MOCK_BASE_URL", running_mock.base_url + "/")
    monkeypatch.setenv("EXPECTED_URL", running_mock.base_url)
    pytester.makeini(STRICT_INI)
    pytester.makepyfile(test_which=WHICH_SERVER)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"bulk-messaging-mock: the mock at {running_mock.base_url}/ (from MOCK_BASE_URL)"])


def test_the_flag_wins_over_mock_base_url(pytester, monkeypatch, running_mock):
    monkeypatch.setenv("MOCK_BASE_URL", CLOSED)
    monkeypatch.setenv("EXPECTED_URL", running_mock.base_url)
    pytester.makeini(STRICT_INI)
    pytester.makepyfile(test_which=WHICH_SERVER)
    result = pytester.runpytest("-p", "no:cacheprovider", "--mock-url", running_mock.base_url)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"bulk-messaging-mock: the mock at {running_mock.base_url} "
                                 "(from --mock-url; MOCK_BASE_URL ignored)"])


def test_without_either_the_plugin_starts_its_own_and_says_so(pytester, monkeypatch):
    monkeypatch.setenv("MOCK_BASE_URL", "  ")          # empty counts as unset
    pytester.makeini(STRICT_INI)
    pytester.makepyfile(test_own="def test_own(mock_server):\n    assert mock_server.app is not None\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["bulk-messaging-mock: an in-process mock started by the plugin "
                                 "(neither --mock-url nor MOCK_BASE_URL is set)"])


RECEIVER = '''
import requests

def test_receiver(mock_server, mock_clock, webhook_receiver):
    assert webhook_receiver.host == "127.0.0.2"
    assert webhook_receiver.url == f"http://localhost:{webhook_receiver.port}"
'''


def test_the_receiver_binds_mock_webhook_bind_and_advertises_mock_webhook_host(pytester, monkeypatch):
    monkeypatch.setenv("MOCK_WEBHOOK_BIND", "127.0.0.2")     # loopback too: proves the bind address is used
    monkeypatch.setenv("MOCK_WEBHOOK_HOST", "localhost")
    pytester.makeini(STRICT_INI)
    pytester.makepyfile(test_receiver=RECEIVER)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.parametrize("environ, expected", [
    ({}, ("127.0.0.1", "127.0.0.1")),
    ({"MOCK_WEBHOOK_BIND": "127.0.0.3"}, ("127.0.0.3", "127.0.0.3")),
    ({"MOCK_WEBHOOK_BIND": "0.0.0.0", "MOCK_WEBHOOK_HOST": "runner"}, ("0.0.0.0", "runner")),
    ({"MOCK_WEBHOOK_HOST": "host.docker.internal"}, ("127.0.0.1", "host.docker.internal")),
])
def test_webhook_address_defaults(environ, expected):
    assert plugin.webhook_address(environ) == expected


@pytest.mark.parametrize("bind", ["0.0.0.0", "::"])
def test_listening_everywhere_without_an_advertised_host_is_a_clear_error(bind):
    with pytest.raises(pytest.UsageError, match=f"MOCK_WEBHOOK_BIND={bind} listens on every address; "
                                                "set MOCK_WEBHOOK_HOST"):
        plugin.webhook_address({"MOCK_WEBHOOK_BIND": bind})


def test_an_ipv6_advertised_host_is_bracketed_in_the_url():
    receiver = bulk_messaging_mock.WebhookReceiver("127.0.0.1", 8123, advertise="::1")
    assert receiver.url == "http://[::1]:8123"


# -- --net-allow / MOCK_NET_ALLOW ---------------------------------------------------------------------

def test_net_allow_flag_and_environment_set_the_setting():
    assert build_config(parse_args(["--net-allow", "127.0.0.1, *.ci.internal,10.0.0.0/8"], environ={}))["net"] == \
        {"allow": ["127.0.0.1", "*.ci.internal", "10.0.0.0/8"]}
    args = parse_args([], environ={"MOCK_NET_ALLOW": "127.0.0.1,,runner"})
    assert build_config(args)["net"] == {"allow": ["127.0.0.1", "runner"]}
    args = parse_args(["--net-allow", "localhost"], environ={"MOCK_NET_ALLOW": "127.0.0.1"})   # the flag wins
    assert build_config(args)["net"] == {"allow": ["localhost"]}


@pytest.mark.parametrize("argv, environ, message", [
    (["--net-allow", "10.0.0.0/33"], {}, "--net-allow entry '10.0.0.0/33' is not a valid network"),
    ([], {"MOCK_NET_ALLOW": "fd00::/200"}, "MOCK_NET_ALLOW='fd00::/200': --net-allow entry 'fd00::/200' is not a valid"),
])
def test_a_bad_net_allow_is_a_usage_error_naming_it(argv, environ, message, capsys):
    with pytest.raises(SystemExit) as exited:
        parse_args(argv, environ=environ)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("allow, reached", [(None, False), ("127.0.0.1", True)])
def test_mock_net_allow_lets_a_public_mock_reach_a_loopback_receiver(allow, reached, webhook_receiver):
    """The ``docker run --network host`` recipe: a mock listening on every address refuses loopback
    receivers unless MOCK_NET_ALLOW lists them (served on loopback here; the settings say 0.0.0.0)."""
    environ = {"MOCK_HOST": "0.0.0.0"} | ({"MOCK_NET_ALLOW": allow} if allow else {})
    settings = build_config(parse_args([], environ=environ))
    app = create_app({**settings, **config({"max_attempts": 1}), "access_log": None})
    with BackgroundServer(app=app) as server:
        server.app.extensions["mock"].webhooks.start()
        subscribe(server.base_url, provider="indigitall", applicationId=200, url=webhook_receiver.url, events=["sent"])
        send_indigitall(server.base_url, ["34600000001"])
        advance(server.base_url, "PT1M")
        if reached:
            webhook_receiver.wait_for(1, timeout=30)
            assert [event.recipient for event in webhook_receiver.events] == ["34600000001"]
        else:
            dead = wait_deliveries(server.base_url, "dead", 1, timeout=30)["deliveries"]
            assert "refused by the host policy: 127.0.0.1 is a loopback address" in dead[0]["history"][0]["error"]
            assert webhook_receiver.events == []


# -- the public API, and the foreign project CI runs against the container -----------------------------

def test_the_public_names_are_the_harness_classes():
    import harness.client
    import harness.webhooks
    assert bulk_messaging_mock.JelouClient is harness.client.JelouClient
    assert bulk_messaging_mock.IndigitallClient is harness.client.IndigitallClient
    assert bulk_messaging_mock.MockControl is harness.client.MockControl
    assert bulk_messaging_mock.ValidationError is harness.client.ValidationError
    assert bulk_messaging_mock.WebhookReceiver is harness.webhooks.WebhookReceiver
    assert set(bulk_messaging_mock.__all__) <= set(dir(bulk_messaging_mock))
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        bulk_messaging_mock.nothing


@pytest.mark.slow
def test_the_ci_project_passes_against_a_mock_at_mock_base_url(pytester, monkeypatch, tmp_path):
    """scripts/ci-project (its own harness/, mock_server/, loadtests/) in a separate pytest process,
    pointed at a running mock by MOCK_BASE_URL, as scripts/container-smoke runs it against the image."""
    shutil.copytree(PROJECT, pytester.path, dirs_exist_ok=True)
    with BackgroundServer({"access_log": None}) as server:
        monkeypatch.setenv("MOCK_BASE_URL", server.base_url)
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
        result.assert_outcomes(passed=2)
        result.stdout.fnmatch_lines([f"bulk-messaging-mock: the mock at {server.base_url} (from MOCK_BASE_URL)"])
        assert requests.get(f"{server.base_url}/_mock/sandboxes", timeout=10).json()["sandboxes"] == []


# -- SIGTERM with an open long-poll ----------------------------------------------------------------------

def long_poll(port: int, path: str) -> socket.socket:
    """A long-poll sent on a raw connection (fully sent when this returns); read its answer later."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=30)
    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
    return conn


def answer_of(conn: socket.socket) -> tuple[int, dict]:
    chunks = []
    with conn:
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    assert head, "the connection closed without an answer"
    return int(head.split()[1]), json.loads(body)


@pytest.mark.slow
def test_sigterm_answers_open_long_polls_at_once_and_exits():
    """``docker stop``: both long-polls (messages, journal) answer with what they have, exit 0 quickly."""
    command = [str(Path(sys.executable).with_name("mock-server")), "--port", "0", "--seed", "1"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = server.stdout.readline()               # the banner's first line, once the port is bound
        port = int(re.search(r"listening on http://127\.0\.0\.1:(\d+)", first).group(1))
        polls = [long_poll(port, "/_mock/messages?wait_for=5&timeout=60"),
                 long_poll(port, "/_mock/requests?wait_for=5&timeout=60")]
        assert requests.get(f"http://127.0.0.1:{port}/_mock/health", timeout=30).status_code == 200
        time.sleep(0.5)                                # the long-polls are read (health was served after them)
        server.terminate()
        stopped = time.monotonic()
        answers = [answer_of(conn) for conn in polls]
        server.wait(timeout=30)
        took = time.monotonic() - stopped
    finally:
        if server.poll() is None:
            server.kill()
        err = server.stderr.read()
        server.stdout.close()
        server.stderr.close()
    assert answers[0] == (200, {"messages": [], "total": 0, "offset": 0, "limit": answers[0][1]["limit"]})
    assert answers[1][0] == 200 and answers[1][1]["total"] == 0
    assert server.returncode == 0, err
    assert "mock-server: SIGTERM received" in err and "mock-server: stopped" in err
    assert took < 5, f"{took:.1f} s from SIGTERM to exit (shutdown_grace is 10 s: the long-polls held it)"
