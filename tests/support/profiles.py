"""Helpers for the traffic-profile tests: send a batch to either provider, read its messages."""

from __future__ import annotations

import io
import json

from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from mock_server import create_app
from mock_server.isotime import parse_datetime

from .jelou import JELOU, START, send_form

TEXT_LAYOUT = json.dumps({"contactCode": "{{contactCode}}", "channelType": "cloud_api", "sendType": "proactive",
                          "content": {"body": "Hi {{name}}!"}})


def app_with_seed(seed: int = 0, **extra):
    return create_app({"seed": seed, "clock": {"start": START, "frozen": True}, **extra})


def phones(count: int, first: int = 0) -> list[str]:
    return [f"5939{index:08d}" for index in range(first, first + count)]


def send_jelou(client, phones: list[str], headers=None) -> str:
    csv = ("phone_number,name\n" + "".join(f"{phone},N{i}\n" for i, phone in enumerate(phones))).encode()
    answer = send_form(client, csv, elementName="welcome_message", params=[], headers={**JELOU, **(headers or {})})
    assert answer.status_code == 200, answer.json
    return answer.headers["X-Mock-Campaign-Id"]


def send_indigitall(client, contacts: list[str], application: int = 200, headers=None) -> int:
    csv = ("contactCode,name\n" + "".join(f"{code},N{i}\n" for i, code in enumerate(contacts))).encode()
    boundary, body = encode_multipart({"layout": TEXT_LAYOUT, "file": FileStorage(io.BytesIO(csv), filename="c.csv")})
    answer = client.post(f"/v2/chat/application/{application}/message/csv", data=body,
                         headers={"Authorization": "ServerKey demo-server-key", **(headers or {})},
                         content_type=f"multipart/form-data; boundary={boundary}")
    assert answer.status_code == 201, answer.json
    return answer.json["data"]["taskId"]


def messages(client, batch, headers=None) -> list[dict]:
    answer = client.get(f"/_mock/messages?campaign={batch}&limit=10000", headers=headers or {})
    assert answer.status_code == 200, answer.json
    return answer.json["messages"]


def instant(text: str | None) -> float | None:
    return None if text is None else parse_datetime(text).timestamp()
