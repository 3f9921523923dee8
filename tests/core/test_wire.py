"""One schema per wire shape (``mock_server.wire``): the routes load bodies and dump answers with the
schemas the OpenAPI document shows, and a dump that would change an answer fails in tests."""

from __future__ import annotations

import re

from mock_server import create_app
from mock_server.apidoc import UNDOCUMENTED_PREFIXES
from mock_server.control.schemas import ClockChangeSchema, ClockSchema
from mock_server.wire import answers

NOT_JSON = ("/_mock/openapi.json", "/_mock/metrics")   # the document itself; Prometheus text (described by hand)


def _component(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def test_a_dump_that_would_change_the_answer_fails_in_tests():
    app = create_app()

    @answers(ClockSchema)
    def clock_with_extra():
        return {"now": "2026-01-05T10:00:00.000Z", "frozen": True, "extra": 1}

    @answers(ClockSchema)
    def clock_as_declared():
        return {"now": "2026-01-05T10:00:00.000Z", "frozen": True}

    app.add_url_rule("/_mock/extra", "extra", clock_with_extra)
    app.add_url_rule("/_mock/declared", "declared", clock_as_declared)
    client = app.test_client()
    assert client.get("/_mock/declared").json == {"now": "2026-01-05T10:00:00.000Z", "frozen": True}
    assert client.get("/_mock/extra").status_code == 500       # the conftest turns the check on


def test_every_route_declares_its_answer_and_the_document_shows_that_schema(app, client):
    spec = client.get("/_mock/openapi.json").json
    operations = {(re.sub(r"\{\w+\}", "{}", path), method): operation
                  for path, item in spec["paths"].items() for method, operation in item.items()}
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.rule == "/" or rule.rule.startswith(UNDOCUMENTED_PREFIXES) or rule.rule in NOT_JSON:
            continue
        wire = getattr(app.view_functions[rule.endpoint], "wire", None)
        assert wire is not None and wire.answers, f"{rule.rule} declares no answer schema"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = operations[(re.sub(r"<(?:\w+:)?\w+>", "{}", rule.rule), method.lower())]
            for status, (ref, _, _) in wire.answers.items():
                name = ref.__name__ if isinstance(ref, type) else ref(app.extensions["mock"].settings,
                                                                       tuple(app.extensions["mock"].providers.values())).__name__
                shown = operation["responses"][str(status)]["content"]["application/json"]["schema"]["$ref"]
                assert _component(shown) == name.removesuffix("Schema"), (rule.rule, method)
                checked += 1
    assert checked >= 30


def test_the_clock_body_is_documented_as_the_route_loads_it(client):
    spec = client.get("/_mock/openapi.json").json
    body = spec["paths"]["/_mock/clock"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    shown = spec["components"]["schemas"][_component(body)]
    assert set(shown["properties"]) == set(ClockChangeSchema().fields)
    assert shown["properties"]["now"]["format"] == "date-time"           # the old document said any string
    assert shown["additionalProperties"] is False
    reset = spec["paths"]["/_mock/reset"]["post"]["requestBody"]
    assert reset["required"] is False
    clock = spec["components"]["schemas"][_component(reset["content"]["application/json"]["schema"]["$ref"])]
    assert clock["properties"]["clock"]["default"] is False


def test_redeliver_ignores_extra_fields_and_the_document_says_so(client):
    spec = client.get("/_mock/openapi.json").json
    ref = spec["paths"]["/_mock/webhooks/redeliver"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert spec["components"]["schemas"][_component(ref)].get("additionalProperties") is not False
    answer = client.post("/_mock/webhooks/redeliver", json={"status": "dead", "note": "ignored"})
    assert answer.status_code == 200 and answer.json == {"redelivered": 0}


def test_control_body_errors_name_the_field(client):
    cases = [
        ("/_mock/clock", {"now": "tomorrow"}, "now: 'tomorrow' has no time"),
        ("/_mock/clock", {"advance": 5}, "advance: must be an ISO 8601 duration"),
        ("/_mock/clock", {"frozen": 1}, '"frozen" must be true or false'),
        ("/_mock/clock", {"advance": "PT1H", "a": 1, "b": 2}, "unknown clock field(s): a, b; use now, advance or frozen"),
        ("/_mock/reset", {"clock": True, "wipe": 1}, 'unknown reset field(s): wipe; the only one is "clock"'),
        ("/_mock/reset", [1], 'send a JSON object, e.g. {"clock": true}, or no body'),
        ("/_mock/webhooks/redeliver", {"ids": ["a", 3]}, 'ids[1]: "ids" must be a non-empty list of delivery ids'),
        ("/_mock/webhooks/redeliver", {"ids": []}, '"ids" must be a non-empty list'),
        ("/_mock/webhooks/redeliver", {"status": "dead", "ids": ["x"]}, 'give either "ids"'),
        ("/_mock/webhooks/redeliver", {"status": "gone"}, '"status" must be "dead" or "delivered"'),
    ]
    for path, body, message in cases:
        answer = client.post(path, json=body)
        assert answer.status_code == 400, (path, body)
        assert answer.json["error"]["message"].startswith(message), (path, body, answer.json)
    assert client.get("/_mock/clock").json["now"] == "2026-01-05T10:00:00.000Z"


def test_a_multipart_form_is_derived_from_the_schema_that_loads_its_parts():
    """The form shape in the docs comes from the loading schema: a field added there is a part here,
    with its required flag, its choices and its description; ``exclude`` and ``described`` apply."""
    from marshmallow import Schema, fields, validate

    from mock_server.indigitall.schemas import CsvMessageFormSchema, SendSchema
    from mock_server.jelou.schemas import HsmFileFormSchema, SendSchema as JelouSend
    from mock_server.wire import multipart_form

    class Body(Schema):
        name = fields.String(required=True, metadata={"description": "who"})
        kind = fields.String(validate=validate.OneOf(["a", "b"]))
        items = fields.List(fields.Integer())
        internal = fields.String()

    form = multipart_form(Body, name="BodyFormSchema", exclude=("internal",), described={"items": "JSON array"},
                          file=fields.Raw(required=True))
    parts = form._declared_fields
    assert list(parts) == ["name", "kind", "items", "file"]
    assert parts["name"].required and parts["file"].required and not parts["kind"].required
    assert parts["name"].metadata == {"description": "who"}
    assert parts["items"].metadata == {"description": "JSON array"} and isinstance(parts["items"], fields.String)
    assert [rule.choices for rule in parts["kind"].validators] == [["a", "b"]]
    assert form.__name__ == "BodyFormSchema"
    # the providers' forms: every loading field but the excluded ones, plus the file
    assert set(CsvMessageFormSchema._declared_fields) == set(SendSchema._declared_fields) | {"file"}
    assert set(HsmFileFormSchema._declared_fields) == set(JelouSend._declared_fields) - {"fileUrl", "date"} | {"file"}


def test_error_envelopes_are_written_by_their_schemas():
    """Every error answer goes through its envelope's schema (declared beside the error): in tests a
    body the schema would change fails loudly; an error class writing its own body must declare one."""
    import pytest

    from mock_server.errors import ControlErrorSchema, ProviderError
    from mock_server.indigitall.errors import IndigitallError, IndigitallErrorSchema
    from mock_server.jelou.errors import JelouError, JelouFailedSchema, JelouValidationFailedSchema, ValidationFailed

    assert (JelouError.schema, ValidationFailed.schema) == (JelouFailedSchema, JelouValidationFailedSchema)
    assert (IndigitallError.schema, ProviderError.schema) == (IndigitallErrorSchema, ControlErrorSchema)

    class Drifted(JelouError):
        def body(self) -> dict:
            return {**super().body(), "undeclared": 1}

    app = create_app()
    with app.test_request_context("/v1/hsm/file"):
        assert JelouError("bad", 400).response().get_json() == {"message": ["bad"], "status": "failed"}
        with pytest.raises(AssertionError, match="the answer's schema changed it"):
            Drifted("bad").response()

    with pytest.raises(TypeError, match="declare its envelope as `schema`"):
        class NoSchema(ProviderError):
            def body(self) -> dict:
                return {"whatever": self.message}
