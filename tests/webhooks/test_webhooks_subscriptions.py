"""Webhook subscriptions: Jelou's legacy API, the settings' notification URLs and /_mock/webhooks."""

from __future__ import annotations

import pytest

from support.jelou import JELOU, assert_422, basic
from mock_server import create_app
from mock_server.settings import SettingsError

PATH = "/v1/bots/demo-bot/events/webhook"
HOOK = "http://127.0.0.1:9/hook"


def test_jelou_get_before_any_post_lists_every_event_without_url(client):
    response = client.get(PATH, headers=JELOU)
    assert response.status_code == 200
    assert response.json == {"message": ["Webhooks retrieved succesfully!"], "statusMessage": "success", "status": 1,
                             "data": {"delivered_channel": None, "delivered_user": None, "failed": None,
                                      "read": None, "reply": None}}


def test_jelou_post_replaces_the_bots_subscriptions_and_get_shows_one_url_per_event(client):
    first = {"webhooks": [{"url": "http://a.example/x", "events": ["delivered_user", "delivered_channel"]},
                          {"url": "http://b.example/y", "events": ["failed", "reply"]}]}
    response = client.post(PATH, json=first, headers=JELOU)
    assert response.status_code == 200, response.json
    assert response.json == {"message": ["Webhooks created successfully!"], "statusMessage": "success", "status": 1,
                             "data": first["webhooks"]}
    data = client.get(PATH, headers=JELOU).json["data"]
    assert data == {"delivered_channel": "http://a.example/x", "delivered_user": "http://a.example/x",
                    "failed": "http://b.example/y", "read": None, "reply": "http://b.example/y"}
    client.post(PATH, json={"webhooks": [{"url": "http://c.example/z", "events": ["read"]}]}, headers=JELOU)
    data = client.get(PATH, headers=JELOU).json["data"]
    assert data == {"delivered_channel": None, "delivered_user": None, "failed": None,
                    "read": "http://c.example/z", "reply": None}
    listed = client.get("/_mock/webhooks").json["webhooks"]
    assert [(w["botId"], w["url"], w["events"], w["source"]) for w in listed] == [
        ("demo-bot", "http://c.example/z", ["read"], "api")]
    client.post(PATH, json={"webhooks": []}, headers=JELOU)
    assert client.get("/_mock/webhooks").json["total"] == 0


@pytest.mark.parametrize("method", ["get", "post"])
def test_jelou_webhook_api_needs_basic_auth(client, method):
    response = getattr(client, method)(PATH, json={"webhooks": []}, headers=basic("demo-client-id", "wrong"))
    assert response.status_code == 401
    assert response.json == {"message": ["Authentication failed"], "status": "failed"}
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Jelou"'


@pytest.mark.parametrize("bot, status, code", [("nobody", 404, "bot_not_found"), ("foreign-bot", 403, "forbidden_bot")])
def test_jelou_webhook_api_bot_rules(client, bot, status, code):
    for response in (client.get(f"/v1/bots/{bot}/events/webhook", headers=JELOU),
                     client.post(f"/v1/bots/{bot}/events/webhook", json={"webhooks": []}, headers=JELOU)):
        assert response.status_code == status
        assert response.json["error"]["code"] == code


@pytest.mark.parametrize("body, needle", [
    ({}, "Missing data"),
    ({"webhooks": "http://a.example"}, "array"),
    ({"webhooks": [{"events": ["read"]}]}, "url"),
    ({"webhooks": [{"url": "ftp://a.example/x", "events": ["read"]}]}, "http and https"),
    ({"webhooks": [{"url": "http://a.example/x", "events": []}]}, "at least one event"),
    ({"webhooks": [{"url": "http://a.example/x", "events": ["opened"]}]}, "Must be one of"),
    ({"webhooks": [{"url": "http://a.example/x", "events": ["read"], "auth": "x"}]}, "Unknown field"),
    ({"webhooks": [{"url": "http://a.example/x", "events": ["read"]},
                   {"url": "http://b.example/y", "events": ["read"]}]}, "each event has one URL"),
])
def test_jelou_bad_subscription_bodies_are_422_on_webhooks(client, body, needle):
    entries = assert_422(client.post(PATH, json=body, headers=JELOU), "webhooks")
    assert any(needle in entry["en"] for entry in entries), entries
    assert client.get("/_mock/webhooks").json["total"] == 0


def test_jelou_subscription_body_that_is_not_json_is_400(client):
    response = client.post(PATH, data="{not json", content_type="application/json", headers=JELOU)
    assert response.status_code == 400
    assert response.json["status"] == "failed" and "not valid JSON" in response.json["message"][0]
    response = client.post(PATH, data="url=x", content_type="application/x-www-form-urlencoded", headers=JELOU)
    assert response.status_code == 400 and "application/json" in response.json["message"][0]
    response = client.post(PATH, json=[1], headers=JELOU)
    assert response.status_code == 400 and "must be an object" in response.json["message"][0]


# -- settings: notification_urls ---------------------------------------------------------------
def _bots(*urls):
    return {"jelou": {"bots": [{"id": "demo-bot", "name": "Demo Bot", "company_id": 1, "notification_urls": list(urls)},
                               {"id": "foreign-bot", "name": "Foreign Bot", "company_id": 2}]}}


def test_settings_notification_urls_are_listed_with_secrets_masked():
    app = create_app(_bots({"url": HOOK, "events": ["read", "failed"], "signing_secret": "topsecret-value",
                            "auth": {"type": "basic", "username": "u", "password": "password-123"}},
                           {"url": HOOK}))
    listed = app.test_client().get("/_mock/webhooks").json["webhooks"]
    app.extensions["mock"].webhooks.stop()
    assert listed[0] == {"id": "settings-demo-bot-1", "provider": "jelou", "botId": "demo-bot", "url": HOOK,
                         "events": ["failed", "read"], "auth": {"type": "basic", "username": "u", "password": "****23"},
                         "signing": True, "source": "settings"}
    assert listed[1]["events"] == ["delivered_channel", "delivered_user", "failed", "read", "reply"]
    assert "topsecret" not in str(listed) and "password-123" not in str(listed)


@pytest.mark.parametrize("entry, needle", [
    ({"url": "gopher://x"}, "url"),
    ({"url": HOOK, "auth": {"type": "bearer"}}, "needs token"),
    ({"url": HOOK, "auth": {"type": "carrier-pigeon"}}, "type"),
    ({"url": HOOK, "events": ["opened"]}, "events"),
    ({"url": HOOK, "colour": "blue"}, "colour"),
])
def test_bad_notification_urls_are_settings_errors(entry, needle):
    with pytest.raises(SettingsError, match=r"jelou\.bots\[demo-bot\]\.notification_urls\[0\]") as info:
        create_app(_bots(entry))
    assert needle in str(info.value)


@pytest.mark.parametrize("key, value", [("concurrency", 0), ("rate", -1), ("max_attempts", 1.5),
                                        ("duplicate_share", 2), ("reorder_window", -1), ("timeout", "x"),
                                        ("lease", 0), ("max_share", 0), ("max_share", 1.5), ("max_share", True)])
def test_bad_webhook_settings_are_rejected(key, value):
    with pytest.raises(SettingsError, match=f"webhooks.{key}"):
        create_app({"webhooks": {key: value}})


def test_a_lease_must_outlast_an_attempt():
    with pytest.raises(SettingsError, match=r"webhooks.lease \(5 s\) must be longer than webhooks.timeout \(5 s\)"):
        create_app({"webhooks": {"lease": 5, "timeout": 5}})


# -- /_mock/webhooks ---------------------------------------------------------------------------
def test_control_plane_subscription_lifecycle(client):
    body = {"provider": "indigitall", "applicationId": 100, "url": HOOK, "events": ["sent", "failed"],
            "auth": {"type": "api_key", "key": "key-abcdefgh"}, "signing_secret": "s"}
    created = client.post("/_mock/webhooks", json=body)
    assert created.status_code == 201, created.json
    assert created.json == {"id": "wh_1", "provider": "indigitall", "applicationId": 100, "url": HOOK,
                            "events": ["failed", "sent"], "auth": {"type": "api_key", "key": "****gh"},
                            "signing": True, "source": "control"}
    jelou = client.post("/_mock/webhooks", json={"provider": "jelou", "botId": "demo-bot", "url": HOOK, "events": ["all"]})
    assert jelou.status_code == 201 and jelou.json["id"] == "wh_2"
    assert [w["id"] for w in client.get("/_mock/webhooks").json["webhooks"]] == ["wh_1", "wh_2"]
    assert client.delete("/_mock/webhooks/wh_1").json == {"deleted": "wh_1"}
    missing = client.delete("/_mock/webhooks/wh_1")
    assert missing.status_code == 404 and "wh_1" in missing.json["error"]["message"]
    assert [w["id"] for w in client.get("/_mock/webhooks").json["webhooks"]] == ["wh_2"]
    client.post("/_mock/reset")
    assert client.get("/_mock/webhooks").json["total"] == 0


@pytest.mark.parametrize("body, needle", [
    ({"url": HOOK, "events": ["sent"], "applicationId": 100}, "provider"),
    ({"provider": "sms", "url": HOOK, "events": ["sent"]}, "provider"),
    ({"provider": "indigitall", "url": HOOK, "events": ["sent"]}, "needs applicationId"),
    ({"provider": "indigitall", "applicationId": 999, "url": HOOK, "events": ["sent"]}, "no application 999"),
    ({"provider": "indigitall", "applicationId": 100, "botId": "demo-bot", "url": HOOK, "events": ["sent"]}, "has no botId"),
    ({"provider": "indigitall", "applicationId": 100, "url": HOOK, "events": ["delivered_user"]}, "unknown indigitall event"),
    ({"provider": "indigitall", "applicationId": 100, "url": HOOK, "events": []}, "at least one event"),
    ({"provider": "indigitall", "applicationId": 100, "url": "file:///etc/passwd", "events": ["sent"]}, "url"),
    ({"provider": "jelou", "botId": "ghost", "url": HOOK, "events": ["read"]}, "no bot 'ghost'"),
    ({"provider": "jelou", "botId": "demo-bot", "url": HOOK, "events": ["read"], "auth": {"type": "basic", "username": "u"}}, "needs password"),
    ({"provider": "jelou", "botId": "demo-bot", "url": HOOK, "events": ["read"], "secret": "x"}, "secret"),
])
def test_control_plane_subscription_errors_are_400_naming_the_field(client, body, needle):
    response = client.post("/_mock/webhooks", json=body)
    assert response.status_code == 400, response.json
    assert needle in response.json["error"]["message"]
    assert client.get("/_mock/webhooks").json["total"] == 0


def test_settings_subscriptions_cannot_be_deleted_at_run_time():
    app = create_app(_bots({"url": HOOK}))
    response = app.test_client().delete("/_mock/webhooks/settings-demo-bot-1")
    app.extensions["mock"].webhooks.stop()
    assert response.status_code == 409 and "config file" in response.json["error"]["message"]


@pytest.mark.parametrize("query, needle", [("status=lost", "status must be one of"), ("limit=0", "'limit'"),
                                           ("offset=-1", "'offset'")])
def test_deliveries_query_errors(client, query, needle):
    response = client.get(f"/_mock/webhooks/deliveries?{query}")
    assert response.status_code == 400 and needle in response.json["error"]["message"]


@pytest.mark.parametrize("body, status, needle", [
    ({}, 400, 'either "ids"'), ({"ids": [], "status": "dead"}, 400, 'either "ids"'),
    ({"ids": "x"}, 400, "non-empty list"), ({"status": "retrying"}, 400, '"dead" or "delivered"'),
    ({"ids": ["nope@wh_1"]}, 404, "nope@wh_1"),
])
def test_redeliver_errors(client, body, status, needle):
    response = client.post("/_mock/webhooks/redeliver", json=body)
    assert response.status_code == status and needle in response.json["error"]["message"]


def test_redeliver_of_nothing_dead_redelivers_nothing(client):
    assert client.post("/_mock/webhooks/redeliver", json={"status": "dead"}).json == {"redelivered": 0}


def test_url_credentials_are_never_echoed(client):
    secret_url = "https://user:pa55word@hooks.example.com/in?x=1"
    answer = client.post(PATH, json={"webhooks": [{"url": secret_url, "events": ["read"]}]}, headers=JELOU)
    assert answer.status_code == 200
    assert answer.json["data"] == [{"url": "https://***@hooks.example.com/in?x=1", "events": ["read"]}]
    created = client.post("/_mock/webhooks", json={"provider": "indigitall", "applicationId": 100, "url": secret_url,
                                                   "events": ["sent"]})
    shown = [client.get(PATH, headers=JELOU).json, client.get("/_mock/webhooks").json, created.json]
    assert "pa55word" not in str(shown) and "***@hooks.example.com" in str(shown)


# -- host names of webhook URLs (RFC 1123 labels or an IP literal), wherever one is accepted --------
BAD_HOSTS = ["http://<script>alert(1)</script>/", "http://under_score.example/", "http://-lead.example/",
             "http://a..b/", "http://" + "l" * 64 + ".example/", "http://sp ace.example/", "http://%41.example/"]
GOOD_HOSTS = ["http://127.0.0.1:9/h", "http://[::1]:9/h", "http://localhost:9/h", "http://hooks.example./h",
              "http://xn--bcher-kva.example/h", "https://a-1.b2.example:8443/h?q=1"]


@pytest.mark.parametrize("url", BAD_HOSTS)
def test_a_webhook_url_with_a_bad_host_is_refused_by_the_control_plane(client, url):
    response = client.post("/_mock/webhooks", json={"provider": "indigitall", "applicationId": 200, "url": url,
                                                     "events": ["sent"]})
    assert response.status_code == 400, response.json
    message = response.json["error"]["message"]
    assert message.startswith("url: the ") and "host" in message, response.json   # the URL check or the host-name check
    assert client.get("/_mock/webhooks").json["total"] == 0


@pytest.mark.parametrize("url", BAD_HOSTS)
def test_a_webhook_url_with_a_bad_host_is_refused_by_jelous_api(client, url):
    response = client.post(PATH, json={"webhooks": [{"url": url, "events": ["read"]}]}, headers=JELOU)
    entries = assert_422(response, "webhooks")
    assert "[0].url: the " in entries[0]["en"] and "host" in entries[0]["en"], entries
    assert client.get(PATH, headers=JELOU).json["data"]["read"] is None


@pytest.mark.parametrize("url", BAD_HOSTS)
def test_a_notification_url_with_a_bad_host_is_a_settings_error(url):
    with pytest.raises(SettingsError, match=r"jelou\.bots\[demo-bot\]\.notification_urls\[0\].*host"):
        create_app(_bots({"url": url}))


@pytest.mark.parametrize("url", GOOD_HOSTS)
def test_host_names_and_ip_literals_are_accepted(client, url):
    response = client.post("/_mock/webhooks", json={"provider": "indigitall", "applicationId": 200, "url": url,
                                                     "events": ["sent"]})
    assert response.status_code == 201, response.json
    assert client.post(PATH, json={"webhooks": [{"url": url, "events": ["read"]}]}, headers=JELOU).status_code == 200


@pytest.mark.parametrize("path, allowed", [("deliveries", "GET, HEAD, OPTIONS"), ("redeliver", "OPTIONS, POST")])
def test_delete_on_deliveries_or_redeliver_is_405_not_a_subscription_id(client, path, allowed):
    response = client.delete(f"/_mock/webhooks/{path}")
    assert response.status_code == 405, response.json
    assert response.headers["Allow"] == allowed
    assert response.json == {"error": {"status": 405, "message": f"Method DELETE not allowed on /_mock/webhooks/{path} "
                                                                 f"(allowed: {allowed})"}}
