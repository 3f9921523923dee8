"""The request journal (CONTRACT §9) and the access log."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time

import pytest

from support.jelou import JELOU, basic, order_csv, send_form
from support.indigitall import KEY, PREFIX, contacts, send
from mock_server import create_app

START = "2026-01-05T10:00:00Z"
LIST = {"limit": 5, "page": 1, "botId": "demo-bot", "startAt": "2026-01-01", "endAt": "2026-12-31"}
SECRETS = ("demo-client-secret", "demo-server-key", "url-password", "other-secret")


def make(**config):
    return create_app({"clock": {"start": START, "frozen": True}, **config})


@pytest.fixture
def app():
    return make()


@pytest.fixture
def client(app):
    return app.test_client()


def journal(client, **query) -> dict:
    response = client.get("/_mock/requests", query_string=query)
    assert response.status_code == 200, response.json
    return response.json


def test_an_upload_is_journaled_with_its_file_summary_response_and_campaign(client):
    csv = order_csv(4)
    response = send_form(client, csv)
    assert response.status_code == 200
    [entry] = journal(client)["requests"]
    assert entry["id"] == "req-1" and entry["provider"] == "jelou"
    assert (entry["method"], entry["path"], entry["query"]) == ("POST", "/v1/hsm/file", {})
    assert entry["receivedAt"] == "2026-01-05T10:00:00.000Z" and entry["receivedAtReal"].endswith("Z")
    assert entry["headers"]["Authorization"] == "Basic demo-client-id:***"
    assert entry["body"]["form"]["campaignName"] == "promo" and entry["body"]["form"]["botId"] == "demo-bot"
    assert entry["body"]["files"] == [{"field": "file", "name": "recipients.csv", "bytes": len(csv), "rows": 4,
                                       "sha256": hashlib.sha256(csv).hexdigest()}]
    assert entry["response"]["status"] == 200
    assert entry["response"]["body"]["json"]["status"] == "success"
    assert entry["response"]["headers"]["X-Mock-Campaign-Id"] == response.headers["X-Mock-Campaign-Id"]
    assert entry["campaignId"] == response.headers["X-Mock-Campaign-Id"]
    assert entry["fault"] is None and entry["durationMs"] >= 0


def test_rejected_requests_are_journaled_and_no_secret_ever_appears(client):
    client.post("/v1/hsm/file", json={"botId": "demo-bot", "fileUrl": "https://user:url-password@files.example/r.csv"},
                headers=JELOU)
    client.get("/v1/campaigns", query_string=LIST, headers=basic("demo-client-id", "wrong"))
    client.get(f"{PREFIX}/100/task/7", headers=KEY)
    client.get(f"{PREFIX}/100/task/7", headers={"Authorization": "ServerKey abc"})
    client.set_cookie("session", "other-secret")
    client.get("/v1/campaigns", headers={"Authorization": "Bearer other-secret"})
    client.delete_cookie("session")
    send(client, contacts(2))
    body = journal(client)
    text = json.dumps(body)
    for secret in SECRETS:
        assert secret not in text
    entries = body["requests"]
    assert [entry["response"]["status"] for entry in entries] == [422, 401, 404, 401, 401, 201]
    assert entries[0]["body"]["json"]["fileUrl"] == "https://***@files.example/r.csv"
    assert entries[1]["headers"]["Authorization"] == "Basic demo-client-id:***"
    assert entries[2]["headers"]["Authorization"] == "ServerKey ***-key"
    assert entries[3]["headers"]["Authorization"] == "ServerKey ***"
    assert entries[4]["headers"]["Authorization"] == "Bearer ***" and entries[4]["headers"]["Cookie"] == "***"
    assert entries[5]["taskId"] == entries[5]["response"]["body"]["json"]["data"]["taskId"]
    assert entries[5]["body"]["files"][0]["rows"] == 2 and "layout" in entries[5]["body"]["form"]


def test_the_control_plane_is_not_journaled_but_unknown_routes_are(client):
    client.get("/_mock/health")
    client.get("/nowhere")
    [entry] = journal(client)["requests"]
    assert entry["path"] == "/nowhere" and entry["provider"] is None and entry["response"]["status"] == 404


def test_big_bodies_are_cut_at_64_kib(client):
    huge = {"botId": "demo-bot", "campaignName": "x" * 70_000}
    client.post("/v1/hsm/file", json=huge, headers=JELOU)
    entry = journal(client)["requests"][0]
    assert entry["body"]["truncated"] is True and entry["body"]["bytes"] > 70_000
    assert len(entry["body"]["text"]) == 64 * 1024


def test_filters_and_paging(client):
    client.get("/v1/campaigns", query_string=LIST, headers=JELOU)                 # 200
    client.get("/v1/campaigns/nope", headers=JELOU)                               # 404
    client.get(f"{PREFIX}/100/task/1", headers=KEY)                              # 404
    client.post("/_mock/clock", json={"advance": "PT1H"})
    client.delete(f"{PREFIX}/100/task/1", headers=KEY)                           # 404
    client.post("/_mock/faults", json={"match": {"method": "PUT"}, "action": {"status": 503}})
    client.put("/v1/campaigns/x", json={}, headers=JELOU)                         # 503 fault-1

    def ids(**query):
        return [entry["id"] for entry in journal(client, **query)["requests"]]

    assert ids() == ["req-1", "req-2", "req-3", "req-4", "req-5"]
    assert ids(provider="indigitall") == ["req-3", "req-4"]
    assert ids(method="delete") == ["req-4"]
    assert ids(path="/v1/campaigns") == ["req-1"]
    assert ids(path="/v1/campaigns*") == ["req-1", "req-2", "req-5"]
    assert ids(status="404") == ["req-2", "req-3", "req-4"]
    assert ids(status="5xx") == ["req-5"] and ids(fault="fault-1") == ["req-5"]
    assert ids(since="2026-01-05T10:30:00Z") == ["req-4", "req-5"]
    page = journal(client, limit=2, page=2)
    assert [entry["id"] for entry in page["requests"]] == ["req-3", "req-4"]
    assert (page["total"], page["page"], page["limit"], page["dropped"]) == (5, 2, 2, 0)
    for bad in ({"status": "teapot"}, {"since": "yesterday"}, {"limit": 0}, {"page": "x"}, {"timeout": 999}):
        response = client.get("/_mock/requests", query_string=bad)
        assert response.status_code == 400 and response.json["error"]["message"].startswith(f"'{next(iter(bad))}'")


def test_retention_keeps_the_newest_and_counts_the_dropped():
    client = make(journal={"max_entries": 3}).test_client()
    for index in range(5):
        client.get(f"/v1/campaigns/c{index}", headers=JELOU)
    body = journal(client)
    assert [entry["path"] for entry in body["requests"]] == ["/v1/campaigns/c2", "/v1/campaigns/c3", "/v1/campaigns/c4"]
    assert [entry["id"] for entry in body["requests"]] == ["req-3", "req-4", "req-5"]
    assert body["dropped"] == 2 and body["total"] == 3


def test_delete_and_reset_clear_it(client):
    client.get("/v1/campaigns/a", headers=JELOU)
    assert client.delete("/_mock/requests").json == {"status": "ok"}
    assert journal(client)["total"] == 0
    client.get("/v1/campaigns/b", headers=JELOU)
    client.post("/_mock/reset")
    assert journal(client)["total"] == 0


def test_wait_for_holds_until_enough_requests_arrive(app):
    client = app.test_client()

    def later():
        time.sleep(0.2)
        for index in range(3):
            app.test_client().get(f"/v1/campaigns/w{index}", headers=JELOU)

    thread = threading.Thread(target=later)
    started = time.monotonic()
    thread.start()
    body = journal(client, wait_for=3, timeout=10)
    thread.join()
    assert body["total"] == 3 and time.monotonic() - started < 5
    started = time.monotonic()
    assert journal(client, wait_for=4, timeout=0.3)["total"] == 3
    assert 0.25 <= time.monotonic() - started < 3


def test_a_wait_without_timeout_waits_at_most_the_configured_bound():
    """The default timeout (10 s) never exceeds ``inspection.max_wait_seconds`` (it did: a bound of
    0.05 s still let a journal long-poll without ``timeout`` hold for 10 s)."""
    client = make(inspection={"max_wait_seconds": 0.2}).test_client()
    started = time.monotonic()
    assert journal(client, wait_for=1)["total"] == 0
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_the_access_log_has_one_line_per_request_and_no_credential(fmt):
    app = make(access_log=fmt)
    stream = io.StringIO()
    app.extensions["mock.faults"].access_log.stream = stream
    client = app.test_client()
    sent = send_form(client)
    client.get("/_mock/health")
    client.post("/_mock/faults", json={"action": {"status": 503}})
    client.get(f"{PREFIX}/100/task/1?token=x", headers=KEY)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4
    for secret in SECRETS + ("token=x",):
        assert secret not in stream.getvalue()
    campaign = sent.headers["X-Mock-Campaign-Id"]
    if fmt == "json":
        records = [json.loads(line) for line in lines]
        assert records[0]["method"] == "POST" and records[0]["path"] == "/v1/hsm/file"
        assert records[0]["status"] == 200 and records[0]["campaignId"] == campaign and records[0]["fault"] is None
        assert records[1]["path"] == "/_mock/health" and records[3]["fault"] == "fault-1" and records[3]["status"] == 503
        assert all(record["time"].endswith("Z") and record["durationMs"] >= 0 for record in records)
    else:
        assert " default POST /v1/hsm/file 200 " in lines[0] and lines[0].endswith(f"fault=- record={campaign}")
        assert f" default GET {PREFIX}/100/task/1 503 " in lines[3] and "fault=fault-1" in lines[3]


def test_no_access_log_by_default(app, capsys):
    app.test_client().get("/_mock/health")
    assert app.extensions["mock.faults"].access_log is None
    assert capsys.readouterr().out == ""


def test_secret_named_fields_and_query_parameters_are_masked(client):
    client.put("/v1/campaigns/x", query_string={"access_token": "other-secret", "page": "1"},
               json={"webhooks": [{"url": "https://h.example", "auth": {"password": "other-secret", "apiKey": "k-1"}},
                                  {"url": "https://g.example", "auth": {"type": "api_key", "key": "other-secret"}}],
                     "signing_secret": "other-secret"}, headers=JELOU)
    entry = journal(client)["requests"][0]
    assert "other-secret" not in json.dumps(entry)
    assert entry["query"] == {"access_token": "***", "page": "1"}
    assert entry["body"]["json"]["webhooks"][0]["auth"] == {"password": "***", "apiKey": "***"}
    assert entry["body"]["json"]["webhooks"][1]["auth"] == {"type": "api_key", "key": "***"}
    assert entry["body"]["json"]["signing_secret"] == "***"


def test_rules_journal_and_windows_belong_to_a_sandbox():
    client = make(rate_limits=[{"provider": "jelou", "per": "credential", "limit": 1, "window": "PT1H"}]).test_client()
    box = {"X-Mock-Sandbox": "ci-1"}
    created = client.post("/sandboxes/ci-1/_mock/faults", json={"match": {"path": "/v1/campaigns/a"},
                                                                "action": {"status": 503}})
    assert created.status_code == 201 and created.json["id"] == "fault-1"
    assert client.get("/_mock/faults").json["total"] == 0
    assert client.get("/v1/campaigns/a", headers={**JELOU, **box}).status_code == 503
    assert client.get("/v1/campaigns/a", headers=JELOU).status_code == 404              # default: no rule
    assert client.get("/sandboxes/ci-2/v1/campaigns/a", headers=JELOU).status_code == 404  # own window
    assert client.get("/v1/campaigns/a", headers=JELOU).status_code == 429               # default's window
    in_box = client.get("/_mock/requests", headers=box).json
    assert [entry["response"]["status"] for entry in in_box["requests"]] == [503]
    assert in_box["requests"][0]["path"] == "/v1/campaigns/a"
    assert [entry["response"]["status"] for entry in journal(client)["requests"]] == [404, 429]
    client.post("/_mock/reset", headers=box)
    assert client.get("/_mock/faults", headers=box).json["total"] == 0
    assert client.get("/_mock/requests", headers=box).json["total"] == 0
    assert journal(client)["total"] == 2


def test_the_access_log_names_the_sandbox():
    app = make(access_log="json")
    stream = io.StringIO()
    app.extensions["mock.faults"].access_log.stream = stream
    app.test_client().get("/sandboxes/job-7/v1/campaigns/x", headers=JELOU)
    record = json.loads(stream.getvalue())
    assert (record["sandbox"], record["path"], record["status"]) == ("job-7", "/v1/campaigns/x", 404)
