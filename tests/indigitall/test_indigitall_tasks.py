"""Tasks driven by the clock: lifecycle, reserved recipients, GET / list / DELETE, inspection."""

from __future__ import annotations

import pytest

from support.indigitall import (KEY, PREFIX, advance, assert_error, cancel, clock, contacts, create, get_task,
                                 messages)

# -- lifecycle -------------------------------------------------------------------------------


def test_immediate_task_goes_scheduled_processing_finished(client):
    task = create(client, contacts(500), application=200)        # 500 messages at 100/s: 5 s
    assert task["status"] == "scheduled" and task["startedAt"] is None
    data = get_task(client, task["taskId"], 200)                 # first send is at the acceptance instant
    assert data["status"] == "processing" and data["startedAt"] == "2026-01-05T10:00:00.000Z"
    assert data["messages"]["sent"] == 1 and data["messages"]["queued"] == 499
    advance(client, "PT4S")
    data = get_task(client, task["taskId"], 200)
    assert data["status"] == "processing" and data["finishedAt"] is None
    assert data["messages"]["queued"] == 99
    advance(client, "PT1S")                                      # last send at 10:00:04.990
    data = get_task(client, task["taskId"], 200)
    assert data["status"] == "finished" and data["finishedAt"] == "2026-01-05T10:00:04.990Z"
    advance(client, "PT1M")
    counts = get_task(client, task["taskId"], 200)["messages"]
    assert counts["queued"] == counts["sent"] == counts["failed"] == counts["canceled"] == 0
    assert counts["delivered"] + counts["read"] == 500 and counts["read"] > 0


def test_delayed_task_waits_for_its_start(client):
    task = create(client, delay="PT1H")
    assert task["scheduledAt"] == "2026-01-05T11:00:00.000Z"
    clock(client, now="2026-01-05T10:59:59.999Z")
    assert get_task(client, task["taskId"])["status"] == "scheduled"
    assert messages(client)["total"] == 0                        # nothing sent, nothing to inspect
    clock(client, now="2026-01-05T11:00:00Z")
    data = get_task(client, task["taskId"])
    assert data["status"] == "processing" and data["startedAt"] == "2026-01-05T11:00:00.000Z"
    advance(client, "PT1S")
    assert get_task(client, task["taskId"])["status"] == "finished"


def test_scheduled_task_waits_for_its_time(client):
    task = create(client, scheduledAt="2026-01-06T08:30:00+01:00")
    clock(client, now="2026-01-06T07:29:59Z")
    assert get_task(client, task["taskId"])["status"] == "scheduled"
    clock(client, now="2026-01-06T07:30:00.020Z")
    data = get_task(client, task["taskId"])
    assert data["status"] == "finished" and data["finishedAt"] == "2026-01-06T07:30:00.020Z"


# -- reserved recipients ------------------------------------------------------------------------
def test_reserved_recipients_reach_their_outcomes_as_the_clock_moves(client):
    codes = ["99901000001", "99902000001", "99903000001", "99904000001", "99905000001", "99906000001",
             "99907000001", "99999000001"]
    csv = ("contactCode,channelType,name\n" + "".join(f"{c},cloud_api,N\n" for c in codes)).encode()
    task_id = str(create(client, csv)["taskId"])

    def statuses():
        return {m["recipient"][:5]: m for m in messages(client, campaign=task_id)["messages"]}

    advance(client, "PT0.5S")
    now = statuses()
    assert now["99901"]["status"] == "failed" and "99901" in now["99901"]["error"]["message"]
    assert now["99901"]["timestamps"]["failedAt"] == "2026-01-05T10:00:00.000Z"
    assert all(now[k]["status"] == "sent" for k in ("99902", "99903", "99906", "99907"))
    advance(client, "PT2S")                                       # 10:00:02.5: delivered to users
    now = statuses()
    assert {k: m["status"] for k, m in now.items()} == {
        "99901": "failed", "99902": "sent", "99903": "delivered", "99904": "delivered", "99905": "delivered",
        "99906": "sent", "99907": "failed", "99999": "delivered"}   # unknown 999 suffix: an ordinary recipient
    assert "99907" in now["99907"]["error"]["message"]
    assert now["99903"]["timestamps"]["deliveredAt"] == "2026-01-05T10:00:02.020Z"
    advance(client, "PT30S")
    now = statuses()
    assert now["99903"]["status"] == "delivered" and now["99904"]["status"] == "read"
    assert now["99905"]["status"] == "read" and now["99905"]["timestamps"]["repliedAt"] is None
    advance(client, "PT30S")
    assert statuses()["99905"]["timestamps"]["repliedAt"] == "2026-01-05T10:01:00.040Z"
    assert statuses()["99906"]["status"] == "sent"
    advance(client, "PT10M")
    now = statuses()
    assert now["99906"]["status"] == "delivered" and now["99902"]["status"] == "sent"
    counts = get_task(client, task_id)["messages"]
    assert counts["failed"] == 2 and counts["sent"] == 1


def test_template_name_in_a_reserved_row_still_fails_first(client):
    from support.indigitall import TEMPLATE_LAYOUT
    csv = b"contactCode,templateName,name,ticketId\n99904000001,ghost,A,1\n"
    task_id = str(create(client, csv, layout=TEMPLATE_LAYOUT)["taskId"])
    advance(client, "PT1M")
    message = messages(client, campaign=task_id)["messages"][0]
    assert message["status"] == "failed" and "ghost" in message["error"]["message"]


# -- GET / list ---------------------------------------------------------------------------------
def test_unknown_or_foreign_task_is_404(client):
    task_id = create(client)["taskId"]
    for application, wanted in ((100, "999"), (100, "abc"), (200, str(task_id))):
        response = client.get(f"{PREFIX}/{application}/task/{wanted}", headers=KEY)
        body = assert_error(response, 404, "TASK_NOT_FOUND")
        assert wanted in body["message"]
    assert_error(cancel(client, 999), 404, "TASK_NOT_FOUND")


def test_list_tasks_newest_first_with_pages(client):
    for _ in range(5):
        create(client)
    create(client, application=200)

    def page(**query):
        response = client.get(f"{PREFIX}/100/task", headers=KEY, query_string=query)
        assert response.status_code == 200, response.json
        assert response.json["statusCode"] == 200 and response.json["count"] == 5
        return [task["taskId"] for task in response.json["data"]]

    assert page() == [5, 4, 3, 2, 1]
    assert page(limit=2) == [5, 4]
    assert page(limit=2, page=2) == [3, 2]
    assert page(limit=2, page=3) == [1]
    assert page(limit=2, page=4) == []
    response = client.get(f"{PREFIX}/200/task", headers=KEY)
    assert response.json["count"] == 1 and response.json["data"][0]["applicationId"] == 200


@pytest.mark.parametrize("query,words", [
    ({"limit": 0}, "limit must be between 1 and 100"),
    ({"limit": 101}, "limit must be between 1 and 100"),
    ({"limit": "ten"}, "limit must be integer"),
    ({"page": 0}, "page must be >= 1"),
    ({"page": "x"}, "page must be integer"),
])
def test_list_tasks_rejects_bad_paging(client, query, words):
    body = assert_error(client.get(f"{PREFIX}/100/task", headers=KEY, query_string=query), 400, "VALIDATION_ERROR")
    assert words in body["message"] and body["errors"][0]["field"] in query


# -- DELETE -------------------------------------------------------------------------------------
def test_cancel_a_scheduled_task(client):
    task = create(client, delay="PT1H")
    response = cancel(client, task["taskId"])
    assert response.status_code == 200 and response.json["statusCode"] == 200
    data = response.json["data"]
    assert data["status"] == "canceled" and data["canceledAt"] == "2026-01-05T10:00:00.000Z"
    assert data["canceledReason"].startswith("CANCELED_BY_REQUEST")
    assert data["messages"]["canceled"] == 3 and data["messages"]["queued"] == 0
    advance(client, "PT2H")
    assert get_task(client, task["taskId"])["status"] == "canceled"
    assert messages(client)["total"] == 0
    body = assert_error(cancel(client, task["taskId"]), 409, "TASK_NOT_CANCELABLE")
    assert "canceled" in body["message"]


def test_cancel_a_processing_task_keeps_what_was_sent(client):
    task_id = create(client, contacts(500), application=200)["taskId"]
    advance(client, "PT2S")                                       # sends at 0.00 .. 2.00 s: 201 sent
    data = cancel(client, task_id, 200).json["data"]
    assert data["status"] == "canceled" and data["startedAt"] == "2026-01-05T10:00:00.000Z"
    assert data["messages"]["canceled"] == 299 and data["messages"]["queued"] == 0
    advance(client, "PT1M")
    counts = get_task(client, task_id, 200)["messages"]
    assert counts["canceled"] == 299 and counts["delivered"] + counts["read"] == 201
    assert get_task(client, task_id, 200)["canceledAt"] == "2026-01-05T10:00:02.000Z"
    canceled = messages(client, campaign=str(task_id), status="CANCELED", limit=5)
    assert canceled["total"] == 0 and canceled["messages"] == []      # never sent: not in the inspection list
    sent = messages(client, campaign=str(task_id), offset=200, limit=5)
    assert sent["total"] == 201 and [m["id"] for m in sent["messages"]] == [f"{task_id}-201"]
    assert_error(cancel(client, task_id, 200), 409, "TASK_NOT_CANCELABLE")


def test_a_finished_task_cannot_be_canceled(client):
    task_id = create(client)["taskId"]
    advance(client, "PT1S")
    body = assert_error(cancel(client, task_id), 409, "TASK_NOT_CANCELABLE")
    assert "finished" in body["message"]


# -- inspection ---------------------------------------------------------------------------------
def test_inspection_filters_and_pages(client):
    first = create(client, contacts(3))["taskId"]
    second = create(client, contacts(4, first=100), application=200)["taskId"]
    create(client, delay="PT1H")                                  # not started: not listed
    advance(client, "PT1M")
    everything = messages(client)
    assert everything["total"] == 7
    assert [m["id"] for m in everything["messages"]] == [f"{first}-{i}" for i in (1, 2, 3)] + \
        [f"{second}-{i}" for i in (1, 2, 3, 4)]
    assert messages(client, offset=2, limit=3)["messages"][0]["id"] == f"{first}-3"
    assert [m["id"] for m in messages(client, offset=3, limit=2)["messages"]] == [f"{second}-1", f"{second}-2"]
    assert messages(client, campaign=str(second))["total"] == 4
    assert messages(client, campaign="nope")["total"] == 0
    read = messages(client, status="READ")
    delivered = messages(client, status="delivered")
    assert read["total"] + delivered["total"] == 7
    assert all(m["status"] == "read" for m in read["messages"])
    assert messages(client, status="DELIVERED_USER")["total"] == 0
    assert all(m["applicationId"] in (100, 200) for m in everything["messages"])


def test_reset_drops_tasks_and_restarts_ids(client):
    create(client)
    assert client.post("/_mock/reset").status_code == 200
    assert client.get(f"{PREFIX}/100/task", headers=KEY).json["count"] == 0
    assert create(client)["taskId"] == 1
