"""Webhook delivery against a real local receiver: auth, signatures, due times, order, retries,
dead letters, redelivery, at-least-once emulation and isolation of the API from slow receivers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections import Counter, defaultdict

import pytest
import requests

from harness.webhooks import WebhookReceiver
from mock_server.isotime import parse_datetime
from support.webhooks import advance, config, deliveries, live, send_indigitall, send_jelou, subscribe, wait_deliveries

JELOU_ORDER = ["delivered_channel", "delivered_user", "read", "reply"]


def _sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize("auth, header, expected", [
    ({"type": "no_auth"}, "authorization", None),
    ({"type": "basic", "username": "hook-user", "password": "hook-pass"}, "authorization",
     "Basic " + base64.b64encode(b"hook-user:hook-pass").decode()),
    ({"type": "bearer", "token": "tok-42"}, "authorization", "Bearer tok-42"),
    ({"type": "api_key", "key": "k-99"}, "x-api-key", "k-99"),
])
def test_jelou_notification_url_auth_and_signature(auth, header, expected):
    with WebhookReceiver() as receiver:
        bots = [{"id": "demo-bot", "name": "Demo Bot", "company_id": 1, "notification_urls": [
            {"url": f"{receiver.url}/jelou", "events": ["all"], "auth": auth, "signing_secret": "shh-secret"}]}]
        with live(config(jelou={"bots": bots})) as server:
            campaign = send_jelou(server.base_url, ["99904000001"])
            advance(server.base_url, "PT2M")
            receiver.wait_for(3)
    events = receiver.events
    assert [e.event for e in events] == ["delivered_channel", "delivered_user", "read"]
    for item in events:
        assert item.path == "/jelou"
        assert item.headers.get(header) == expected
        assert item.headers["content-type"] == "application/json"
        assert item.headers["x-mock-attempt"] == "1"
        assert item.headers["x-jelou-signature"] == _sign("shh-secret", item.body)
        assert item.event_id == f"jelou-{campaign}-1-{item.event}"
        assert set(item.data) == {"event", "timestamp", "botId", "campaignId", "notification"}
        assert item.data["botId"] == "demo-bot" and item.data["campaignId"] == campaign
        assert item.data["notification"]["id"] == f"{campaign}-1"
        assert item.data["notification"]["destination"] == "99904000001"
    assert [e.data["notification"]["sentStatus"] for e in events] == ["DELIVERED_CHANNEL", "DELIVERED_USER", "READ"]
    stamps = [e.data["timestamp"] for e in events]
    assert stamps == [events[0].data["notification"]["deliveryChannelAt"], events[1].data["notification"]["deliveryUserAt"],
                      events[2].data["notification"]["readAt"]]


def test_jelou_legacy_api_subscription_gets_only_its_events_unsigned(webhook_receiver):
    with live(config()) as server:
        response = requests.post(f"{server.base_url}/v1/bots/demo-bot/events/webhook", auth=("demo-client-id", "demo-client-secret"),
                                 json={"webhooks": [{"url": webhook_receiver.url, "events": ["delivered_user", "failed"]}]})
        assert response.status_code == 200, response.text
        send_jelou(server.base_url, ["99904000001", "99901000002", "99902000003"])
        advance(server.base_url, "PT2M")
        webhook_receiver.wait_for(2)
        webhook_receiver.wait_quiet()
    got = sorted((e.event, e.recipient) for e in webhook_receiver.events)
    assert got == [("delivered_user", "99904000001"), ("failed", "99901000002")]
    assert all("x-jelou-signature" not in e.headers and "authorization" not in e.headers for e in webhook_receiver.events)


def test_indigitall_events_sent_delivered_read_failed_signed(webhook_receiver):
    with live(config()) as server:
        subscribe(server.base_url, provider="indigitall", applicationId=200, url=webhook_receiver.url,
                  events=["sent", "delivered", "read", "failed"], signing_secret="ind-secret")
        task = send_indigitall(server.base_url, ["99904000001", "99901000002", "99903000003"])
        advance(server.base_url, "PT2M")
        webhook_receiver.wait_for(6)
        webhook_receiver.wait_quiet()
    by_recipient = defaultdict(list)
    for item in webhook_receiver.events:
        by_recipient[item.recipient].append(item.event)
        assert item.headers["x-mock-signature"] == _sign("ind-secret", item.body)
        assert item.data["applicationId"] == 200 and item.data["taskId"] == task
        assert item.data["message"]["provider"] == "indigitall"
    assert dict(by_recipient) == {"99904000001": ["sent", "delivered", "read"], "99901000002": ["failed"],
                                  "99903000003": ["sent", "delivered"]}
    read = next(e for e in webhook_receiver.events if e.event == "read")
    assert read.data["message"]["status"] == "read" and read.data["timestamp"] == read.data["message"]["timestamps"]["readAt"]


def test_events_fall_due_with_the_frozen_clock_and_not_before(webhook_receiver):
    with live(config()) as server:
        base = server.base_url
        subscribe(base, provider="jelou", botId="demo-bot", url=webhook_receiver.url, events=["all"])
        send_jelou(base, ["99904000001"])       # sent at 10:00:01 (start delay); channel +1 s, user +2 s, read +30 s
        advance(base, "PT2.5S")
        webhook_receiver.wait_for(1)
        time.sleep(0.4)
        assert [e.event for e in webhook_receiver.events] == ["delivered_channel"]
        advance(base, "PT1S")
        webhook_receiver.wait_for(2)
        time.sleep(0.4)
        assert [e.event for e in webhook_receiver.events] == ["delivered_channel", "delivered_user"]
        advance(base, "PT27S")                   # 10:00:30.5: read (10:00:31) not yet due
        time.sleep(0.4)
        assert len(webhook_receiver.events) == 2
        advance(base, "PT1S")
        webhook_receiver.wait_for(3)
    assert [e.data["timestamp"] for e in webhook_receiver.events] == [
        "2026-01-05T10:00:02.000Z", "2026-01-05T10:00:03.000Z", "2026-01-05T10:00:31.000Z"]


def test_running_clock_delivers_without_any_request(webhook_receiver):
    settings = config(delivery={"channel_after": 0.3, "user_after": 0.6, "read_after": 0.9, "reply_after": 1.2})
    settings["clock"] = {"start": "2026-01-05T10:00:00Z", "frozen": False}
    settings["jelou"] = {"start_delay": 0.2}
    with live(settings) as server:
        subscribe(server.base_url, provider="jelou", botId="demo-bot", url=webhook_receiver.url, events=["all"])
        sent = time.monotonic()
        send_jelou(server.base_url, ["99905000001"])
        events = webhook_receiver.wait_for(4, timeout=10)
    offsets = [e.received_at - sent for e in events]
    assert [e.event for e in events] == JELOU_ORDER
    # due 0.5, 0.8, 1.1, 1.4 s after the send (start delay 0.2 s): never early, never much later
    for offset, due in zip(offsets, (0.5, 0.8, 1.1, 1.4)):
        assert due - 0.05 <= offset <= due + 2.0, offsets


def test_events_of_one_message_arrive_in_order(webhook_receiver):
    phones = [f"99905{index:06d}" for index in range(150)]
    with live(config({"concurrency": 8, "rate": 5000})) as server:
        subscribe(server.base_url, provider="jelou", botId="demo-bot", url=webhook_receiver.url, events=["all"])
        send_jelou(server.base_url, phones)
        advance(server.base_url, "PT10M")
        webhook_receiver.wait_for(600, timeout=30)
    per_message = defaultdict(list)
    for item in webhook_receiver.events:
        per_message[item.recipient].append(item.event)
    assert set(per_message) == set(phones)
    assert all(events == JELOU_ORDER for events in per_message.values())


def test_retries_with_backoff_then_delivered(webhook_receiver):
    webhook_receiver.fail_next(2, status=503)
    with live(config({"backoff": 0.2})) as server:
        subscribe(server.base_url, provider="indigitall", applicationId=200, url=webhook_receiver.url, events=["failed"])
        send_indigitall(server.base_url, ["99901000001"])
        advance(server.base_url, "PT1M")
        webhook_receiver.wait_for(1)
        record = wait_deliveries(server.base_url, "delivered", 1)["deliveries"][0]
    events = webhook_receiver.events
    assert [(e.status, e.attempt) for e in events] == [(503, 1), (503, 2), (204, 3)]
    assert len({e.event_id for e in events}) == 1 and len({e.body for e in events}) == 1
    gaps = [later.received_at - earlier.received_at for earlier, later in zip(events, events[1:])]
    assert gaps[0] >= 0.19 and gaps[1] >= 0.39, gaps          # 0.2 s, then 0.4 s
    assert record["attempts"] == 3 and record["status"] == "delivered" and record["event"] == "failed"
    assert [h["statusCode"] for h in record["history"]] == [503, 503, 204]
    assert record["history"][0]["error"] == "HTTP 503 Service Unavailable"


def test_dead_letter_then_redelivery(webhook_receiver):
    webhook_receiver.fail_next(3)
    with live(config({"max_attempts": 3})) as server:
        base = server.base_url
        subscribe(base, provider="indigitall", applicationId=200, url=webhook_receiver.url, events=["failed"])
        send_indigitall(base, ["99901000001"])
        advance(base, "PT1M")
        webhook_receiver.wait_for(lambda events: len(events) == 3)
        dead = wait_deliveries(base, "dead", 1)
        assert dead["counts"]["dead"] == 1 and dead["deliveries"][0]["attempts"] == 3
        assert dead["deliveries"][0]["history"][-1]["error"] == "HTTP 500 Internal Server Error"
        assert requests.post(f"{base}/_mock/webhooks/redeliver", json={"status": "dead"}).json() == {"redelivered": 1}
        webhook_receiver.wait_for(1)
        wait_deliveries(base, "delivered", 1)
        assert deliveries(base, status="dead")["total"] == 0
        record = deliveries(base, status="delivered")["deliveries"][0]
    assert [e.attempt for e in webhook_receiver.events] == [1, 2, 3, 4]
    assert record["attempts"] == 4 and [h["statusCode"] for h in record["history"]] == [500, 500, 500, 204]


def test_receiver_down_is_dead_lettered_with_the_reason_and_api_stays_fast():
    with WebhookReceiver() as receiver:
        url = receiver.url                       # a port nobody listens on once it stops
    with live(config({"max_attempts": 2})) as server:
        base = server.base_url
        subscribe(base, provider="indigitall", applicationId=200, url=url, events=["sent"])
        send_indigitall(base, [f"346000000{i:02d}" for i in range(20)])
        advance(base, "PT1M")
        deadline = time.monotonic() + 10
        while deliveries(base, status="dead")["total"] < 20 and time.monotonic() < deadline:
            started = time.monotonic()
            assert requests.get(f"{base}/_mock/health").status_code == 200
            assert time.monotonic() - started < 1.0
            time.sleep(0.05)
        dead = deliveries(base, status="dead", limit=50)
    assert dead["total"] == 20
    assert all("connection refused" in d["history"][-1]["error"] for d in dead["deliveries"])


def test_host_policy_refusal_is_a_dead_letter(webhook_receiver):
    with live(config()) as server:
        server.app.extensions["mock"].webhooks.policy = lambda url: "loopback targets are not allowed (net.allow)"
        subscribe(server.base_url, provider="indigitall", applicationId=200, url=webhook_receiver.url, events=["sent"])
        send_indigitall(server.base_url, ["34600000001"])
        advance(server.base_url, "PT1M")
        dead = wait_deliveries(server.base_url, "dead", 1)["deliveries"]
    assert dead[0]["history"][0]["error"] == "refused by the host policy: loopback targets are not allowed (net.allow)"
    assert webhook_receiver.events == []


def _duplicated(seed: int) -> tuple[set[str], int]:
    with WebhookReceiver() as receiver:
        with live(config({"duplicate_share": 0.3}, seed=seed)) as server:
            subscribe(server.base_url, provider="indigitall", applicationId=200, url=receiver.url, events=["sent"])
            send_indigitall(server.base_url, [f"346000000{i:02d}" for i in range(40)])
            advance(server.base_url, "PT1M")
            receiver.wait_for(40)
            receiver.wait_quiet()
        counts = Counter(e.event_id for e in receiver.events)
    return {event_id for event_id, n in counts.items() if n > 1}, len(counts)


def test_duplicates_follow_the_seed():
    first, distinct = _duplicated(7)
    again, _ = _duplicated(7)
    other, _ = _duplicated(8)
    assert distinct == 40
    assert 3 <= len(first) <= 25 and first == again and first != other


def _arrival_order(seed: int, window: float) -> list[tuple[str, str]]:
    with WebhookReceiver() as receiver:
        with live(config({"reorder_window": window, "concurrency": 1}, seed=seed)) as server:
            subscribe(server.base_url, provider="jelou", botId="demo-bot", url=receiver.url, events=["all"])
            send_jelou(server.base_url, [f"99905{i:06d}" for i in range(10)])
            advance(server.base_url, "PT5M")
            receiver.wait_for(40)
    return [(e.recipient, e.event) for e in receiver.events]


def test_reordering_within_the_window_follows_the_seed():
    shuffled = _arrival_order(3, 60.0)
    assert shuffled == _arrival_order(3, 60.0)
    per_message = defaultdict(list)
    for recipient, event in shuffled:
        per_message[recipient].append(event)
    assert any(events != JELOU_ORDER for events in per_message.values())
    assert all(sorted(events) == sorted(JELOU_ORDER) for events in per_message.values())


def test_slow_receiver_does_not_delay_api_answers():
    """Each delivery takes ``delay`` seconds; an API answer that waited for one would take as long, so
    answers are held to half of it (room for a loaded machine, none for a delivery)."""
    delay = 4.0
    with WebhookReceiver(delay=delay) as receiver:
        with live(config({"concurrency": 2})) as server:
            base = server.base_url
            subscribe(base, provider="jelou", botId="demo-bot", url=receiver.url, events=["all"])
            campaign = send_jelou(base, [f"5939{i:08d}" for i in range(50)])
            started = time.monotonic()
            advance(base, "PT5M")
            timings = [time.monotonic() - started]
            wait_deliveries(base, "pending", 1)      # deliveries are under way (each takes `delay`)
            for _ in range(5):
                started = time.monotonic()
                answer = requests.get(f"{base}/v1/campaigns/{campaign}", auth=("demo-client-id", "demo-client-secret"))
                assert answer.status_code == 200
                timings.append(time.monotonic() - started)
            started = time.monotonic()
            send_jelou(base, ["593900000001"])
            timings.append(time.monotonic() - started)
            pending = deliveries(base)["counts"]
    assert max(timings) < delay / 2, timings     # none of a delivery's time reaches the API
    assert pending["pending"] > 0


def test_deliveries_filter_by_event_and_recipient(webhook_receiver):
    with live(config()) as server:
        base = server.base_url
        subscribe(base, provider="jelou", botId="demo-bot", url=webhook_receiver.url, events=["all"])
        send_jelou(base, ["99904000001", "99901000002"])
        advance(base, "PT2M")
        webhook_receiver.wait_for(4)
        wait_deliveries(base, "delivered", 4)
        by_recipient = deliveries(base, recipient="99904000001")
        failed = deliveries(base, event="failed")
    assert [d["event"] for d in by_recipient["deliveries"]] == ["delivered_channel", "delivered_user", "read"]
    assert [d["recipient"] for d in failed["deliveries"]] == ["99901000002"]
    stamp = parse_datetime(failed["deliveries"][0]["dueAt"])
    assert stamp.isoformat().startswith("2026-01-05T10:00:01")


def test_a_subscription_gets_only_transitions_after_it_was_created(webhook_receiver):
    with live(config()) as server:
        base = server.base_url
        send_jelou(base, ["99905000001"])        # sent 10:00:01; channel, user, read by 10:00:31; reply 10:01:01
        advance(base, "PT40S")
        subscribe(base, provider="jelou", botId="demo-bot", url=webhook_receiver.url, events=["all"])
        advance(base, "PT1M")
        webhook_receiver.wait_for(1)
        webhook_receiver.wait_quiet()
    assert [e.event for e in webhook_receiver.events] == ["reply"]


def test_reset_drops_subscriptions_records_and_queued_retries(webhook_receiver):
    webhook_receiver.fail_next(1000)
    with live(config({"backoff": 0.3})) as server:
        base = server.base_url
        subscribe(base, provider="indigitall", applicationId=200, url=webhook_receiver.url, events=["sent"])
        send_indigitall(base, ["34600000001", "34600000002"])
        advance(base, "PT1M")
        wait_deliveries(base, "retrying", 2)
        assert requests.post(f"{base}/_mock/reset").status_code == 200
        # a retry already on the wire when the reset came may still land (a loaded machine can be
        # slow to send the reset): count from when the receiver has had a quiet moment
        arrived = len(webhook_receiver.wait_quiet(quiet=0.2, timeout=5))
        time.sleep(1.0)                          # a kept retry would have come after 0.3 s
        assert len(webhook_receiver.events) == arrived
        assert requests.get(f"{base}/_mock/webhooks").json()["total"] == 0
        assert deliveries(base)["total"] == 0


def test_sandboxes_have_their_own_subscriptions_clocks_and_deliveries(webhook_receiver):
    with live(config()) as server:
        base = server.base_url
        a, b = f"{base}/sandboxes/team-a", f"{base}/sandboxes/team-b"
        subscribe(a, provider="indigitall", applicationId=200, url=webhook_receiver.url, events=["sent"])
        send_indigitall(a, ["34600000001"])
        send_indigitall(b, ["34600000002"])
        advance(b, "PT1M")
        advance(a, "PT1M")
        webhook_receiver.wait_for(1)
        webhook_receiver.wait_quiet()
        assert wait_deliveries(a, "delivered", 1)["total"] == 1
        assert deliveries(b)["total"] == 0
        assert requests.get(f"{b}/_mock/webhooks").json()["total"] == 0
    assert [e.recipient for e in webhook_receiver.events] == ["34600000001"]


def test_a_connect_time_host_check_is_used_and_its_refusal_recorded(webhook_receiver):
    class Refused(Exception):
        pass

    checked = []

    def connect(address, timeout=None, source_address=None):
        checked.append(address)
        raise Refused(f"{address[0]} is a loopback address; list it in net.allow")

    with live(config({"max_attempts": 1})) as server:
        dispatcher = server.app.extensions["mock"].webhooks
        dispatcher.stop()
        dispatcher.lanes.connect = connect          # what the host policy's connector plugs into
        dispatcher.start()
        subscribe(server.base_url, provider="indigitall", applicationId=200, url=webhook_receiver.url, events=["sent"])
        send_indigitall(server.base_url, ["34600000001"])
        advance(server.base_url, "PT1M")
        dead = wait_deliveries(server.base_url, "dead", 1)["deliveries"]
    assert checked == [("127.0.0.1", webhook_receiver.port)]
    assert dead[0]["history"][0]["error"] == "Refused: 127.0.0.1 is a loopback address; list it in net.allow"
    assert webhook_receiver.events == []
