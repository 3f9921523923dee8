"""Fault rules (CONTRACT §8) through the app: CRUD, bad rules, every match key, counting, actions."""

from __future__ import annotations

import pytest

from support.jelou import JELOU, basic, send_form
from support.indigitall import KEY, PREFIX, contacts, create, get_task, send
from mock_server import create_app

START = "2026-01-05T10:00:00Z"
H = "2026-01-05T{:02d}:00:00.000Z".format


@pytest.fixture
def app():
    return create_app({"clock": {"start": START, "frozen": True}, "seed": 7})


@pytest.fixture
def client(app):
    return app.test_client()


def add(client, **rule) -> dict:
    response = client.post("/_mock/faults", json=rule)
    assert response.status_code == 201, response.json
    return response.json


LIST = {"limit": 50, "page": 1, "botId": "demo-bot", "startAt": "2026-01-01", "endAt": "2026-12-31"}


def campaigns(client) -> list[dict]:
    response = client.get("/v1/campaigns", query_string=LIST, headers=JELOU)
    assert response.status_code == 200, response.json
    return response.json["data"]["results"]


def health_of(client, n: int, path: str = "/v1/campaigns", headers=JELOU) -> list[int]:
    return [client.get(path, query_string=LIST, headers=headers).status_code for _ in range(n)]


# -- CRUD and validation ----------------------------------------------------------------------
def test_create_list_get_delete(client):
    rule = add(client, match={"provider": "jelou"}, action={"status": 503}, times=2, expiresAfter="PT10M")
    assert rule["id"] == "fault-1"
    assert rule["match"] == {"provider": "jelou"} and rule["action"] == {"status": 503}
    assert (rule["times"], rule["after"], rule["probability"]) == (2, 0, 1.0)
    assert rule["expiresAt"] == "2026-01-05T10:10:00.000Z"
    assert (rule["matched"], rule["fired"]) == (0, 0)
    second = add(client, action={"latency": "PT0S"})
    listed = client.get("/_mock/faults").json
    assert [r["id"] for r in listed["faults"]] == ["fault-1", "fault-2"] and listed["total"] == 2
    assert client.get("/_mock/faults/fault-2").json == second
    assert client.delete("/_mock/faults/fault-1").json == {"deleted": "fault-1"}
    missing = client.delete("/_mock/faults/fault-1")
    assert missing.status_code == 404 and "fault-1" in missing.json["error"]["message"]
    assert client.get("/_mock/faults/nope").status_code == 404
    assert client.delete("/_mock/faults").json == {"deleted": 1}
    assert client.get("/_mock/faults").json == {"faults": [], "total": 0}


@pytest.mark.parametrize("rule, field", [
    ({"action": {"status": 200}}, "action.status"),
    ({"action": {"status": "503"}}, "action.status"),
    ({"action": {}}, "action"),
    ({"match": {"provider": "twilio"}, "action": {"status": 500}}, "match.provider"),
    ({"match": {"method": "FETCH"}, "action": {"status": 500}}, "match.method"),
    ({"match": {"path": "v1/hsm/file"}, "action": {"status": 500}}, "match.path"),
    ({"match": {"colour": "red"}, "action": {"status": 500}}, "match.colour"),
    ({"action": {"status": 500}, "times": 0}, "times"),
    ({"action": {"status": 500}, "after": -1}, "after"),
    ({"action": {"status": 500}, "probability": 1.5}, "probability"),
    ({"action": {"status": 500}, "expiresAfter": "ten minutes"}, "expiresAfter"),
    ({"action": {"status": 500}, "expiresAfter": "P1M"}, "expiresAfter"),
    ({"action": {"status": 429, "retryAfter": "soon"}}, "action.retryAfter"),
    ({"action": {"latency": {"min": "PT2S", "max": "PT1S"}}}, "action.latency"),
    ({"action": {"latency": {"low": "PT1S"}}}, "action.latency"),
    ({"action": {"drop": "explode"}}, "action.drop"),
    ({"action": {"drop": "reset", "status": 500}}, "action.drop"),
    ({"action": {"latency": "PT1S", "afterCommit": True}}, "action.afterCommit"),
    ({"action": {"latency": "PT1S", "retryAfter": "PT1S"}}, "action.retryAfter"),
    ({"match": {"provider": "jelou"}}, "action"),
    ({"action": {"status": 500}, "extra": 1}, "extra"),
])
def test_a_bad_rule_is_a_400_naming_the_field(client, rule, field):
    response = client.post("/_mock/faults", json=rule)
    assert response.status_code == 400, response.json
    assert response.json["error"]["message"].startswith(f"{field}:") or f"; {field}:" in response.json["error"]["message"]
    assert client.get("/_mock/faults").json["total"] == 0


def test_a_body_that_is_not_an_object_is_a_400(client):
    for body in (b"[1]", b"{not json"):
        response = client.post("/_mock/faults", data=body, content_type="application/json")
        assert response.status_code == 400 and response.json["error"]["message"]


# -- status actions: the provider's envelope, no side effect ---------------------------------
def test_a_jelou_status_is_jelous_envelope_and_stores_nothing(client):
    add(client, match={"provider": "jelou", "method": "POST", "path": "/v1/hsm/file"}, action={"status": 503})
    response = send_form(client)
    assert response.status_code == 503
    assert response.json == {"message": ["Service Unavailable"], "status": "failed"}
    assert response.headers["X-Mock-Fault"] == "fault-1"
    assert "X-Mock-Campaign-Id" not in response.headers
    assert campaigns(client) == []
    assert client.get("/_mock/messages").json["total"] == 0


def test_an_indigitall_status_is_indigitalls_envelope_and_takes_no_slot_capacity(client):
    add(client, match={"provider": "indigitall"}, action={"status": 500, "message": "upstream exploded"}, times=1)
    response = send(client, contacts(1001))
    assert response.status_code == 500
    assert response.json == {"statusCode": 500, "message": "upstream exploded", "errorCode": "INTERNAL_ERROR"}
    assert response.headers["X-Mock-Fault"] == "fault-1"
    task = create(client, contacts(1001))            # the 10:00 slot is still whole
    assert [(slot["start"], slot["count"]) for slot in task["slots"]] == [(H(10), 1000), (H(11), 1)]
    listed = client.get(f"{PREFIX}/100/task", query_string={"limit": 10, "page": 1}, headers=KEY).json
    assert listed["count"] == 1


@pytest.mark.parametrize("status, code", [(502, "BAD_GATEWAY"), (503, "SERVICE_UNAVAILABLE"),
                                          (504, "GATEWAY_TIMEOUT"), (429, "TOO_MANY_REQUESTS"), (418, "ERROR")])
def test_indigitall_error_codes_for_injected_statuses(client, status, code):
    add(client, match={"provider": "indigitall"}, action={"status": status})
    response = client.get(f"{PREFIX}/100/task/1", headers=KEY)
    assert response.status_code == status and response.json["errorCode"] == code


def test_an_injected_401_carries_the_challenge(client):
    add(client, match={"provider": "jelou"}, action={"status": 401})
    response = client.get("/v1/campaigns/x", headers=JELOU)
    assert response.status_code == 401
    assert response.json == {"message": ["Authentication failed"], "status": "failed"}
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Jelou"'


def test_429_has_retry_after_and_rate_limit_headers(client):
    add(client, match={"provider": "jelou"}, action={"status": 429, "retryAfter": "PT29.2S", "limit": 60})
    response = client.get("/v1/campaigns/x", headers=JELOU)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"
    assert response.headers["X-RateLimit-Limit"] == "60"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    reset = 1767607200 + 30             # 2026-01-05T10:00:00Z + 29.2 s, rounded up
    assert response.headers["X-RateLimit-Reset"] == str(reset)


def test_a_503_may_carry_retry_after(client):
    add(client, action={"status": 503, "retryAfter": "PT2M"})
    response = client.get("/v1/campaigns/x", headers=JELOU)
    assert response.headers["Retry-After"] == "120" and "X-RateLimit-Limit" not in response.headers


def test_the_control_plane_is_never_faulted(client):
    add(client, action={"status": 500})
    assert client.get("/_mock/health").status_code == 200
    assert client.get("/_mock/faults").status_code == 200


# -- afterCommit: stored, then the error ------------------------------------------------------
def test_after_commit_stores_the_campaign_then_answers_the_error(client):
    add(client, match={"path": "/v1/hsm/file"}, action={"status": 504, "afterCommit": True}, times=1)
    response = send_form(client)
    assert response.status_code == 504 and response.headers["X-Mock-Fault"] == "fault-1"
    assert response.json == {"message": ["Gateway Timeout"], "status": "failed"}
    stored = campaigns(client)
    assert len(stored) == 1 and stored[0]["name"] == "promo"
    entry = client.get("/_mock/requests", query_string={"path": "/v1/hsm/file"}).json["requests"][0]
    assert entry["campaignId"] == stored[0]["id"] and entry["fault"] == "fault-1"
    assert entry["response"]["status"] == 504


def test_after_commit_stores_the_indigitall_task_and_its_slots(client):
    add(client, match={"provider": "indigitall", "method": "POST"}, action={"status": 502, "afterCommit": True}, times=1)
    response = send(client, contacts(1001))
    assert response.status_code == 502 and response.json["errorCode"] == "BAD_GATEWAY"
    entry = client.get("/_mock/requests").json["requests"][0]
    assert get_task(client, entry["taskId"])["total"] == 1001
    task = create(client, contacts(1001))            # the committed task holds 10:00 and one place at 11:00
    assert [(slot["start"], slot["count"]) for slot in task["slots"]] == [(H(11), 999), (H(12), 2)]


# -- match keys ---------------------------------------------------------------------------------
def test_match_by_provider(client):
    add(client, match={"provider": "indigitall"}, action={"status": 503})
    assert client.get("/v1/campaigns/x", headers=JELOU).status_code == 404
    assert client.get(f"{PREFIX}/100/task/1", headers=KEY).status_code == 503


def test_match_by_method(client):
    add(client, match={"method": "DELETE"}, action={"status": 503})
    assert client.get(f"{PREFIX}/100/task/1", headers=KEY).status_code == 404
    assert client.delete(f"{PREFIX}/100/task/1", headers=KEY).status_code == 503


def test_match_by_exact_path_and_by_glob(client):
    add(client, match={"path": "/v1/campaigns"}, action={"status": 500})
    add(client, match={"path": "/v1/campaigns/*"}, action={"status": 502})
    assert health_of(client, 1) == [500]
    assert client.get("/v1/campaigns/abc", headers=JELOU).status_code == 502
    assert client.get("/v1/bots/demo-bot/notifications", headers=JELOU).status_code != 500


def test_match_by_jelou_client_id_and_by_indigitall_server_key(app):
    app = create_app({"clock": {"start": START, "frozen": True}, "jelou": {"clients": [
        {"client_id": "demo-client-id", "client_secret": "demo-client-secret", "company_id": 1},
        {"client_id": "other", "client_secret": "other-secret", "company_id": 1}]},
        "indigitall": {"server_keys": [{"key": "demo-server-key", "applications": [100]},
                                       {"key": "second-key", "applications": [100]}]}})
    client = app.test_client()
    add(client, match={"credential": "other"}, action={"status": 503})
    add(client, match={"credential": "second-key"}, action={"status": 504})
    assert health_of(client, 1) == [200]
    assert health_of(client, 1, headers=basic("other", "other-secret")) == [503]
    assert health_of(client, 1, headers=basic("other", "wrong")) == [503]      # the id, whatever the secret
    assert client.get(f"{PREFIX}/100/task/1", headers=KEY).status_code == 404
    assert client.get(f"{PREFIX}/100/task/1", headers={"Authorization": "ServerKey second-key"}).status_code == 504


def test_first_matching_rule_in_creation_order_wins(client):
    add(client, match={"provider": "jelou"}, action={"status": 500}, times=1)
    add(client, match={"provider": "jelou"}, action={"status": 503})
    assert health_of(client, 3) == [500, 503, 503]


# -- times, after, probability, expiresAfter ----------------------------------------------------
def test_times_and_after(client):
    rule = add(client, match={"path": "/v1/campaigns"}, action={"status": 503}, after=2, times=3)
    assert health_of(client, 7) == [200, 200, 503, 503, 503, 200, 200]
    counted = client.get(f"/_mock/faults/{rule['id']}").json
    assert (counted["matched"], counted["fired"]) == (7, 3)


def test_probability_is_repeatable_with_the_seed():
    def run(seed: int) -> list[int]:
        client = create_app({"clock": {"start": START, "frozen": True}, "seed": seed}).test_client()
        add(client, match={"path": "/v1/campaigns"}, action={"status": 503}, probability=0.5)
        return health_of(client, 40)

    first = run(7)
    assert first == run(7)
    assert 8 <= first.count(503) <= 32 and first != run(8)


def test_expires_after_mock_time(client):
    add(client, action={"status": 503}, expiresAfter="PT10M")
    assert health_of(client, 1) == [503]
    client.post("/_mock/clock", json={"advance": "PT9M59S"})
    assert health_of(client, 1) == [503]
    client.post("/_mock/clock", json={"advance": "PT1S"})
    assert health_of(client, 1) == [200]


def test_reset_drops_the_rules(client):
    add(client, action={"status": 503})
    client.post("/_mock/reset")
    assert client.get("/_mock/faults").json["total"] == 0
    assert health_of(client, 1) == [200]


def test_latency_zero_passes_and_is_recorded(client):
    add(client, match={"path": "/v1/campaigns"}, action={"latency": {"min": "PT0S", "max": "PT0.01S"}})
    response = client.get("/v1/campaigns", query_string=LIST, headers=JELOU)
    assert response.status_code == 200 and response.headers["X-Mock-Fault"] == "fault-1"
    assert client.get("/_mock/requests").json["requests"][0]["fault"] == "fault-1"
