"""Helpers for the webhook tests: a live mock with its dispatcher, and senders for both providers."""

from __future__ import annotations

import contextlib
import json
import time

import requests

from harness.server import BackgroundServer

START = "2026-01-05T10:00:00Z"
JELOU_AUTH = ("demo-client-id", "demo-client-secret")
INDIGITALL_KEY = {"Authorization": "ServerKey demo-server-key"}
TEXT_LAYOUT = json.dumps({"contactCode": "{{contactCode}}", "channelType": "cloud_api", "sendType": "proactive",
                          "content": {"body": "Hi {{name}}!"}})


def config(webhooks: dict | None = None, **extra) -> dict:
    return {"clock": {"start": START, "frozen": True}, "webhooks": {"backoff": 0.05, **(webhooks or {})}, **extra}


@contextlib.contextmanager
def live(settings: dict):
    """A mock served on a free port, its dispatcher running; stopped afterwards."""
    with BackgroundServer(settings) as server:
        yield server


def subscribe(base: str, **body) -> dict:
    response = requests.post(f"{base}/_mock/webhooks", json=body, timeout=5)
    assert response.status_code == 201, response.text
    return response.json()


def send_jelou(base: str, phones: list[str]) -> str:
    lines = ["phone_number,name"] + [f"{phone},N{i}" for i, phone in enumerate(phones)]
    response = requests.post(f"{base}/v1/hsm/file", auth=JELOU_AUTH, timeout=10,
                             files={"file": ("r.csv", ("\n".join(lines) + "\n").encode())},
                             data={"campaignName": "hooks", "elementName": "welcome_message", "botId": "demo-bot",
                                   "params": "[]"})
    assert response.status_code == 200, response.text
    return response.headers["X-Mock-Campaign-Id"]


def send_indigitall(base: str, contacts: list[str], application: int = 200) -> int:
    lines = ["contactCode,name"] + [f"{code},N{i}" for i, code in enumerate(contacts)]
    response = requests.post(f"{base}/v2/chat/application/{application}/message/csv", headers=INDIGITALL_KEY, timeout=10,
                             files={"file": ("c.csv", ("\n".join(lines) + "\n").encode())}, data={"layout": TEXT_LAYOUT})
    assert response.status_code == 201, response.text
    return response.json()["data"]["taskId"]


def advance(base: str, duration: str) -> None:
    response = requests.post(f"{base}/_mock/clock", json={"advance": duration}, timeout=10)
    assert response.status_code == 200, response.text


def deliveries(base: str, **query) -> dict:
    response = requests.get(f"{base}/_mock/webhooks/deliveries", params=query, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def wait_deliveries(base: str, status: str, total: int, timeout: float = 10.0, **query) -> dict:
    """Poll ``/_mock/webhooks/deliveries`` until ``total`` records have ``status`` (the receiver
    sees a request an instant before the dispatcher records its answer)."""
    deadline = time.monotonic() + timeout
    while True:
        found = deliveries(base, status=status, **query)
        if found["total"] >= total or time.monotonic() > deadline:
            return found
        time.sleep(0.05)
