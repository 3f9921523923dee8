"""Issue 18 item 13 (and the duration part of item 6): schedules stay inside the clock's range.

The clock runs from 1970-01-01 to 9000-01-01 (``clock.RANGE_TEXT``) and stops at the end, so a
send scheduled after it could never fall due; on a3a4240 indigitall accepted one and showed its
``scheduledAt`` clamped to the end, and Jelou accepted ``scheduledAt: 9999-12-31`` on POST and PUT.
Now each is refused in the provider's own validation envelope, naming the field and the range.
Decided: times *derived* from an accepted start (slots of the 48-hour window, sends at the rate,
delivery stages) may fall after the end; they are ordinary dates (below year 9999), shown as they
are, and simply never reached. The tests below check that nothing answers 500 around them.
"""

from __future__ import annotations

import pytest

from support.jelou import JELOU, assert_422, order_csv, send_form
from support.indigitall import KEY, PREFIX, assert_error, contacts, created
from support.indigitall import send as send_task
from mock_server import create_app
from mock_server.clock import MAX_TIME, RANGE_TEXT
from mock_server.control.messages import wait

END = "9000-01-01T00:00:00.000Z"
NEAR_END = "8999-12-31T23:59:00Z"
HUGE_DURATIONS = ["P99999999999D", "PT9999999999999S", "P" + "9" * 400 + "Y", "P" + "9" * 400 + "M",
                  "P" + "9" * 400 + "W", "PT" + "9" * 5000 + "S", "P1Y" + "9" * 400 + "M"]


@pytest.fixture
def app_config():
    # application 100 slices: 2 messages a slot from 2 rows on, so a task spreads over the 48 hours
    return {"indigitall": {"applications": [{"id": 100, "name": "Sliced", "slicing": {
        "enabled": True, "capacity": 2, "activation_rows": 2}}, {"id": 200, "name": "Plain"}]}}


def _clock(client, now: str) -> None:
    response = client.post("/_mock/clock", json={"now": now})
    assert response.status_code == 200, response.json


def _range_error(response, field: str) -> str:
    body = assert_error(response, 400, "VALIDATION_ERROR")
    messages = [entry["message"] for entry in body["errors"] if entry["field"] == field]
    assert len(messages) == 1 and RANGE_TEXT in messages[0], body
    return messages[0]


# -- indigitall ----------------------------------------------------------------------------------
@pytest.mark.parametrize("delay, reaches", [("P1D", "9000-01-01T23:59:00.000Z"), ("P1M", "9000-01-31T23:59:00.000Z"),
                                            ("PT61S", "9000-01-01T00:00:01.000Z")])
def test_an_indigitall_delay_past_the_end_is_400_naming_delay_and_the_range(client, delay, reaches):
    _clock(client, NEAR_END)
    message = _range_error(send_task(client, contacts(3), application=200, delay=delay), "delay")
    assert message == f"delay must be within the mock's supported dates ({RANGE_TEXT}); got {reaches} (now + {delay})"
    assert client.get(f"{PREFIX}/200/task", headers=KEY).json["count"] == 0            # nothing was stored


def test_an_indigitall_delay_to_the_last_instant_is_accepted_unclamped(client):
    _clock(client, NEAR_END)
    task = created(send_task(client, contacts(3), application=200, delay="PT1M"))
    assert task["scheduledAt"] == END and task["status"] == "scheduled"


@pytest.mark.parametrize("field", ["scheduledAt", "scheduleAt"])
@pytest.mark.parametrize("value", ["9000-01-01T00:00:01Z", "9000-03-01T00:00:00Z"])    # within the 3-month rule
def test_an_indigitall_schedule_past_the_end_is_400_naming_it_and_the_range(client, field, value):
    _clock(client, NEAR_END)
    message = _range_error(send_task(client, contacts(3), application=200, **{field: value}), field)
    assert message.startswith(f"{field} must be within the mock's supported dates")


def test_a_schedule_past_the_three_months_keeps_its_message(client):
    _clock(client, NEAR_END)
    body = assert_error(send_task(client, contacts(3), scheduledAt="9999-12-31T23:59:59Z"), 400, "VALIDATION_ERROR")
    assert body["errors"] == [{"field": "scheduledAt", "message": "scheduledAt must be at most 3 months ahead "
                               "(until 9000-03-31T23:59:00.000Z); got 9999-12-31T23:59:59.000Z"}]


@pytest.mark.parametrize("near_end", [False, True])
@pytest.mark.parametrize("delay", HUGE_DURATIONS)
def test_a_delay_that_overflows_arithmetic_is_400_naming_delay(client, delay, near_end):
    if near_end:
        _clock(client, NEAR_END)
    body = assert_error(send_task(client, contacts(3), application=200, delay=delay), 400, "VALIDATION_ERROR")
    assert [entry["field"] for entry in body["errors"]] == ["delay"]
    assert len(body["message"]) < 300                      # the 5,000-digit value is not echoed whole


@pytest.mark.parametrize("advance", HUGE_DURATIONS)
def test_a_clock_advance_that_overflows_arithmetic_is_400(client, advance):
    response = client.post("/_mock/clock", json={"advance": advance})
    assert response.status_code == 400 and response.json["error"]["status"] == 400
    assert client.get("/_mock/clock").json["now"] == "2026-01-05T10:00:00.000Z"


# -- Jelou ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("field", ["scheduledAt", "date"])
@pytest.mark.parametrize("value", ["9999-12-31T23:59:59Z", "9000-01-01T00:00:00.001Z", "1969-12-31T23:59:59Z"])
def test_a_jelou_schedule_outside_the_range_is_422_naming_it(client, field, value):
    _clock(client, NEAR_END)
    entries = assert_422(send_form(client, **{field: value}), field)
    assert [entry["en"].split(";")[0] for entry in entries] == [
        f"{field} must be within the mock's supported dates ({RANGE_TEXT})"]
    assert client.get("/_mock/messages").json["total"] == 0


def test_a_jelou_schedule_at_the_last_instant_is_accepted(client):
    _clock(client, NEAR_END)
    response = send_form(client, scheduledAt="9000-01-01T00:00:00Z")
    assert response.status_code == 200
    found = client.get(f"/v1/campaigns/{response.headers['X-Mock-Campaign-Id']}", headers=JELOU).json["data"]
    assert found["scheduledAt"] == END and found["status"] == "SCHEDULED"


@pytest.mark.parametrize("form", [False, True])
def test_a_jelou_reschedule_outside_the_range_is_422_and_changes_nothing(client, form):
    _clock(client, NEAR_END)
    campaign_id = send_form(client, scheduledAt="8999-12-31T23:59:30Z").headers["X-Mock-Campaign-Id"]
    body = {"scheduledAt": "9999-12-31T23:59:59Z"}
    response = (client.put(f"/v1/campaigns/{campaign_id}", data=body, headers=JELOU) if form
                else client.put(f"/v1/campaigns/{campaign_id}", json=body, headers=JELOU))
    assert RANGE_TEXT in assert_422(response, "scheduledAt")[0]["en"]
    found = client.get(f"/v1/campaigns/{campaign_id}", headers=JELOU).json["data"]
    assert found["scheduledAt"] == "8999-12-31T23:59:30.000Z" and found["status"] == "SCHEDULED"
    moved = client.put(f"/v1/campaigns/{campaign_id}", json={"scheduledAt": "9000-01-01T00:00:00Z"}, headers=JELOU)
    assert moved.status_code == 200 and moved.json["data"]["scheduledAt"] == END


# -- derived times past the end: accepted, and nothing breaks ---------------------------------------
def test_the_clock_cannot_be_set_to_9999():
    client = create_app({"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True}}).test_client()
    response = client.post("/_mock/clock", json={"now": "9999-12-01T00:00:00Z"})
    assert response.status_code == 400 and RANGE_TEXT in response.json["error"]["message"]


def test_sends_whose_slots_and_stages_pass_the_end_never_answer_500(client):
    _clock(client, "8999-12-01T00:00:00Z")
    sliced = created(send_task(client, contacts(40), scheduledAt="8999-12-31T23:59:59Z"))
    assert sliced["sliced"] and sliced["status"] == "scheduled" and sliced["scheduledAt"] == "8999-12-31T23:59:59.000Z"
    assert sliced["slots"][-1]["end"] > END                # the 48-hour window runs past the end: kept as is
    deferred = created(send_task(client, contacts(6), scheduledAt="8999-12-31T23:30:00Z",
                                 slicingCondition="deferredConsecutiveSlots"))
    plain = created(send_task(client, contacts(3), application=200, scheduledAt=END))
    campaign = send_form(client, order_csv(30), scheduledAt="8999-12-31T23:59:59.9Z")
    assert campaign.status_code == 200
    campaign_id = campaign.headers["X-Mock-Campaign-Id"]
    _clock(client, END)
    reads = [(f"{PREFIX}/100/task/{sliced['taskId']}", KEY), (f"{PREFIX}/100/task/{deferred['taskId']}", KEY),
             (f"{PREFIX}/200/task/{plain['taskId']}", KEY), (f"{PREFIX}/100/task", KEY),
             (f"/v1/campaigns/{campaign_id}", JELOU), ("/v1/campaigns?botId=demo-bot&startAt=8999-01-01&endAt=9999-12-31",
                                                       JELOU),
             ("/v1/external/bots/demo-bot/notifications?limit=50", JELOU), ("/_mock/messages?limit=1000", {}),
             ("/_mock/messages?wait_for=1000&timeout=0", {}), ("/_mock/webhooks/deliveries", {}),
             ("/_mock/ui/", {}), ("/_mock/ui/jelou", {}), (f"/_mock/ui/jelou/{campaign_id}?page=2", {}),
             ("/_mock/ui/indigitall", {}), (f"/_mock/ui/indigitall/{sliced['taskId']}", {}),
             (f"/_mock/ui/api/indigitall/{sliced['taskId']}?rows=1,2,40", {}), (f"/_mock/ui/api/jelou/{campaign_id}?rows=1", {}),
             ("/_mock/ui/api/overview", {}), ("/_mock/sandboxes", {})]
    for path, headers in reads:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:300])
    task = client.get(f"{PREFIX}/100/task/{sliced['taskId']}", headers=KEY).json["data"]
    # the 23:00 slot sent its 2, the slot starting at the end its first; the rest never falls due
    assert task["status"] == "processing" and task["messages"]["sent"] == 3
    assert client.get(f"{PREFIX}/200/task/{plain['taskId']}", headers=KEY).json["data"]["messages"]["sent"] == 1
    assert client.get(f"/v1/campaigns/{campaign_id}", headers=JELOU).json["data"]["status"] == "PENDING"  # starts after
    assert client.delete(f"{PREFIX}/100/task/{sliced['taskId']}", headers=KEY).status_code == 200
    assert client.post("/_mock/clock", json={"advance": "PT1S"}).status_code == 400     # the end stays the end


def test_a_long_poll_at_the_end_of_the_range_sleeps_instead_of_spinning(app):
    """A running clock at the end stands still; on a3a4240 a long-poll woke every millisecond for a
    change due just after the end (about 600 wake-ups in one second), now it sleeps to its timeout."""
    client = app.test_client()
    assert client.post("/_mock/clock", json={"now": END, "frozen": False}).status_code == 200
    state = app.extensions["mock"]
    sb = state.sandbox()
    woken = []
    store_wait = sb.store.wait
    sb.store.wait = lambda *args: woken.append(args) or store_wait(*args)
    end = MAX_TIME.timestamp()
    assert wait(state, sb, lambda: 0, lambda after: max(after, end) + 0.0005, 1, 0.5) == 0
    assert len(woken) <= 3
