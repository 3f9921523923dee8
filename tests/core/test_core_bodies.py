"""The streaming multipart reader (``bodies.multipart``) on bodies as real clients write them."""

from __future__ import annotations

import io

import pytest
from flask import Flask, request
from urllib3.filepost import encode_multipart_formdata
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import stream_encode_multipart

from mock_server import bodies

app = Flask(__name__)


def read(body: bytes, content_type: str) -> bodies.Multipart:
    with app.test_request_context("/", method="POST", data=body, content_type=content_type):
        return bodies.multipart(request)


def test_a_body_written_by_urllib3_like_requests():
    csv = b"phone,name\n593991234567,Ana\n" * 50_000              # 1.3 MiB: more than one read
    body, content_type = encode_multipart_formdata([("campaignName", "promo"), ("empty", ""),
                                                    ("file", ("r.csv", csv, "text/csv")), ("botId", "b\u00e9")])
    parts = read(body, content_type)
    assert parts.fields == {"campaignName": "promo", "empty": "", "botId": "b\u00e9"}
    assert parts.files["file"].filename == "r.csv" and parts.files["file"].data == csv
    assert parts.repeated == []


def test_bodiless_parts_as_werkzeug_writes_them_are_read_too():
    data = MultiDict([("a", ""), ("file", FileStorage(io.BytesIO(b""), filename="x.csv")), ("b", "2"), ("b", "3")])
    stream, _, boundary = stream_encode_multipart(data, use_tempfile=False)
    parts = read(stream.getvalue(), f"multipart/form-data; boundary={boundary}")
    assert parts.fields == {"a": "", "b": "2"} and parts.files["file"].data == b""
    assert parts.files["file"].filename == "x.csv" and parts.repeated == ["b"] and parts.counts["b"] == 2


def test_repeated_names_count_files_and_fields_together():
    body, content_type = encode_multipart_formdata([("file", ("a.csv", b"1", "text/csv")), ("file", "text"),
                                                    ("x", "1")])
    parts = read(body, content_type)
    assert parts.files["file"].data == b"1" and "file" not in parts.fields and parts.repeated == ["file"]


@pytest.mark.parametrize("body,content_type,words", [
    (b"garbage", "multipart/form-data; boundary=x", "no parts were found"),
    (b"", "multipart/form-data; boundary=x", "no parts were found"),
    (b"--x\r\nContent-Type: text/plain\r\n\r\nv\r\n--x--\r\n", "multipart/form-data; boundary=x",
     "A multipart part has no name"),
    (b"x", "multipart/form-data", "has no boundary"),
])
def test_unreadable_bodies_say_why(body, content_type, words):
    with pytest.raises(bodies.BodyError, match=words):
        read(body, content_type)


def test_a_huge_text_field_is_refused(monkeypatch):
    monkeypatch.setitem(app.config, "MAX_FORM_MEMORY_SIZE", 10)        # the max_form_field_bytes setting
    body, content_type = encode_multipart_formdata([("layout", "x" * 11)])
    with pytest.raises(bodies.BodyError, match="'layout' is larger than"):
        read(body, content_type)
