"""The clock's supported range (issue 8 item 6): 400 beyond it, and no date computation overflows."""

from __future__ import annotations

import time

import pytest

from support.jelou import JELOU, order_csv, send_form
from support.indigitall import KEY, contacts, send as send_task
from mock_server import create_app
from mock_server.settings import SettingsError

RANGE = "1970-01-01T00:00:00.000Z to 9000-01-01T00:00:00.000Z"


@pytest.mark.parametrize("frozen", [True, False])
@pytest.mark.parametrize("body", [{"now": "9999-12-31T23:59:59Z"}, {"now": "9000-01-01T00:00:00.001Z"},
                                  {"advance": "P7000Y"}, {"advance": "PT999999999999S"}])
def test_beyond_the_range_is_400_naming_it(frozen, body):
    client = create_app({"clock": {"start": "2026-01-05T10:00:00Z", "frozen": frozen}}).test_client()
    response = client.post("/_mock/clock", json=body)
    assert response.status_code == 400
    message = response.json["error"]["message"]
    assert "9000-01-01T00:00:00.000Z" in message and ("supported" in message)
    assert client.get("/_mock/health").status_code == 200
    assert client.get("/_mock/clock").json["now"].startswith("2026-01-05")


def test_a_clock_start_outside_the_range_is_a_settings_error():
    with pytest.raises(SettingsError, match=RANGE):
        create_app({"clock": {"start": "9500-01-01T00:00:00Z"}})


@pytest.mark.parametrize("frozen", [True, False])
def test_everything_works_at_the_end_of_the_range(frozen):
    client = create_app({"clock": {"start": "2026-01-05T10:00:00Z", "frozen": frozen}}).test_client()
    assert client.post("/_mock/clock", json={"now": "8999-12-31T23:59:59Z"}).status_code == 200
    if not frozen:
        time.sleep(1.2)                     # the running clock reaches the end and stays there
    now = client.get("/_mock/clock").json["now"]
    assert now.startswith("8999-12-31T23:59:59") or now == "9000-01-01T00:00:00.000Z"
    jelou = send_form(client, order_csv(3))
    assert jelou.status_code == 200, jelou.json
    scheduled = send_form(client, order_csv(2), scheduledAt="9000-01-01T00:00:00Z")   # the last instant (issue 18)
    assert scheduled.status_code == 200, scheduled.json
    delayed = [send_task(client, contacts(3), delay="PT0.5S")] if frozen else []     # the running clock is at the end
    tasks = [*delayed, send_task(client, contacts(1500)),
             send_task(client, contacts(1500), slicingCondition="deferredConsecutiveSlots"),
             send_task(client, contacts(3), application=200)]
    for task in tasks:
        assert task.status_code == 201, task.json
    assert client.post("/_mock/clock", json={"now": "9000-01-01T00:00:00Z"}).status_code == 200
    for path, headers in (("/v1/campaigns?botId=demo-bot&startAt=2000-01-01&endAt=9999-12-31", JELOU),
                          ("/v1/bots/demo-bot/notifications", JELOU), ("/_mock/messages", {}),
                          ("/v2/chat/application/100/task", KEY), ("/_mock/sandboxes", {}),
                          (f"/v1/campaigns/{scheduled.headers['X-Mock-Campaign-Id']}", JELOU)):
        answer = client.get(path, headers=headers)
        assert answer.status_code == 200, (path, answer.json)
    assert client.post("/_mock/reset").status_code == 200
    assert client.post("/_mock/reset", json={"clock": True}).json["now"].startswith("2026-01-05")
