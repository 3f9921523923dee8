"""``GET /_mock/messages/curve`` and the UI's status charts (CONTRACT §14)."""

from __future__ import annotations

import pytest

from support.jelou import JELOU
from support.profiles import phones, send_indigitall, send_jelou

KEY = {"Authorization": "ServerKey demo-server-key"}


def _curve(client, **query):
    answer = client.get("/_mock/messages/curve", query_string=query)
    assert answer.status_code == 200, answer.json
    return answer.json


@pytest.mark.parametrize("profile", ["ideal", "realistic", "degraded"])
def test_the_curve_adds_up_at_every_point_and_ends_where_the_listings_end(client, profile):
    client.put("/_mock/profile", json={"name": profile})
    campaign = send_jelou(client, phones(700) + ["99901000001", "99905000002"])
    task = send_indigitall(client, phones(700, first=2000))
    jelou, indigitall = _curve(client, campaign=campaign), _curve(client, task=str(task), step="PT10M")
    for shape, total in ((jelou, 702), (indigitall, 700)):
        assert shape["total"] == total and 2 <= len(shape["points"]) <= 2000
        assert all(sum(point["counts"].values()) == total for point in shape["points"])
    assert jelou["points"][0]["counts"]["CREATED"] == 702 and indigitall["points"][0]["counts"]["queued"] >= 699   # one sent at the accept instant
    assert indigitall["step"] == "PT10M"
    client.post("/_mock/clock", json={"now": jelou["points"][-1]["at"]})
    client.post("/_mock/clock", json={"advance": "P30D"})          # past both ends
    metadata = client.get(f"/v1/external/bots/demo-bot/notifications?campaignId={campaign}&limit=1",
                          headers=JELOU).json["_metadata"]
    assert all(metadata[status] == n for status, n in jelou["points"][-1]["counts"].items())
    counts = client.get(f"/v2/chat/application/200/task/{task}", headers=KEY).json["data"]["messages"]
    final = _curve(client, task=str(task), step="PT10M")["points"][-1]["counts"]
    assert counts == final


def test_a_point_is_what_the_api_counts_at_that_instant(client):
    client.put("/_mock/profile", json={"name": "realistic"})
    task = send_indigitall(client, phones(500))
    points = _curve(client, task=str(task), step="PT2M")["points"]
    for point in (points[1], points[7], points[30]):
        client.post("/_mock/clock", json={"now": point["at"]})
        counts = client.get(f"/v2/chat/application/200/task/{task}", headers=KEY).json["data"]["messages"]
        assert counts == point["counts"], point["at"]


def test_a_canceled_task_counts_its_unsent_messages_as_canceled(client):
    client.put("/_mock/profile", json={"profile": {"throughput": {"mps": 1}}})
    task = send_indigitall(client, phones(20))
    client.post("/_mock/clock", json={"advance": "PT5S"})
    assert client.delete(f"/v2/chat/application/200/task/{task}", headers=KEY).status_code == 200
    shape = _curve(client, task=str(task))
    assert all(sum(point["counts"].values()) == 20 for point in shape["points"])
    assert shape["points"][-1]["counts"]["canceled"] == 14


@pytest.mark.parametrize("query, status, needle", [
    ({}, 400, "campaign: give the campaign"),
    ({"campaign": "nope"}, 404, "no campaign or task 'nope'"),
    ({"task": "1", "step": "PT1S"}, 400, "at most 2,000: use a step of at least"),
    ({"task": "1", "step": "soon"}, 400, "step"),
    ({"task": "1", "step": "PT0S"}, 400, "step must be a positive duration"),
    ({"task": "1", "provider": "other"}, 400, "unknown provider 'other'"),
    ({"task": "1", "provider": "jelou"}, 404, "no campaign or task '1'"),
])
def test_bad_curve_requests_are_clear_4xx(client, query, status, needle):
    client.put("/_mock/profile", json={"name": "realistic"})
    send_indigitall(client, phones(50))
    answer = client.get("/_mock/messages/curve", query_string=query)
    assert answer.status_code == status and needle in answer.json["error"]["message"], answer.json


def test_the_campaign_and_task_pages_draw_the_curve(client):
    client.put("/_mock/profile", json={"name": "realistic"})
    campaign = send_jelou(client, phones(200))
    task = send_indigitall(client, phones(200))
    client.post("/_mock/clock", json={"advance": "PT1H"})
    for path, status in ((f"/_mock/ui/jelou/{campaign}", "READ"), (f"/_mock/ui/indigitall/{task}", "read")):
        page = client.get(path)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert 'id="status-curve"' in html and f'data-status="{status}"' in html
        assert "/_mock/messages/curve?" in html


def test_a_task_canceled_before_it_sends_has_a_one_point_curve_and_its_page_draws(client):
    client.put("/_mock/profile", json={"name": "realistic"})
    answer = client.post("/v2/chat/application/200/message/csv", headers=KEY, data={
        "layout": '{"contactCode": "{{contactCode}}", "channelType": "cloud_api", "sendType": "proactive", '
                  '"content": {"body": "hi"}}', "delay": "PT1H",
        "file": (__import__("io").BytesIO(b"contactCode\n593900000001\n593900000002\n"), "c.csv")})
    task = answer.json["data"]["taskId"]
    assert client.delete(f"/v2/chat/application/200/task/{task}", headers=KEY).status_code == 200
    shape = _curve(client, task=str(task))
    assert [point["counts"]["canceled"] for point in shape["points"]] == [2]
    assert client.get(f"/_mock/ui/indigitall/{task}").status_code == 200
