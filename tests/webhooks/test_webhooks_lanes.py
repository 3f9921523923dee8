"""The dispatcher's own bookkeeping with delivery records in the store: in-flight counts return to
zero, a stop keeps nothing it cannot finish, foreign records are delivered, and a failure inside
the mock is a recorded attempt, never a silent loop."""

from __future__ import annotations

import time

import requests

from mock_server.webhooks import lanes as lanes_module
from mock_server.webhooks.records import delivery_id, new_value
from support.webhooks import advance, config, deliveries, live, send_indigitall, subscribe, wait_deliveries


def _settled(dispatcher, timeout: float = 10.0) -> bool:
    """The lanes are idle: no job queued or running, no id remembered."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if dispatcher.lanes.inflight == 0 and not dispatcher.lanes.expiring("default", float("inf")):
            return True
        time.sleep(0.05)
    return False


def test_in_flight_count_returns_to_zero_after_retries_dead_letters_and_a_reset(webhook_receiver):
    webhook_receiver.fail_next(6, status=503)        # the 4 first attempts and 2 of the retries fail
    with live(config({"max_attempts": 2})) as server:
        base, dispatcher = server.base_url, server.app.extensions["mock"].webhooks
        subscribe(base, provider="indigitall", applicationId=200, url=webhook_receiver.url, events=["sent"])
        send_indigitall(base, [f"3460000000{n}" for n in range(4)])
        advance(base, "PT1M")
        found = wait_deliveries(base, "dead", 2)
        assert wait_deliveries(base, "delivered", 2)["counts"] == {"pending": 0, "retrying": 0, "delivered": 2, "dead": 2}
        assert found["total"] == 2 and _settled(dispatcher)
        webhook_receiver.fail_next(1000)
        send_indigitall(base, ["34600000009"])
        advance(base, "PT1M")
        wait_deliveries(base, "retrying", 1)
        assert requests.post(f"{base}/_mock/reset", timeout=5).status_code == 200
        assert _settled(dispatcher)
        assert deliveries(base)["total"] == 0


def test_a_stopped_dispatcher_leaves_its_queue_to_be_taken_over_when_leases_run_out(webhook_receiver):
    with live(config({"concurrency": 1, "rate": 4.0, "timeout": 1.0, "lease": 2.0})) as server:
        base, dispatcher = server.base_url, server.app.extensions["mock"].webhooks
        subscribe(base, provider="indigitall", applicationId=200, url=webhook_receiver.url, events=["sent"])
        contacts = [f"3460000000{n}" for n in range(8)]
        send_indigitall(base, contacts)
        advance(base, "PT1M")
        webhook_receiver.wait_for(1)
        dispatcher.stop()                         # its workers finish the attempt under way, then go
        assert dispatcher.lanes.inflight == 0
        stopped_with = len(webhook_receiver.events)
        assert stopped_with < len(contacts) and deliveries(base, status="pending")["total"] == len(contacts) - stopped_with
        dispatcher.start()                        # the leases it held run out: it claims them again
        webhook_receiver.wait_for(len(contacts), timeout=20)
        events = webhook_receiver.wait_quiet(quiet=0.5)
    assert sorted(e.recipient for e in events) == contacts          # each once
    assert all(e.attempt == 1 for e in events)


def test_a_record_made_by_a_process_with_more_lanes_is_delivered(webhook_receiver):
    with live(config({"concurrency": 2})) as server:
        base, state = server.base_url, server.app.extensions["mock"]
        dispatcher = state.webhooks
        created = subscribe(base, provider="indigitall", applicationId=200, url=webhook_receiver.url, events=["sent"])
        subscription = dispatcher.registry.get("default", created["id"])
        generation = state.store.info("default").generation
        value = new_value(event_id="indigitall-9-1-sent", event="sent", subscription=subscription,
                          recipient="34600000001", due_at=0.0, body=b'{"event": "sent"}', lane=7, budget=3,
                          owner="another-host:1:1", lease_end=dispatcher.real_now() - 1)    # its owner died
        dispatcher.deliveries.create("default", generation, [(delivery_id("indigitall-9-1-sent", created["id"]), value)])
        dispatcher.wake()
        record = wait_deliveries(base, "delivered", 1)["deliveries"][0]
        assert _settled(dispatcher)
    assert record["attempts"] == 1 and [e.body for e in webhook_receiver.events] == [b'{"event": "sent"}']


def test_a_failure_inside_the_mock_is_a_recorded_attempt_then_a_dead_letter(webhook_receiver, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(lanes_module, "attempt_headers", broken)
    with live(config({"max_attempts": 2})) as server:
        base = server.base_url
        subscribe(base, provider="indigitall", applicationId=200, url=webhook_receiver.url, events=["sent"])
        send_indigitall(base, ["34600000001"])
        advance(base, "PT1M")
        dead = wait_deliveries(base, "dead", 1)["deliveries"][0]
        assert _settled(server.app.extensions["mock"].webhooks)
    assert dead["attempts"] == 2
    assert [h["error"] for h in dead["history"]] == ["the mock failed to send it (RuntimeError: boom); please report it"] * 2
    assert webhook_receiver.events == []
