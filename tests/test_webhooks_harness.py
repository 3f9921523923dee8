"""``mock-harness webhooks listen`` and the receiver's counters."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys

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
