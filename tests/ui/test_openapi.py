"""The served OpenAPI 3.1 document and the offline docs page."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from mock_server import create_app
from mock_server.apidoc import UNDOCUMENTED_PREFIXES


def spec_of(client) -> dict:
    response = client.get("/_mock/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.json


def test_the_served_spec_is_valid_openapi_3_1(client):
    spec = spec_of(client)
    assert spec["openapi"] == "3.1.0"
    validate(spec)


def test_every_route_the_app_serves_is_described(app, client):
    spec = spec_of(client)
    documented = {(path, method) for path, item in spec["paths"].items() for method in item}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(UNDOCUMENTED_PREFIXES) or rule.rule == "/":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", "{}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert any(re.sub(r"\{\w+\}", "{}", p) == path and m == method.lower() for p, m in documented), \
                f"{method} {rule.rule} is not in the OpenAPI document"
    undescribed = sorted(f"{method.upper()} {path}" for path, item in spec["paths"].items()
                         for method, operation in item.items() if operation.get("x-undescribed"))
    assert not undescribed, f"describe these in their package's openapi.py: {undescribed}"


def test_a_route_nobody_described_is_still_listed():
    app = create_app()
    app.add_url_rule("/_mock/extra/<int:number>", "extra", lambda number: {"number": number}, methods=["GET", "DELETE"])
    spec = spec_of(app.test_client())
    validate(spec)
    item = spec["paths"]["/_mock/extra/{number}"]
    assert set(item) == {"get", "delete"}
    assert item["get"]["x-undescribed"] is True
    assert item["get"]["parameters"] == [{"in": "path", "name": "number", "required": True, "schema": {"type": "string"}},
                                         {"$ref": "#/components/parameters/XMockSandbox"}]
    assert "x-undescribed" not in spec["paths"]["/_mock/clock"]["get"]


def test_auth_schemes_and_both_jelou_bodies(client):
    spec = spec_of(client)
    schemes = spec["components"]["securitySchemes"]
    assert schemes["jelouBasic"] == {"type": "http", "scheme": "basic", "description": schemes["jelouBasic"]["description"]}
    assert schemes["indigitallServerKey"]["in"] == "header" and schemes["indigitallServerKey"]["name"] == "Authorization"
    send = spec["paths"]["/v1/hsm/file"]["post"]
    assert send["security"] == [{"jelouBasic": []}]
    content = send["requestBody"]["content"]
    assert set(content) == {"application/json", "multipart/form-data"}
    form = spec["components"]["schemas"]["HsmFileForm"]
    assert form["properties"]["file"] == {"type": "string", "format": "binary", "description": "the CSV (.csv)"}
    assert {"campaignName", "elementName", "botId", "params", "file"} <= set(form["required"])
    csv = spec["paths"]["/v2/chat/application/{applicationId}/message/csv"]["post"]
    assert csv["security"] == [{"indigitallServerKey": []}]


def test_every_error_status_names_its_envelope(client):
    spec = spec_of(client)
    responses = spec["paths"]["/v1/hsm/file"]["post"]["responses"]
    assert set(responses) == {"200", "400", "401", "403", "404", "405", "413", "422", "429", "503"}
    envelope = lambda status: responses[status]["content"]["application/json"]["schema"]["$ref"]  # noqa: E731
    assert envelope("422") == "#/components/schemas/JelouValidationFailed"
    assert envelope("401") == "#/components/schemas/JelouFailed"
    assert "WWW-Authenticate" in responses["401"]["headers"]
    assert "X-Mock-Campaign-Id" in responses["200"]["headers"]
    cancel = spec["paths"]["/v2/chat/application/{applicationId}/task/{taskId}"]["delete"]["responses"]
    assert set(cancel) == {"200", "400", "401", "403", "404", "405", "409", "429", "503"}
    assert cancel["409"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/IndigitallError"
    clock = spec["paths"]["/_mock/clock"]["post"]["responses"]
    assert clock["400"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/ControlError"
    validator = spec["components"]["schemas"]["JelouValidationFailed"]
    assert {"message", "statusMessage", "status", "error", "validationError"} <= set(validator["required"])


@pytest.mark.parametrize("shape,item", [("current", "Campaign"), ("legacy", "LegacyCampaign")])
def test_the_spec_follows_the_settings(shape, item):
    app = create_app({"jelou": {"campaigns_shape": shape}, "indigitall": {"path_prefix": "/api/v1"},
                      "inspection": {"max_limit": 500}})
    spec = spec_of(app.test_client())
    validate(spec)
    assert "/api/v1/chat/application/{applicationId}/message/csv" in spec["paths"]
    assert not any(path.startswith("/v2/") for path in spec["paths"])
    one = spec["paths"]["/v1/campaigns/{campaignId}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    wrapper = spec["components"]["schemas"][one["$ref"].rsplit("/", 1)[1]]
    assert wrapper["properties"]["data"]["$ref"] == f"#/components/schemas/{item}"
    limit = next(p for p in spec["paths"]["/_mock/messages"]["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 500


def test_a_real_answer_matches_its_documented_fields(client):
    """A quick hand check beside schemathesis: the 422 body has exactly the documented top-level keys."""
    spec = spec_of(client)
    response = client.post("/v1/hsm/file", json={}, headers={"Authorization": "Basic ZGVtby1jbGllbnQtaWQ6ZGVtby1jbGllbnQtc2VjcmV0"})
    assert response.status_code == 422
    documented = set(spec["components"]["schemas"]["JelouValidationFailed"]["properties"])
    assert set(response.json) <= documented
    assert set(spec["components"]["schemas"]["JelouValidationFailed"]["required"]) <= set(response.json)


def test_the_docs_page_is_served_offline(client):
    assert client.get("/_mock/docs").status_code == 308
    page = client.get("/_mock/docs/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/_mock/openapi.json" in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(asset.startswith("/_mock/docs/") for asset in assets), assets
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        served.close()


@pytest.mark.parametrize("method,path,headers,envelope", [
    ("POST", "/v1/hsm/file", {"Authorization": "Basic ZGVtby1jbGllbnQtaWQ6ZGVtby1jbGllbnQtc2VjcmV0"}, "jelou"),
    ("POST", "/v2/chat/application/100/message/csv", {"Authorization": "ServerKey demo-server-key"}, "indigitall"),
])
def test_found_by_schemathesis_a_multipart_part_without_a_name_is_400(client, method, path, headers, envelope):
    """Was a 500 (sorting part names with None among them)."""
    body = b'--B\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--B\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--B--\r\n'
    response = client.open(path, method=method, data=body, headers=headers, content_type="multipart/form-data; boundary=B")
    assert response.status_code == 400
    text = response.json["message"][0] if envelope == "jelou" else response.json["message"]
    assert text.startswith("A multipart part has no name")
