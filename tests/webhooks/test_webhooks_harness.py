"""``mock-harness webhooks listen`` and the receiver's counters."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import hmac
import json
import socket
import subprocess
import sys
import warnings

import requests

from harness.webhooks import WebhookReceiver, verify


def _signed(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_listen_prints_events_and_flags_a_bad_signature():
    process = subprocess.Popen([sys.executable, "-m", "harness.cli", "webhooks", "listen", "--port", "0",
                                "--secret", "s3", "--count", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = process.stderr.readline()
        assert banner.startswith("listening on http://127.0.0.1:"), banner
        url = banner.split()[2]
        body = json.dumps({"event": "read", "notification": {"destination": "593900000001"}}).encode()
        good = requests.post(f"{url}/hook", data=body, timeout=5, headers={
            "Content-Type": "application/json", "X-Mock-Event-Id": "e-1", "X-Mock-Attempt": "1",
            "X-Jelou-Signature": _signed("s3", body)})
        bad = requests.post(f"{url}/hook", data=body, timeout=5, headers={
            "Content-Type": "application/json", "X-Mock-Event-Id": "e-2", "X-Mock-Attempt": "2",
            "X-Mock-Signature": _signed("other", body)})
        assert good.status_code == 204 and bad.status_code == 204
        out, err = process.communicate(timeout=10)
    finally:
        process.kill()
    lines = out.splitlines()
    assert len(lines) == 2
    assert "read" in lines[0] and "593900000001" in lines[0] and "e-1" in lines[0] and lines[0].endswith("signature ok")
    assert "attempt 2" in lines[1] and lines[1].endswith("SIGNATURE MISMATCH")
    assert json.loads(err.strip().splitlines()[-1])["badSignatures"] == 1
    assert process.returncode == 1


def test_listen_counts_unsigned_events_apart_from_bad_signatures():
    """Issue 22 item 8: with --secret, every event of a Jelou legacy subscription (documented without a
    signing secret, so never signed) was counted as a bad signature and made the listener exit 1."""
    process = subprocess.Popen([sys.executable, "-m", "harness.cli", "webhooks", "listen", "--port", "0",
                                "--secret", "s3", "--count", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stderr.readline().split()[2]
        body = json.dumps({"event": "read", "notification": {"destination": "593900000001"}}).encode()
        answer = requests.post(f"{url}/hook", data=body, timeout=5, headers={
            "Content-Type": "application/json", "X-Mock-Event-Id": "e-1", "X-Mock-Attempt": "1"})
        assert answer.status_code == 204
        out, err = process.communicate(timeout=10)
    finally:
        process.kill()
    assert out.splitlines()[0].endswith("  unsigned")
    stats = json.loads(err.strip().splitlines()[-1])
    assert (stats["badSignatures"], stats["unsigned"]) == (0, 1)
    assert process.returncode == 0


def test_legacy_subscription_events_are_unsigned_and_control_ones_verify(mock_server, mock_clock):
    """The mock side of the same finding: the legacy API's events carry no signature (as documented), the
    control plane's with a signing secret carry one that verifies; neither is a bad signature."""
    mock_clock.freeze()
    with WebhookReceiver(secret="whsec-1") as receiver:
        legacy = requests.post(f"{mock_server.base_url}/v1/bots/demo-bot/events/webhook", timeout=5,
                               auth=mock_server.jelou_credentials,
                               json={"webhooks": [{"url": f"{receiver.url}/legacy", "events": ["delivered_user"]}]})
        signed = requests.post(f"{mock_server.base_url}/_mock/webhooks", timeout=5, json={
            "provider": "jelou", "botId": "demo-bot", "url": f"{receiver.url}/signed", "events": ["delivered_user"],
            "signing_secret": "whsec-1"})
        assert (legacy.status_code, signed.status_code) == (200, 201), legacy.text + signed.text
        mock_server.jelou.send_file(b"phone_number\n593900000001\n", campaign_name="sig",
                                    element_name="welcome_message", bot_id="demo-bot", params=[])
        mock_clock.advance("PT1M")
        events = receiver.wait_for(lambda seen: len(seen) >= 2, timeout=30)
    assert sorted((e.path, e.signature_ok) for e in events) == [("/legacy", None), ("/signed", True)]
    assert (receiver.stats()["badSignatures"], receiver.stats()["unsigned"]) == (0, 1)


def test_stats_answer_ends_with_a_line_break():
    """Issue 22 item 8: `curl -s .../_stats` glued the counters onto whatever the terminal printed next."""
    with WebhookReceiver() as receiver:
        answer = requests.get(f"{receiver.url}/_stats", timeout=5)
    assert answer.content.endswith(b"}\n") and answer.json()["total"] == 0


def test_listen_on_a_busy_port_is_a_clear_error():
    with WebhookReceiver() as receiver:
        result = subprocess.run([sys.executable, "-m", "harness.cli", "webhooks", "listen", "--port", str(receiver.port)],
                                capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{receiver.port}" in result.stderr


def test_receiver_counters_failures_and_stats_endpoint():
    with WebhookReceiver(keep=False) as receiver:
        receiver.fail_next(1, status=503)
        headers = {"X-Mock-Event-Id": "e-1", "Content-Type": "application/json"}
        first = requests.post(receiver.url, data=b'{"event":"sent"}', headers=headers, timeout=5)
        second = requests.post(receiver.url, data=b'{"event":"sent"}', headers=headers, timeout=5)
        stats = requests.get(f"{receiver.url}/_stats", timeout=5).json()
        chunked = requests.post(receiver.url, data=iter([b'{"event":', b'"x"}']), timeout=5)
    assert (first.status_code, second.status_code) == (503, 204)
    assert stats["total"] == 2 and stats["byEvent"] == {"sent": 1} and stats["badSignatures"] == 0
    assert chunked.status_code == 411
    assert receiver.events == []            # keep=False keeps counters only


def test_verify_rejects_missing_or_malformed_signatures():
    body = b"{}"
    assert verify("k", body, _signed("k", body))
    assert not verify("k", body, None)
    assert not verify("k", body, "md5=abc")
    assert not verify("k", body + b" ", _signed("k", body))


def test_readme_example_every_recipient_reached_within_2_seconds(mock_server, mock_clock, webhook_receiver):
    from datetime import datetime
    mock_clock.freeze()
    answer = requests.post(f"{mock_server.base_url}/_mock/webhooks", timeout=5, json={
        "provider": "jelou", "botId": "demo-bot", "url": webhook_receiver.url, "events": ["delivered_user"]})
    assert answer.status_code == 201, answer.text
    csv = b"phone_number,name\n593900000001,A\n593900000002,B\n99906000003,C\n"
    mock_server.jelou.send_file(csv, campaign_name="hooks", element_name="welcome_message", bot_id="demo-bot", params=[])
    mock_clock.advance("PT1M")
    events = webhook_receiver.wait_for(2)
    assert sorted(e.recipient for e in events) == ["593900000001", "593900000002"]   # 99906: slow, 10 min
    for event in events:
        sent = datetime.fromisoformat(event.data["notification"]["sentDate"])
        reached = datetime.fromisoformat(event.data["timestamp"])
        assert (reached - sent).total_seconds() <= 2
    mock_clock.advance("PT10M")
    late = webhook_receiver.wait_for(3)
    assert late[-1].recipient == "99906000003"


POST = b"POST /hook HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


def _connect(port: int, request: bytes = b"", rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", port))
    sock.settimeout(10)
    sock.sendall(request)
    return sock


def _closed_by_receiver(sock: socket.socket) -> bool:
    """Read what is left; True once the receiver has closed or reset the connection (10 s at most)."""
    sock.settimeout(10)
    try:
        for _ in range(10_000):
            if not sock.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return False


def test_stop_ends_every_connection_task_and_closes_every_connection(caplog, monkeypatch):
    """Stopping with connections in every state leaves no task pending (no "Task was destroyed but
    it is pending" when the loop is gone) and no socket open: kept alive after an answer, half-way
    through a request, closing (the client hung up, or asked for close), accepted a moment ago, and
    blocked answering a client that sends requests but never reads the answers."""
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    receiver = WebhookReceiver(keep=False).start()
    idle = [_connect(receiver.port, POST) for _ in range(5)]
    hanging_up = [_connect(receiver.port, POST) for _ in range(5)]
    for sock in idle + hanging_up:
        assert sock.recv(1024).startswith(b"HTTP/1.1 204 "), "no answer"
    partial = _connect(receiver.port, POST[:30])
    closing = [_connect(receiver.port, POST.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
               for _ in range(5)]
    unread = _connect(receiver.port, rcvbuf=4096)
    unread.setblocking(False)
    pipelined = b"GET /_stats HTTP/1.1\r\n\r\n" * 1000     # answers ~8x larger than the requests
    for _ in range(40):
        try:
            unread.send(pipelined)
        except BlockingIOError:
            break
    fresh = [_connect(receiver.port) for _ in range(5)]
    for sock in hanging_up:
        sock.close()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        receiver.stop()
        loop = receiver._loop
        assert loop.is_closed(), "stop() returned while the receiver's loop was still running"
        assert asyncio.all_tasks(loop) == set()
        del loop, receiver
        gc.collect()
    assert [r.getMessage() for r in caplog.records if "destroyed" in r.getMessage()] == []
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert unraisable == []
    for sock in idle + [partial, unread] + closing + fresh:
        assert _closed_by_receiver(sock)
        sock.close()
