"""Campaign lifecycle driven by the clock, GET/PUT /v1/campaigns/{id} and GET /v1/campaigns."""

from __future__ import annotations

import pytest

from support.jelou import JELOU, advance, assert_422, campaign, order_csv, send_form


def create(client, rows: int = 3, **fields) -> str:
    response = send_form(client, order_csv(rows) if "csv" not in fields else fields.pop("csv"), **fields)
    assert response.status_code == 200, response.json
    return response.headers["X-Mock-Campaign-Id"]


# -- lifecycle -------------------------------------------------------------------------------
def test_immediate_campaign_goes_pending_in_progress_completed(client):
    campaign_id = create(client, rows=500)          # 500 messages at 100/s take 5 s
    assert campaign(client, campaign_id)["status"] == "PENDING"
    advance(client, "PT1S")                          # start_delay
    data = campaign(client, campaign_id)
    assert data["status"] == "IN_PROGRESS" and data["startedAt"] == "2026-01-05T10:00:01.000Z"
    advance(client, "PT3S")
    assert campaign(client, campaign_id)["status"] == "IN_PROGRESS"
    advance(client, "PT2S")                          # last send at 10:00:05.990
    data = campaign(client, campaign_id)
    assert data["status"] == "COMPLETED"
    assert data["completedAt"] == "2026-01-05T10:00:05.990Z"
    advance(client, "PT10S")
    data = campaign(client, campaign_id)
    assert data["deliveredMessages"] == 500 and data["failedMessages"] == 0


def test_scheduled_campaign_waits_for_its_time(client):
    campaign_id = create(client, scheduledAt="2026-01-05T12:00:00-02:00")   # 14:00Z
    data = campaign(client, campaign_id)
    assert data["status"] == "SCHEDULED" and data["scheduledAt"] == "2026-01-05T14:00:00.000Z"
    client.post("/_mock/clock", json={"now": "2026-01-05T13:59:59Z"})
    assert campaign(client, campaign_id)["status"] == "SCHEDULED"
    client.post("/_mock/clock", json={"now": "2026-01-05T14:00:00Z"})
    assert campaign(client, campaign_id)["status"] == "PENDING"
    advance(client, "PT1M")
    assert campaign(client, campaign_id)["status"] == "COMPLETED"


def test_past_or_naive_scheduled_at_is_sent_at_once(client):
    past = create(client, scheduledAt="2020-01-01T00:00:00Z")
    naive = create(client, scheduledAt="2026-01-05T09:00:00")
    assert campaign(client, past)["status"] == "PENDING"
    assert campaign(client, naive)["scheduledAt"] == "2026-01-05T09:00:00.000Z"
    assert campaign(client, naive)["status"] == "PENDING"


def test_date_is_an_alias_of_scheduled_at(client):
    campaign_id = create(client, date="2026-01-06T00:00:00-05:00")
    assert campaign(client, campaign_id)["scheduledAt"] == "2026-01-06T05:00:00.000Z"


def test_campaign_of_only_failing_recipients_is_failed(client):
    campaign_id = create(client, csv=order_csv(phones=["99901000001", "99901000002"]))
    advance(client, "PT1M")
    data = campaign(client, campaign_id)
    assert data["status"] == "FAILED" and data["failedMessages"] == 2


def test_campaigns_of_one_bot_queue_behind_each_other(client):
    first = create(client, rows=1000)                 # sends 10:00:01 .. 10:00:11
    second = create(client, rows=10)
    advance(client, "PT2S")
    assert campaign(client, first)["status"] == "IN_PROGRESS"
    assert campaign(client, second)["status"] == "PENDING"
    advance(client, "PT9S")                           # 10:00:11 -> second starts at first's end
    data = campaign(client, second)
    assert data["status"] == "IN_PROGRESS" and data["startedAt"] == "2026-01-05T10:00:11.000Z"


@pytest.mark.parametrize("app_config", [{"jelou": {"sending_rate": 10, "start_delay": 0}}])
def test_sending_rate_and_start_delay_are_settings(client):
    campaign_id = create(client, rows=20)
    assert campaign(client, campaign_id)["status"] == "IN_PROGRESS"
    advance(client, "PT1.8S")                          # 20 messages at 10/s: last one at +1.9 s
    assert campaign(client, campaign_id)["status"] == "IN_PROGRESS"
    advance(client, "PT0.1S")
    data = campaign(client, campaign_id)
    assert data["status"] == "COMPLETED" and data["completedAt"] == "2026-01-05T10:00:01.900Z"


# -- GET /v1/campaigns/{id} ------------------------------------------------------------------
def test_unknown_campaign_is_404(client):
    response = client.get("/v1/campaigns/nope", headers=JELOU)
    assert response.status_code == 404
    assert response.json == {"message": ["Campaign nope not found"], "status": "failed"}


def test_campaign_requires_auth(client):
    campaign_id = create(client)
    assert client.get(f"/v1/campaigns/{campaign_id}").status_code == 401


# -- PUT /v1/campaigns/{id} ------------------------------------------------------------------
def test_cancel_a_scheduled_campaign_then_reschedule_it(client):
    campaign_id = create(client, scheduledAt="2026-01-06T00:00:00Z")
    response = client.put(f"/v1/campaigns/{campaign_id}", json={"status": "CANCELLED"}, headers=JELOU)
    assert response.status_code == 200 and response.json["data"]["status"] == "CANCELLED"
    client.post("/_mock/clock", json={"now": "2026-01-06T01:00:00Z"})
    assert campaign(client, campaign_id)["status"] == "CANCELLED"
    assert client.get(f"/_mock/messages?campaign={campaign_id}").json["total"] == 0
    response = client.put(f"/v1/campaigns/{campaign_id}", data={"scheduledAt": "2026-01-06T02:00:00Z", "status": "SCHEDULED"},
                          headers=JELOU)
    assert response.status_code == 200
    assert response.json["data"]["status"] == "SCHEDULED"
    assert response.json["data"]["scheduledAt"] == "2026-01-06T02:00:00.000Z"
    client.post("/_mock/clock", json={"now": "2026-01-06T02:01:00Z"})
    assert campaign(client, campaign_id)["status"] == "COMPLETED"


def test_reschedule_moves_the_start(client):
    campaign_id = create(client, scheduledAt="2026-01-06T00:00:00Z")
    client.put(f"/v1/campaigns/{campaign_id}", json={"scheduledAt": "2026-01-07T00:00:00Z"}, headers=JELOU)
    client.post("/_mock/clock", json={"now": "2026-01-06T12:00:00Z"})
    assert campaign(client, campaign_id)["status"] == "SCHEDULED"


def test_put_on_a_sending_campaign_is_422(client):
    campaign_id = create(client)
    entries = assert_422(client.put(f"/v1/campaigns/{campaign_id}", json={"status": "CANCELLED"}, headers=JELOU), "status")
    assert "this one is PENDING" in entries[0]["en"]


@pytest.mark.parametrize("body, field", [({}, "status"), ({"status": "DONE"}, "status"), ({"scheduledAt": "soon"}, "scheduledAt")])
def test_put_validation(client, body, field):
    campaign_id = create(client, scheduledAt="2026-01-06T00:00:00Z")
    assert_422(client.put(f"/v1/campaigns/{campaign_id}", json=body, headers=JELOU), field)


def test_put_unknown_campaign_is_404(client):
    assert client.put("/v1/campaigns/nope", json={"status": "CANCELLED"}, headers=JELOU).status_code == 404


# -- GET /v1/campaigns -----------------------------------------------------------------------
def listing(client, **params):
    query = {"botId": "demo-bot", "startAt": "2026-01-05", "endAt": "2026-01-05", **params}
    return client.get("/v1/campaigns", query_string=query, headers=JELOU)


def test_list_newest_first_with_pagination(client):
    ids = [create(client, campaignName=f"c{index}") for index in range(5)]
    body = listing(client, limit=2, page=1).json
    assert body["status"] == "success"
    assert [item["id"] for item in body["data"]["results"]] == [ids[4], ids[3]]
    assert body["data"]["pagination"] == {"limit": 2, "page": 1, "total": 5, "offset": 0, "totalPages": 3}
    page3 = listing(client, limit=2, page=3).json["data"]
    assert [item["id"] for item in page3["results"]] == [ids[0]]
    assert listing(client, limit=2, page=4).json["data"]["results"] == []
    item = body["data"]["results"][0]
    assert set(item) >= {"id", "name", "elementName", "botId", "status", "totalMessages", "deliveredMessages",
                         "failedMessages", "createdAt", "completedAt"}


def test_list_filters(client):
    first = create(client, campaignName="Black Friday")
    create(client, csv=b"phone\n593991111111\n", elementName="welcome_message", params=[], campaignName="hello")
    scheduled = create(client, scheduledAt="2026-02-01T00:00:00Z", campaignName="later")
    assert [i["id"] for i in listing(client, elementName="order_confirmation").json["data"]["results"]] == [scheduled, first]
    assert [i["id"] for i in listing(client, status="SCHEDULED").json["data"]["results"]] == [scheduled]
    assert [i["id"] for i in listing(client, name="black").json["data"]["results"]] == [first]


def test_list_date_range_is_inclusive_and_accepts_datetimes(client):
    campaign_id = create(client)
    assert listing(client, startAt="2026-01-04", endAt="2026-01-04").json["data"]["pagination"]["total"] == 0
    assert [i["id"] for i in listing(client, startAt="2026-01-05T09:00:00Z", endAt="2026-01-05T10:00:00Z").json["data"]["results"]] == [campaign_id]


@pytest.mark.parametrize("params, field", [
    ({"botId": None}, "botId"), ({"startAt": None}, "startAt"), ({"endAt": None}, "endAt"),
    ({"limit": 51}, "limit"), ({"limit": 0}, "limit"), ({"page": 0}, "page"), ({"status": "DONE"}, "status"),
    ({"startAt": "yesterday"}, "startAt"),
])
def test_list_validation(client, params, field):
    query = {"botId": "demo-bot", "startAt": "2026-01-05", "endAt": "2026-01-05", **params}
    response = client.get("/v1/campaigns", query_string={k: v for k, v in query.items() if v is not None}, headers=JELOU)
    assert_422(response, field)


def test_list_bot_checks(client):
    assert listing(client, botId="ghost").status_code == 404
    assert listing(client, botId="foreign-bot").status_code == 403


@pytest.mark.parametrize("app_config", [{"jelou": {"campaigns_shape": "legacy"}}])
def test_legacy_shape(client):
    campaign_id = create(client)
    body = listing(client).json
    assert set(body) == {"pagination", "_metadata", "results"}
    item = body["results"][0]
    assert item["_id"] == campaign_id and item["rowCount"] == 3 and item["fileName"] == "recipients.csv"
    assert item["bot"] == {"id": "demo-bot", "name": "Demo Bot"}
    assert item["company"] == {"id": 1, "name": "Demo Company"}
    assert item["metadata"]["elementName"] == "order_confirmation"
    assert client.get(f"/v1/campaigns/{campaign_id}", headers=JELOU).json["data"]["_id"] == campaign_id


def test_all_failing_campaign_is_failed_only_once_the_late_failures_land(client):
    campaign_id = create(client, csv=order_csv(phones=["99901000001", "99907000002"]))
    advance(client, "PT1.02S")                                    # both sent (1.00, 1.01); 99907 fails at +2 s
    data = campaign(client, campaign_id)
    assert data["status"] == "IN_PROGRESS" and data["failedMessages"] == 1
    advance(client, "PT2S")                                       # 1.01 + 2 = 3.01 < 3.02
    data = campaign(client, campaign_id)
    assert data["status"] == "FAILED" and data["failedMessages"] == 2
    assert data["completedAt"] == "2026-01-05T10:00:03.010Z"


def test_put_with_other_content_types_or_nested_json_is_400(client):
    campaign_id = create(client, scheduledAt="2026-01-06T00:00:00Z")
    response = client.put(f"/v1/campaigns/{campaign_id}", data="status=CANCELLED", headers=JELOU, content_type="text/plain")
    assert response.status_code == 400 and "Unsupported Content-Type 'text/plain'" in response.json["message"][0]
    response = client.put(f"/v1/campaigns/{campaign_id}", data=b"[" * 50000, headers=JELOU, content_type="application/json")
    assert response.status_code == 400 and "nested too deeply" in response.json["message"][0]
    response = client.put(f"/v1/campaigns/{campaign_id}", data="status=CANCELLED", headers=JELOU,
                          content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and response.json["data"]["status"] == "CANCELLED"
