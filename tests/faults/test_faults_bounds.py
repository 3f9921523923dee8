"""Issue 18 (items 3, 5, 6) on both stores: what follows a committed answer never changes it, the
journal and the fault rules are bounded per sandbox, and every duration or count a client gives a
fault rule is range-checked (400 naming the field and the range, never a 500 later)."""

from __future__ import annotations

import json

import pytest

from support.jelou import JELOU, ORDER_PARAMS, send_form
from mock_server import create_app
from mock_server.jelou.campaigns import CAMPAIGNS
from mock_server.settings import SettingsError
from support.fileserver import FileServer

START = "2026-01-05T10:00:00Z"
BIG = 123456789012345678901234567890                 # beyond MessagePack's 64 bits


@pytest.fixture(params=["memory", "redis"])
def make(request):
    """``make(**settings)``: an app on the parametrized store (redis: the private redis-server)."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else "memory"
    apps = []

    def build(**config):
        app = create_app({"clock": {"start": START, "frozen": True}, "store": {"url": url}, **config})
        apps.append(app)
        return app
    yield build
    for app in apps:
        app.extensions["mock"].webhooks.stop()


def journal(client, **query) -> dict:
    response = client.get("/_mock/requests", query_string={"limit": 10000, **query})
    assert response.status_code == 200, response.json
    return response.json


def send_url(client, url: str, **fields):
    body = {"campaignName": "from url", "elementName": "order_confirmation", "botId": "demo-bot",
            "params": ORDER_PARAMS, "fileUrl": url, **fields}
    return client.post("/v1/hsm/file", data=json.dumps(body), content_type="application/json", headers=JELOU)


# -- item 3: after the commit -------------------------------------------------------------------
def test_a_journaled_integer_beyond_64_bits_is_kept_and_the_answer_stands(make):
    client = make().test_client()
    with FileServer() as files:
        response = send_url(client, f"{files.base}/list.csv", x=BIG)
    assert response.status_code == 200, response.data
    campaign_id = response.headers["X-Mock-Campaign-Id"]
    assert client.get(f"/v1/campaigns/{campaign_id}", headers=JELOU).status_code == 200
    listed = journal(client, method="POST")
    entry = listed["requests"][0]
    assert entry["body"]["json"]["x"] == BIG and entry["campaignId"] == campaign_id
    assert listed["lost"] == {"journal": 0, "accessLog": 0}


def test_redis_stopping_before_the_journal_write_leaves_the_committed_answer(redis_server, redis_url):
    app = create_app({"clock": {"start": START, "frozen": True}, "store": {"url": redis_url}})
    records = app.extensions["mock.faults"].records
    write = records.log
    stored = []

    def stop_then_log(sandbox, entry):
        stored.append(app.extensions["mock"].store.get(sandbox, CAMPAIGNS.kind, entry["campaignId"]))
        redis_server.stop()                     # the campaign is committed; the journal write will fail
        return write(sandbox, entry)

    records.log = stop_then_log
    try:
        response = send_form(app.test_client())
    finally:
        records.log = write
        app.extensions["mock"].webhooks.stop()
        redis_server.start()
    assert response.status_code == 200, response.data                 # the committed answer, not a bare 500
    assert stored and stored[0] is not None and stored[0].id == response.headers["X-Mock-Campaign-Id"]
    assert app.extensions["mock.faults"].lost("default") == {"journal": 1, "accessLog": 0}
    assert journal(app.test_client())["lost"] == {"journal": 1, "accessLog": 0}


class BrokenStream:
    def write(self, text):
        raise RuntimeError("the log's disk is gone")

    def flush(self):
        pass


def test_a_failing_access_log_or_answer_summary_never_changes_the_answer(make, monkeypatch):
    app = make(access_log="text")
    app.extensions["mock.faults"].access_log.stream = BrokenStream()
    client = app.test_client()
    response = send_form(client)
    assert response.status_code == 200 and response.headers["X-Mock-Campaign-Id"]
    from mock_server.faults import journal as journal_module

    def broken(response):
        raise RuntimeError("cannot summarise")
    monkeypatch.setattr(journal_module, "response_summary", broken)
    second = send_form(client)
    assert second.status_code == 200 and second.headers["X-Mock-Campaign-Id"]
    listed = journal(client)
    assert listed["lost"] == {"journal": 0, "accessLog": 2}
    assert listed["requests"][-1]["response"]["status"] == 200
    assert "cannot summarise" in listed["requests"][-1]["response"]["unsummarised"]
    assert listed["requests"][-1]["campaignId"] == second.headers["X-Mock-Campaign-Id"]


# -- item 5: bounds ------------------------------------------------------------------------------
def test_journal_max_bytes_drops_the_oldest_and_says_so(make):
    client = make(journal={"max_bytes": 1024 * 1024}).test_client()
    pad = "a" * 60_000
    for index in range(40):
        response = client.post("/v1/hsm/file", data=json.dumps({"n": index, "pad": pad}),
                               content_type="application/json")                  # unauthenticated: 401
        assert response.status_code == 401
    listed = journal(client)
    kept = [entry["body"]["json"]["n"] for entry in listed["requests"]]
    assert kept == list(range(40 - len(kept), 40)) and 10 <= len(kept) < 18
    assert listed["bytes"] <= 1024 * 1024
    assert listed["dropped"] == 40 - len(kept)
    assert listed["droppedBy"] == {"journal.max_entries": 0, "journal.max_bytes": 40 - len(kept)}


def test_journal_max_entries_is_counted_apart(make):
    client = make(journal={"max_entries": 2}).test_client()
    for index in range(5):
        client.get(f"/v1/campaigns/c{index}", headers=JELOU)
    listed = journal(client)
    assert listed["total"] == 2 and listed["dropped"] == 3
    assert listed["droppedBy"] == {"journal.max_entries": 3, "journal.max_bytes": 0}


def test_faults_max_rules_refuses_one_more_naming_the_setting(make):
    client = make(faults={"max_rules": 3}).test_client()
    for _ in range(3):
        assert client.post("/_mock/faults", json={"action": {"status": 503}}).status_code == 201
    refused = client.post("/_mock/faults", json={"action": {"status": 503}})
    assert refused.status_code == 409
    assert "faults.max_rules" in refused.json["error"]["message"] and "3" in refused.json["error"]["message"]
    assert client.get("/_mock/faults").json["total"] == 3
    other = client.post("/_mock/faults", json={"action": {"status": 503}}, headers={"X-Mock-Sandbox": "other"})
    assert other.status_code == 201                                    # per sandbox
    assert client.delete("/_mock/faults/fault-1").status_code == 200
    assert client.post("/_mock/faults", json={"action": {"status": 503}}).status_code == 201


@pytest.mark.parametrize("config, name", [
    ({"journal": {"max_bytes": 1000}}, "journal.max_bytes"),
    ({"journal": {"max_bytes": "16MB"}}, "journal.max_bytes"),
    ({"journal": {"max_entries": 0}}, "journal.max_entries"),
    ({"faults": {"max_rules": 0}}, "faults.max_rules"),
    ({"faults": {"max_rules": 2.5}}, "faults.max_rules"),
    ({"latency_profiles": [{"base": "P2D"}]}, "latency_profiles[0].base"),
    ({"rate_limits": [{"provider": "jelou", "per": "credential", "limit": 1, "window": "P99999999W"}]},
     "rate_limits[0].window"),
])
def test_bad_bounds_are_settings_errors_naming_the_key(config, name):
    with pytest.raises(SettingsError, match=name.replace("[", r"\[").replace("]", r"\]")):
        create_app(config)


def test_the_bounds_default_to_the_contract():
    from mock_server.settings import DEFAULTS
    assert DEFAULTS["journal"] == {"max_entries": 10_000, "max_bytes": 16 * 1024 * 1024}
    assert DEFAULTS["faults"] == {"max_rules": 1000}


# -- item 6 (and the counts of item 3): ranges ------------------------------------------------------
@pytest.mark.parametrize("rule, field, allowed", [
    ({"action": {"status": 500}, "times": 2**64}, "times", "1 to 1,000,000,000"),
    ({"action": {"status": 500}, "times": 1_000_000_001}, "times", "1 to 1,000,000,000"),
    ({"action": {"status": 500}, "after": 2**64}, "after", "0 to 1,000,000,000"),
    ({"action": {"status": 429, "limit": 2**64}}, "action.limit", "0 to 1,000,000,000"),
    ({"action": {"latency": "PT9999999999S"}}, "action.latency", "PT0S to P1D"),
    ({"action": {"latency": "P99999999W"}}, "action.latency", "PT0S to P1D"),
    ({"action": {"latency": "PT86400.001S"}}, "action.latency", "PT0S to P1D"),
    ({"action": {"latency": "PT" + "9" * 400 + "S"}}, "action.latency", "PT0S to P1D"),       # inf seconds
    ({"action": {"latency": {"min": "PT0S", "max": "P2D"}}}, "action.latency", "PT0S to P1D"),
    ({"action": {"status": 500}, "expiresAfter": "P9999999D"}, "expiresAfter", "PT0S to P36500D"),
    ({"action": {"status": 503, "retryAfter": "P99999999W"}}, "action.retryAfter", "PT0S to P366D"),
])
def test_out_of_range_is_400_naming_the_field_and_the_range(make, rule, field, allowed):
    client = make().test_client()
    response = client.post("/_mock/faults", json=rule)
    assert response.status_code == 400, response.data
    message = response.json["error"]["message"]
    assert message.startswith(f"{field}:") and allowed in message
    assert client.get("/_mock/faults").json["total"] == 0
    assert client.get("/v1/campaigns/x", headers=JELOU).status_code == 404      # nothing armed, nothing broken


def test_the_largest_values_in_range_work(make):
    client = make().test_client()
    rule = client.post("/_mock/faults", json={"match": {"path": "/v1/campaigns/*"}, "action": {"status": 429, "limit": 1_000_000_000,
                       "retryAfter": "P366D"}, "times": 1_000_000_000, "after": 1, "expiresAfter": "P36500D"})
    assert rule.status_code == 201, rule.json
    assert rule.json["expiresAt"] == "2125-12-12T10:00:00.000Z"
    assert client.post("/_mock/faults", json={"action": {"latency": {"min": "PT0S", "max": "P1D"}},
                                              "match": {"path": "/never"}}).status_code == 201
    assert client.get("/v1/campaigns/x", headers=JELOU).status_code == 404           # after: 1
    limited = client.get("/v1/campaigns/x", headers=JELOU)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == str(366 * 86400)
    assert limited.headers["X-RateLimit-Limit"] == "1000000000"
