"""Notifications (one per recipient), _metadata counts, and reserved 999 recipients' outcomes."""

from __future__ import annotations

import pytest

from support.jelou import JELOU, advance, assert_422, order_csv, send_form

BASE = "/v1/external/bots/demo-bot/notifications"


def create(client, csv: bytes, **fields) -> str:
    response = send_form(client, csv, **fields)
    assert response.status_code == 200, response.json
    return response.headers["X-Mock-Campaign-Id"]


def notifications(client, **params) -> dict:
    response = client.get(BASE, query_string=params, headers=JELOU)
    assert response.status_code == 200, response.json
    return response.json


RESERVED = ["99901000001", "99902000002", "99903000003", "99904000004", "99905000005", "99906000006", "99907000007"]


@pytest.mark.parametrize("app_config", [{"delivery": {"read_share": 0.0}}])
def test_reserved_recipients_reach_their_outcomes(client):
    campaign_id = create(client, order_csv(phones=RESERVED + ["593991111111"]))

    def statuses():
        items = notifications(client, campaignId=campaign_id, limit=50)["results"]
        return {item["destination"]: item["sentStatus"] for item in items}

    assert notifications(client, campaignId=campaign_id)["results"] == []   # not started yet
    advance(client, "PT1.5S")                                                 # first sends at +1 s
    assert statuses()["99901000001"] == "FAILED"
    advance(client, "PT5M")
    after_5m = statuses()
    assert after_5m == {
        "99901000001": "FAILED", "99902000002": "DELIVERED_CHANNEL", "99903000003": "DELIVERED_USER",
        "99904000004": "READ", "99905000005": "REPLY", "99906000006": "DELIVERED_CHANNEL",
        "99907000007": "FAILED", "593991111111": "DELIVERED_USER",
    }
    advance(client, "PT10M")
    final = statuses()
    assert final["99906000006"] == "DELIVERED_USER"      # slow delivery arrives after 600 s
    assert final["593991111111"] == "DELIVERED_USER"     # read_share 0: never read


@pytest.mark.parametrize("app_config", [{"delivery": {"read_share": 1.0}}])
def test_read_share_one_reads_everyone_ordinary(client):
    campaign_id = create(client, order_csv(10))
    advance(client, "PT2M")
    body = notifications(client, campaignId=campaign_id)
    assert body["_metadata"]["READ"] == 10
    assert all(item["wasRead"] and item["readAt"] for item in body["results"])


def test_read_share_is_seeded_and_repeatable(app_config):
    from mock_server import create_app

    def run():
        app = create_app({"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True}, "seed": 7})
        client = app.test_client()
        campaign_id = create(client, order_csv(200))
        advance(client, "PT5M")
        return [item["sentStatus"] for item in client.get(BASE, query_string={"campaignId": campaign_id, "limit": 50}, headers=JELOU).json["results"]]

    first, second = run(), run()
    assert first == second
    assert 0 < first.count("READ") < 50


def test_notification_fields_and_metadata(client):
    campaign_id = create(client, order_csv(phones=["593991111111", "99901000001"]))
    advance(client, "PT5S")
    body = notifications(client, campaignId=campaign_id)
    ok, failed = body["results"]
    assert ok["id"] == f"{campaign_id}-1" and ok["origin"] == "BULK" and ok["campaignId"] == campaign_id
    assert ok["elementName"] == "order_confirmation" and ok["destination"] == "593991111111"
    assert ok["sentStatus"] == "DELIVERED_USER" and ok["error"] is None
    assert ok["createdAt"] == "2026-01-05T10:00:01.000Z" and ok["sentDate"] == "2026-01-05T10:00:01.000Z"
    assert ok["deliveryChannelAt"] == "2026-01-05T10:00:02.000Z" and ok["deliveryUserAt"] == "2026-01-05T10:00:03.000Z"
    assert failed["sentStatus"] == "FAILED" and "reserved 99901" in failed["error"]["message"]
    assert body["_metadata"] == {"CREATED": 0, "DELIVERED_CHANNEL": 0, "DELIVERED_USER": 1, "READ": 0, "REPLY": 0,
                                 "FAILED": 1, "total": 2}


def test_pagination_across_campaigns_newest_first(client):
    older = create(client, order_csv(3))
    newer = create(client, order_csv(4))
    advance(client, "PT1M")
    page1 = notifications(client, limit=5, page=1)
    assert page1["pagination"] == {"limit": 5, "page": 1, "total": 7, "offset": 0, "totalPages": 2}
    assert [item["campaignId"] for item in page1["results"]] == [newer] * 4 + [older]
    page2 = notifications(client, limit=5, page=2)
    assert [item["id"] for item in page2["results"]] == [f"{older}-2", f"{older}-3"]


def test_filters(client):
    first = create(client, order_csv(phones=["593991111111", "99901000001"]))
    create(client, b"phone\n593992222222\n", elementName="welcome_message", params=[])
    advance(client, "PT1M")
    assert notifications(client, elementName="welcome_message")["pagination"]["total"] == 1
    failed = notifications(client, status="FAILED")
    assert [item["destination"] for item in failed["results"]] == ["99901000001"]
    assert failed["_metadata"]["total"] == 3                 # _metadata ignores the status filter
    assert notifications(client, destination="593992222222")["results"][0]["elementName"] == "welcome_message"
    assert [i["id"] for i in notifications(client, messageId=f"{first}-2")["results"]] == [f"{first}-2"]
    assert notifications(client, origin="API")["pagination"]["total"] == 0
    assert notifications(client, **{"from": "2026-01-06"})["pagination"]["total"] == 0
    assert notifications(client, to="2026-01-05")["pagination"]["total"] == 3


def test_single_notification(client):
    campaign_id = create(client, order_csv(2))
    assert client.get(f"{BASE}/{campaign_id}-1", headers=JELOU).status_code == 404     # not started
    advance(client, "PT1M")
    response = client.get(f"{BASE}/{campaign_id}-2", headers=JELOU)
    assert response.status_code == 200 and response.json["id"] == f"{campaign_id}-2"
    legacy = client.get(f"/v1/bots/demo-bot/notifications/{campaign_id}-2", headers=JELOU)
    assert legacy.json == response.json
    for bad in (f"{campaign_id}-3", f"{campaign_id}-0", "nope", f"{campaign_id}-x"):
        missing = client.get(f"{BASE}/{bad}", headers=JELOU)
        assert missing.status_code == 404 and missing.json["status"] == "failed"


def test_notification_errors(client):
    assert client.get(BASE).status_code == 401
    assert client.get("/v1/external/bots/ghost/notifications", headers=JELOU).status_code == 404
    assert client.get("/v1/external/bots/foreign-bot/notifications", headers=JELOU).status_code == 403
    assert_422(client.get(BASE, query_string={"limit": 51}, headers=JELOU), "limit")
    assert_422(client.get(BASE, query_string={"from": "31/12/2025"}, headers=JELOU), "from")


def test_hundred_thousand_rows_accepted_and_visible(client):
    rows = 100_000
    campaign_id = create(client, order_csv(rows))
    advance(client, "PT20M")                          # 100k at 100/s = 1,000 s
    body = notifications(client, campaignId=campaign_id, limit=50, page=2000)
    assert body["pagination"]["total"] == rows
    assert body["results"][-1]["id"] == f"{campaign_id}-{rows}"
    assert body["_metadata"]["total"] == rows
    assert body["_metadata"]["CREATED"] == 0
    listed = client.get(f"/_mock/messages?campaign={campaign_id}&limit=1&offset={rows - 1}").json
    assert listed["total"] == rows and listed["messages"][0]["recipient"] == f"5939{rows - 1:08d}"
