"""POST /v1/hsm/file: auth, bodies, every field rule and every CSV rule (CONTRACT §4)."""

from __future__ import annotations

import io
import json

import pytest

from support.jelou import JELOU, ORDER_PARAMS, basic, campaign, order_csv, send_form, assert_422


# -- auth ------------------------------------------------------------------------------------
@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer abc"},
    {"Authorization": "Basic !!!notbase64"},
    {"Authorization": "Basic ZGVtby1jbGllbnQtaWQ="},  # no colon
    basic("demo-client-id", "wrong-secret"),
    basic("someone-else", "demo-client-secret"),
])
def test_bad_credentials_get_401_with_challenge(client, headers):
    response = send_form(client, headers=headers)
    assert response.status_code == 401
    assert response.json == {"message": ["Authentication failed"], "status": "failed"}
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Jelou"'


def test_auth_is_checked_before_the_body(client):
    response = client.post("/v1/hsm/file", data="not json", content_type="application/json")
    assert response.status_code == 401


# -- success ---------------------------------------------------------------------------------
def test_multipart_upload_creates_a_campaign(client):
    response = send_form(client, order_csv(3))
    assert response.status_code == 200
    assert response.json["status"] == "success"
    assert isinstance(response.json["message"], list) and response.json["message"][0]
    campaign_id = response.headers["X-Mock-Campaign-Id"]
    data = campaign(client, campaign_id)
    assert data["id"] == campaign_id
    assert data["name"] == "promo"
    assert data["elementName"] == "order_confirmation"
    assert data["botId"] == "demo-bot"
    assert data["totalMessages"] == 3
    assert data["status"] == "PENDING"
    assert data["fileName"] == "recipients.csv"


def test_multipart_fields_may_be_real_json_strings_or_absent_optionals(client):
    response = send_form(client, actions={"setStoreParams": {"orderId": "{order_id}"}}, scheduledAt=None)
    assert response.status_code == 200


def test_extra_dashboard_fields_are_ignored(client):
    response = send_form(client, companyId="1", language="es", dynamicUrlParameter="[]")
    assert response.status_code == 200


def test_uppercase_extension_and_bom_are_accepted(client):
    response = send_form(client, b"\xef\xbb\xbf" + order_csv(2), filename="LIST.CSV")
    assert response.status_code == 200
    assert campaign(client, response.headers["X-Mock-Campaign-Id"])["totalMessages"] == 2


def test_template_without_params_takes_an_empty_array(client):
    response = send_form(client, b"phone\n593991111111\n", elementName="welcome_message", params=[])
    assert response.status_code == 200


def test_image_template_with_media_url(client):
    csv = b"phone,first_name\n593991111111,Ana\n"
    response = send_form(client, csv, elementName="promo_image", type="image",
                         params=[{"param": 1, "column": "first_name"}], mediaUrl="https://cdn.example.com/a.jpg")
    assert response.status_code == 200
    data = campaign(client, response.headers["X-Mock-Campaign-Id"])
    assert data["type"] == "image"


def test_quick_reply_template_with_button_payloads(client):
    csv = b"phone,first_name\n593991111111,Ana\n"
    response = send_form(client, csv, elementName="survey_quick_reply", params=[{"param": 1, "column": "first_name"}],
                         buttonPayloads=[{"flowId": 23838, "action": "Good"}, {"flowId": "24278", "action": "Bad"}])
    assert response.status_code == 200


# -- bodies (400) ----------------------------------------------------------------------------
def test_invalid_json_is_400_with_position(client):
    response = client.post("/v1/hsm/file", data='{"campaignName": ', headers=JELOU, content_type="application/json")
    assert response.status_code == 400
    assert response.json["status"] == "failed"
    assert "not valid JSON" in response.json["message"][0] and "line 1" in response.json["message"][0]


def test_json_that_is_not_an_object_is_400(client):
    response = client.post("/v1/hsm/file", json=[1, 2], headers=JELOU)
    assert response.status_code == 400
    assert response.json["message"] == ["The JSON body must be an object with the campaign fields."]


def test_other_content_types_are_400(client):
    response = client.post("/v1/hsm/file", data="a=b", headers=JELOU, content_type="text/plain")
    assert response.status_code == 400
    assert "Unsupported Content-Type 'text/plain'" in response.json["message"][0]


def test_multipart_without_boundary_is_400(client):
    response = client.post("/v1/hsm/file", data=b"--x\r\n", headers=JELOU, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "boundary" in response.json["message"][0]


def test_body_over_the_limit_is_413_in_jelou_envelope(app_config, app, client):
    app.config["MAX_CONTENT_LENGTH"] = 2000
    response = send_form(client, order_csv(200))
    assert response.status_code == 413
    assert response.json["status"] == "failed"
    assert "larger than the mock accepts" in response.json["message"][0]


# -- fields (422) ----------------------------------------------------------------------------
def test_missing_required_fields_are_all_named(client):
    response = client.post("/v1/hsm/file", json={"fileUrl": "http://127.0.0.1:9/x.csv"}, headers=JELOU)
    body = response.json
    assert response.status_code == 422
    for field in ("campaignName", "elementName", "botId", "params"):
        assert body["validationError"][field][0]["en"] == "Missing data for required field."
        assert body["validationError"][field][0]["es"] == "Campo requerido."


@pytest.mark.parametrize("field", ["campaignName", "elementName", "botId"])
def test_empty_strings_are_rejected(client, field):
    entries = assert_422(send_form(client, **{field: ""}), field)
    assert "Shorter than minimum length" in entries[0]["en"]


@pytest.mark.parametrize("params, needle", [
    ("not json", "not valid JSON"),
    ({"param": 1}, "params must be an array"),
    ([{"param": "one", "column": "order_id"}], "param must be an integer"),
    ([{"param": 0, "column": "order_id"}], "greater than or equal to 1"),
    ([{"param": 1}], "column"),
    ([{"param": 1, "column": "order_id"}, {"param": 1, "column": "amount"}, {"param": 3, "column": "delivery"}], "unique"),
    ([{"param": 1, "column": "order_id"}], "has 3 parameter(s)"),
    ([{"param": 1, "column": "order_id"}, {"param": 2, "column": "amount"}, {"param": 5, "column": "delivery"}], "send params 1 to 3"),
])
def test_params_rules(client, params, needle):
    entries = assert_422(send_form(client, params=params), "params")
    assert any(needle in entry["en"] for entry in entries), entries


def test_params_column_must_be_in_the_header(client):
    params = [{"param": 1, "column": "order_id"}, {"param": 2, "column": "total"}, {"param": 3, "column": "delivery"}]
    entries = assert_422(send_form(client, params=params), "params")
    assert "total" in entries[0]["en"] and "phone_number, order_id, amount, delivery" in entries[0]["en"]


def test_type_must_be_known(client):
    entries = assert_422(send_form(client, type="sticker"), "type")
    assert "Must be one of" in entries[0]["en"]


def test_media_template_needs_media_url(client):
    csv = b"phone,first_name\n593991111111,Ana\n"
    entries = assert_422(send_form(client, csv, elementName="promo_image", params=[{"param": 1, "column": "first_name"}]), "mediaUrl")
    assert entries[0]["en"] == "mediaUrl is required for image templates."


def test_media_type_on_text_template_needs_media_url(client):
    entries = assert_422(send_form(client, type="video"), "mediaUrl")
    assert "video" in entries[0]["en"]


def test_media_url_must_be_http(client):
    entries = assert_422(send_form(client, type="image", mediaUrl="ftp://x/y.jpg"), "mediaUrl")
    assert "http or https" in entries[0]["en"]


def test_quick_reply_template_requires_button_payloads(client):
    csv = b"phone,first_name\n593991111111,Ana\n"
    entries = assert_422(send_form(client, csv, elementName="survey_quick_reply",
                                   params=[{"param": 1, "column": "first_name"}]), "buttonPayloads")
    assert "quick-reply" in entries[0]["en"]


@pytest.mark.parametrize("payloads, needle", [
    ([{"flowId": 1, "action": "a"}] * 4, "At most 3"),
    ([{"flowId": "abc", "action": "a"}], "flowId must be an integer"),
    ([{"flowId": 1}], "action"),
])
def test_button_payload_rules(client, payloads, needle):
    entries = assert_422(send_form(client, buttonPayloads=payloads), "buttonPayloads")
    assert any(needle in entry["en"] for entry in entries), entries


def test_actions_must_be_an_object(client):
    entries = assert_422(send_form(client, actions=[1, 2]), "actions")
    assert "JSON object" in entries[0]["en"]


def test_unparseable_scheduled_at(client):
    entries = assert_422(send_form(client, scheduledAt="next tuesday"), "scheduledAt")
    assert "ISO 8601" in entries[0]["en"]


def test_file_or_file_url_exactly_one(client):
    entries = assert_422(send_form(client, csv=False), "file")
    assert "multipart part 'file'" in entries[0]["en"]
    entries = assert_422(send_form(client, fileUrl="http://127.0.0.1:9/a.csv"), "file")
    assert entries[0]["en"] == "Send either 'file' or 'fileUrl', not both."


def test_file_sent_as_text_field(client):
    response = client.post("/v1/hsm/file", headers=JELOU, content_type="multipart/form-data", data={
        "campaignName": "c", "elementName": "welcome_message", "botId": "demo-bot", "params": "[]", "file": "phone\n5939\n"})
    entries = assert_422(response, "file")
    assert "file part" in entries[0]["en"]


def test_unknown_template(client):
    entries = assert_422(send_form(client, elementName="nope"), "elementName")
    assert entries[0]["en"] == "The template 'nope' does not exist on bot demo-bot."


def test_not_approved_template(client):
    entries = assert_422(send_form(client, b"phone,x\n593991111111,a\n", elementName="draft_template",
                                   params=[{"param": 1, "column": "x"}]), "elementName")
    assert "PENDING" in entries[0]["en"]


# -- bots (404 / 403) ------------------------------------------------------------------------
def test_unknown_bot_is_404(client):
    response = send_form(client, botId="ghost-bot")
    assert response.status_code == 404
    assert response.json == {"message": ["Bot not found"], "status": "failed", "error": {"code": "bot_not_found"}}


def test_bot_of_another_company_is_403(client):
    response = send_form(client, botId="foreign-bot")
    assert response.status_code == 403
    assert response.json["error"] == {"code": "forbidden_bot"}
    assert response.json["status"] == "failed"


# -- CSV rules (422 on file, naming line/column/value) ---------------------------------------
def file_entries(response) -> list[dict]:
    return assert_422(response, "file")


def test_wrong_extension(client):
    entries = file_entries(send_form(client, filename="recipients.txt"))
    assert "Only files with the .csv extension" in entries[0]["en"] and "recipients.txt" in entries[0]["en"]


@pytest.mark.parametrize("header, bad", [
    ("phone number,order_id,amount,delivery", "phone number"),
    ("phone_number,customer-name!,amount,delivery", "customer-name!"),
    ("phone_number,order#amount,amount,delivery", "order#amount"),
])
def test_header_names_letters_digits_underscore(client, header, bad):
    csv = f"{header}\n593991111111,a,b,c\n".encode()
    entries = file_entries(send_form(client, csv))
    assert entries[0]["line"] == 1 and entries[0]["value"] == bad
    assert "letters, numbers and underscores" in entries[0]["reason"]


def test_duplicate_header(client):
    entries = file_entries(send_form(client, b"phone,order_id,order_id,delivery\n593991111111,a,b,c\n"))
    assert entries[0]["value"] == "order_id" and "duplicate" in entries[0]["reason"]


@pytest.mark.parametrize("phone", ["+593991234567", "5939912", "5939912345678901", "59399ABC4567", "0593991234567", ""])
def test_phone_rules_name_line_column_value(client, phone):
    csv = f"phone_number,order_id,amount,delivery\n593991111111,a,b,c\n{phone},a,b,c\n".encode()
    entries = file_entries(send_form(client, csv))
    assert entries[0]["line"] == 3
    assert entries[0]["column"] == "phone_number"
    assert entries[0]["value"] == phone
    assert "international code and no '+'" in entries[0]["reason"]
    assert "línea 3" in entries[0]["es"]


def test_ragged_row(client):
    csv = b"phone_number,order_id,amount,delivery\n593991111111,a,b\n"
    entries = file_entries(send_form(client, csv))
    assert entries[0]["line"] == 2 and "3 cells but the header has 4" in entries[0]["reason"]


def test_not_utf8(client):
    csv = "phone_number,order_id,amount,delivery\n593991111111,José,b,c\n".encode("latin-1")
    entries = file_entries(send_form(client, csv))
    assert entries[0]["line"] == 2 and "UTF-8" in entries[0]["reason"]


@pytest.mark.parametrize("csv, needle", [
    (b"", "empty"),
    (b"phone_number,order_id,amount,delivery\n", "no data rows"),
])
def test_empty_and_header_only(client, csv, needle):
    entries = file_entries(send_form(client, csv))
    assert needle in entries[0]["reason"]


def test_value_is_cut_to_50_characters(client):
    long_value = "9" * 80
    entries = file_entries(send_form(client, f"phone_number,order_id,amount,delivery\n{long_value},a,b,c\n".encode()))
    assert entries[0]["value"] == "9" * 50


def test_at_most_100_entries_plus_total(client):
    csv = order_csv(phones=["+1"] * 150)
    response = send_form(client, csv)
    entries = file_entries(response)
    assert len(entries) == 100
    assert response.json["validationErrorCount"] == {"file": 150}
    assert [entry["line"] for entry in entries[:3]] == [2, 3, 4]


@pytest.mark.parametrize("app_config", [{"jelou": {"max_rows": 5}}])
def test_max_rows(client):
    entries = file_entries(send_form(client, order_csv(6)))
    assert "more than 5 data rows" in entries[0]["reason"]
    assert send_form(client, order_csv(5)).status_code == 200


@pytest.mark.parametrize("app_config", [{"jelou": {"invalid_rows": "skip"}}])
def test_invalid_rows_skip_accepts_and_fails_them(client):
    csv = order_csv(phones=["593991111111", "+593992222222", "593993333333"])
    response = send_form(client, csv)
    assert response.status_code == 200
    campaign_id = response.headers["X-Mock-Campaign-Id"]
    client.post("/_mock/clock", json={"advance": "PT1M"})
    data = campaign(client, campaign_id)
    assert data["totalMessages"] == 3 and data["failedMessages"] == 1 and data["deliveredMessages"] == 2
    failed = client.get(f"/v1/external/bots/demo-bot/notifications?campaignId={campaign_id}&status=FAILED", headers=JELOU).json
    assert failed["results"][0]["destination"] == "+593992222222"
    assert "line 3" in failed["results"][0]["error"]["message"]


def test_json_strings_in_json_bodies_are_parsed_too(client):
    body = {"campaignName": "c", "elementName": "order_confirmation", "botId": "demo-bot",
            "params": json.dumps(ORDER_PARAMS), "fileUrl": "ftp://example.com/a.csv"}
    response = client.post("/v1/hsm/file", json=body, headers=JELOU)
    entries = assert_422(response, "fileUrl")
    assert "only http and https" in entries[0]["en"]
    assert "params" not in response.json["validationError"]


def test_quoted_cells_with_commas_and_newlines_are_kept(client):
    csv = b'phone_number,order_id,amount,delivery\n593991111111,"A,1","$1,000.00","line1\nline2"\n'
    response = send_form(client, csv)
    assert response.status_code == 200
    client.post("/_mock/clock", json={"advance": "PT10S"})
    message = client.get("/_mock/messages").json["messages"][0]
    assert message["content"]["parameters"] == {"1": "A,1", "2": "$1,000.00", "3": "line1\nline2"}


def test_upload_file_name_comes_from_the_part(client):
    response = client.post("/v1/hsm/file", headers=JELOU, content_type="multipart/form-data", data={
        "campaignName": "c", "elementName": "welcome_message", "botId": "demo-bot", "params": "[]",
        "file": (io.BytesIO(b"phone\n593991111111\n"), "Clientes Diciembre.csv")})
    assert response.status_code == 200
    assert campaign(client, response.headers["X-Mock-Campaign-Id"])["fileName"] == "Clientes Diciembre.csv"


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_out_of_range_scheduled_at_is_422_not_500(client, value):
    entries = assert_422(send_form(client, scheduledAt=value), "scheduledAt")
    assert "out of range" in entries[0]["en"]


def test_deeply_nested_json_is_400_not_500(client):
    response = client.post("/v1/hsm/file", data=b"[" * 100000, headers=JELOU, content_type="application/json")
    assert response.status_code == 400
    assert response.json == {"message": ["The body is not valid JSON: it is nested too deeply."], "status": "failed"}


def test_unreadable_multipart_is_400(client):
    response = client.post("/v1/hsm/file", data=b"garbage", headers=JELOU, content_type="multipart/form-data; boundary=x")
    assert response.status_code == 400
    assert "could not be read: no parts were found" in response.json["message"][0]


def test_two_file_parts_are_422_not_silently_dropped(client):
    response = client.post("/v1/hsm/file", headers=JELOU, content_type="multipart/form-data", data={
        "campaignName": "c", "elementName": "welcome_message", "botId": "demo-bot", "params": "[]",
        "file": [(io.BytesIO(b"phone\n593991111111\n"), "a.csv"), (io.BytesIO(b"phone\n593992222222\n"), "b.csv")]})
    entries = assert_422(response, "file")
    assert entries[0]["en"] == "'file' was sent 2 times; send it once."
