"""POST /v2/chat/application/{id}/message/csv: auth, envelope and every 400 rule (CONTRACT §5)."""

from __future__ import annotations

import io
import json

import pytest

from indigitall_helpers import (KEY, PREFIX, TEMPLATE_CSV, TEMPLATE_LAYOUT, TEXT_CSV, TEXT_LAYOUT,  # noqa: F401
                                app, app_config, assert_error, client, contacts, create, created, fields_named,
                                send)


def layout_with(**changes) -> str:
    tree = json.loads(TEXT_LAYOUT)
    for key, value in changes.items():
        if value is None:
            tree.pop(key, None)
        else:
            tree[key] = value
    return json.dumps(tree)


# -- auth ------------------------------------------------------------------------------------
@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": ""},
    {"Authorization": "ServerKey"},
    {"Authorization": "Bearer demo-server-key"},
    {"Authorization": "demo-server-key"},
    {"Authorization": "ServerKey wrong-key"},
    {"Authorization": "ServerKey demo-server-key-and-more"},
])
def test_missing_malformed_or_unknown_key_is_401(client, headers):
    response = send(client, headers=headers)
    assert response.status_code == 401
    assert response.json == {"statusCode": 401, "message": "Access token is not valid",
                             "errorCode": "INVALID_ACCESS_TOKEN"}


def test_key_without_access_to_the_application_is_403(client):
    body = assert_error(send(client, application=300), 403, "FORBIDDEN_APPLICATION")
    assert "300" in body["message"]


@pytest.mark.parametrize("application", ["999", "0", "abc", "100x", "-100"])
def test_unknown_application_is_404(client, application):
    body = assert_error(send(client, application=application), 404, "APPLICATION_NOT_FOUND")
    assert application in body["message"]


def test_auth_comes_before_the_application_and_the_body(client):
    assert send(client, application=999, headers={}).status_code == 401
    assert send(client, application=300, layout=None, csv=None).status_code == 403
    assert send(client, application=999, layout=None, csv=None).status_code == 404
    response = client.post(f"{PREFIX}/300/message/csv", data="not multipart", content_type="text/plain", headers=KEY)
    assert response.status_code == 403


@pytest.mark.parametrize("method,path", [
    ("get", "/task"), ("get", "/task/1"), ("delete", "/task/1"),
])
def test_task_endpoints_need_the_key_too(client, method, path):
    response = getattr(client, method)(f"{PREFIX}/100{path}")
    assert_error(response, 401, "INVALID_ACCESS_TOKEN")
    response = getattr(client, method)(f"{PREFIX}/300{path}", headers=KEY)
    assert_error(response, 403, "FORBIDDEN_APPLICATION")


# -- success ---------------------------------------------------------------------------------
def test_success_answers_201_with_the_task(client):
    data = create(client)
    assert data["taskId"] == 1
    assert data["applicationId"] == 100
    assert data["status"] == "scheduled"
    assert data["scheduledAt"] == "2026-01-05T10:00:00.000Z"
    assert data["slicingCondition"] == "fragmentedSlots"
    assert data["total"] == 3
    assert data["slots"] == [] and data["sliced"] is False
    assert data["messages"] == {"queued": 3, "sent": 0, "delivered": 0, "read": 0, "failed": 0, "canceled": 0}
    assert data["canceledReason"] is None
    assert create(client)["taskId"] == 2


def test_layout_may_come_as_a_file_part(client):
    response = client.post(f"{PREFIX}/100/message/csv", headers=KEY, content_type="multipart/form-data", data={
        "layout": (io.BytesIO(TEXT_LAYOUT.encode()), "layout.json"), "file": (io.BytesIO(TEXT_CSV), "c.csv")})
    assert created(response)["total"] == 3


def test_file_name_and_extension_do_not_matter(client):
    assert create(client, filename="contacts.txt")["total"] == 3


def test_empty_optional_fields_count_as_absent(client):
    data = create(client, scheduledAt="", delay=" ", slicingCondition="")
    assert data["slicingCondition"] == "fragmentedSlots"
    assert data["scheduledAt"] == "2026-01-05T10:00:00.000Z"


@pytest.mark.parametrize("condition", ["fragmentedSlots", "immediateConsecutiveSlots", "deferredConsecutiveSlots"])
def test_every_slicing_condition_is_accepted(client, condition):
    assert create(client, slicingCondition=condition)["slicingCondition"] == condition


# -- body shape ------------------------------------------------------------------------------
def test_a_body_that_is_not_multipart_is_400(client):
    response = client.post(f"{PREFIX}/100/message/csv", json={"layout": TEXT_LAYOUT}, headers=KEY)
    body = assert_error(response, 400, "BAD_REQUEST")
    assert "multipart/form-data" in body["message"]


def test_multipart_without_boundary_is_400(client):
    response = client.post(f"{PREFIX}/100/message/csv", data=b"x", headers={**KEY, "Content-Type": "multipart/form-data"})
    assert "boundary" in assert_error(response, 400, "BAD_REQUEST")["message"]


def test_body_over_the_size_cap_is_413_in_the_envelope(app_config):
    from mock_server import create_app
    small = create_app({"max_request_bytes": 1000}).test_client()
    response = send(small, contacts(200))
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


def test_wrong_method_and_unknown_route_use_the_envelope(client):
    body = assert_error(client.get(f"{PREFIX}/100/message/csv", headers=KEY), 405, "METHOD_NOT_ALLOWED")
    assert "POST" in body["message"]
    assert_error(client.get("/v2/chat/nowhere", headers=KEY), 404, "ROUTE_NOT_FOUND")


# -- required fields -------------------------------------------------------------------------
def test_missing_layout(client):
    body = assert_error(send(client, layout=None), 400, "VALIDATION_ERROR")
    assert body["errors"] == [{"field": "layout", "message": "request/body must have required property 'layout'"}]
    assert body["message"] == "request/body must have required property 'layout'"


def test_missing_file(client):
    body = assert_error(send(client, csv=None), 400, "VALIDATION_ERROR")
    assert body["errors"] == [{"field": "file", "message": "request/body must have required property 'file'"}]


def test_both_missing_are_listed_together(client):
    body = assert_error(send(client, csv=None, layout=None, delay="nope"), 400, "VALIDATION_ERROR")
    assert sorted(fields_named(body)) == ["delay", "file", "layout"]
    assert body["totalErrors"] == 3


def test_file_sent_as_text_is_400(client):
    response = client.post(f"{PREFIX}/100/message/csv", headers=KEY, content_type="multipart/form-data",
                           data={"layout": TEXT_LAYOUT, "file": TEXT_CSV.decode()})
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert fields_named(body) == ["file"] and "file part" in body["message"]


# -- layout ----------------------------------------------------------------------------------
@pytest.mark.parametrize("layout,words", [
    ('{"contactCode": "{{contactCode}}",', "not valid JSON"),
    ("", "required property 'layout'"),
    ("[1, 2]", "must be a JSON object, not an array"),
    ('"{{contactCode}}"', "must be a JSON object, not a string"),
    ("42", "must be a JSON object, not a number"),
    ("null", "must be a JSON object, not null"),
])
def test_layout_must_be_a_json_object(client, layout, words):
    body = assert_error(send(client, layout=layout), 400, "VALIDATION_ERROR")
    assert fields_named(body) == ["layout"]
    assert words in body["errors"][0]["message"]


@pytest.mark.parametrize("changes,words", [
    ({"contactCode": None}, "layout.contactCode is required"),
    ({"contactCode": 34666777888}, "layout.contactCode must be a string, not a number"),
    ({"contactCode": ""}, "contactCode is empty"),
    ({"channelType": None}, "layout.channelType is required"),
    ({"channelType": "sms"}, "channelType 'sms' is not allowed (allowed: cloud_api)"),
    ({"sendType": "reactive"}, "sendType 'reactive' is not allowed (allowed: proactive)"),
    ({"sendType": None}, "layout.sendType is required"),
    ({"content": None}, "layout.content is required"),
    ({"content": "Hi"}, "layout.content must be an object, not a string"),
    ({"content": {}}, 'exactly one of "body" or "template"'),
    ({"content": {"body": "Hi", "template": {"name": "new_ticket"}}}, "(it has both)"),
    ({"content": {"body": ""}}, "layout.content.body must not be empty"),
    ({"content": {"body": ["Hi"]}}, "layout.content.body must be a string, not an array"),
    ({"content": {"template": "new_ticket"}}, "layout.content.template must be an object"),
    ({"content": {"template": {"language": {"code": "es"}}}}, "layout.content.template.name is required"),
    ({"content": {"template": {"name": ""}}}, "layout.content.template.name must not be empty"),
])
def test_layout_fields_fixed_to_bad_values_are_400_on_layout(client, changes, words):
    body = assert_error(send(client, layout=layout_with(**changes)), 400, "VALIDATION_ERROR")
    assert fields_named(body) == ["layout"]
    assert words in body["message"], body


def test_every_missing_variable_is_listed(client):
    layout = layout_with(content={"body": "Hi {{name}}, your code is {{code}} ({{ plan }}) {{code}}"})
    body = assert_error(send(client, layout=layout), 400, "MISSING_VARIABLES")
    assert [entry["variable"] for entry in body["errors"]] == ["code", "plan"]
    assert all(entry["field"] == "layout" for entry in body["errors"])
    assert "code, plan" in body["message"] and "contactCode, channelType, name" in body["message"]


def test_variables_match_header_names_case_sensitively(client):
    body = assert_error(send(client, layout=layout_with(content={"body": "Hi {{Name}}"})), 400, "MISSING_VARIABLES")
    assert [entry["variable"] for entry in body["errors"]] == ["Name"]


# -- scheduledAt -----------------------------------------------------------------------------
@pytest.mark.parametrize("value,start", [
    ("2026-01-05T10:00:01Z", "2026-01-05T10:00:01.000Z"),
    ("2026-01-05T10:00:00.001Z", "2026-01-05T10:00:00.001Z"),
    ("2026-04-05T10:00:00Z", "2026-04-05T10:00:00.000Z"),          # exactly 3 calendar months
    ("2026-01-05T06:00:00-05:00", "2026-01-05T11:00:00.000Z"),     # offsets are honoured
    ("2026-01-06T00:30:00+14:00", "2026-01-05T10:30:00.000Z"),
])
def test_valid_scheduled_at(client, value, start):
    data = create(client, scheduledAt=value)
    assert data["scheduledAt"] == start and data["status"] == "scheduled"


@pytest.mark.parametrize("value,words", [
    ("2026-01-05T10:00:00Z", "must be after the current date-time"),          # now
    ("2026-01-05T09:59:59Z", "must be after the current date-time"),          # past
    ("2026-01-05T05:00:00-05:00", "must be after the current date-time"),     # now, with an offset
    ("2026-04-05T10:00:01Z", "must be at most 3 months ahead"),               # 3 months + 1 s
    ("2026-04-05T05:00:01-05:00", "must be at most 3 months ahead"),
    ("2027-01-01T00:00:00Z", "must be at most 3 months ahead"),
    ("tomorrow", "ISO 8601 date-time"),
    ("2026-01-06", "ISO 8601 date-time"),
    ("2026-01-06T25:00:00Z", "ISO 8601 date-time"),
    ("2026-01-06T10:00:00", "no time zone"),                                  # naive: rejected by default
])
def test_invalid_scheduled_at(client, value, words):
    body = assert_error(send(client, scheduledAt=value), 400, "VALIDATION_ERROR")
    assert fields_named(body) == ["scheduledAt"]
    assert words in body["message"], body["message"]


def test_scheduled_at_limit_is_calendar_months_and_a_setting():
    from mock_server import create_app
    app = create_app({"clock": {"start": "2026-01-31T10:00:00Z", "frozen": True},
                      "indigitall": {"max_schedule_months": 1}})
    client = app.test_client()
    assert created(send(client, scheduledAt="2026-02-28T10:00:00Z"))["status"] == "scheduled"   # Jan 31 + 1 month
    assert_error(send(client, scheduledAt="2026-02-28T10:00:01Z"), 400, "VALIDATION_ERROR")


def test_naive_scheduled_at_is_utc_when_set():
    from mock_server import create_app
    app = create_app({"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True},
                      "indigitall": {"naive_scheduled_at": "utc"}})
    assert created(send(app.test_client(), scheduledAt="2026-01-06T10:00:00"))["scheduledAt"] == "2026-01-06T10:00:00.000Z"


def test_schedule_at_is_an_alias(client):
    assert create(client, scheduleAt="2026-01-06T10:00:00Z")["scheduledAt"] == "2026-01-06T10:00:00.000Z"
    body = assert_error(send(client, scheduleAt="2026-01-05T09:00:00Z"), 400, "VALIDATION_ERROR")
    assert fields_named(body) == ["scheduleAt"] and body["message"].startswith("scheduleAt must be after")


def test_scheduled_at_and_its_alias_together_are_400(client):
    body = assert_error(send(client, scheduledAt="2026-01-06T10:00:00Z", scheduleAt="2026-01-06T10:00:00Z"),
                        400, "VALIDATION_ERROR")
    assert fields_named(body) == ["scheduleAt"]


# -- delay -----------------------------------------------------------------------------------
@pytest.mark.parametrize("delay,start", [
    ("PT0.25S", "2026-01-05T10:00:00.250Z"),
    ("PT20S", "2026-01-05T10:00:20.000Z"),
    ("PT15M", "2026-01-05T10:15:00.000Z"),
    ("PT30M50.5S", "2026-01-05T10:30:50.500Z"),
    ("PT4H", "2026-01-05T14:00:00.000Z"),
    ("P3D", "2026-01-08T10:00:00.000Z"),
    ("P2W", "2026-01-19T10:00:00.000Z"),
    ("P1M", "2026-02-05T10:00:00.000Z"),
    # combinations and fractions
    ("P1DT2H30M", "2026-01-06T12:30:00.000Z"),
    ("P1W2D", "2026-01-14T10:00:00.000Z"),
    ("P1M2DT3H4M5.5S", "2026-02-07T13:04:05.500Z"),
    ("PT1.5H", "2026-01-05T11:30:00.000Z"),
    ("P0.5D", "2026-01-05T22:00:00.000Z"),
    ("PT0,5S", "2026-01-05T10:00:00.500Z"),
    ("pt15m", "2026-01-05T10:15:00.000Z"),
    ("P3M", "2026-04-05T10:00:00.000Z"),        # exactly the limit
    ("PT2160H", "2026-04-05T10:00:00.000Z"),    # 90 days = the same instant
])
def test_delay_examples_and_combinations(client, delay, start):
    data = create(client, delay=delay)
    assert data["scheduledAt"] == start and data["status"] == "scheduled"


@pytest.mark.parametrize("delay,words", [
    ("PT0S", "greater than zero"),
    ("P0D", "greater than zero"),
    ("P3MT1S", "at most 3 months"),
    ("P13W1D", "at most 3 months"),
    ("P1Y", "at most 3 months"),
    ("P99999999Y", "at most 3 months"),
    ("PT", "not an ISO 8601 duration"),
    ("P", "not an ISO 8601 duration"),
    ("15M", "not an ISO 8601 duration"),
    ("PT-5S", "not an ISO 8601 duration"),
    ("1 hour", "not an ISO 8601 duration"),
    ("PT1.5H30M", "only the smallest component may have a fraction"),
])
def test_invalid_delay(client, delay, words):
    body = assert_error(send(client, delay=delay), 400, "VALIDATION_ERROR")
    assert fields_named(body) == ["delay"]
    assert words in body["message"], body["message"]


@pytest.mark.parametrize("name", ["scheduledAt", "scheduleAt"])
def test_delay_with_scheduled_at_is_400(client, name):
    body = assert_error(send(client, delay="PT1H", **{name: "2026-01-06T10:00:00Z"}), 400, "VALIDATION_ERROR")
    assert fields_named(body) == ["delay"]
    assert body["message"] == f"delay can not be used in conjunction with {name}"


# -- slicingCondition ------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["fragmented", "FRAGMENTEDSLOTS", "immediate", "1"])
def test_unknown_slicing_condition_is_400(client, value):
    body = assert_error(send(client, slicingCondition=value), 400, "VALIDATION_ERROR")
    assert body["errors"] == [{"field": "slicingCondition", "message": "slicingCondition should be equal to one of: "
                               "fragmentedSlots, immediateConsecutiveSlots, deferredConsecutiveSlots"}]


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
    from mock_server import create_app
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
    from mock_server import create_app
    client = create_app({"indigitall": {"contact_code_pattern": "[1-9][0-9]{7,14}"}}).test_client()
    body = assert_error(send(client, b"contactCode,channelType,name\n+34666777888,cloud_api,A\n"), 400, "INVALID_ROWS")
    assert "does not match the pattern" in body["errors"][0]["reason"]
    assert created(send(client))["total"] == 3


def test_allowed_channel_and_send_types_are_settings():
    from mock_server import create_app
    client = create_app({"indigitall": {"channel_types": ["cloud_api", "sms"], "send_types": ["proactive", "reactive"]}}
                        ).test_client()
    layout = layout_with(sendType="reactive")
    assert created(send(client, b"contactCode,channelType,name\n3466,sms,A\n", layout=layout))["total"] == 1
