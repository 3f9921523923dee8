"""The access log cannot be forged: whatever a client puts in a path, each request is one line
with no raw control character in it (CONTRACT §18 "Access log")."""

from __future__ import annotations

import io
import json
import re

import pytest

from support.jelou import JELOU
from mock_server import create_app

FAKE_LINE = "2026-01-05T10:00:00Z default GET /_mock/health 200 0.1ms fault=- record=-"
# percent-encoded as a client sends it -> the path the server decodes
PATHS = {
    "/v1/campaigns/x%0a" + FAKE_LINE.replace(" ", "%20"): "/v1/campaigns/x\n" + FAKE_LINE,
    "/v1/campaigns/%1b[31mred%1b[0m%0d%08": "/v1/campaigns/\x1b[31mred\x1b[0m\r\x08",
    "/v1/campaigns/a%e2%80%a8b%e2%80%a9c": "/v1/campaigns/a\u2028b\u2029c",
    "/v1/campaigns/c1%c2%85%c2%9b31m%7f%00": "/v1/campaigns/c1\x85\x9b31m\x7f\x00",
    "/v1/campaigns/%e2%80%aeevil%5cx0a": "/v1/campaigns/\u202eevil\\x0a",
    "/v1/campaigns/%ff%fe": "/v1/campaigns/\ufffd\ufffd",
}
# what must never reach the log raw: C0, DEL, C1, U+2028/2029 (every str.splitlines() separator is among them)
RAW = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202e]")


def logged(fmt: str, paths) -> list[str]:
    app = create_app({"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True}, "access_log": fmt})
    stream = io.StringIO()
    app.extensions["mock.faults"].access_log.stream = stream
    client = app.test_client()
    for path in paths:
        assert client.get(path, headers=JELOU).status_code == 404
    text = stream.getvalue()
    assert text.endswith("\n") and not RAW.search(text[:-1].replace("\n", "")), repr(text)
    lines = text.splitlines()
    assert len(lines) == len(paths), lines      # one line per request, none injected
    return lines


def test_text_lines_escape_control_characters_in_the_path():
    lines = logged("text", PATHS)
    columns = [line.split(" ") for line in lines]
    assert all(len(parts) == 8 and parts[1:3] == ["default", "GET"] and parts[4] == "404" for parts in columns), lines
    assert [parts[3] for parts in columns] == [
        "/v1/campaigns/x\\x0a" + FAKE_LINE.replace(" ", "\\x20"),
        "/v1/campaigns/\\x1b[31mred\\x1b[0m\\x0d\\x08",
        "/v1/campaigns/a\\u2028b\\u2029c",
        "/v1/campaigns/c1\\x85\\x9b31m\\x7f\\x00",
        "/v1/campaigns/\\u202eevil\\x5cx0a",       # the backslash is escaped too: no escape can be faked
        "/v1/campaigns/\ufffd\ufffd",
    ]


def test_json_lines_stay_valid_json_with_the_exact_path():
    lines = logged("json", PATHS)
    assert [json.loads(line)["path"] for line in lines] == list(PATHS.values())


@pytest.mark.parametrize("value, shown", [
    ("plain-ID_1.csv", "plain-ID_1.csv"), ("ñandú", "ñandú"), ("a b", "a\\x20b"), ("\t\x1c\x1d\x1e\x0b\x0c", "\\x09\\x1c\\x1d\\x1e\\x0b\\x0c"),
    ("\u200f\u2066\u2069", "\\u200f\\u2066\\u2069"), (None, "None"), (404, "404"),
])
def test_escape_is_the_one_rule_for_every_text_value(value, shown):
    from mock_server.faults.accesslog import escape

    assert escape(value) == shown
