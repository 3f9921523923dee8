"""The control plane /_mock (CONTRACT §6): health, reset, clock, message inspection and wait_for."""

from __future__ import annotations

import threading

import pytest

from support.jelou import JELOU, advance, campaign, order_csv, send_form
from harness.server import BackgroundServer
from harness.control import ControlError, MockControl


def create(client, rows=3, **fields):
    response = send_form(client, order_csv(rows), **fields)
    assert response.status_code == 200
    return response.headers["X-Mock-Campaign-Id"]


def test_health(client):
    assert client.get("/_mock/health").json == {"status": "ok"}


def test_reset_drops_campaigns_keeps_clock_and_tenants(client):
    campaign_id = create(client)
    advance(client, "PT1H")
    response = client.post("/_mock/reset")
    assert response.status_code == 200 and response.json["now"] == "2026-01-05T11:00:00.000Z"
    assert client.get(f"/v1/campaigns/{campaign_id}", headers=JELOU).status_code == 404
    assert client.get("/_mock/messages").json["total"] == 0
    assert client.get("/_mock/clock").json == {"now": "2026-01-05T11:00:00.000Z", "frozen": True}
    again = create(client)
    assert again == campaign_id            # ids restart from the seed after a reset


def test_clock_get_set_advance_freeze(client):
    assert client.get("/_mock/clock").json == {"now": "2026-01-05T10:00:00.000Z", "frozen": True}
    assert client.post("/_mock/clock", json={"now": "2026-01-05T12:00:00+01:00"}).json["now"] == "2026-01-05T11:00:00.000Z"
    assert client.post("/_mock/clock", json={"advance": "P1M"}).json["now"] == "2026-02-05T11:00:00.000Z"
    assert client.post("/_mock/clock", json={"advance": "PT0.25S"}).json["now"] == "2026-02-05T11:00:00.250Z"
    unfrozen = client.post("/_mock/clock", json={"frozen": False}).json
    assert unfrozen["frozen"] is False
    assert client.post("/_mock/clock", json={"frozen": True}).json["frozen"] is True


@pytest.mark.parametrize("body, needle", [
    ({"now": "2026-01-05T09:59:59Z"}, "never goes backwards"),
    ({"advance": "P0D"}, "positive duration"),
    ({"advance": "-PT1H"}, "not an ISO 8601 duration"),
    ({"advance": "1 hour"}, "not an ISO 8601 duration"),
    ({"advance": "PT99999999999999S"}, "beyond the supported dates"),
    ({"advance": "P99999Y"}, "beyond the supported dates"),
    ({"now": "tomorrow"}, "expected an ISO 8601 date-time"),
    ({"now": "2026-13-01T00:00:00Z"}, "is not an ISO 8601 date-time"),
    ({"now": "2026-01-06T00:00:00Z", "advance": "PT1H"}, "cannot be combined"),
    ({"frozen": "yes"}, "true or false"),
    ({"speed": 2}, "send a JSON object"),
    ({"advance": "PT1H", "speed": 2}, "unknown clock field"),
])
def test_clock_errors_are_400(client, body, needle):
    response = client.post("/_mock/clock", json=body)
    assert response.status_code == 400
    assert needle in response.json["error"]["message"]
    assert client.get("/_mock/clock").json["now"] == "2026-01-05T10:00:00.000Z"


def test_transitions_are_applied_when_the_clock_answers(client):
    campaign_id = create(client, scheduledAt="2026-01-05T11:00:00Z")
    client.post("/_mock/clock", json={"now": "2026-01-05T11:00:30Z"})
    data = campaign(client, campaign_id)
    assert data["status"] == "COMPLETED" and data["startedAt"] == "2026-01-05T11:00:01.000Z"


def test_messages_filters_and_pagination(client):
    first = create(client, rows=3)
    second = create(client, rows=2)
    assert client.get("/_mock/messages").json["total"] == 0          # nothing sent yet
    advance(client, "PT1M")
    body = client.get("/_mock/messages").json
    assert body["total"] == 5 and [m["campaign"] for m in body["messages"]] == [first] * 3 + [second] * 2
    message = body["messages"][0]
    assert message["provider"] == "jelou" and message["recipient"] == "593900000000"
    assert message["content"]["elementName"] == "order_confirmation"
    assert message["content"]["text"] == "Your order A00000 for a total of $0.50 is confirmed. The expected delivery is December 1."
    assert set(message["timestamps"]) == {"sentAt", "deliveryChannelAt", "deliveryUserAt", "readAt", "replyAt", "failedAt"}
    page = client.get("/_mock/messages?offset=2&limit=2").json
    assert [m["id"] for m in page["messages"]] == [f"{first}-3", f"{second}-1"] and page["total"] == 5
    assert client.get(f"/_mock/messages?campaign={second}").json["total"] == 2
    assert client.get("/_mock/messages?provider=jelou&status=delivered_user").json["total"] + \
        client.get("/_mock/messages?provider=jelou&status=READ").json["total"] == 5
    assert client.get("/_mock/messages?status=nothing").json == {"messages": [], "total": 0, "offset": 0, "limit": 100}


@pytest.mark.parametrize("query, needle", [
    ("provider=twilio", "unknown provider"), ("limit=0", "'limit' must be between"), ("offset=-1", "'offset' must be between 0 and"),
    ("wait_for=x", "whole number"), ("timeout=999", "'timeout' must be between"),
])
def test_messages_errors(client, query, needle):
    response = client.get(f"/_mock/messages?{query}")
    assert response.status_code == 400 and needle in response.json["error"]["message"]


def test_wait_for_times_out_with_what_it_has(client):
    create(client, rows=2)
    body = client.get("/_mock/messages?wait_for=5&timeout=0.2").json
    assert body["total"] == 0


def test_wait_for_is_woken_by_a_clock_move():
    """A long-poll in one thread answers as soon as another client moves the clock."""
    config = {"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True}}
    with BackgroundServer(config) as server:
        control = MockControl(server.base_url)
        client = server.app.test_client()
        create(client, rows=3)
        result = {}
        waiter = threading.Thread(target=lambda: result.update(control.messages(wait_for=3, timeout=20)))
        waiter.start()
        control.clock.advance("PT1M")
        waiter.join(20)
        assert not waiter.is_alive()
        assert result["total"] == 3
        control.session.close()


def test_control_client_errors_are_typed():
    with BackgroundServer({"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True}}) as server:
        control = MockControl(server.base_url)
        with pytest.raises(ControlError) as caught:
            control.clock.set("2020-01-01T00:00:00Z")
        assert caught.value.status == 400 and "never goes backwards" in str(caught.value)
        assert control.health() == {"status": "ok"}
        control.session.close()


def test_real_time_clock_moves_by_itself():
    ticks = iter([1_700_000_000.0, 1_700_000_000.0, 1_700_000_005.0, 1_700_000_005.0])
    from mock_server import create_app
    app = create_app(time_source=lambda: next(ticks, 1_700_000_005.0))
    client = app.test_client()
    body = client.get("/_mock/clock").json
    assert body["frozen"] is False and body["now"] == "2023-11-14T22:13:25.000Z"


@pytest.mark.parametrize("app_config", [{"jelou": {"sending_rate": 10, "start_delay": 0}}])
def test_only_sent_messages_are_listed_and_waited_for(client):
    campaign_id = create(client, rows=50)                        # 10/s: one message every 0.1 s from now
    advance(client, "PT0.95S")                                    # sends at 0.0 .. 0.9 s: 10 sent, 40 queued
    body = client.get(f"/_mock/messages?campaign={campaign_id}&limit=100").json
    assert body["total"] == 10 and len(body["messages"]) == 10
    assert body["messages"][-1]["id"] == f"{campaign_id}-10"
    assert client.get(f"/_mock/messages?campaign={campaign_id}&status=CREATED").json["total"] == 10 - \
        client.get(f"/_mock/messages?campaign={campaign_id}&status=DELIVERED_CHANNEL").json["total"]
    waited = client.get(f"/_mock/messages?campaign={campaign_id}&wait_for=50&timeout=0.1").json
    assert waited["total"] == 10                                  # the rest are not sent yet: no early answer
    notifications = client.get(f"/v1/external/bots/demo-bot/notifications?campaignId={campaign_id}", headers=JELOU).json
    assert notifications["pagination"]["total"] == 50             # notifications do exist for queued ones (CREATED)



def test_clock_body_that_is_not_json_is_400(client):
    response = client.post("/_mock/clock", data=b"[" * 100000, content_type="application/json")
    assert response.status_code == 400 and response.json["error"]["message"].endswith("nested too deeply.")
    response = client.post("/_mock/clock", data=b"{now:", content_type="application/json")
    assert response.status_code == 400 and "not valid JSON at line 1" in response.json["error"]["message"]
