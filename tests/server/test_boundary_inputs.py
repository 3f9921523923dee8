"""Regression tests for issue 8's input defects (items 1-5, 11, 12): each once answered 500 or misled.

Every answer here is a 4xx in the owning provider's envelope naming what is wrong (field, line,
column, setting), and nothing accepted breaks a later read.
"""

from __future__ import annotations

import csv
import json

import pytest
from werkzeug.test import encode_multipart

from support.jelou import JELOU, START, assert_422, order_csv, send_form
from support.indigitall import KEY, PREFIX, assert_error, contacts
from support.indigitall import send as send_indigitall
from mock_server import create_app
from mock_server.settings import SettingsError, build_settings

BIG = 5000 * "9"                     # over Python's 4,300-digit int conversion limit
DEEP = "[" * 10_000 + "]" * 10_000


def _jelou_csv_with(cell: str) -> bytes:
    return f"phone_number,order_id,amount,delivery\n593900000001,{cell},1,2\n593900000002,ok,1,2\n".encode()


def _indigitall_csv_with(cell: str) -> bytes:
    return f"contactCode,channelType,name\n34600000001,cloud_api,{cell}\n".encode()


def _entries(response, field):
    return [entry["en"] for entry in assert_422(response, field)]


# -- 1. long CSV cells --------------------------------------------------------------------------
def test_a_cell_over_the_limit_is_a_422_naming_line_and_column_and_reads_keep_working(client):
    response = send_form(client, _jelou_csv_with("x" * 131_073))
    entry = assert_422(response, "file")[0]
    assert (entry["line"], entry["column"]) == (2, "order_id")
    assert "131,073 characters" in entry["reason"] and "max_cell_chars" in entry["reason"]
    assert client.get("/_mock/messages").status_code == 200
    assert client.get("/v1/external/bots/demo-bot/notifications", headers=JELOU).status_code == 200


def test_indigitall_long_cell_is_400_naming_line_and_column(client):
    body = assert_error(send_indigitall(client, _indigitall_csv_with("y" * 140_000)), 400, "INVALID_CSV")
    assert (body["errors"][0]["line"], body["errors"][0]["column"]) == (2, "name")
    assert "140,000 characters" in body["message"]


@pytest.mark.parametrize("provider", ["jelou", "indigitall"])
def test_a_200k_header_cell_is_rejected_naming_line_1(client, provider):
    if provider == "jelou":
        csv_bytes = ("phone_number,order_id,amount,delivery," + "h" * 200_000 + "\n593900000001,1,2,3,4\n").encode()
        entry = assert_422(send_form(client, csv_bytes), "file")[0]
    else:
        csv_bytes = ("contactCode,channelType,name," + "h" * 200_000 + "\n34600000001,cloud_api,A,B\n").encode()
        entry = assert_error(send_indigitall(client, csv_bytes), 400, "INVALID_CSV")["errors"][0]
    assert (entry["line"], entry["column"]) == (1, "#5" if provider == "jelou" else "#4")
    assert "200,000 characters" in entry["reason"]


def test_a_cell_exactly_at_the_limit_is_accepted_and_read_back_whole(client):
    cell = "z" * 131_072
    response = send_form(client, _jelou_csv_with(cell))
    assert response.status_code == 200, response.json
    client.post("/_mock/clock", json={"advance": "PT1H"})
    messages = client.get(f"/_mock/messages?campaign={response.headers['X-Mock-Campaign-Id']}").json["messages"]
    assert messages[0]["content"]["parameters"]["1"] == cell


def test_a_smaller_limit_is_enforced_by_the_mock_itself():
    client = create_app({"clock": {"start": START, "frozen": True}, "jelou": {"max_cell_chars": 12},
                         "indigitall": {"max_cell_chars": 12}}).test_client()
    entry = assert_422(send_form(client, _jelou_csv_with("1234567890123")), "file")[0]
    assert (entry["line"], entry["column"]) == (2, "order_id") and "at most 12 " in entry["reason"]
    assert send_form(client, _jelou_csv_with("123456789012")).status_code == 200
    body = assert_error(send_indigitall(client, _indigitall_csv_with('"a,b,c,d,e,f,g"')), 400, "INVALID_CSV")
    assert body["errors"][0]["column"] == "name" and "13 characters" in body["errors"][0]["reason"]


def test_a_larger_limit_raises_the_csv_modules_limit_and_never_lowers_it():
    before = csv.field_size_limit()
    try:
        client = create_app({"clock": {"start": START, "frozen": True},
                             "indigitall": {"max_cell_chars": 300_000}}).test_client()
        response = send_indigitall(client, _indigitall_csv_with("w" * 250_000))
        assert response.status_code == 201, response.json
        client.post("/_mock/clock", json={"advance": "PT1H"})
        messages = client.get(f"/_mock/messages?campaign={response.json['data']['taskId']}").json["messages"]
        assert messages[0]["content"]["content"]["body"] == f"Hi there {'w' * 250_000}!"
        assert csv.field_size_limit() == max(before, 300_000)
        create_app({"indigitall": {"max_cell_chars": 5}}).test_client()
        assert csv.field_size_limit() == max(before, 300_000)
    finally:
        csv.field_size_limit(before)


@pytest.mark.parametrize("value", [0, -1, "big", 2**31, True])
def test_max_cell_chars_must_be_a_sane_integer(value):
    with pytest.raises(SettingsError, match="jelou.max_cell_chars"):
        build_settings({"jelou": {"max_cell_chars": value}})


# -- 2 and 12. JSON-string fields: deep nesting, huge numbers, NaN ---------------------------------
@pytest.mark.parametrize("field", ["params", "actions", "buttonPayloads"])
def test_json_string_fields_nested_10000_deep_are_422_naming_the_field(client, field):
    entries = _entries(send_form(client, **{field: DEEP}), field)
    assert f"{field} is not valid JSON: it is nested too deeply." in entries


@pytest.mark.parametrize("field,value,where", [
    ("params", f'[{{"param": {BIG}, "column": "order_id"}}]', "params[0].param"),
    ("actions", f'{{"a": [1, {BIG}]}}', "actions.a[1]"),
    ("buttonPayloads", f'[{{"flowId": {BIG}, "action": "a"}}]', "buttonPayloads[0].flowId"),
    ("params", '[{"param": 1e400, "column": "order_id"}]', "params[0].param"),
    ("actions", '{"x": NaN}', "actions.x"),
])
def test_numbers_the_mock_cannot_hold_are_422_naming_where(client, field, value, where):
    entries = _entries(send_form(client, **{field: value}), field)
    assert any(entry.startswith(f"{where}: ") for entry in entries), entries


def test_json_nested_more_than_64_levels_is_refused(client):
    entries = _entries(send_form(client, actions='{"a":' * 65 + "1" + "}" * 65), "actions")
    assert "actions is nested more than 64 levels deep." in entries


def test_a_huge_number_in_a_jelou_json_body_is_400_naming_the_field(client):
    response = client.post("/v1/hsm/file", data=f'{{"campaignName": {BIG}}}', headers=JELOU,
                           content_type="application/json")
    assert response.status_code == 400
    assert response.json == {"message": ["campaignName: the number has 5,000 digits; the mock reads whole numbers "
                                         "of up to 4,300 digits."], "status": "failed"}


def test_a_huge_number_in_put_campaign_json_is_400(client):
    campaign_id = send_form(client, scheduledAt="2026-01-06T00:00:00Z").headers["X-Mock-Campaign-Id"]
    response = client.put(f"/v1/campaigns/{campaign_id}", data=f'{{"status": -{BIG}}}', headers=JELOU,
                          content_type="application/json")
    assert response.status_code == 400 and response.json["message"][0].startswith("status: the number has 5,000 digits")


def test_a_huge_number_in_the_indigitall_layout_is_400_naming_layout(client):
    layout = json.dumps({"contactCode": "{{contactCode}}", "channelType": "{{channelType}}", "sendType": "proactive",
                         "content": {"body": "x"}})[:-1] + f', "n": {BIG}}}'
    body = assert_error(send_indigitall(client, contacts(1), layout=layout), 400, "VALIDATION_ERROR")
    assert body["errors"] == [{"field": "layout", "message": "layout.n: the number has 5,000 digits; "
                                                              "the mock reads whole numbers of up to 4,300 digits"}]


@pytest.mark.parametrize("body,words", [
    (f'{{"now": {BIG}}}', "now: the number has 5,000 digits"),
    (f'{{"advance": {BIG}}}', "advance: the number has 5,000 digits"),
    ('{"frozen": NaN}', "frozen: NaN is not a JSON value"),
    ('{"now": 1e999}', "now: the number 1e999 is too large"),
])
def test_huge_numbers_in_the_clock_body_are_400(client, body, words):
    response = client.post("/_mock/clock", data=body, content_type="application/json")
    assert response.status_code == 400 and response.json["error"]["message"].startswith(words)


def test_a_huge_number_where_only_text_is_read_is_still_text(client):
    """In a query string a long run of digits is only text: it is read as such, never converted."""
    response = client.get(f"/v1/campaigns?botId=demo-bot&startAt=2026-01-01&endAt=2026-01-31&page={BIG}",
                          headers=JELOU)
    assert response.status_code == 422 and "page" in response.json["validationError"]
    response = client.get(f"/_mock/messages?limit={BIG}")
    assert response.status_code == 400 and "'limit'" in response.json["error"]["message"]
    response = client.get(f"{PREFIX}/100/task/{BIG}", headers=KEY)
    assert response.status_code == 404


# -- 3. non-ASCII digits -------------------------------------------------------------------------------
@pytest.mark.parametrize("flow_id", ["²", "١٢", "１", "12 3", "", 2**53, -1, "9" * 17, 1.5, True])
def test_flow_ids_that_are_not_plain_digits_in_range_are_422(client, flow_id):
    payloads = json.dumps([{"flowId": flow_id, "action": "a"}])
    entries = _entries(send_form(client, elementName="survey_quick_reply", buttonPayloads=payloads), "buttonPayloads")
    assert any("flowId must be" in entry for entry in entries), entries


@pytest.mark.parametrize("flow_id", ["12", " 7 ", 0, 2**53 - 1])
def test_plain_flow_ids_are_accepted(client, flow_id):
    payloads = json.dumps([{"flowId": flow_id, "action": "a"}])
    response = send_form(client, elementName="survey_quick_reply", buttonPayloads=payloads,
                         params=[{"param": 1, "column": "order_id"}])
    assert response.status_code == 200, response.json


def test_a_notification_id_with_non_ascii_digits_is_404(client):
    campaign_id = send_form(client).headers["X-Mock-Campaign-Id"]
    client.post("/_mock/clock", json={"advance": "PT1H"})
    for number in ("²", "١", "9" * 5000):
        response = client.get(f"/v1/external/bots/demo-bot/notifications/{campaign_id}-{number}", headers=JELOU)
        assert response.status_code == 404 and response.json["status"] == "failed"
    assert client.get(f"/v1/external/bots/demo-bot/notifications/{campaign_id}-1", headers=JELOU).status_code == 200


# -- 4. non-ASCII credentials ----------------------------------------------------------------------------
JELOU_ENDPOINTS = [("post", "/v1/hsm/file"), ("get", "/v1/campaigns"), ("get", "/v1/campaigns/x"),
                   ("put", "/v1/campaigns/x"), ("get", "/v1/bots/demo-bot/notifications"),
                   ("get", "/v1/external/bots/demo-bot/notifications"), ("get", "/v1/bots/demo-bot/notifications/x-1"),
                   ("get", "/v1/external/bots/demo-bot/notifications/x-1")]


@pytest.mark.parametrize("method,path", JELOU_ENDPOINTS)
@pytest.mark.parametrize("token", ["ñandú", "Zm9v\u00ff", "\u00e9:\u00e9"])
def test_non_ascii_basic_credentials_are_401_everywhere(client, method, path, token):
    response = getattr(client, method)(path, headers={"Authorization": f"Basic {token}"})
    assert response.status_code == 401
    assert response.json == {"message": ["Authentication failed"], "status": "failed"}
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Jelou"'


@pytest.mark.parametrize("path", ["/100/task", "/100/task/1", "/100/message/csv"])
def test_non_ascii_server_keys_are_401(client, path):
    method = client.post if path.endswith("csv") else client.get
    response = method(f"{PREFIX}{path}", headers={"Authorization": "ServerKey cl\u00e9-\u00ff"})
    assert_error(response, 401, "INVALID_ACCESS_TOKEN")


# -- 5. unreadable fileUrl -------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["http://[::1/x.csv", "http://[zz::1]/x.csv", "https://]/x.csv"])
def test_an_unparseable_file_url_is_422_naming_file_url(client, url):
    response = client.post("/v1/hsm/file", headers=JELOU, json={
        "campaignName": "c", "elementName": "order_confirmation", "botId": "demo-bot",
        "params": [{"param": 1, "column": "order_id"}, {"param": 2, "column": "amount"},
                   {"param": 3, "column": "delivery"}], "fileUrl": url})
    entries = _entries(response, "fileUrl")
    assert entries[0].startswith("fileUrl: the URL cannot be read")


# -- 11. form limits named ------------------------------------------------------------------------------------
@pytest.fixture
def small_forms():
    return create_app({"clock": {"start": START, "frozen": True}, "max_form_parts": 20,
                       "max_form_field_bytes": 70_000}).test_client()


def _form_post(client, path, form, headers):
    boundary, body = encode_multipart(form)
    return client.post(path, data=body, headers=headers, content_type=f"multipart/form-data; boundary={boundary}")


def test_too_many_parts_is_400_naming_max_form_parts(small_forms):
    form = {f"extra{i}": "x" for i in range(25)}
    response = _form_post(small_forms, "/v1/hsm/file", form, JELOU)
    assert response.status_code == 400
    assert response.json == {"message": ["The multipart/form-data body has more than 20 parts (setting max_form_parts)."],
                             "status": "failed"}
    body = assert_error(_form_post(small_forms, f"{PREFIX}/100/message/csv", form, KEY), 400, "BAD_REQUEST")
    assert "max_form_parts" in body["message"]


def test_a_large_text_field_is_400_naming_max_form_field_bytes(small_forms):
    response = _form_post(small_forms, "/v1/hsm/file", {"campaignName": "x" * 80_000}, JELOU)
    assert response.status_code == 400
    assert "'campaignName' is larger than 70,000 bytes (setting max_form_field_bytes)" in response.json["message"][0]
    body = assert_error(_form_post(small_forms, f"{PREFIX}/100/message/csv", {"layout": "y" * 80_000}, KEY),
                        400, "BAD_REQUEST")
    assert "max_form_field_bytes" in body["message"]


def test_the_issues_cases_at_the_default_limits(client):
    response = _form_post(client, "/v1/hsm/file", {f"field{i}": "x" for i in range(1001)}, JELOU)
    assert response.status_code == 400 and "more than 1,000 parts (setting max_form_parts)" in response.json["message"][0]
    response = _form_post(client, "/v1/hsm/file", {"campaignName": "x" * (17 * 1024 * 1024)}, JELOU)
    assert response.status_code == 400
    assert "larger than 16,777,216 bytes (setting max_form_field_bytes)" in response.json["message"][0]


def test_a_large_file_part_is_not_bound_by_the_text_field_limit(small_forms):
    content = order_csv(5000)
    assert len(content) > 150_000
    assert send_form(small_forms, content).status_code == 200


def test_a_body_over_max_request_bytes_still_names_that_setting():
    client = create_app({"max_request_bytes": 1000}).test_client()
    response = _form_post(client, "/v1/hsm/file", {"campaignName": "x" * 1500}, JELOU)
    assert response.status_code == 413 and "max_request_bytes" in response.json["message"][0]


@pytest.mark.parametrize("name", ["max_form_parts", "max_form_field_bytes", "max_request_bytes"])
@pytest.mark.parametrize("value", [0, -5, "10", None, True])
def test_form_limits_must_be_positive_integers(name, value):
    with pytest.raises(SettingsError, match=name):
        build_settings({name: value})


def test_the_text_field_limit_is_at_least_the_parsers_read_size():
    with pytest.raises(SettingsError, match="max_form_field_bytes must be at least 65,536"):
        build_settings({"max_form_field_bytes": 65_535})


def test_non_ascii_digits_in_harness_inputs_are_refused_not_crashed():
    from harness.fakes import _compile
    from loadtests.run import seconds
    with pytest.raises(ValueError, match="bad phone pattern"):
        _compile("²12N###")
    with pytest.raises(ValueError, match="cannot read duration"):
        seconds("²")
    assert seconds("30") == 30 and _compile("1212N######") == ("1212", 7, 2_000_000)
