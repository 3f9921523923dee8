"""The dispatcher's own bookkeeping with delivery records in the store: in-flight counts return to
zero, a stop keeps nothing it cannot finish, foreign records are delivered, and a failure inside
the mock is a recorded attempt, never a silent loop."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests

from mock_server.webhooks import attempts as attempts_module
from mock_server.webhooks import checks as checks_module
from mock_server.webhooks.records import delivery_id, new_value
from support.webhooks import advance, config, deliveries, live, send_indigitall, send_jelou, subscribe, wait_deliveries


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

    monkeypatch.setattr(attempts_module, "attempt_headers", broken)
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



def test_a_failure_starting_the_request_is_a_recorded_attempt_then_a_dead_letter(webhook_receiver, monkeypatch):
    """The sender failing as it starts a request (a bug: here, taking or opening a connection) is
    an attempt that failed, saying so, and the lane is free again; the exception escaped the
    attempt's store check Task (lost), its lane held for ever, the delivery pending for ever."""
    from mock_server.webhooks import exchange

    def broken(self):
        raise RuntimeError("boom")

    monkeypatch.setattr(exchange._Attempt, "go", broken)
    with live(config({"max_attempts": 2})) as server:
        base, dispatcher = server.base_url, server.app.extensions["mock"].webhooks
        subscribe(base, provider="indigitall", applicationId=200, url=webhook_receiver.url, events=["sent"])
        send_indigitall(base, ["34600000001"])
        advance(base, "PT1M")
        dead = wait_deliveries(base, "dead", 1)["deliveries"][0]
        assert _settled(dispatcher)
        assert not dispatcher.lanes.sender._attempts          # none left registered under way
    assert dead["attempts"] == 2
    assert [h["error"] for h in dead["history"]] == ["the mock failed to send it (RuntimeError: boom); please report it"] * 2

class _Dripping:
    """A loopback receiver that answers 200 then drips its body one byte every 0.1 s."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}/hook"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        try:
            conn, _ = self._server.accept()
            with conn:
                conn.recv(65536)
                self.asked.set()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                for _ in range(200):
                    conn.sendall(b"x")
                    time.sleep(0.1)
        except OSError:              # the sender dropped the connection at its deadline
            pass

    def close(self) -> None:
        self._server.close()


@pytest.mark.slow
def test_a_slow_store_read_never_delays_another_attempts_deadline(webhook_receiver):
    """The store calls of an attempt (its subscription's existence, its lease) run off the loop
    thread: while one blocks 3 s, the attempt to a dripping receiver is still cut at its 0.5 s."""
    dripping = _Dripping()
    try:
        with live(config({"timeout": 0.5, "max_attempts": 1, "max_share": 1.0})) as server:
            base, store = server.base_url, server.app.extensions["mock"].store
            fast = subscribe(base, provider="indigitall", applicationId=200, url=dripping.url, events=["sent"])
            slow = subscribe(base, provider="jelou", botId="demo-bot", url=webhook_receiver.url, events=["all"])
            read, blocked = store.get_value, []

            def get_value(sandbox, bucket, key, *args, **kwargs):
                if key == slow["id"] and not blocked:
                    blocked.append(threading.current_thread().name)
                    time.sleep(3.0)                 # Redis slow (its socket timeout is 5 s)
                return read(sandbox, bucket, key, *args, **kwargs)

            store.get_value = get_value
            send_indigitall(base, ["34600000001"], application=200)
            advance(base, "PT1M")
            assert dripping.asked.wait(10)
            send_jelou(base, ["593990000001"])      # its first attempt's existence check takes 3 s
            advance(base, "PT1M")
            webhook_receiver.wait_for(1, timeout=15)
            dead = wait_deliveries(base, "dead", 1, timeout=15, subscription=fast["id"])["deliveries"][0]
    finally:
        dripping.close()
    assert blocked, "the slow read was never made"
    [tried] = dead["history"]
    assert tried["error"].startswith("answered HTTP 200 but its body did not end within 0.5 s"), tried
    assert tried["latencyMs"] < 2000, tried             # cut at ~500 ms, not after the 3 s read


@pytest.mark.slow
def test_jobs_waiting_for_their_turn_under_the_rate_are_not_sent_once_their_subscription_is_deleted(webhook_receiver):
    """``webhooks.rate`` 0.5: the jobs under way wait 2 s, 4 s for their turn; the subscription is
    deleted meanwhile: they are not sent (dead, "the subscription was deleted")."""
    contacts = ["34600000001", "34600000002", "34600000003"]
    with live(config({"rate": 0.5, "concurrency": 4, "max_share": 1.0})) as server:
        base = server.base_url
        created = subscribe(base, provider="indigitall", applicationId=200, url=webhook_receiver.url, events=["sent"])
        send_indigitall(base, contacts)
        advance(base, "PT1M")
        deadline = time.monotonic() + 10
        while deliveries(base)["total"] < len(contacts) and time.monotonic() < deadline:
            time.sleep(0.05)                            # every delivery is recorded (queued or made)
        webhook_receiver.wait_for(1, timeout=10)
        assert requests.delete(f"{base}/_mock/webhooks/{created['id']}", timeout=5).status_code == 200
        dead = wait_deliveries(base, "dead", len(contacts) - 1, timeout=15)["deliveries"]
        assert len(webhook_receiver.events) == 1, webhook_receiver.events
    assert [record["history"][-1]["error"] for record in dead] == ["the subscription was deleted"] * 2, dead


def test_attempts_starting_together_share_one_slow_existence_check(webhook_receiver):
    """The existence check runs off the loop thread, one at a time per subscription: the attempts
    asking while it is under way share its answer (no store read each)."""
    contacts = [f"3460000000{n}" for n in range(8)]
    with live(config({"concurrency": 8, "max_share": 1.0})) as server:
        base, store = server.base_url, server.app.extensions["mock"].store
        created = subscribe(base, provider="indigitall", applicationId=200, url=webhook_receiver.url, events=["sent"])
        read, reads = store.get_value, []

        def get_value(sandbox, bucket, key, *args, **kwargs):
            if key == created["id"] and threading.current_thread().name.startswith("webhooks-worker"):
                reads.append(time.monotonic())
                time.sleep(0.5)
            return read(sandbox, bucket, key, *args, **kwargs)

        store.get_value = get_value
        send_indigitall(base, contacts)
        advance(base, "PT1M")
        assert wait_deliveries(base, "delivered", len(contacts), timeout=20)["total"] == len(contacts)
    assert sorted(event.recipient for event in webhook_receiver.events) == contacts
    assert 1 <= len(reads) <= 3, reads                 # 8 attempts under way at once; not one read each


def test_attempts_that_end_as_they_start_end_in_turn_never_nested(webhook_receiver, monkeypatch):
    """An attempt refused at once (here by the host policy) ends inside the look for startable jobs
    that started it: that look repeats, rather than each ending starting the next one inside it (a
    call stack as deep as the queue: 1,500 jobs queued at once would exceed Python's recursion
    limit). Every delivery is dead, refused, none sent. (No rate to wait for, the subscription
    known to exist: nothing else ends a turn of the loop between two of them.)"""
    monkeypatch.setattr(checks_module, "KNOWN_FOR", 3600.0)
    contacts = [f"346{n:08d}" for n in range(1500)]
    with live(config({"rate": 1_000_000})) as server:
        base, lanes = server.base_url, server.app.extensions["mock"].webhooks.lanes
        lanes.policy = lambda url: "not this receiver (a test)"
        subscribe(base, provider="indigitall", applicationId=200, url=webhook_receiver.url, events=["sent"])
        send_indigitall(base, contacts)
        advance(base, "PT1M")
        dead = wait_deliveries(base, "dead", len(contacts), timeout=60, limit=5)
        assert _settled(server.app.extensions["mock"].webhooks, timeout=20)
    assert dead["total"] == len(contacts), dead["total"]
    assert {record["history"][-1]["error"] for record in dead["deliveries"]} == {
        "refused by the host policy: not this receiver (a test)"}
    assert webhook_receiver.events == []
