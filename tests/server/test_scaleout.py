"""Several ``mock-server`` processes on one Redis act as one mock (CONTRACT §12), end to end.

Each test starts real processes (``python -m mock_server --store redis://...``) on free ports and a
private ``redis-server`` (``tests/support/realredis.py``): no part of this is mocked.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from urllib3.filepost import encode_multipart_formdata

from support.jelou import JELOU, ORDER_PARAMS, order_csv
from loadtests.redisserver import RedisServer, find_binary, free_port
from support.realredis import REDIS_MISSING, missing_binary

ROOT = Path(__file__).resolve().parents[2]
CONFIG = {"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True}}
KEY = {"Authorization": "ServerKey demo-server-key"}

pytestmark = pytest.mark.slow


class MockProcess:
    """``python -m mock_server`` on a free port, its store (``store.url``) set by its config file."""

    def __init__(self, tmp_path: Path, store: str, *flags: str) -> None:
        self.port = free_port()
        config = tmp_path / f"mock-{self.port}.json"
        config.write_text(json.dumps({**CONFIG, "store": {"url": store}}))
        self.log = (tmp_path / f"mock-{self.port}.log").open("w")
        self.process = subprocess.Popen([sys.executable, "-m", "mock_server", "--port", str(self.port), "--quiet",
                                         "--config", str(config), *flags], cwd=ROOT, stdout=self.log, stderr=self.log)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(self.url + "/_mock/health", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"mock-server did not start: {Path(self.log.name).read_text()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture
def start(tmp_path):
    started: list[MockProcess] = []

    def run(store: str, *flags: str) -> MockProcess:
        started.append(MockProcess(tmp_path, store, *flags))
        return started[-1]
    yield run
    for process in started:
        process.stop()


def jelou_upload(base: str, rows: int = 3) -> requests.Response:
    body, content_type = encode_multipart_formdata({
        "campaignName": "scale", "elementName": "order_confirmation", "botId": "demo-bot",
        "params": json.dumps(ORDER_PARAMS), "file": ("r.csv", order_csv(rows), "text/csv")})
    return requests.post(base + "/v1/hsm/file", data=body, headers={**JELOU, "Content-Type": content_type}, timeout=30)


def indigitall_upload(base: str, rows: int) -> requests.Response:
    csv = "contactCode,channelType,name\n" + "".join(f"34666{n:06d},cloud_api,N{n}\n" for n in range(rows))
    layout = {"contactCode": "{{contactCode}}", "channelType": "{{channelType}}", "sendType": "proactive",
              "content": {"body": "Hi {{name}}"}}
    body, content_type = encode_multipart_formdata({"layout": json.dumps(layout), "file": ("c.csv", csv.encode(), "text/csv")})
    return requests.post(base + "/v2/chat/application/100/message/csv", data=body,
                         headers={**KEY, "Content-Type": content_type}, timeout=60)


def test_two_processes_on_one_redis_are_one_mock(start, redis_url):
    a, b = start(redis_url), start(redis_url)

    sent = jelou_upload(a.url, rows=5)
    assert sent.status_code == 200, sent.text
    campaign_id = sent.headers["X-Mock-Campaign-Id"]
    seen = requests.get(f"{b.url}/v1/campaigns/{campaign_id}", headers=JELOU, timeout=10)
    assert seen.status_code == 200 and seen.json()["data"]["totalMessages"] == 5
    listed = requests.get(f"{b.url}/v1/campaigns?botId=demo-bot&startAt=2000-01-01&endAt=2100-01-01",
                          headers=JELOU, timeout=10).json()
    assert [item["id"] for item in listed["data"]["results"]] == [campaign_id]
    assert jelou_upload(b.url).headers["X-Mock-Campaign-Id"] != campaign_id        # one id sequence

    moved = requests.post(f"{b.url}/_mock/clock", json={"advance": "PT1H"}, timeout=10)
    assert moved.status_code == 200
    assert requests.get(f"{a.url}/_mock/clock", timeout=10).json()["now"] == moved.json()["now"]
    status = requests.get(f"{a.url}/v1/campaigns/{campaign_id}", headers=JELOU, timeout=10).json()["data"]["status"]
    assert status in ("COMPLETED", "FAILED")            # A sees the campaign run by B's clock move
    messages = requests.get(f"{a.url}/_mock/messages?campaign={campaign_id}", timeout=10).json()
    assert messages["total"] == 5

    requests.post(f"{a.url}/_mock/reset", timeout=10)
    assert requests.get(f"{b.url}/v1/campaigns/{campaign_id}", headers=JELOU, timeout=10).status_code == 404


def test_slot_capacity_is_shared_by_processes(start, redis_url):
    """Application 100: 1,000 messages per hourly slot (tasks over 1,000 rows are sliced). Tasks sent at once through two processes
    never fill a slot past capacity, and every message is placed exactly once."""
    servers = [start(redis_url), start(redis_url)]
    answers: list[dict] = []

    def send(index: int) -> None:
        response = indigitall_upload(servers[index % 2].url, 1200)
        assert response.status_code == 201, response.text
        answers.append(response.json()["data"])

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == 8
    used: Counter = Counter()
    for task in answers:
        for slot in task["slots"]:
            used[slot["start"]] += slot["count"]
        assert sum(slot["count"] for slot in task["slots"]) in (0, 1200)
    assert used and max(used.values()) <= 1000
    assert sum(used.values()) == 1200 * sum(1 for task in answers if task["slots"])


def test_redis_down_is_503_in_each_envelope_then_recovers_with_nothing_lost(start, tmp_path):
    binary = find_binary()
    if binary is None:
        missing_binary(*REDIS_MISSING)
    redis = RedisServer(binary, durable=True).start()
    try:
        a, b = start(redis.url), start(redis.url)
        kept = [jelou_upload(server.url).headers["X-Mock-Campaign-Id"] for server in (a, b, a)]

        redis.stop()
        down = jelou_upload(a.url)
        assert down.status_code == 503 and down.headers["Retry-After"] == "1"
        assert down.json()["status"] == "failed" and "Redis" in down.json()["message"][0]
        task = requests.get(f"{b.url}/v2/chat/application/100/task", headers=KEY, timeout=10)
        assert task.status_code == 503 and task.json()["statusCode"] == 503
        assert requests.get(f"{a.url}/_mock/health", timeout=5).status_code == 200
        assert a.process.poll() is None and b.process.poll() is None

        redis.start()
        for server in (a, b):
            for campaign_id in kept:
                found = requests.get(f"{server.url}/v1/campaigns/{campaign_id}", headers=JELOU, timeout=10)
                assert found.status_code == 200, found.text
        assert jelou_upload(b.url).status_code == 200
    finally:
        redis.close()


def test_each_webhook_event_is_delivered_by_one_process(start, redis_url, tmp_path):
    """Two processes on one Redis, both running their dispatchers on a running clock, windows of 3
    events so they compete for many: every due event reaches the receiver once (one process claims
    each window through the store)."""
    from harness.webhooks import WebhookReceiver
    from support.webhooks import send_indigitall

    config = tmp_path / "webhooks.json"
    config.write_text(json.dumps({"clock": {"start": "2026-01-05T10:00:00Z"}, "store": {"url": redis_url},
                                  "webhooks": {"window_events": 3}}))
    a, b = start(redis_url, "--config", str(config)), start(redis_url, "--config", str(config))
    contacts = [f"34666{n:06d}" for n in range(40)]
    with WebhookReceiver() as receiver:
        subscribed = requests.post(f"{a.url}/_mock/webhooks", timeout=10, json={
            "provider": "indigitall", "applicationId": 200, "url": receiver.url,
            "events": ["sent", "delivered", "read", "failed"]})
        assert subscribed.status_code == 201, subscribed.text
        assert requests.get(f"{b.url}/_mock/webhooks", timeout=10).json()["total"] == 1     # shared subscription
        task = send_indigitall(a.url, contacts)
        for _ in range(5):             # five steps of the running clock: the dispatchers race for each
            moved = requests.post(f"{b.url}/_mock/clock", json={"advance": "PT2M"}, timeout=10)
            assert moved.status_code == 200, moved.text
        receiver.wait_for(lambda events: {e.recipient for e in events if e.event == "delivered"} >= set(contacts),
                          timeout=60)
        events = receiver.wait_quiet(quiet=2.0, timeout=30)
    ids = Counter(event.event_id for event in events)
    assert ids and max(ids.values()) == 1, [key for key, count in ids.items() if count > 1]
    for contact in contacts:               # every stage of every message, once; across windows two processes
        mine = [event.event for event in events if event.recipient == contact]     # keep no order (documented)
        assert sorted(mine) == sorted(set(mine)) and {"sent", "delivered"} <= set(mine), (contact, mine)
    assert all(event.data["taskId"] == task for event in events)


def _webhook_config(tmp_path: Path, redis_url: str, **webhooks) -> str:
    """Receiver timeout and lease generous enough for a loaded machine, short enough for a test."""
    config = tmp_path / "webhooks-shared.json"
    config.write_text(json.dumps({"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True}, "store": {"url": redis_url},
                                  "webhooks": {"timeout": 3.0, "lease": 4.0, **webhooks}}))
    return str(config)


def _deliveries(base: str, **query) -> dict:
    response = requests.get(f"{base}/_mock/webhooks/deliveries", params=query, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def _until(what, check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(0.1)


def test_a_retry_scheduled_by_a_killed_process_is_made_by_another_and_records_are_shared(start, redis_url, tmp_path):
    """A's attempts fail (503) and A is killed (SIGKILL) while the delivery waits for its retry; B,
    started afterwards, makes the remaining attempts and shows all three; a redelivery asked on B is
    seen on a third process."""
    from harness.webhooks import WebhookReceiver
    from support.webhooks import advance, send_indigitall

    config = _webhook_config(tmp_path, redis_url, backoff=2.0)
    a = start(redis_url, "--config", config)
    with WebhookReceiver() as receiver:
        receiver.fail_next(2, status=503)
        assert requests.post(f"{a.url}/_mock/webhooks", timeout=10, json={
            "provider": "indigitall", "applicationId": 200, "url": receiver.url, "events": ["sent"]}).status_code == 201
        send_indigitall(a.url, ["34666000001"])
        advance(a.url, "PT1M")
        # kill A only while no attempt can be under way: its next one is at least a second away
        _until("a failed attempt recorded by A", lambda: [
            d for d in _deliveries(a.url, status="retrying")["deliveries"] if d["nextRetryInSeconds"] >= 1.0])
        a.process.kill()
        a.process.wait()
        b = start(redis_url, "--config", config)
        done = _until("delivered by B", lambda: _deliveries(b.url, status="delivered")["deliveries"])
        record = done[0]
        assert [h["statusCode"] for h in record["history"]] == [503, 503, 204] and record["attempts"] == 3
        assert [(e.attempt, e.status) for e in receiver.events] == [(1, 503), (2, 503), (3, 204)]
        assert len({e.event_id for e in receiver.events}) == 1
        assert requests.post(f"{b.url}/_mock/webhooks/redeliver", json={"ids": [record["id"]]},
                             timeout=10).json() == {"redelivered": 1}
        c = start(redis_url, "--config", config)
        receiver.wait_for(lambda events: len(events) == 4, timeout=30)
        again = _until("redelivered", lambda: [d for d in _deliveries(c.url)["deliveries"] if d["attempts"] == 4])
    assert again[0]["status"] == "delivered" and [h["statusCode"] for h in again[0]["history"]] == [503, 503, 204, 204]
    assert _deliveries(b.url) == _deliveries(c.url)          # one set of records, whichever process answers


def test_deliveries_queued_in_a_killed_process_are_taken_over_after_their_lease(start, redis_url, tmp_path):
    """A derives 20 events and starts delivering them one at a time, 5 a second; it is killed
    after 3. B takes over the rest when A's leases run out: every event arrives, and at most the
    one A was sending when it died arrives twice (at-least-once, as with a real provider)."""
    from harness.webhooks import WebhookReceiver
    from support.webhooks import advance, send_indigitall

    config = _webhook_config(tmp_path, redis_url, concurrency=1, rate=5.0)
    contacts = [f"34666{n:06d}" for n in range(20)]
    a = start(redis_url, "--config", config)
    with WebhookReceiver() as receiver:
        assert requests.post(f"{a.url}/_mock/webhooks", timeout=10, json={
            "provider": "indigitall", "applicationId": 200, "url": receiver.url, "events": ["sent"]}).status_code == 201
        send_indigitall(a.url, contacts)
        advance(a.url, "PT1M")
        receiver.wait_for(3, timeout=30)
        a.process.kill()
        a.process.wait()
        assert len(receiver.events) < len(contacts)
        b = start(redis_url, "--config", config)
        receiver.wait_for(lambda events: {e.recipient for e in events} >= set(contacts), timeout=60)
        events = receiver.wait_quiet(quiet=1.5, timeout=30)
        listed = _until("20 delivered records", lambda: _deliveries(b.url, status="delivered")["total"] == 20 or None)
    ids = Counter(event.event_id for event in events)
    assert len(ids) == len(contacts) and sum(ids.values()) - len(ids) <= 1, ids
    assert all(event.attempt == 1 for event in events)
    assert listed and _deliveries(b.url)["counts"] == {"pending": 0, "retrying": 0, "delivered": 20, "dead": 0}
