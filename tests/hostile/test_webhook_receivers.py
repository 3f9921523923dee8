"""Misbehaving webhook receivers (``receivers.py``) against a live mock (CONTRACT §18, webhook attempts).

``webhooks.timeout`` bounds the whole attempt, whatever the receiver does (drips its body, sends
50 MB, never answers); a 3xx is a failed attempt, never followed; one slow receiver never delays
another sandbox's deliveries; a reset, or deleting the subscription, cuts its attempts short.
Latency bounds are generous (the machine is loaded): the timeout plus several seconds.
"""

from __future__ import annotations

import time

import requests

from mock_server.webhooks import sender as sender_module
from mock_server.webhooks.sender import BlockingSender
from receivers import HUGE, Misbehaving
from support.webhooks import advance, config, deliveries, live, send_indigitall, subscribe, wait_deliveries

MARGIN = 6.0           # seconds of slack on top of webhooks.timeout for a loaded machine
share = 4              # workers one receiver may hold: webhooks.max_share (0.5) of webhooks.concurrency (8)


def _one_attempt(kind: str, timeout: float = 1.0, **options) -> tuple[dict, Misbehaving]:
    """One delivery to a ``kind`` receiver with a single attempt; its record, once finished."""
    with Misbehaving(kind, **options) as receiver, \
            live(config({"timeout": timeout, "lease": timeout + 5.0, "max_attempts": 1})) as server:
        base = server.base_url
        subscribe(base, provider="indigitall", applicationId=200, url=receiver.url, events=["sent"])
        send_indigitall(base, ["34600000001"])
        advance(base, "PT1M")
        deadline = time.monotonic() + 30
        while not (found := deliveries(base))["counts"]["delivered"] + found["counts"]["dead"]:
            assert time.monotonic() < deadline, found["counts"]
            time.sleep(0.05)
        if kind not in ("redirect", "interim"):     # a complete answer keeps its connection alive
            assert receiver.wait_closed(timeout=timeout + MARGIN), "the mock kept the connection open"
        return found["deliveries"][0], receiver


def test_a_dripping_body_ends_the_attempt_at_the_timeout():
    record, receiver = _one_attempt("drip")
    attempt = record["history"][0]
    assert record["status"] == "dead" and attempt["statusCode"] is None
    assert "answered HTTP 200 but its body did not end within 1 s (webhooks.timeout" in attempt["error"], attempt
    assert attempt["latencyMs"] < (1.0 + MARGIN) * 1000, attempt
    assert receiver.requests == 1


def test_a_receiver_that_never_answers_ends_the_attempt_at_the_timeout():
    record, receiver = _one_attempt("silent")
    attempt = record["history"][0]
    assert record["status"] == "dead" and attempt["statusCode"] is None
    assert attempt["error"].startswith("no answer within 1 s (webhooks.timeout bounds the whole attempt)"), attempt
    assert 900 <= attempt["latencyMs"] < (1.0 + MARGIN) * 1000, attempt


def test_a_huge_body_is_read_for_64_kib_only_then_dropped():
    record, receiver = _one_attempt("huge", timeout=5.0)
    attempt = record["history"][0]
    assert record["status"] == "delivered" and attempt["statusCode"] == 200 and attempt["error"] is None, attempt
    assert attempt["latencyMs"] < (5.0 + MARGIN) * 1000, attempt
    # what the sockets' buffers took, at most a few MB: never the 50 MB
    assert receiver.sent < HUGE // 2, receiver.sent


def test_a_redirect_is_a_failed_attempt_and_is_never_followed(webhook_receiver):
    record, receiver = _one_attempt("redirect", location=webhook_receiver.url)
    attempt = record["history"][0]
    assert record["status"] == "dead" and attempt["statusCode"] == 302, attempt
    assert "redirects are not followed" in attempt["error"], attempt
    assert webhook_receiver.wait_quiet(quiet=0.5) == []


def test_interim_answers_are_skipped_and_the_final_one_counts():
    """102/103 before the final answer: the attempt's status is the final one's, never the 1xx;
    on a kept-alive connection each attempt reads its own answer (taking the 1xx for the answer
    left the final one unread, then read as the next attempt's: a 500 recorded as delivered)."""
    with Misbehaving("interim", finals=(200, 500, 204)) as receiver:
        sender = BlockingSender(timeout=10.0)
        try:
            outcomes = [sender.post(receiver.url, b"{}", {"Content-Type": "application/json"}) for _ in range(3)]
        finally:
            sender.close()
    assert [(outcome.status, outcome.ok) for outcome in outcomes] == [(200, True), (500, False), (204, True)], outcomes
    assert receiver.requests == 3


def test_a_delivery_answered_after_interim_responses_is_delivered_at_its_first_attempt():
    record, receiver = _one_attempt("interim", timeout=5.0)
    assert record["status"] == "delivered" and len(record["history"]) == 1, record
    assert record["history"][0]["statusCode"] == 200 and record["history"][0]["error"] is None, record
    assert receiver.requests == 1


def test_a_slow_receiver_never_delays_another_sandbox_and_a_reset_cuts_its_attempts(webhook_receiver):
    """24 deliveries to a dripping receiver (every lane of the old dispatcher) while another
    sandbox's receiver gets its event; then resetting the slow sandbox ends its attempts at once."""
    timeout = 60.0
    with Misbehaving("drip") as drip, live(config({"timeout": timeout, "lease": 120.0})) as server:
        slow, fast = f"{server.base_url}/sandboxes/slow", f"{server.base_url}/sandboxes/fast"
        subscribe(slow, provider="indigitall", applicationId=200, url=drip.url, events=["sent"])
        send_indigitall(slow, [f"346000000{n:02d}" for n in range(24)])
        advance(slow, "PT1M")
        assert drip.wait_open(share), drip.open            # as many attempts under way as one receiver may have
        subscribe(fast, provider="indigitall", applicationId=200, url=webhook_receiver.url, events=["sent"])
        send_indigitall(fast, ["34600000099"])
        advance(fast, "PT1M")
        assert webhook_receiver.wait_for(1, timeout=30)[0].recipient == "34600000099"
        assert wait_deliveries(fast, "delivered", 1)["total"] == 1
        assert drip.open == share and drip.requests == share          # still dripping, none let go early
        counts = deliveries(slow)["counts"]
        assert counts["delivered"] == counts["dead"] == 0 and counts["pending"] == 24, counts
        assert requests.post(f"{slow}/_mock/reset", timeout=5).status_code == 200
        assert drip.wait_closed(timeout=15), "the reset did not cut the attempts under way"
        assert deliveries(slow)["total"] == 0
        assert drip.requests == share                                  # the queued ones were dropped


def test_deleting_the_subscription_cuts_its_attempts_and_drops_what_is_queued():
    timeout = 60.0
    with Misbehaving("silent") as silent, live(config({"timeout": timeout, "lease": 120.0, "max_attempts": 1})) as server:
        base = server.base_url
        created = subscribe(base, provider="indigitall", applicationId=200, url=silent.url, events=["sent"])
        send_indigitall(base, [f"346000000{n:02d}" for n in range(10)])
        advance(base, "PT1M")
        assert silent.wait_open(share), silent.open
        assert requests.delete(f"{base}/_mock/webhooks/{created['id']}", timeout=5).status_code == 200
        assert silent.wait_closed(timeout=15), "deleting the subscription did not cut the attempts under way"
        dead = wait_deliveries(base, "dead", 10, timeout=15)
        assert dead["total"] == 10, dead["counts"]
        errors = sorted(record["history"][0]["error"] for record in dead["deliveries"])
        assert errors == (["cancelled while under way: its subscription was deleted"] * share
                          + ["the subscription was deleted"] * (10 - share)), errors
        assert silent.requests == share                               # the queued ones were never sent


def test_a_request_goes_out_in_one_send_head_and_body_together(webhook_receiver, monkeypatch):
    """``http.client`` sent the head and the body apart: a system call more per attempt, and a
    small segment the receiver waited for; each request is now one write on its connection."""
    sends: list[bytes] = []
    write = sender_module._Link.write

    def counted(link, data):
        sends.append(bytes(data))
        return write(link, data)
    monkeypatch.setattr(sender_module._Link, "write", counted)
    sender = BlockingSender(timeout=10.0)
    try:
        outcomes = [sender.post(webhook_receiver.url, b'{"n": %d}' % n, {"Content-Type": "application/json"})
                    for n in range(3)]
    finally:
        sender.close()
    assert all(outcome.ok for outcome in outcomes), outcomes
    assert len(sends) == 3 and all(data.startswith(b"POST ") and data.endswith(b'{"n": %d}' % n)
                                   for n, data in enumerate(sends)), sends
    assert [event.body for event in webhook_receiver.events] == [b'{"n": 0}', b'{"n": 1}', b'{"n": 2}']
