"""Fates under traffic profiles (CONTRACT §14): statistics over 10,000 messages with fixed seeds,
error codes wherever a failed message is shown, determinism across sandboxes and stores."""

from __future__ import annotations

import json
import math
from collections import Counter

import pytest

from mock_server import create_app
from mock_server.isotime import parse_datetime
from mock_server.store.redis import RedisStore

from support.jelou import JELOU, START
from support.profiles import app_with_seed, instant, messages, phones, send_indigitall, send_jelou

STAGES = (("channel", "sentAt", "deliveryChannelAt"), ("user", "deliveryChannelAt", "deliveryUserAt"),
          ("read", "deliveryUserAt", "readAt"), ("reply", "readAt", "replyAt"))


def _quantile(values: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _seconds(text: str) -> float:
    from mock_server.isotime import parse_duration
    return parse_duration(text).seconds


def _check_statistics(items: list[dict], profile: dict, names: dict) -> None:
    """Every share within 1 percentage point, every median within 5 % and p95 within 10 %."""
    total = len(items)
    codes = Counter(item["error"]["code"] for item in items if item["status"] == names["failed"])
    for failure in profile["failures"]:
        assert abs(codes[failure["code"]] / total - failure["share"]) <= 0.01, (failure, codes)
    delivered = [item for item in items if item["status"] in names["delivered"]]
    read = [item for item in items if item["timestamps"].get("readAt")]
    replied = [item for item in items if item["timestamps"].get("replyAt") or item["timestamps"].get("repliedAt")]
    assert abs(len(read) / len(delivered) - profile["shares"]["read"]) <= 0.01
    assert abs(len(replied) / len(read) - profile["shares"]["reply"]) <= 0.01
    for stage, before, after in names["stages"]:
        delays = [instant(item["timestamps"][after]) - instant(item["timestamps"][before])
                  for item in items if item["timestamps"].get(after) and item["timestamps"].get(before)]
        expected = profile["stages"][stage]
        assert len(delays) > 100, stage
        assert abs(_quantile(delays, 0.5) / _seconds(expected["median"]) - 1) <= 0.05, (stage, _quantile(delays, 0.5))
        assert abs(_quantile(delays, 0.95) / _seconds(expected["p95"]) - 1) <= 0.10, (stage, _quantile(delays, 0.95))
        assert len(set(delays)) >= 15, f"{stage}: a log-normal, not a handful of values"


JELOU_NAMES = {"failed": "FAILED", "delivered": ("DELIVERED_USER", "READ", "REPLY"), "stages": STAGES}
INDIGITALL_NAMES = {"failed": "failed", "delivered": ("delivered", "read"),
                    "stages": (("read", "deliveredAt", "readAt"), ("reply", "readAt", "repliedAt"))}


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 7])
def test_realistic_statistics_over_10000_jelou_messages(seed):
    app = app_with_seed(seed)
    client = app.test_client()
    try:
        profile = client.put("/_mock/profile", json={"name": "realistic"}).json["profile"]
        campaign = send_jelou(client, phones(10_000))
        client.post("/_mock/clock", json={"advance": "P30D"})
        items = messages(client, campaign)
        assert len(items) == 10_000
        _check_statistics(items, profile, JELOU_NAMES)
    finally:
        app.extensions["mock"].webhooks.stop()


@pytest.mark.slow
def test_custom_profile_statistics_over_10000_indigitall_messages():
    app = app_with_seed(3)
    client = app.test_client()
    custom = {"stages": {"channel": {"fixed": "PT3S"}, "user": {"median": "PT20S", "p95": "PT10M"},
                         "read": {"median": "PT2H", "p95": "P1D"}, "reply": {"median": "PT5M", "p95": "PT1H"}},
              "shares": {"read": 0.35, "reply": 0.2},
              "failures": [{"code": 131026, "share": 0.04, "at": "send"},
                           {"code": 131047, "share": 0.03, "at": "delivery"},
                           {"code": 131056, "share": 0.005, "at": "delivery"}],
              "throughput": {"mps": 1000}}
    try:
        profile = client.put("/_mock/profile", json={"profile": custom}).json["profile"]
        task = send_indigitall(client, phones(10_000))
        client.post("/_mock/clock", json={"advance": "P30D"})
        items = messages(client, task)
        assert len(items) == 10_000
        _check_statistics(items, profile, INDIGITALL_NAMES)
        sends = sorted(instant(item["timestamps"]["sentAt"]) for item in items if item["timestamps"]["sentAt"])
        assert sends[-1] - sends[0] == pytest.approx(9.999, abs=0.002)         # 1,000 per second
        delays = {instant(i["timestamps"]["deliveredAt"]) - instant(i["timestamps"]["sentAt"]) for i in items
                  if i["timestamps"]["deliveredAt"]}
        assert min(delays) > 3.0                     # the fixed channel delay comes first
    finally:
        app.extensions["mock"].webhooks.stop()


def test_failed_messages_carry_their_code_in_notifications_and_messages_reserved_ones_too(client):
    client.put("/_mock/profile", json={"profile": {"failures": [{"code": 131049, "share": 1.0, "at": "delivery"}]}})
    campaign = send_jelou(client, ["99901000001", "99907000002", "99905000003"] + phones(5))
    client.post("/_mock/clock", json={"advance": "PT1H"})
    notes = client.get("/v1/external/bots/demo-bot/notifications?limit=50", headers=JELOU).json["results"]
    by_phone = {note["destination"]: note for note in notes}
    assert by_phone["99901000001"]["error"] == {
        "message": "Invalid recipient: the number is not a WhatsApp user (reserved 99901)", "code": 131026}
    assert by_phone["99907000002"]["error"]["code"] == 131026
    assert by_phone["99905000003"]["sentStatus"] == "REPLY"          # a reserved fate beats the profile
    for phone in phones(5):
        assert by_phone[phone]["sentStatus"] == "FAILED"
        assert by_phone[phone]["deliveryChannelAt"] is not None      # failed at delivery: reached the channel
        assert by_phone[phone]["error"] == {"message": "This message was not delivered to maintain healthy "
                                                       "ecosystem engagement", "code": 131049}
    shown = {item["recipient"]: item for item in messages(client, campaign)}
    assert all(shown[phone]["error"] == by_phone[phone]["error"] for phone in by_phone)
    detail = client.get(f"/v1/campaigns/{campaign}", headers=JELOU).json["data"]
    assert detail["failedMessages"] == 7 and detail["status"] == "COMPLETED"


def test_indigitall_failed_messages_carry_their_code(client):
    client.put("/_mock/profile", json={"profile": {"failures": [{"code": 131026, "share": 1.0}]}})
    task = send_indigitall(client, ["99904000001"] + phones(3))
    client.post("/_mock/clock", json={"advance": "PT1H"})
    items = {item["recipient"]: item for item in messages(client, str(task))}
    assert items["99904000001"]["status"] == "read" and items["99904000001"]["error"] is None
    for phone in phones(3):
        assert items[phone]["status"] == "failed"
        assert items[phone]["error"] == {"message": "Message undeliverable", "code": 131026}
    counts = client.get(f"/v2/chat/application/200/task/{task}", headers={"Authorization": "ServerKey demo-server-key"}
                        ).json["data"]["messages"]
    assert counts["failed"] == 3 and counts["read"] == 1


def test_a_batch_keeps_the_profile_it_was_accepted_with(client):
    client.put("/_mock/profile", json={"profile": {"failures": [{"code": 131026, "share": 1.0}]}})
    failing = send_jelou(client, phones(3))
    client.put("/_mock/profile", json={"name": "ideal"})
    fine = send_jelou(client, phones(3, first=10))
    client.post("/_mock/clock", json={"advance": "PT1H"})
    assert {item["status"] for item in messages(client, failing)} == {"FAILED"}
    assert {item["status"] for item in messages(client, fine)} <= {"DELIVERED_USER", "READ"}


def _run(app, sandbox: str, profile: str = "realistic") -> list:
    client = app.test_client()
    headers = {"X-Mock-Sandbox": sandbox}
    client.put("/_mock/profile", json={"name": profile}, headers=headers)
    campaign = send_jelou(client, phones(500), headers)
    task = send_indigitall(client, phones(500, first=1000), headers=headers)
    client.post("/_mock/clock", json={"advance": "PT7H"}, headers=headers)
    return [(item["recipient"], item["status"], item["timestamps"], item["error"])
            for batch in (campaign, task) for item in messages(client, batch, headers)]


@pytest.mark.parametrize("profile", ["realistic", "degraded"])
def test_fates_are_the_same_in_two_fresh_sandboxes_and_on_both_stores(redis_url, profile):
    memory = app_with_seed(5)
    try:
        first, second = _run(memory, "one", profile), _run(memory, "two", profile)
    finally:
        memory.extensions["mock"].webhooks.stop()
    shared = create_app({"seed": 5, "clock": {"start": START, "frozen": True}},
                        store=RedisStore(redis_url, seed=5, clock_start_us=int(parse_datetime(START).timestamp() * 1e6),
                                         clock_frozen=True))
    try:
        on_redis = _run(shared, "three", profile)
    finally:
        shared.extensions["mock"].webhooks.stop()
    assert first == second == on_redis
    statuses = Counter(status for _, status, _, _ in first)
    assert statuses["FAILED"] and statuses["READ"] and statuses["read"] and statuses["failed"]


def test_an_explicit_ideal_keeps_no_profile_on_its_batches_so_they_follow_delivery_settings(client):
    send_jelou(client, phones(20))
    client.put("/_mock/profile", json={"name": "ideal"})
    send_jelou(client, phones(20))
    client.put("/_mock/profile", json={"name": "realistic"})
    send_jelou(client, phones(20))
    state = client.application.extensions["mock"]
    kept = [campaign.profile for campaign in state.backends["jelou"].scan(state.sandbox(), newest_first=False)]
    assert kept[:2] == [None, None] and json.loads(kept[2])["throughput"] == {"mps": 80.0}


def test_webhooks_carry_the_code_and_agree_with_the_listings():
    import requests
    from harness.webhooks import WebhookReceiver
    from support.webhooks import advance, config, live, send_indigitall as hook_indigitall, send_jelou as hook_jelou, \
        subscribe

    profile = {"failures": [{"code": 131049, "share": 0.5, "at": "delivery"}, {"code": 131026, "share": 0.3}]}
    with WebhookReceiver() as receiver, live(config()) as server:
        base = server.base_url
        assert requests.put(f"{base}/_mock/profile", json={"profile": profile}, timeout=5).status_code == 200
        requests.post(f"{base}/v1/bots/demo-bot/events/webhook", auth=("demo-client-id", "demo-client-secret"),
                      json={"webhooks": [{"url": receiver.url, "events": ["failed"]}]}, timeout=5)
        subscribe(base, provider="indigitall", applicationId=200, url=receiver.url, events=["failed"])
        campaign = hook_jelou(base, phones(20))
        task = hook_indigitall(base, phones(20, first=100))
        advance(base, "PT1H")
        listed = {item["recipient"]: item for batch in (campaign, task) for item in requests.get(
            f"{base}/_mock/messages", params={"campaign": batch, "status": "failed", "limit": 100}, timeout=5
        ).json()["messages"]}
        assert 10 <= len(listed) < 40
        events = receiver.wait_for(len(listed), timeout=20)
    bodies = [json.loads(event.body) for event in events]
    shown = {(body.get("notification") or body.get("message"))["destination" if "notification" in body
                                                                  else "recipient"]: body for body in bodies}
    assert shown.keys() == listed.keys()
    for recipient, body in shown.items():
        error = (body.get("notification") or body.get("message"))["error"]
        assert error == listed[recipient]["error"] and error["code"] in (131049, 131026)
