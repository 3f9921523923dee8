"""Property (CONTRACT §14): for any valid profile, every message's timestamps are ordered and its
final status agrees everywhere it is shown (listings, counters, ``/_mock/messages``)."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server import create_app
from mock_server.isotime import parse_datetime
from mock_server.profiles import format_duration

from support.jelou import JELOU, START
from support.profiles import messages, send_indigitall, send_jelou

SECONDS = st.sampled_from([0, 0.5, 1, 2, 30, 90, 600, 3600, 7200, 40000])


@st.composite
def delays(draw):
    median = draw(SECONDS)
    if draw(st.booleans()) or median == 0:
        return {"fixed": format_duration(median)}
    return {"median": format_duration(median), "p95": format_duration(median * draw(st.sampled_from([1, 2, 10, 50])))}


@st.composite
def profiles(draw):
    profile = {}
    if draw(st.booleans()):
        profile["stages"] = {name: draw(delays()) for name in ("channel", "user", "read", "reply") if draw(st.booleans())}
    if draw(st.booleans()):
        profile["shares"] = {"read": draw(st.floats(0, 1)), "reply": draw(st.floats(0, 1))}
    count = draw(st.integers(0, 8))
    shares = [draw(st.floats(0, 1)) for _ in range(count)]
    scale = max(1.0, sum(shares) * 1.01)
    profile["failures"] = [{"code": draw(st.sampled_from([131026, 131047, 131049, 131056])), "share": share / scale,
                            "at": draw(st.sampled_from(["send", "delivery"]))} for share in shares]
    if draw(st.booleans()):
        profile["throughput"] = {"mps": draw(st.sampled_from([1, 5, 80, 1000]))}
    return profile


PHONES = ["99901000001", "99902000002", "99903000003", "99904000004", "99905000004", "99906000006",
          "99907000007"] + [f"5939{index:08d}" for index in range(40)]
ORDER = ("sentAt", "deliveryChannelAt", "deliveryUserAt", "readAt", "replyAt")
INDIGITALL_ORDER = ("sentAt", "deliveredAt", "readAt", "repliedAt")


@pytest.fixture(scope="module")
def shared_app():
    app = create_app({"clock": {"start": START, "frozen": True}})
    yield app
    app.extensions["mock"].webhooks.stop()


NAMES = itertools.count()


def _ordered(stamps: dict, order: tuple[str, ...]) -> bool:
    moments = [parse_datetime(stamps[key]).timestamp() for key in order if stamps.get(key)]
    failed = stamps.get("failedAt")
    return moments == sorted(moments) and (failed is None or all(
        parse_datetime(failed).timestamp() >= moment for moment in moments))


@pytest.mark.slow
@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(profile=profiles(), advance=st.sampled_from(["PT1S", "PT30S", "PT10M", "PT5H", "P3D"]))
def test_timestamps_are_ordered_and_statuses_agree_everywhere(shared_app, profile, advance):
    client = shared_app.test_client()
    headers = {"X-Mock-Sandbox": f"prop-{next(NAMES)}"}
    answer = client.put("/_mock/profile", json={"profile": profile}, headers=headers)
    assert answer.status_code == 200, answer.json
    campaign = send_jelou(client, PHONES, headers)
    task = send_indigitall(client, PHONES, headers=headers)
    client.post("/_mock/clock", json={"advance": advance}, headers=headers)

    shown = messages(client, campaign, headers)
    notes = client.get(f"/v1/external/bots/demo-bot/notifications?campaignId={campaign}&limit=50",
                       headers={**JELOU, **headers}).json
    by_id = {note["id"]: note for note in notes["results"]}
    for item in shown:
        assert _ordered(item["timestamps"], ORDER), item
        note = by_id[item["id"]]
        assert note["sentStatus"] == item["status"] and note["error"] == item["error"]
        assert (item["error"] is not None) == (item["status"] == "FAILED")
        assert item["error"] is None or isinstance(item["error"]["code"], int)
    counts = Counter(item["status"] for item in shown)
    metadata = notes["_metadata"]
    assert all(metadata[status] == counts.get(status, 0) for status in counts if status != "CREATED")
    detail = client.get(f"/v1/campaigns/{campaign}", headers={**JELOU, **headers}).json["data"]
    assert detail["failedMessages"] == counts["FAILED"]

    items = messages(client, str(task), headers)
    for item in items:
        assert _ordered(item["timestamps"], INDIGITALL_ORDER), item
        assert (item["error"] is not None) == (item["status"] == "failed")
    task_counts = client.get(f"/v2/chat/application/200/task/{task}",
                             headers={"Authorization": "ServerKey demo-server-key", **headers}).json["data"]["messages"]
    listed = Counter(item["status"] for item in items)
    assert all(task_counts[status] == listed.get(status, 0) for status in ("sent", "delivered", "read", "failed"))
    for status in ("failed", "read"):
        filtered = client.get(f"/_mock/messages?campaign={task}&status={status}&limit=100", headers=headers).json
        assert filtered["total"] == listed.get(status, 0)
