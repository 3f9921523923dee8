"""Fixtures and helpers for the indigitall tests (imported by tests/indigitall/)."""

from __future__ import annotations

import io
import json

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from harness.presets import INDIGITALL_TEMPLATE_LAYOUT, INDIGITALL_TEXT_LAYOUT, SEED_TEMPLATE_CSV, SEED_TEXT_CSV
from mock_server import create_app

START = "2026-01-05T10:00:00Z"          # a Monday, on a slot boundary
KEY = {"Authorization": "ServerKey demo-server-key"}
PREFIX = "/v2/chat/application"

# The seed's two layouts and two CSVs, exactly as the seed writes them (kept once, in harness.presets).
TEXT_LAYOUT = INDIGITALL_TEXT_LAYOUT
TEMPLATE_LAYOUT = INDIGITALL_TEMPLATE_LAYOUT

TEXT_CSV = SEED_TEXT_CSV
TEMPLATE_CSV = SEED_TEMPLATE_CSV


@pytest.fixture
def app_config():
    """Settings merged over the frozen clock; override in a module to change them."""
    return {}


@pytest.fixture
def app(app_config):
    app = create_app({"clock": {"start": START, "frozen": True}, **app_config})
    yield app
    app.extensions["mock"].webhooks.stop()


@pytest.fixture
def client(app):
    return app.test_client()


def contacts(rows: int, *, first: int = 0, channel: str = "cloud_api") -> bytes:
    """A text-layout CSV with ``rows`` distinct contacts (``34600000000 + i``)."""
    lines = ["contactCode,channelType,name"]
    lines += [f"{34600000000 + first + i},{channel},Name{first + i}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def layout_with(**changes) -> str:
    """The seed's text layout with top-level keys replaced (``None`` removes a key)."""
    tree = json.loads(TEXT_LAYOUT)
    for key, value in changes.items():
        if value is None:
            tree.pop(key, None)
        else:
            tree[key] = value
    return json.dumps(tree)


def send(client, csv: bytes | None = TEXT_CSV, *, layout: str | None = TEXT_LAYOUT, application=100,
         headers=None, filename: str = "contacts.csv", **fields):
    """POST .../message/csv as multipart; ``None`` leaves a part out."""
    data = {key: value for key, value in fields.items() if value is not None}
    if layout is not None:
        data["layout"] = layout
    if csv is not None:
        data["file"] = FileStorage(io.BytesIO(csv), filename=filename, content_type="text/csv")
    body, content_type = multipart(data)
    return client.post(f"{PREFIX}/{application}/message/csv", data=body,
                       headers=KEY if headers is None else headers, content_type=content_type)


def multipart(data: dict) -> tuple[bytes, str]:
    """Encode a form in memory (the test client spools big bodies to temp files it never closes)."""
    stream, _, boundary = stream_encode_multipart(data, use_tempfile=False)
    return stream.getvalue(), f"multipart/form-data; boundary={boundary}"


def created(response) -> dict:
    assert response.status_code == 201, response.json
    body = response.json
    assert body["statusCode"] == 201 and body["message"] == "OK"
    return body["data"]


def create(client, csv: bytes = TEXT_CSV, **kwargs) -> dict:
    return created(send(client, csv, **kwargs))


def get_task(client, task_id, application=100) -> dict:
    response = client.get(f"{PREFIX}/{application}/task/{task_id}", headers=KEY)
    assert response.status_code == 200, response.json
    assert response.json["statusCode"] == 200
    return response.json["data"]


def cancel(client, task_id, application=100):
    return client.delete(f"{PREFIX}/{application}/task/{task_id}", headers=KEY)


def clock(client, **body) -> dict:
    response = client.post("/_mock/clock", json=body)
    assert response.status_code == 200, response.json
    return response.json


def advance(client, duration: str) -> dict:
    return clock(client, advance=duration)


def messages(client, **query) -> dict:
    query.setdefault("provider", "indigitall")
    query.setdefault("limit", 1000)
    response = client.get("/_mock/messages", query_string=query)
    assert response.status_code == 200, response.json
    return response.json


def assert_error(response, status: int, error_code: str) -> dict:
    """indigitall's envelope with ``status`` and ``error_code``; returns the body."""
    assert response.status_code == status, response.json
    body = response.json
    assert body["statusCode"] == status
    assert body["errorCode"] == error_code
    assert isinstance(body["message"], str) and body["message"]
    if "errors" in body:
        assert body["totalErrors"] >= len(body["errors"]) >= 1
        assert all("field" in entry and "message" in entry for entry in body["errors"])
    return body


def fields_named(body: dict) -> list[str]:
    return [entry["field"] for entry in body.get("errors", [])]
