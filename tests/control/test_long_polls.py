"""Long-polls (``/_mock/messages?wait_for``) never starve the API and never poll (issue 8 item 10)."""

from __future__ import annotations

import http.client
import json
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from support.jelou import JELOU, order_csv, send_form
from support.live_server import mock_server
from mock_server import create_app, get_state


def counting(app):
    """Count how often the Jelou backend counts messages (each wake-up of a waiter counts once)."""
    backend = get_state(app).backends["jelou"]
    calls = []
    original = backend.inspect_count

    def inspect_count(*args, **kwargs):
        calls.append(time.monotonic())
        return original(*args, **kwargs)

    backend.inspect_count = inspect_count
    return calls


def test_a_waiter_with_nothing_to_wait_for_sleeps_until_its_timeout():
    app = create_app()                    # a real-time clock: the old code re-counted every 50 ms
    calls = counting(app)
    began = time.monotonic()
    answer = app.test_client().get("/_mock/messages?wait_for=1&timeout=1")
    assert answer.status_code == 200 and answer.json["total"] == 0
    assert 0.9 <= time.monotonic() - began < 3
    assert len(calls) <= 2, f"re-counted {len(calls)} times"


def test_a_waiter_wakes_when_the_schedule_says_the_answer_changes():
    app = create_app({"jelou": {"start_delay": 0.5}})
    client = app.test_client()
    began = time.monotonic()               # before `now`: however long the upload takes on a busy machine
    now = datetime.now(timezone.utc)
    scheduled = (now + timedelta(seconds=0.5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert send_form(client, order_csv(3), scheduledAt=scheduled).status_code == 200
    calls = counting(app)
    answer = client.get("/_mock/messages?wait_for=3&timeout=10")
    waited = time.monotonic() - began
    assert answer.json["total"] == 3
    assert 0.95 < waited < 5               # sent at +1 s, +1.01 s, +1.02 s; not at the 10 s timeout
    assert len(calls) <= 8, f"re-counted {len(calls)} times in {waited:.2f} s"


def test_beyond_max_waiters_a_long_poll_answers_at_once():
    app = create_app({"inspection": {"max_waiters": 1}})
    state = get_state(app)
    assert state.waiters.acquire(blocking=False)          # the only slot is taken
    began = time.monotonic()
    answer = app.test_client().get("/_mock/messages?wait_for=5&timeout=5")
    assert answer.status_code == 200 and answer.json["total"] == 0
    assert time.monotonic() - began < 2.5                   # not its 5 s timeout
    state.waiters.release()
    began = time.monotonic()
    assert app.test_client().get("/_mock/messages?wait_for=5&timeout=0.5").json["total"] == 0
    assert time.monotonic() - began >= 0.45                # the slot is free again: it waits


def test_max_waiters_zero_disables_waiting():
    app = create_app({"inspection": {"max_waiters": 0}})
    began = time.monotonic()
    assert app.test_client().get("/_mock/messages?wait_for=5&timeout=5").json["total"] == 0
    assert time.monotonic() - began < 2.5                   # not its 5 s timeout


def test_a_reset_wakes_a_waiter_of_the_same_sandbox_only(app):
    client = app.test_client()
    answers = []
    thread = threading.Thread(target=lambda: answers.append(
        client.get("/_mock/messages?wait_for=1&timeout=5", headers={"X-Mock-Sandbox": "w"})))
    began = time.monotonic()
    thread.start()
    time.sleep(0.2)
    send_form(app.test_client(), order_csv(1), headers={**JELOU, "X-Mock-Sandbox": "w"})
    app.test_client().post("/_mock/clock", json={"advance": "PT1M"}, headers={"X-Mock-Sandbox": "w"})
    thread.join(timeout=10)
    assert answers and answers[0].json["total"] == 1
    assert time.monotonic() - began < 3


@pytest.mark.slow
def test_health_and_uploads_answer_promptly_with_16_long_polls_waiting(tmp_path):
    """Every bound is far below the 20 s a request stuck behind the long polls would take."""
    with mock_server("--threads", "4") as base:
        answers: list[tuple[float, dict]] = []
        sent = threading.Semaphore(0)

        def long_poll() -> None:
            connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=40)
            began = time.monotonic()
            connection.request("GET", "/_mock/messages?wait_for=1&timeout=20")
            sent.release()
            answer = connection.getresponse()
            answers.append((time.monotonic() - began, json.loads(answer.read())))
            connection.close()

        polls = [threading.Thread(target=long_poll) for _ in range(16)]
        for thread in polls:
            thread.start()
        for _ in polls:
            assert sent.acquire(timeout=30), "a long poll could not be sent"
        # The server takes requests first come, first served: once a later request is answered, the 16
        # are in their threads; a second more lets each reach its waiting slot on a busy machine.
        assert requests.get(f"{base}/_mock/health", timeout=10).status_code == 200
        time.sleep(1.0)
        began = time.monotonic()
        extra = requests.get(f"{base}/_mock/messages", params={"wait_for": 1, "timeout": 20}, timeout=40)
        assert extra.json()["total"] == 0 and time.monotonic() - began < 5      # beyond max_waiters: at once
        for _ in range(5):
            began = time.monotonic()
            assert requests.get(f"{base}/_mock/health", timeout=10).status_code == 200
            assert time.monotonic() - began < 2.5
        began = time.monotonic()
        upload = requests.post(f"{base}/v1/hsm/file", headers=JELOU, timeout=10, files={"file": ("r.csv", order_csv(2))},
                               data={"campaignName": "p", "elementName": "order_confirmation", "botId": "demo-bot",
                                     "params": json.dumps([{"param": 1, "column": "order_id"},
                                                           {"param": 2, "column": "amount"},
                                                           {"param": 3, "column": "delivery"}])})
        assert upload.status_code == 200 and time.monotonic() - began < 5
        for thread in polls:
            thread.join(timeout=30)
        assert len(answers) == 16
        assert all(body["total"] >= 1 for _, body in answers)           # woken by the first send (~1 s later)
        assert max(waited for waited, _ in answers) < 10

