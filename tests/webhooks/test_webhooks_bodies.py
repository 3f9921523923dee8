"""The exact bytes of a seeded campaign's webhook events: bodies and signatures pinned.

A window of events is derived by the producer (its dispatcher never started, so nothing is sent)
for a Jelou campaign and an indigitall task; every delivery record's body and the signature its
first attempt sends are hashed together. A change to how bodies are rendered (caching, constant
parts rendered once) must leave them byte-identical: the digest below was taken before such work.
"""

from __future__ import annotations

import hashlib

from mock_server import create_app
from mock_server.webhooks.headers import attempt_headers
from mock_server.webhooks.records import ALL
from support import indigitall, jelou

START = "2026-01-05T10:00:00Z"
SECRET = "pin-secret"
DIGEST = "d5099185ed8e8f66df09fd2c63f387829e3c2a478e2d021bc65664edd2d14b1f"


def _window_records(app) -> list:
    dispatcher = app.extensions["mock"].webhooks
    dispatcher.start = lambda: dispatcher            # derive only: no thread, no attempt
    client = app.test_client()
    for body in ({"provider": "jelou", "botId": "demo-bot"}, {"provider": "indigitall", "applicationId": 100}):
        answer = client.post("/_mock/webhooks", json={**body, "url": "http://127.0.0.1:9/hook", "events": ["all"],
                                                      "signing_secret": SECRET})
        assert answer.status_code == 201, answer.json
    answer = client.put("/_mock/profile", json={"name": "degraded"})      # failures too: their error bodies
    assert answer.status_code == 200, answer.json
    answer = jelou.send_form(client, jelou.order_csv(40))
    assert answer.status_code == 200, answer.json
    answer = indigitall.send(client, indigitall.contacts(40))
    assert answer.status_code == 201, answer.json
    jelou.advance(client, "P1D")
    for _ in range(50):                              # windows until the cursor reaches now
        dispatcher.step()
    assert dispatcher.cursor("default") == app.extensions["mock"].sandbox("default").now()
    store = app.extensions["mock"].store
    return list(store.scan("default", ALL.name, newest_first=False))


def test_a_seeded_window_renders_the_same_bytes_and_signatures():
    app = create_app({"clock": {"start": START, "frozen": True}, "seed": 7})
    records = _window_records(app)
    subscriptions = {sub.id: sub for sub in app.extensions["mock"].webhooks.registry.all("default")}
    digest = hashlib.sha256()
    providers = set()
    for record in sorted(records, key=lambda record: record.value["eventId"]):
        value = record.value
        providers.add(value["provider"])
        signed = attempt_headers(subscriptions[value["subscription"]], value["body"], value["eventId"], 1)
        signature = next(text for name, text in signed.items() if text.startswith("sha256="))
        digest.update(f"{value['eventId']} {value['recipient']} {value['lane']} {signature}\n".encode())
        digest.update(value["body"] + b"\n")
    assert providers == {"jelou", "indigitall"} and len(records) > 150
    assert {"failed", "read", "delivered_user"} <= {record.value["event"] for record in records}
    assert digest.hexdigest() == DIGEST, (len(records), records[0].value["body"])
