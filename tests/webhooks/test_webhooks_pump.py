"""The webhook pump's store traffic (issue 19, target 3): an attempt costs its worker no store round
trip (outcomes are written by the recorder, many per store step; the subscription's existence is
known for a while; the attempt's mock time is stamped from one clock reading per batch), and a
stop still writes every outcome of the attempts it let finish."""

from __future__ import annotations

import threading
import time
from collections import Counter

from mock_server.webhooks import checks as checks_module
from support.webhooks import advance, config, deliveries, live, send_indigitall, subscribe, wait_deliveries

CALLS = ("get", "get_value", "clock", "update", "update_many", "page", "put", "update_value")


def _count_store_calls(store, slow: float = 0.0) -> Counter:
    """Count the store calls made by the dispatcher's workers and its recorder, by thread kind;
    ``slow``: seconds each record write of theirs takes (so outcomes pile up meanwhile)."""
    calls: Counter = Counter()

    def wrap(name, method):
        def counted(*args, **kwargs):
            thread = threading.current_thread().name
            if thread.startswith(("webhooks-worker", "webhooks-recorder")):
                calls[(thread.split("-")[1], name)] += 1
                if slow and name in ("update", "update_many"):
                    time.sleep(slow)
            return method(*args, **kwargs)
        return counted
    for name in CALLS:
        setattr(store, name, wrap(name, getattr(store, name)))
    return calls


def test_an_attempt_costs_its_worker_no_store_round_trip_and_outcomes_are_written_in_batches(
        webhook_receiver, monkeypatch):
    monkeypatch.setattr(checks_module, "KNOWN_FOR", 3600.0)
    contacts = [f"346000000{n:02d}" for n in range(40)]
    with live(config({"concurrency": 8, "max_share": 1.0})) as server:
        base = server.base_url
        calls = _count_store_calls(server.app.extensions["mock"].store, slow=0.05)
        subscribe(base, provider="indigitall", applicationId=200, url=webhook_receiver.url, events=["sent"])
        send_indigitall(base, contacts)
        advance(base, "PT1M")
        found = wait_deliveries(base, "delivered", len(contacts), timeout=30)
        assert found["total"] == len(contacts), found["counts"]
    assert sorted(event.recipient for event in webhook_receiver.events) == contacts        # each once
    records = found["deliveries"]
    # stamped with the mock time of the attempt (the frozen clock: 10:00, or 10:01 after the advance)
    assert all(record["history"][0]["at"][:16] in ("2026-01-05T10:00", "2026-01-05T10:01") for record in records), \
        [record["history"][0]["at"] for record in records]
    # the workers: no clock read, no write, at most one existence check each (KNOWN_FOR is long here)
    worker = {name: count for (who, name), count in calls.items() if who == "worker"}
    assert worker.get("clock", 0) == 0 and worker.get("update", 0) == 0 and worker.get("update_many", 0) == 0, calls
    assert worker.get("get_value", 0) <= 8, calls
    # the recorder: while one 50 ms write is under way the next outcomes wait, then go in one step
    writes = calls[("recorder", "update")] + calls[("recorder", "update_many")]
    assert 1 <= writes <= len(contacts) // 2, calls


def test_a_stop_writes_the_outcome_of_every_attempt_made(webhook_receiver):
    contacts = [f"346000000{n:02d}" for n in range(24)]
    with live(config({"concurrency": 4, "rate": 20.0, "lease": 60.0})) as server:
        base, dispatcher = server.base_url, server.app.extensions["mock"].webhooks
        _count_store_calls(server.app.extensions["mock"].store, slow=0.2)     # outcomes wait for the recorder
        subscribe(base, provider="indigitall", applicationId=200, url=webhook_receiver.url, events=["sent"])
        send_indigitall(base, contacts)
        advance(base, "PT1M")
        webhook_receiver.wait_for(6, timeout=30)
        dispatcher.stop()
        received = len(webhook_receiver.events)
        counts = deliveries(base)["counts"]
        assert counts["delivered"] == received and counts["pending"] == len(contacts) - received, (counts, received)
        assert dispatcher.lanes.inflight == 0


def test_the_loop_is_woken_per_window_not_per_job_or_attempt(webhook_receiver):
    """One sandbox, one receiver, 8 attempts at once of which 4 may go to it (``max_share`` 0.5):
    the loop starts the next job itself when an attempt ends (no wake, no thread hand-off), and
    the producer queues a window's jobs with one wake of the loop, not one per job."""
    contacts = [f"3460000{n:04d}" for n in range(160)]
    with live(config({"concurrency": 8, "max_share": 0.5, "rate": 5000})) as server:
        base, lanes = server.base_url, server.app.extensions["mock"].webhooks.lanes
        wakes: Counter = Counter()
        call = lanes._call

        def counted(callback) -> None:
            wakes[threading.current_thread().name.partition("-")[2].partition("-")[0] or "other"] += 1
            call(callback)
        lanes._call = counted
        subscribe(base, provider="indigitall", applicationId=200, url=webhook_receiver.url, events=["sent"])
        send_indigitall(base, contacts)
        advance(base, "PT1M")
        assert wait_deliveries(base, "delivered", len(contacts), timeout=60)["total"] == len(contacts)
    assert sorted(event.recipient for event in webhook_receiver.events) == contacts        # each once
    assert wakes["worker"] == 0, wakes                          # the loop never wakes itself through the pipe
    assert wakes["producer"] <= len(contacts) // 10, wakes      # a window's jobs are queued with one wake


def test_the_host_policy_is_asked_once_per_url_not_per_attempt(webhook_receiver):
    """Its verdict is a pure function of the URL (a host name's addresses are checked at connect
    time), so it is kept per URL until the policy is replaced (each check parsed the URL and its
    address: a few per cent of the dispatcher's time)."""
    contacts = [f"346000000{n:02d}" for n in range(20)]
    with live(config({})) as server:
        base, dispatcher = server.base_url, server.app.extensions["mock"].webhooks
        asked, policy = [], dispatcher.policy

        def counted(url: str):
            asked.append(url)
            return policy(url)
        dispatcher.policy = counted
        subscribe(base, provider="indigitall", applicationId=200, url=webhook_receiver.url, events=["sent"])
        send_indigitall(base, contacts)
        advance(base, "PT1M")
        assert wait_deliveries(base, "delivered", len(contacts), timeout=30)["total"] == len(contacts)
        dispatcher.policy = lambda url: "refused from now on"
        send_indigitall(base, ["34600000099"])
        advance(base, "PT1M")
        dead = wait_deliveries(base, "dead", 1, timeout=30)["deliveries"][0]
    assert asked == [webhook_receiver.url], asked
    assert dead["history"][0]["error"] == "refused by the host policy: refused from now on", dead
