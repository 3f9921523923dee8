"""Slicing through the HTTP API (CONTRACT §5): application 100 has 1-hour slots of 1,000 messages,
a 48-hour window, and slices tasks of more than 1,000 rows; application 200 never slices."""

from __future__ import annotations

import time

import pytest

from support.indigitall import START, advance, cancel, clock, contacts, create, get_task, messages
from mock_server import create_app

H = "2026-01-05T{:02d}:00:00.000Z".format


def slots(task: dict) -> list[tuple[str, int]]:
    return [(slot["start"], slot["count"]) for slot in task["slots"]]


def prefill_11_and_12(client) -> dict:
    """A task of 2,000 rows scheduled at 11:00 fills the 11:00 and 12:00 slots."""
    task = create(client, contacts(2000, first=90000), scheduledAt="2026-01-05T11:00:00Z")
    assert slots(task) == [(H(11), 1000), (H(12), 1000)]
    return task


# -- activation -----------------------------------------------------------------------------
def test_a_task_that_fits_one_slot_is_not_sliced(client):
    task = create(client, contacts(1000))
    assert task["sliced"] is False and task["slots"] == []
    assert slots(create(client, contacts(1001))) == [(H(10), 1000), (H(11), 1)]   # the ledger was not touched


def test_activation_rows_is_a_per_application_setting():
    app = create_app({"clock": {"start": START, "frozen": True}, "indigitall": {"applications": [
        {"id": 100, "templates": [], "slicing": {"enabled": True, "slot_seconds": 3600, "capacity": 1000,
                                                 "window_seconds": 172800, "activation_rows": 10}}]}})
    task = create(app.test_client(), contacts(11))
    assert task["sliced"] is True and slots(task) == [(H(10), 11)]


def test_slicing_off_sends_everything_from_the_start(client):
    task = create(client, contacts(2500), application=200, slicingCondition="immediateConsecutiveSlots")
    assert task["sliced"] is False and task["slots"] == []
    advance(client, "PT25S")                                   # 2,500 at 100/s
    data = get_task(client, task["taskId"], 200)
    assert data["status"] == "finished" and data["finishedAt"] == "2026-01-05T10:00:24.990Z"


# -- fragmentedSlots (the default) ----------------------------------------------------------------
def test_fragmented_2500_rows_take_three_slots_sent_as_the_clock_moves(client):
    task = create(client, contacts(2500))
    assert task["slicingCondition"] == "fragmentedSlots" and task["sliced"] is True
    assert slots(task) == [(H(10), 1000), (H(11), 1000), (H(12), 500)]
    assert task["slots"][0]["end"] == H(11)
    task_id = task["taskId"]
    clock(client, now="2026-01-05T10:30:00Z")
    data = get_task(client, task_id)
    assert data["status"] == "processing" and data["messages"]["queued"] == 1500
    clock(client, now="2026-01-05T11:00:00Z")
    assert get_task(client, task_id)["messages"]["queued"] == 1499
    second_slot = messages(client, campaign=str(task_id), offset=1000, limit=1)["messages"][0]
    assert second_slot["id"] == f"{task_id}-1001" and second_slot["timestamps"]["sentAt"] == H(11)
    clock(client, now="2026-01-05T12:00:04.990Z")
    data = get_task(client, task_id)
    assert data["status"] == "finished" and data["finishedAt"] == "2026-01-05T12:00:04.990Z"


def test_fragmented_skips_full_slots(client):
    prefill_11_and_12(client)
    task = create(client, contacts(2500))
    assert slots(task) == [(H(10), 1000), (H(13), 1000), (H(14), 500)]


def test_a_start_in_the_middle_of_a_slot_uses_that_slot_from_the_start(client):
    task = create(client, contacts(1500), delay="PT30M")
    assert task["scheduledAt"] == "2026-01-05T10:30:00.000Z"
    assert slots(task) == [(H(10), 1000), (H(11), 500)]
    clock(client, now="2026-01-05T10:29:59Z")
    assert get_task(client, task["taskId"])["status"] == "scheduled"
    clock(client, now="2026-01-05T10:30:00Z")
    assert get_task(client, task["taskId"])["startedAt"] == "2026-01-05T10:30:00.000Z"


# -- immediateConsecutiveSlots -------------------------------------------------------------------
def test_immediate_takes_consecutive_slots_from_the_start(client):
    task = create(client, contacts(2500), slicingCondition="immediateConsecutiveSlots")
    assert task["status"] == "scheduled" and slots(task) == [(H(10), 1000), (H(11), 1000), (H(12), 500)]


def test_immediate_is_canceled_when_a_full_slot_breaks_the_run(client):
    prefill_11_and_12(client)
    task = create(client, contacts(2500), slicingCondition="immediateConsecutiveSlots")
    assert task["status"] == "canceled" and task["slots"] == []
    assert task["canceledReason"].startswith("SLICING_CONSECUTIVE_RUN_BROKEN")
    assert task["messages"]["canceled"] == 2500 and task["canceledAt"] == "2026-01-05T10:00:00.000Z"
    advance(client, "PT3H")
    assert get_task(client, task["taskId"])["status"] == "canceled"
    assert messages(client, campaign=str(task["taskId"]))["total"] == 0       # nothing was ever sent
    # the canceled plan reserved nothing: the 10:00 slot is still free
    assert slots(create(client, contacts(1001), slicingCondition="immediateConsecutiveSlots"))[0] == (H(13), 1000)


# -- deferredConsecutiveSlots --------------------------------------------------------------------
def test_deferred_waits_for_a_run_that_holds_every_message(client):
    prefill_11_and_12(client)
    task = create(client, contacts(2500), slicingCondition="deferredConsecutiveSlots")
    assert task["status"] == "scheduled" and task["scheduledAt"] == H(10)
    assert slots(task) == [(H(13), 1000), (H(14), 1000), (H(15), 500)]
    clock(client, now="2026-01-05T12:59:59Z")
    assert get_task(client, task["taskId"])["status"] == "scheduled"
    clock(client, now="2026-01-05T13:00:00Z")
    assert get_task(client, task["taskId"])["startedAt"] == H(13)


def test_deferred_uses_the_first_run_when_it_is_enough(client):
    prefill_11_and_12(client)
    assert slots(create(client, contacts(1001, first=5000))) == [(H(10), 1000), (H(13), 1)]   # fragmented: 10 + 13
    task = create(client, contacts(1001), slicingCondition="deferredConsecutiveSlots")
    assert slots(task) == [(H(13), 999), (H(14), 2)]


# -- the 48-hour window ------------------------------------------------------------------------
@pytest.mark.parametrize("condition,code", [
    ("fragmentedSlots", "SLICING_WINDOW_EXCEEDED"),
    ("immediateConsecutiveSlots", "SLICING_WINDOW_EXCEEDED"),
    ("deferredConsecutiveSlots", "SLICING_NO_CONSECUTIVE_RUN"),
])
def test_more_than_the_window_holds_is_canceled_and_nothing_is_sent(client, condition, code):
    task = create(client, contacts(48001), slicingCondition=condition)
    assert task["status"] == "canceled" and task["canceledReason"].startswith(code)
    assert "48,001" in task["canceledReason"] and task["slots"] == []
    advance(client, "P3D")
    data = get_task(client, task["taskId"])
    assert data["status"] == "canceled" and data["messages"]["canceled"] == 48001
    assert messages(client)["total"] == 0
    full = create(client, contacts(48000), slicingCondition=condition)     # exactly 48 slots of 1,000
    assert full["status"] == "scheduled" and len(full["slots"]) == 48
    assert full["slots"][-1]["start"] == "2026-01-10T09:00:00.000Z"   # 48 h after the new now


# -- the ledger is given back by cancellation --------------------------------------------------
def test_canceling_a_scheduled_task_frees_its_slots(client):
    blocker = prefill_11_and_12(client)
    refused = create(client, contacts(2500), slicingCondition="immediateConsecutiveSlots")
    assert refused["status"] == "canceled"
    assert cancel(client, blocker["taskId"]).status_code == 200
    task = create(client, contacts(2500), slicingCondition="immediateConsecutiveSlots")
    assert task["status"] == "scheduled" and slots(task) == [(H(10), 1000), (H(11), 1000), (H(12), 500)]


def test_canceling_a_processing_task_frees_only_its_unsent_capacity(client):
    first = create(client, contacts(2500))
    clock(client, now="2026-01-05T11:00:05Z")                    # 1,000 + 501 sent
    data = cancel(client, first["taskId"]).json["data"]
    assert data["messages"]["canceled"] == 999
    task = create(client, contacts(1001))                        # 11:00 has 501 used, 12:00 is free again
    assert slots(task) == [(H(11), 499), (H(12), 502)]


def test_a_canceled_plan_does_not_hold_capacity(client):
    create(client, contacts(48001))                              # canceled: window exceeded
    assert slots(create(client, contacts(1500))) == [(H(10), 1000), (H(11), 500)]


def test_applications_have_separate_ledgers():
    config = {"clock": {"start": START, "frozen": True}, "indigitall": {
        "server_keys": [{"key": "demo-server-key", "applications": [100, 101]}],
        "applications": [{"id": app_id, "templates": [], "slicing": {"enabled": True, "slot_seconds": 3600,
                                                                     "capacity": 1000, "window_seconds": 172800}}
                         for app_id in (100, 101)]}}
    client = create_app(config).test_client()
    create(client, contacts(2000))
    assert slots(create(client, contacts(2000), application=101)) == [(H(10), 1000), (H(11), 1000)]


# -- determinism ---------------------------------------------------------------------------------
def test_same_inputs_give_the_same_plan_and_outcomes():
    def run():
        client = create_app({"clock": {"start": START, "frozen": True}}).test_client()
        tasks = [create(client, contacts(2000, first=1), scheduledAt="2026-01-05T11:00:00Z"),
                 create(client, contacts(2500)),
                 create(client, contacts(2500), slicingCondition="deferredConsecutiveSlots"),
                 create(client, contacts(2500), slicingCondition="immediateConsecutiveSlots")]
        advance(client, "P1D")
        statuses = [m["status"] for m in messages(client, limit=10000)["messages"]]
        return [(t["slots"], t["status"], t["canceledReason"]) for t in tasks], statuses

    assert run() == run()


# -- scale ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_million_rows_are_planned_without_looping_over_rows():
    config = {"clock": {"start": START, "frozen": True}, "indigitall": {"applications": [
        {"id": 100, "templates": [], "slicing": {"enabled": True, "slot_seconds": 3600, "capacity": 100_000,
                                                 "window_seconds": 172800}}]}}
    app = create_app(config)
    client = app.test_client()
    csv_bytes = contacts(1_000_000)
    began = time.perf_counter()
    task = create(client, csv_bytes)
    assert time.perf_counter() - began < 30
    assert task["total"] == 1_000_000 and len(task["slots"]) == 10
    state = app.extensions["mock"]
    stored = state.backends["indigitall"].get(state.sandbox(), str(task["taskId"]))
    assert stored.rows.nbytes + len(stored.outcomes) <= len(csv_bytes) + 16 * 1_000_000
    clock(client, now="2026-01-05T19:30:00Z")
    counts = get_task(client, task["taskId"])["messages"]
    assert counts["queued"] == 0 and counts["sent"] == 0
    assert sum(counts.values()) == 1_000_000
    last = messages(client, offset=999_999, limit=1)["messages"][0]
    assert last["id"] == f"{task['taskId']}-1000000" and last["recipient"] == "34600999999"
