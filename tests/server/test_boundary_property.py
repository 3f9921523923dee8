"""A seeded property test: random requests to every emulated and control-plane route never 5xx.

Routes come from the app's own URL map (the Jelou, indigitall and control blueprints), so routes
added later are fuzzed too. Each example sends one request with random path values, query,
credentials and body (JSON of any shape, including huge numbers and deep nesting; multipart with
random text and file parts; url-encoded; raw bytes under a random content type). The answer must
be below 500 and, when it is an error, JSON in an envelope.

Left out on purpose: ``wait_for``/``timeout`` queries (a long-poll only waits), webhook and UI
routes (they would call out or stream), and fetchable ``fileUrl`` values (only URLs that cannot
reach the network are generated). ``POST /_mock/clock`` gets its own test, the clock reset to the
app's start before each example, so one example's clock cannot leak into the next.
"""

from __future__ import annotations

import io
import json
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from support.jelou import JELOU, START, order_csv, send_form
from support.indigitall import KEY, TEXT_CSV, send
from mock_server import create_app

BLUEPRINTS = ("jelou", "indigitall", "control", "apidoc")
SKIPPED_WORDS = ("webhook", "events", "stream", "/ui")
SEEDED = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

FIELDS = ["campaignName", "elementName", "botId", "params", "buttonPayloads", "actions", "dynamicUrlParameter",
          "type", "mediaUrl", "scheduledAt", "date", "status", "layout", "delay", "scheduleAt", "slicingCondition",
          "file", "fileUrl"]
QUERY_KEYS = ["botId", "startAt", "endAt", "page", "limit", "status", "elementName", "name", "campaignId",
              "messageId", "destination", "origin", "from", "to", "provider", "campaign", "task", "offset"]
SAFE_URLS = ["http://[::1/x.csv", "ftp://example.invalid/x.csv", "http://127.0.0.1:9/x.csv", "notaurl", ""]

huge_ints = st.integers(min_value=1, max_value=6000).map(lambda n: int("9" * min(n, 4300)))
texts = st.text(max_size=40) | st.sampled_from(["²", "١٢", "9" * 5000, "0", "-1", "1e400", "NaN", "2026-01-06T00:00:00Z",
                                                 "9999-12-31T23:59:59Z", "PT1H", "demo-bot", "order_confirmation"])
scalars = st.none() | st.booleans() | st.integers() | huge_ints | st.floats() | texts
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=5),
                           max_leaves=20)
deep = st.integers(min_value=1, max_value=3).map(lambda k: ("[" * 10 ** (k + 1)) + ("]" * 10 ** (k + 1)))


def _text(value: str) -> str:
    """``value`` with lone surrogates replaced, so it can be encoded as UTF-8."""
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _safe(fields: dict) -> dict:
    """No generated fileUrl can reach the network."""
    if "fileUrl" in fields:
        fields["fileUrl"] = SAFE_URLS[len(str(fields["fileUrl"])) % len(SAFE_URLS)]
    return fields


@st.composite
def bodies(draw):
    kind = draw(st.sampled_from(["none", "json", "raw_json", "multipart", "urlencoded", "raw"]))
    if kind == "none":
        return {}
    if kind == "json":
        value = draw(json_values | st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8))
        if isinstance(value, dict):
            value = _safe(value)
        text = json.dumps(value, allow_nan=True)
        return {"data": text.encode(), "content_type": "application/json"}
    if kind == "raw_json":
        text = draw(deep | st.text(max_size=200) | st.sampled_from(['{"now": ' + "9" * 5000 + "}", '{"a": NaN}',
                                                                    '{"a": 1e999}', "[" * 5000]))
        return {"data": text.encode("utf-8", "surrogatepass"), "content_type": "application/json"}
    if kind == "multipart":
        form = _safe(draw(st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6),
                                          texts | json_values.map(json.dumps) | deep, max_size=8)))
        files = draw(st.dictionaries(st.sampled_from(["file", "layout", "params", "x"]),
                                     st.binary(max_size=200) | st.sampled_from([order_csv(2), TEXT_CSV, b"\xff\xfe"]),
                                     max_size=3))
        for name, content in files.items():
            form[name] = FileStorage(io.BytesIO(content), filename=draw(st.sampled_from(["a.csv", "a", "é.csv", ""])))
        form = {_text(key): _text(value) if isinstance(value, str) else value for key, value in form.items()}
        stream, _, boundary = stream_encode_multipart(form, use_tempfile=False, boundary="fuzz-boundary-8")
        return {"data": stream.getvalue(), "content_type": f"multipart/form-data; boundary={boundary}"}
    if kind == "urlencoded":
        pairs = draw(st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), texts, max_size=6))
        encoded = urlencode({_text(k): _text(v) for k, v in pairs.items()})
        return {"data": encoded.encode(), "content_type": "application/x-www-form-urlencoded"}
    return {"data": draw(st.binary(max_size=300)),
            "content_type": draw(st.sampled_from(["multipart/form-data; boundary=x", "multipart/form-data",
                                                  "text/plain", "application/json", "", "application/xml"]))}


def _routes(app) -> list[tuple[str, list[str], list[str]]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in BLUEPRINTS or any(word in rule.rule for word in SKIPPED_WORDS):
            continue
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"} - ({"POST"} if rule.rule == "/_mock/clock" else set()))
        if methods:
            found.append((rule.rule, methods, sorted(rule.arguments)))
    return found


def _app_with_records():
    """An app with one Jelou campaign and one indigitall task, so real ids can be drawn too."""
    app = create_app({"clock": {"start": START, "frozen": True}})
    client = app.test_client()
    campaign_id = send_form(client).headers["X-Mock-Campaign-Id"]
    task_id = str(send(client).json["data"]["taskId"])
    return app, client, [campaign_id, f"{campaign_id}-1", task_id, "100", "200", "demo-bot", "foreign-bot"]


APP, CLIENT, KNOWN_IDS = _app_with_records()
ROUTES = _routes(APP)


def test_the_fuzzed_routes_cover_both_providers_and_the_control_plane():
    paths = [path for path, _, _ in ROUTES]
    assert "/v1/hsm/file" in paths and "/_mock/messages" in paths and "/_mock/health" in paths
    assert any(path.endswith("/message/csv") for path in paths)


def _assert_sane(response, path: str) -> None:
    assert response.status_code < 500, (path, response.status_code, response.get_data()[:300])
    if response.status_code >= 400:
        assert response.is_json, (path, response.status_code, response.get_data()[:200])
        body = response.get_json()
        assert isinstance(body, dict) and ("message" in body or "error" in body), body


@pytest.mark.slow
@SEEDED
@given(route=st.sampled_from(ROUTES), data=st.data())
def test_random_requests_never_5xx(route, data):
    path, methods, arguments = route
    method = data.draw(st.sampled_from(methods))
    url = path
    for name in arguments:
        value = data.draw(st.sampled_from(KNOWN_IDS) | texts.filter(lambda text: text not in ("", ".", "..")))
        url = url.replace(f"<{name}>", quote(_text(value), safe=""))
    query = data.draw(st.dictionaries(st.sampled_from(QUERY_KEYS) | st.text(max_size=6), texts, max_size=5))
    query = {_text(k): _text(v) for k, v in query.items() if k not in ("wait_for", "timeout")}
    auth = dict(data.draw(st.sampled_from([JELOU, KEY, {}, {"Authorization": "Basic ñ"}, {"Authorization": "ServerKey é"},
                                           {"Authorization": "Basic " + "A" * 5000}])))
    sandbox = data.draw(st.none() | st.sampled_from(["default", "ci-1", "bad name", "é", "x" * 300]) | texts)
    if sandbox is not None:
        if data.draw(st.booleans()):
            value = "".join(ch for ch in _text(sandbox) if ch not in "\r\n\x00")   # what an HTTP header can carry
            auth["X-Mock-Sandbox"] = value.encode("utf-8").decode("latin-1")
        else:
            url = "/sandboxes/" + quote(_text(sandbox), safe="") + url
    body = data.draw(bodies())
    response = CLIENT.open(url, method=method, query_string=query, headers=auth, **body)
    _assert_sane(response, f"{method} {url}")


@pytest.fixture(scope="module")
def clock_client():
    app = create_app({"clock": {"start": START, "frozen": True}})
    yield app.test_client()
    app.extensions["mock"].webhooks.stop()


@pytest.mark.slow
@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(body=bodies())
def test_random_clock_bodies_never_5xx(clock_client, body):
    # the clock as a fresh app has it (a new app per example made 80 % of the test's time)
    reset = clock_client.post("/_mock/reset", json={"clock": True})
    assert reset.status_code == 200, reset.get_data()[:300]
    assert clock_client.get("/_mock/clock").json == {"now": "2026-01-05T10:00:00.000Z", "frozen": True}
    _assert_sane(clock_client.post("/_mock/clock", **body), "POST /_mock/clock")
