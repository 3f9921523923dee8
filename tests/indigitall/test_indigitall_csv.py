"""The CSV of POST .../message/csv: file rules, and rows that do not render into a valid message."""

from __future__ import annotations

import json

import pytest

from support.indigitall import TEXT_CSV, assert_error, create, created, fields_named, layout_with, send
from mock_server import create_app


# -- CSV -------------------------------------------------------------------------------------
@pytest.mark.parametrize("csv,line,words", [
    (b"", None, "the file is empty"),
    (b"\n\n", None, "the file is empty"),
    (b"contactCode,channelType,name\n", None, "no data rows"),
    (b"contactCode,channelType,name,name\n34666777888,cloud_api,A,B\n", 1, "duplicate header name"),
    (b"contactCode,,channelType,name\n34666777888,x,cloud_api,A\n", 1, "header names must not be empty"),
    (b"contactCode,channelType,name\n34666777888,cloud_api\n", 2, "the row has 2 cells but the header has 3"),
    (b"contactCode,channelType,name\n34666777888,cloud_api,A,extra\n", 2, "4 cells"),
    (b"contactCode,channelType,name\n34666777888,cloud_api,Jos\xe9\n", 2, "must be UTF-8"),
    (b'contactCode,channelType,name\n34666777888,cloud_api,"open\n', 2, "not valid CSV"),
])
def test_csv_rules(client, csv, line, words):
    body = assert_error(send(client, csv), 400, "INVALID_CSV")
    assert fields_named(body) == ["file"] * len(body["errors"])
    assert body["errors"][0]["line"] == line
    assert words in body["errors"][0]["reason"] and words in body["message"]


def test_csv_problems_list_100_and_the_total(client):
    rows = [f"{34600000000 + i},cloud_api" for i in range(150)]
    body = assert_error(send(client, ("contactCode,channelType,name\n" + "\n".join(rows) + "\n").encode()),
                        400, "INVALID_CSV")
    assert len(body["errors"]) == 100 and body["totalErrors"] == 150
    assert [entry["line"] for entry in body["errors"][:3]] == [2, 3, 4]
    assert "and 149 more problems" in body["message"]


def test_too_many_rows():
    client = create_app({"indigitall": {"max_rows": 2}}).test_client()
    body = assert_error(send(client, TEXT_CSV), 400, "INVALID_CSV")
    assert "more than 2 data rows" in body["message"] and body["errors"][0]["line"] == 4


def test_bom_crlf_quotes_and_blank_lines_are_accepted(client):
    csv = (b'\xef\xbb\xbfcontactCode,channelType,name\r\n34666777888,cloud_api,"Smith, John"\r\n\r\n'
           b'34666555666,cloud_api,"Say ""hi"""\r\n')
    assert create(client, csv)["total"] == 2


def test_extra_columns_are_ignored(client):
    csv = b"id,contactCode,channelType,name,unused\n1,34666777888,cloud_api,John,x\n"
    assert create(client, csv)["total"] == 1


# -- rows that do not render into a valid message ---------------------------------------------
def test_row_errors_name_line_column_value_and_reason(client):
    csv = (b"contactCode,channelType,name\n34666777888,cloud_api,John\n,cloud_api,Nobody\n"
           b'34666555666,"multi\nline",Jane\n34666111222,sms,Alice\n')
    body = assert_error(send(client, csv), 400, "INVALID_ROWS")
    assert body["totalErrors"] == 3
    first, second, third = body["errors"]
    assert first == {"field": "file", "line": 3, "column": "contactCode", "value": "", "reason": "contactCode is empty",
                     "layoutPath": "contactCode", "message": "line 3: contactCode is empty"}
    assert second["line"] == 4 and second["column"] == "channelType" and second["value"] == "multi\nline"
    assert second["reason"] == "channelType 'multi\nline' is not allowed (allowed: cloud_api)"
    assert third["line"] == 6 and third["value"] == "sms"        # the quoted newline moved it one line down
    assert body["message"].startswith("Rows cannot be rendered into valid messages: line 3: contactCode is empty")


def test_row_errors_for_send_type_body_and_template_name(client):
    layout = json.dumps({"contactCode": "{{c}}", "channelType": "cloud_api", "sendType": "{{s}}",
                         "content": {"body": "{{b}}"}})
    body = assert_error(send(client, b"c,s,b\n3466,proactive,\n3467,bulk,Hi\n", layout=layout), 400, "INVALID_ROWS")
    assert [(e["line"], e["layoutPath"]) for e in body["errors"]] == [(2, "content.body"), (3, "sendType")]
    layout = json.dumps({"contactCode": "{{c}}", "channelType": "cloud_api", "sendType": "proactive",
                         "content": {"template": {"name": "{{t}}"}}})
    body = assert_error(send(client, b"c,t\n3466,\n", layout=layout), 400, "INVALID_ROWS")
    assert body["errors"][0]["reason"] == "content.template.name is empty"


def test_body_with_literal_text_is_never_empty(client):
    assert create(client, b"contactCode,channelType,name\n34666777888,cloud_api,\n")["total"] == 1


def test_row_errors_list_100_and_the_total(client):
    csv = ("contactCode,channelType,name\n" + "".join(f",cloud_api,N{i}\n" for i in range(250))).encode()
    body = assert_error(send(client, csv), 400, "INVALID_ROWS")
    assert len(body["errors"]) == 100 and body["totalErrors"] == 250
    assert body["errors"][-1]["line"] == 101
    assert "and 249 more" in body["message"]


def test_contact_code_pattern_setting():
    client = create_app({"indigitall": {"contact_code_pattern": "[1-9][0-9]{7,14}"}}).test_client()
    body = assert_error(send(client, b"contactCode,channelType,name\n+34666777888,cloud_api,A\n"), 400, "INVALID_ROWS")
    assert "does not match the pattern" in body["errors"][0]["reason"]
    assert created(send(client))["total"] == 3


def test_allowed_channel_and_send_types_are_settings():
    client = create_app({"indigitall": {"channel_types": ["cloud_api", "sms"], "send_types": ["proactive", "reactive"]}}
                        ).test_client()
    layout = layout_with(sendType="reactive")
    assert created(send(client, b"contactCode,channelType,name\n3466,sms,A\n", layout=layout))["total"] == 1
