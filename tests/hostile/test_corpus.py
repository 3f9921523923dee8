"""The hostile CSV corpus (``corpus.py``) sent to both providers.

Every answer is either a 4xx in the provider's envelope naming the problem, or an accepted file
whose every cell, read back through ``/_mock/messages``, equals what a strict CSV reader sees.
The same property is then checked on seeded random files with a few random byte edits.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from corpus import CASES, INDIGITALL, JELOU, MAX_ROWS, Case, Shape
from mock_server import create_app

CONFIG = {"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True},
          "jelou": {"max_rows": MAX_ROWS}, "indigitall": {"max_rows": MAX_ROWS}}
JELOU_AUTH = {"Authorization": "Basic ZGVtby1jbGllbnQtaWQ6ZGVtby1jbGllbnQtc2VjcmV0"}
INDIGITALL_AUTH = {"Authorization": "ServerKey demo-server-key"}
ECHO_LAYOUT = json.dumps({"contactCode": "{{contactCode}}", "channelType": "{{channelType}}",
                          "sendType": "proactive", "content": {"body": "{{name}}"}})
JELOU_FIELDS = {"campaignName": "hostile", "elementName": "order_confirmation", "botId": "demo-bot",
                "params": json.dumps([{"param": 1, "column": "order_id"}, {"param": 2, "column": "amount"},
                                      {"param": 3, "column": "delivery"}])}


def test_the_corpus_is_big_enough_and_named_uniquely():
    names = [case.name for case in CASES]
    assert len(names) >= 40 and len(set(names)) == len(names)


@pytest.fixture(scope="module")
def client():
    return create_app(CONFIG).test_client()


def _post(client, shape: Shape, content: bytes, filename: str):
    form = {"file": FileStorage(io.BytesIO(content), filename=filename, content_type="text/csv")}
    if shape is JELOU:
        url, headers = "/v1/hsm/file", JELOU_AUTH
        form.update(JELOU_FIELDS)
    else:
        url, headers = "/v2/chat/application/200/message/csv", INDIGITALL_AUTH
        form["layout"] = ECHO_LAYOUT
    stream, _, boundary = stream_encode_multipart(form, use_tempfile=False)
    return client.post(url, data=stream.getvalue(), headers=headers,
                       content_type=f"multipart/form-data; boundary={boundary}")


def _problem_text(shape: Shape, body: dict) -> str:
    """Everything the 4xx says, asserting it is the provider's envelope."""
    if shape is JELOU:
        assert body["status"] in ("failed", 0) and body["message"], body
        return json.dumps(body.get("validationError", body["message"]), ensure_ascii=False)
    assert set(body) >= {"statusCode", "message", "errorCode"} and body["message"], body
    return body["message"] + json.dumps(body.get("errors", []), ensure_ascii=False)


def _expected_rows(content: bytes, shape: Shape) -> list[list[str]]:
    """What must be read back: per row, the cells the read-back shows, found by column name
    (Jelou's recipient is the first column whatever its name)."""
    text = content.decode("utf-8-sig")
    header, *rows = [row for row in csv.reader(io.StringIO(text, newline=""), strict=True) if row]
    records = [dict(zip(header, row)) for row in rows]
    if shape is JELOU:
        return [[row[0], *(record[name] for name in shape.header[1:])] for row, record in zip(rows, records)]
    return [[record[name] for name in shape.header] for record in records]


def _read_back(client, shape: Shape, response) -> list[list[str]]:
    if shape is JELOU:
        campaign = response.headers["X-Mock-Campaign-Id"]
    else:
        campaign = str(response.json["data"]["taskId"])
    assert client.post("/_mock/clock", json={"advance": "PT1H"}).status_code == 200
    page = client.get(f"/_mock/messages?campaign={campaign}&limit=1000")
    assert page.status_code == 200, page.json
    messages = page.json["messages"]
    if shape is JELOU:
        return [[m["recipient"], *(m["content"]["parameters"][key] for key in ("1", "2", "3"))] for m in messages]
    return [[m["recipient"], m["content"]["channelType"], m["content"]["content"]["body"]] for m in messages]


@pytest.mark.parametrize("shape", [JELOU, INDIGITALL], ids=lambda shape: shape.name)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_hostile_file(client, case: Case, shape: Shape):
    content, filename = case.make(shape)
    expect, hint = case.outcome(shape)
    response = _post(client, shape, content, filename)
    assert response.status_code < 500 and response.is_json, response.data[:300]
    if expect == "reject":
        assert 400 <= response.status_code < 500, (response.status_code, str(response.json)[:300])
        said = _problem_text(shape, response.json)
        assert hint in said, said[:500]
        return
    assert response.status_code in (200, 201), str(response.json)[:500]
    assert _read_back(client, shape, response) == _expected_rows(content, shape)


cells = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from(list(',"\r\n ')),
                max_size=12)


@st.composite
def csv_files(draw, shape: Shape) -> bytes:
    """A well-formed file for ``shape`` with random cells, then maybe a few random byte edits."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(shape.header)
    for index in range(draw(st.integers(min_value=1, max_value=4))):
        writer.writerow(shape.row(index, "")[:-1] + [draw(cells)] if shape is INDIGITALL
                        else [shape.row(index, "")[0], draw(cells), draw(cells), draw(cells)])
    content = bytearray(buffer.getvalue().encode("utf-8"))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        position = draw(st.integers(min_value=0, max_value=len(content)))
        content[position:position] = draw(st.binary(min_size=1, max_size=3) | st.sampled_from([b'"', b",", b"\r", b"\n"]))
    return bytes(content)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), shape=st.sampled_from([JELOU, INDIGITALL]))
def test_random_and_mangled_files_are_refused_or_read_back_exactly(client, data, shape):
    content = data.draw(csv_files(shape))
    response = _post(client, shape, content, "random.csv")
    assert response.status_code < 500 and response.is_json
    if response.status_code >= 400:
        _problem_text(shape, response.json)
        return
    assert _read_back(client, shape, response) == _expected_rows(content, shape)
