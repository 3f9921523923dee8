"""Jelou request helpers shared by the tests: credentials, the demo CSV, the multipart send."""

from __future__ import annotations

import base64
import io
import json

from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

START = "2026-01-05T10:00:00Z"          # the clock of the ``app`` fixture (frozen)
ORDER_PARAMS = [{"param": 1, "column": "order_id"}, {"param": 2, "column": "amount"}, {"param": 3, "column": "delivery"}]


def basic(client_id: str = "demo-client-id", secret: str = "demo-client-secret") -> dict[str, str]:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


JELOU = basic()


def order_csv(rows: int = 3, *, phones: list[str] | None = None) -> bytes:
    """A CSV for ``order_confirmation`` (phone, order_id, amount, delivery)."""
    phones = phones or [f"5939{index:08d}" for index in range(rows)]
    lines = ["phone_number,order_id,amount,delivery"]
    lines += [f"{phone},A{index:05d},${index}.50,December {index % 28 + 1}" for index, phone in enumerate(phones)]
    return ("\n".join(lines) + "\n").encode()


def send_form(client, csv: bytes = None, *, filename: str = "recipients.csv", headers=None, **fields):
    """POST /v1/hsm/file as multipart; JSON-able fields are sent as JSON strings like the dashboard."""
    data = {"campaignName": "promo", "elementName": "order_confirmation", "botId": "demo-bot", "params": ORDER_PARAMS}
    data.update(fields)
    form = {key: (json.dumps(value) if isinstance(value, (list, dict)) else value)
            for key, value in data.items() if value is not None}
    if csv is not False:
        form["file"] = FileStorage(io.BytesIO(order_csv() if csv is None else csv), filename=filename)
    boundary, body = encode_multipart(form)      # in memory: no temporary file to leak
    return client.post("/v1/hsm/file", data=body, headers=JELOU if headers is None else headers,
                       content_type=f"multipart/form-data; boundary={boundary}")


def advance(client, duration: str):
    response = client.post("/_mock/clock", json={"advance": duration})
    assert response.status_code == 200, response.json
    return response.json


def campaign(client, campaign_id: str) -> dict:
    response = client.get(f"/v1/campaigns/{campaign_id}", headers=JELOU)
    assert response.status_code == 200, response.json
    return response.json["data"]


def assert_422(response, field: str) -> list[dict]:
    """The E0422 envelope naming ``field``; returns that field's entries."""
    assert response.status_code == 422, response.json
    body = response.json
    assert body["error"]["code"] == "E0422"
    assert body["error"]["key"] == "VALIDATOR_ERROR"
    assert body["status"] == 0 and body["statusMessage"] == "failed"
    assert field in body["validationError"], body["validationError"]
    entries = body["validationError"][field]
    assert entries and all("en" in entry and "es" in entry for entry in entries)
    return entries
