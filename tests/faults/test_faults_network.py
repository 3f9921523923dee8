"""Faults on real connections: drops (under waitress, as ``mock-server`` serves, and werkzeug, as the
pytest plugin serves), latency, a retrying client, the access log of a real run."""

from __future__ import annotations

import base64
import json
import selectors
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from support.jelou import order_csv
from harness.control import MockControl
from harness.server import BackgroundServer
from mock_server import create_app
from mock_server.isotime import parse_datetime
from mock_server.serving import WaitressThread

CONFIG = {"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True}, "seed": 3}
AUTH = ("demo-client-id", "demo-client-secret")
TOKEN = base64.b64encode(b"demo-client-id:demo-client-secret").decode()


def serve(kind: str):
    """The app as ``mock-server`` serves it (waitress), or as the pytest plugin does (werkzeug)."""
    app = create_app(CONFIG)
    return WaitressThread(app, threads=4) if kind == "waitress" else BackgroundServer(app=app)


@pytest.fixture(scope="module")
def server():
    with serve("waitress") as running:
        yield running


@pytest.fixture(scope="module", params=["waitress", "werkzeug"])
def any_server(request):
    with serve(request.param) as running:
        yield running


@pytest.fixture
def control(server):
    with MockControl(server.base_url) as control:
        control.reset()
        yield control


@pytest.fixture
def any_control(any_server):
    with MockControl(any_server.base_url) as control:
        control.reset()
        yield control


def raw_get(server, path: str = "/v1/campaigns/x") -> tuple[str, bytes]:
    """A GET on a fresh socket: ``("eof"|"reset", bytes received)``."""
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                     f"Authorization: Basic {TOKEN}\r\n\r\n".encode())
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            return "reset", received
    return "eof", received


def test_drop_reset_sends_a_tcp_reset(any_server, any_control):
    rule = any_control.faults.add({"drop": "reset"}, match={"provider": "jelou"}, times=1)
    assert raw_get(any_server) == ("reset", b"")
    status, received = raw_get(any_server)
    assert status == "eof" and received.startswith(b"HTTP/1.1 404")
    [dropped, answered] = any_control.journal.entries()
    assert dropped["response"] == {"status": None, "dropped": "reset"} and dropped["fault"] == rule["id"]
    assert answered["response"]["status"] == 404 and answered["fault"] is None


def test_drop_empty_closes_without_an_answer(any_server, any_control):
    any_control.faults.add({"drop": "empty"}, match={"path": "/v1/campaigns/*"})
    assert raw_get(any_server) == ("eof", b"")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{any_server.base_url}/v1/campaigns/x", auth=AUTH, timeout=10)
    assert any_control.faults.list()[0]["fired"] == 2


def test_drop_truncate_sends_headers_and_half_the_body(any_server, any_control):
    any_control.faults.add({"drop": "truncate"}, match={"method": "GET"})
    status, received = raw_get(any_server)
    head, _, body = received.partition(b"\r\n\r\n")
    assert status == "eof"
    assert b"X-Mock-Fault: fault-1" in head and b"Content-Length: 53" in head
    assert 0 < len(body) == 53 // 2
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(f"{any_server.base_url}/v1/campaigns/x", auth=AUTH, timeout=10)


def test_drop_after_commit_stores_then_drops(any_server, any_control):
    any_control.faults.add({"drop": "reset", "afterCommit": True}, match={"path": "/v1/hsm/file"}, times=1)
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{any_server.base_url}/v1/hsm/file", auth=AUTH, timeout=10, files={"file": ("r.csv", order_csv(2))},
                      data={"campaignName": "c", "elementName": "welcome_message", "botId": "demo-bot", "params": "[]"})
    [entry] = any_control.journal.entries()
    assert entry["campaignId"] and entry["response"] == {"status": None, "dropped": "reset"}
    assert entry["body"]["files"][0]["rows"] == 2


def test_fixed_and_uniform_latency(server, control):
    control.faults.add({"latency": "PT0.3S"}, match={"path": "/v1/campaigns/fixed"})
    control.faults.add({"latency": {"min": "PT0.05S", "max": "PT0.25S"}}, match={"path": "/v1/campaigns/uniform"})
    started = time.monotonic()
    assert requests.get(f"{server.base_url}/v1/campaigns/fixed", auth=AUTH, timeout=10).status_code == 404
    assert time.monotonic() - started >= 0.3
    for _ in range(5):
        requests.get(f"{server.base_url}/v1/campaigns/uniform", auth=AUTH, timeout=10)
    [fixed, *uniform] = control.journal.entries()
    assert fixed["latencyMs"] == 300.0 and fixed["durationMs"] >= 300.0
    drawn = [entry["latencyMs"] for entry in uniform]
    assert all(50.0 <= value <= 250.0 for value in drawn) and len(set(drawn)) == 5
    assert all(entry["durationMs"] >= entry["latencyMs"] for entry in uniform)
    with serve("waitress") as again, MockControl(again.base_url) as other:
        other.faults.add({"latency": "PT0.3S"}, match={"path": "/v1/campaigns/fixed"})
        other.faults.add({"latency": {"min": "PT0.05S", "max": "PT0.25S"}}, match={"path": "/v1/campaigns/uniform"})
        for _ in range(5):
            requests.get(f"{again.base_url}/v1/campaigns/uniform", auth=AUTH, timeout=10)
        assert [entry["latencyMs"] for entry in other.journal.entries()] == drawn     # same seed, same draws


PROBE = """
import json, select, sys, time, requests
url = sys.argv[1]
probes, end = [], time.monotonic() + 60
with requests.Session() as session:
    while time.monotonic() < end and not select.select([sys.stdin], [], [], 0)[0]:   # until stdin closes
        started = time.monotonic()
        assert session.get(url, timeout=10).status_code == 200
        probes.append((started, time.monotonic() - started))
        if len(probes) == 10:
            print("ready", flush=True)
        time.sleep(0.05)
print(json.dumps(probes))
"""


def start_cli(*flags: str, stdout=subprocess.DEVNULL) -> tuple[subprocess.Popen, str]:
    """``mock-server`` on a free port in its own process (its threads do not share this GIL); waits for health."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "mock_server", "--port", str(port), *flags],
                               stdout=stdout, stderr=subprocess.DEVNULL, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(url + "/_mock/health", timeout=1)
            return process, url
        except requests.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                process.communicate()
                raise AssertionError("mock-server did not start") from None
            time.sleep(0.1)


def burst(base_url: str, path: str, count: int) -> list[tuple[int, float]]:
    """``count`` concurrent GETs on raw sockets: ``(status, seconds to the whole answer)`` each.

    Sockets and a selector instead of 100 client threads, so the client barely uses the CPU the
    server needs (the machine may have only 2 cores).
    """
    host, port = base_url.removeprefix("http://").split(":")
    payload = (f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
               f"Authorization: Basic {TOKEN}\r\n\r\n").encode()
    selector = selectors.DefaultSelector()
    pending = {}
    for _ in range(count):
        sock = socket.create_connection((host, int(port)), timeout=10)
        sent = time.monotonic()            # before the send: the server may read it before sendall returns
        sock.sendall(payload)
        sock.setblocking(False)
        pending[sock] = [sent, b""]
        selector.register(sock, selectors.EVENT_READ)
    results = []
    deadline = time.monotonic() + 30
    while pending and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=1):
            sock = key.fileobj
            chunk = sock.recv(65536)
            if chunk:
                pending[sock][1] += chunk
                continue
            sent, received = pending.pop(sock)
            selector.unregister(sock)
            sock.close()
            results.append((int(received.split(b" ", 2)[1]), time.monotonic() - sent))
    for sock in pending:
        sock.close()
    selector.close()
    return results


@pytest.fixture
def cli_server():
    process, url = start_cli("--quiet")
    try:
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.slow
def test_latency_does_not_starve_the_server(cli_server):
    """100 concurrent requests held 2 s by a fault rule are held together, and /_mock/health does not
    wait behind them.

    ``mock-server`` with its default 16 threads: without the elastic pool the 100 requests would
    be served in 7 rounds of 2 s (14 s) and health would wait seconds behind them. What is asserted
    is that difference, with margins a loaded 2-core machine cannot eat: every request entered the
    app before the first was released (the server's own journal, not a client's stopwatch), none
    waited a second round, no probe waited half a hold, and the probes' p90 during the burst stays
    within the contract's 100 ms or 5x the p90 this machine gave before the burst, whichever is
    larger. The contract's figures (2.5 s, 100 ms) are measured by ``loadtests.latency_bench``,
    side by side with waitress's own pool; these are printed too (``-s``).
    """
    latency = 2.0
    with MockControl(cli_server) as control:
        control.faults.add({"latency": f"PT{latency:g}S"}, match={"provider": "jelou"})
        # The prober is its own process, so this process's work does not slow its timing; it probes
        # until its stdin closes, and says "ready" once it has a baseline of 10 probes.
        with subprocess.Popen([sys.executable, "-c", PROBE, f"{cli_server}/_mock/health"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as prober:
            try:
                assert prober.stdout.readline() == "ready\n", "the health prober failed before the burst"
                started = time.monotonic()
                results = burst(cli_server, "/v1/campaigns/slow", 100)
                elapsed = time.monotonic() - started
                prober.stdin.close()
                probes = json.loads(prober.stdout.read())       # the prober stops when its stdin closes
            finally:
                prober.kill()
        before = sorted(duration for at, duration in probes if at + duration < started)
        during = sorted(duration for at, duration in probes if started <= at < started + elapsed)
        durations = sorted(duration for _, duration in results)
        p90, baseline = during[int(len(during) * 0.9)], before[int(len(before) * 0.9)]
        print(f"100 x {latency:g} s: each answered in {durations[0]:.2f}..{durations[-1]:.2f} s, all in {elapsed:.2f} s; "
              f"/_mock/health p90 {p90 * 1000:.0f} ms (before: {baseline * 1000:.0f} ms), "
              f"max {during[-1] * 1000:.0f} ms over {len(during)} probes")
        assert [status for status, _ in results] == [404] * 100
        assert control.faults.list()[0]["fired"] == 100
        entered = sorted(parse_datetime(entry["receivedAtReal"]).timestamp()
                         for entry in control.journal.entries(path="/v1/campaigns/slow"))
        assert len(entered) == 100
        assert entered[-1] - entered[0] < latency, f"held in rounds: the last entered {entered[-1] - entered[0]:.2f} s after the first"
        assert durations[0] >= latency
        assert durations[-1] < 2 * latency, f"a request waited a second round: {durations[-1]:.2f} s"
        assert len(during) >= 5 and len(before) >= 10
        assert during[-1] < latency / 2, f"a health probe waited {during[-1]:.2f} s behind the held requests"
        assert p90 < max(0.1, 5 * baseline), f"/_mock/health p90 {p90 * 1000:.0f} ms, before the burst {baseline * 1000:.0f} ms"


@pytest.mark.slow
def test_a_urllib3_retrying_client_against_503_then_200(server, control):
    """A real client: requests + urllib3 Retry (honours Retry-After) gets through two 503s."""
    control.faults.add({"status": 503, "retryAfter": "PT1S"}, match={"method": "POST", "path": "/v1/hsm/file"}, times=2)
    retry = Retry(total=3, status_forcelist=[503], allowed_methods=None, respect_retry_after_header=True,
                  backoff_factor=0)
    with requests.Session() as session:
        session.mount("http://", HTTPAdapter(max_retries=retry))
        answer = session.post(f"{server.base_url}/v1/hsm/file", auth=AUTH, timeout=10,
                              files={"file": ("r.csv", order_csv(3))},
                              data={"campaignName": "retry", "elementName": "order_confirmation", "botId": "demo-bot",
                                    "params": '[{"param":1,"column":"order_id"},{"param":2,"column":"amount"},'
                                              '{"param":3,"column":"delivery"}]'})
    assert answer.status_code == 200 and answer.json()["status"] == "success"
    attempts = control.journal.assert_attempts(3, method="POST", path="/v1/hsm/file")
    assert [entry["response"]["status"] for entry in attempts] == [503, 503, 200]
    assert [entry["fault"] for entry in attempts] == ["fault-1", "fault-1", None]
    assert attempts[0]["response"]["headers"]["Retry-After"] == "1"
    control.journal.assert_honoured_retry_after(attempts)
    assert len({entry["body"]["files"][0]["sha256"] for entry in attempts}) == 1      # the same file each time
    assert [entry.get("campaignId") for entry in attempts][:2] == [None, None]      # one campaign only
    with pytest.raises(AssertionError, match="Retry-After"):
        control.journal.assert_honoured_retry_after([attempts[0], {**attempts[0], "id": "req-x"}])


@pytest.mark.slow
def test_mock_server_prints_a_json_access_log_line_per_request_without_credentials():
    process, url = start_cli("--log-format", "json", stdout=subprocess.PIPE)
    try:
        requests.get(url + "/sandboxes/ci-9/v1/campaigns/x?token=hidden", auth=AUTH, timeout=10)
        requests.get(url + "/v2/chat/application/100/task/1", headers={"Authorization": "ServerKey demo-server-key"},
                     timeout=10)
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [(r["sandbox"], r["method"], r["path"], r["status"]) for r in records[-2:]] == [
        ("ci-9", "GET", "/v1/campaigns/x", 404), ("default", "GET", "/v2/chat/application/100/task/1", 404)]
    assert all(record["durationMs"] >= 0 and record["fault"] is None for record in records)
    for secret in ("demo-client-secret", "hidden", "demo-server-key"):
        assert secret not in "\n".join(line for line in out.splitlines() if line.startswith("{"))


def test_times_is_exact_under_concurrency(server, control):
    control.faults.add({"status": 503}, match={"path": "/v1/campaigns/*"}, times=5, after=3)
    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(lambda i: requests.get(f"{server.base_url}/v1/campaigns/c{i}", auth=AUTH,
                                                        timeout=10).status_code, range(30)))
    assert sorted(statuses) == [404] * 25 + [503] * 5
    rule = control.faults.list()[0]
    assert (rule["matched"], rule["fired"]) == (30, 5)
    assert len(control.journal.entries(status=503, fault=rule["id"])) == 5
