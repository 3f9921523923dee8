"""The webhooks page shows what each attempt sent and what it got back: the payload, the request
headers of that attempt (signature included, credentials masked; re-derived, not stored) and the
answer's status and the start of its body."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.server
import json
import time

import pytest
from support.httpstub import serving
from support.jelou import send_form

from mock_server.webhooks.sender import EXCERPT, body_excerpt

ANSWER = json.dumps({"error": "receiver says no", "detail": "x" * 400}).encode()


@pytest.fixture
def app_config():
    return {"webhooks": {"backoff": 0.05, "max_attempts": 2}}


@contextlib.contextmanager
def refusing_receiver():
    """A receiver answering every POST with 500 and :data:`ANSWER`; the bodies it got."""
    bodies: list[bytes] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(ANSWER)))
            self.end_headers()
            self.wfile.write(ANSWER)

        def log_message(self, *args) -> None:
            pass

    with serving(Handler) as port:
        yield f"http://127.0.0.1:{port}", bodies


def wait_for_dead(client, count: int) -> dict:
    deadline = time.monotonic() + 30                     # the dispatcher works in the background
    while True:
        found = client.get("/_mock/webhooks/deliveries?status=dead").json
        if found["total"] >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_each_attempt_shows_its_request_headers_payload_and_answer(client):
    with refusing_receiver() as (url, bodies):
        hook = {"provider": "jelou", "botId": "demo-bot", "url": url + "/hook", "events": ["delivered_channel"],
                "signing_secret": "shh-secret", "auth": {"type": "bearer", "token": "tok-secret-123456"}}
        assert client.post("/_mock/webhooks", json=hook).status_code == 201
        lines = b"phone_number,order_id,amount,delivery\n99904000001,A1,$1,Dec 1\n"
        campaign = send_form(client, lines).headers["X-Mock-Campaign-Id"]
        client.post("/_mock/clock", json={"advance": "PT5S"})
        dead = wait_for_dead(client, 1)
    assert dead["total"] == 1 and len(bodies) == 2
    history = dead["deliveries"][0]["history"]
    assert [entry["response"] for entry in history] == [body_excerpt(ANSWER)] * 2        # the API shows it too
    html = client.get("/_mock/ui/webhooks?status=dead").get_data(as_text=True)
    signature = "sha256=" + hmac.new(b"shh-secret", bodies[0], hashlib.sha256).hexdigest()
    assert f"X-Jelou-Signature: {signature}" in html
    assert "X-Mock-Attempt: 1" in html and "X-Mock-Attempt: 2" in html
    assert "Authorization: Bearer ****56" in html and "tok-secret-123456" not in html
    assert f"Content-Length: {len(bodies[0])}" in html
    assert html.count("{&#34;error&#34;: &#34;receiver says no&#34;") == 2 and "…</pre>" in html
    payload = json.loads(bodies[0])
    assert payload["campaignId"] == campaign and f"&#34;campaignId&#34;: &#34;{campaign}&#34;" in html


def test_an_attempt_of_a_deleted_subscription_says_its_headers_are_unknown(client):
    with refusing_receiver() as (url, bodies):
        hook = {"provider": "jelou", "botId": "demo-bot", "url": url, "events": ["delivered_channel"]}
        created = client.post("/_mock/webhooks", json=hook).json
        send_form(client, b"phone_number,order_id,amount,delivery\n99904000001,A1,$1,Dec 1\n")
        client.post("/_mock/clock", json={"advance": "PT5S"})
        wait_for_dead(client, 1)
    assert client.delete(f"/_mock/webhooks/{created['id']}").status_code == 200
    html = client.get("/_mock/ui/webhooks?status=dead").get_data(as_text=True)
    assert "not known: the subscription was deleted" in html and "&#34;event&#34;: &#34;delivered_channel&#34;" in html


def test_a_body_excerpt_is_short_and_printable():
    assert body_excerpt(b"") is None
    assert body_excerpt(b"ok") == "ok"
    long = body_excerpt(b"a" * 10_000)
    assert long == "a" * EXCERPT + "…"
    assert body_excerpt(b"bad\x00\x1b[31mred\nline") == "bad\ufffd\ufffd[31mred\nline"
    assert body_excerpt("é".encode() * 300) == "é" * EXCERPT + "…"


def test_an_api_key_with_a_space_is_masked_whole():
    """Only a known scheme (Basic, Bearer, ...) stays readable: an API key such as "team secret" is
    not a scheme and its first word is a part of the secret."""
    from mock_server.webhooks.headers import sent_headers
    from mock_server.webhooks.subscriptions import Subscription

    subscription = Subscription(id="wh_1", provider="jelou", owner="demo-bot", url="http://127.0.0.1:9/hook",
                                events=frozenset({"delivered_channel"}), source="control",
                                auth={"type": "api_key", "key": "team secret-value-123456"})
    value = {"body": b"{}", "eventId": "ev_1"}
    headers = sent_headers(value, subscription, 1)
    assert headers["X-API-Key"] == "****56" and "team" not in headers["X-API-Key"]
