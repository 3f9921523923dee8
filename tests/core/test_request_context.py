"""The request context (``Sandbox.enter``): one store touch gives the request its sandbox, its one
clock reading and its generation; scheduled work is settled once per request."""

from __future__ import annotations

import base64

import pytest

from loadtests.storeops import CountingStore, _upload_body
from mock_server import create_app, get_state
from mock_server.store import MemoryStore

JELOU = {"Authorization": "Basic " + base64.b64encode(b"demo-client-id:demo-client-secret").decode()}


START_US = 1_767_607_200_000_000          # 2026-01-05T10:00:00Z


@pytest.fixture(params=[True, False], ids=["frozen", "running"])
def counted(request):
    store = CountingStore(MemoryStore(seed=1, clock_start_us=START_US, clock_frozen=request.param))
    app = create_app({"seed": 1}, store=store)
    client = app.test_client()
    client.started = lambda campaign: get_state(app).backends["jelou"].get(get_state(app).sandbox(), campaign).started_at
    return client, store


def _upload(client) -> str:
    body, content_type = _upload_body(5)
    answer = client.post("/v1/hsm/file", data=body, headers={**JELOU, "Content-Type": content_type})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.headers["X-Mock-Campaign-Id"]


def test_a_read_touches_once_reads_the_clock_never_again_and_settles_once(counted):
    client, store = counted
    campaign = _upload(client)
    store.calls.clear()
    answer = client.get(f"/v1/campaigns/{campaign}", headers=JELOU)
    assert answer.status_code == 200
    assert answer.json["data"]["id"] == campaign
    assert store.calls["touch"] == 1
    assert store.calls["clock"] == 0            # the touch's answer is the request's clock reading
    # one settle, not one per backend call, and it reads nothing: the touch said no campaign is queued
    assert store.calls["page"] == 0 and store.calls["scan"] == 0


def test_an_upload_starts_its_campaign_without_settling_the_sandbox_again(counted):
    client, store = counted
    _upload(client)
    store.calls.clear()
    campaign = _upload(client)
    assert store.calls["clock"] == 0 and store.calls["touch"] == 1
    assert store.calls["page"] == 0 and store.calls["scan"] == 0 and store.calls["get"] == 0
    assert client.started(campaign) is not None    # started by the request that stored it


def test_a_clock_change_inside_a_request_is_what_the_request_then_reports(counted):
    client, _ = counted
    moved = client.post("/_mock/clock", json={"advance": "PT1H"})
    assert moved.status_code == 200 and moved.json["now"].startswith("2026-01-05T11:00:0")
    reset = client.post("/_mock/reset", json={"clock": True})
    assert reset.json["now"].startswith("2026-01-05T10:00:0")


def test_a_rescheduled_campaign_due_now_starts_in_the_same_request(counted):
    client, _ = counted
    body, content_type = _upload_body(5)
    body = body.replace(b'name="campaignName"', b'name="scheduledAt"\r\n\r\n2026-01-06T10:00:00Z\r\n--'
                        + content_type.split("boundary=")[1].encode() + b'\r\nContent-Disposition: form-data; name="campaignName"', 1)
    answer = client.post("/v1/hsm/file", data=body, headers={**JELOU, "Content-Type": content_type})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    campaign = answer.headers["X-Mock-Campaign-Id"]
    assert client.get(f"/v1/campaigns/{campaign}", headers=JELOU).json["data"]["status"] == "SCHEDULED"
    assert client.started(campaign) is None
    client.post("/_mock/clock", json={"advance": "PT2H"})
    changed = client.put(f"/v1/campaigns/{campaign}", headers=JELOU, json={"scheduledAt": "2026-01-05T12:00:00Z"})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert changed.json["data"]["status"] == "PENDING" and client.started(campaign) is not None
