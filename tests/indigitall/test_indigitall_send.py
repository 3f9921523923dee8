"""POST /v2/chat/application/{id}/message/csv: auth, envelope, body shape and layout rules (CONTRACT §5)."""

from __future__ import annotations

import io

import pytest
from werkzeug.datastructures import FileStorage, MultiDict

from support.indigitall import (KEY, PREFIX, TEXT_CSV, TEXT_LAYOUT, assert_error, contacts, create, created,
                                 fields_named, layout_with, multipart, send)

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
    ('{"contactCode": NaN}', "NaN is not a JSON value"),
    ('{"a":' * 70 + "1" + "}" * 70, "nested more than 64 levels deep"),
    ("[" * 100000, "nested too deeply"),
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
    ({"content": "{{name}}"}, "layout.content must be an object, not a string"),
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


def test_layout_file_part_must_be_utf8(client):
    response = client.post(f"{PREFIX}/100/message/csv", headers=KEY, content_type="multipart/form-data", data={
        "layout": (io.BytesIO(b'{"a": "\xe9"}'), "layout.json"), "file": (io.BytesIO(TEXT_CSV), "c.csv")})
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert fields_named(body) == ["layout"] and "UTF-8" in body["message"]


# -- the path prefix is a setting -------------------------------------------------------------
def test_path_prefix_setting_moves_every_route_and_the_envelope():
    from mock_server import create_app
    client = create_app({"indigitall": {"path_prefix": "/api/v9"}}).test_client()
    response = client.post("/api/v9/chat/application/100/message/csv", headers=KEY, content_type="multipart/form-data",
                           data={"layout": TEXT_LAYOUT, "file": (io.BytesIO(TEXT_CSV), "c.csv")})
    task_id = created(response)["taskId"]
    assert client.get(f"/api/v9/chat/application/100/task/{task_id}", headers=KEY).status_code == 200
    assert_error(client.get("/api/v9/chat/nowhere"), 404, "ROUTE_NOT_FOUND")
    assert client.post(f"{PREFIX}/100/message/csv", headers=KEY).status_code == 404


def test_a_v1_prefix_still_answers_in_indigitall_envelope_under_chat():
    from mock_server import create_app
    client = create_app({"indigitall": {"path_prefix": "/v1"}}).test_client()
    assert_error(client.get("/v1/chat/nowhere"), 404, "ROUTE_NOT_FOUND")
    assert client.get("/v1/nowhere").json["status"] == "failed"          # Jelou's envelope elsewhere under /v1


def test_unreadable_multipart_is_400(client):
    response = client.post(f"{PREFIX}/100/message/csv", data=b"garbage", headers=KEY,
                           content_type="multipart/form-data; boundary=x")
    body = assert_error(response, 400, "BAD_REQUEST")
    assert "no parts were found" in body["message"]


def test_two_file_parts_are_400(client):
    data = MultiDict([("layout", TEXT_LAYOUT),
                      ("file", FileStorage(io.BytesIO(TEXT_CSV), filename="a.csv")),
                      ("file", FileStorage(io.BytesIO(TEXT_CSV), filename="b.csv"))])
    body, content_type = multipart(data)
    response = client.post(f"{PREFIX}/100/message/csv", data=body, headers=KEY, content_type=content_type)
    details = assert_error(response, 400, "VALIDATION_ERROR")
    assert {"field": "file", "message": "file was sent more than once; send it once"} in details["errors"]
