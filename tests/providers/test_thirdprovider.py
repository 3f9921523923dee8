"""The provider contract is complete: a third provider that exists only in the tests
(``tests/thirdprovider``) gets every generic plane with no change outside its package."""

from __future__ import annotations

import hashlib
import hmac
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.webhooks import WebhookReceiver
from mock_server import create_app
from mock_server.apidoc import build_spec
from mock_server.app import PROVIDERS
from mock_server.settings import SettingsError, build_settings
from thirdprovider import PROVIDER as THIRD

START = "2026-01-05T10:00:00Z"
KEY = {"X-Tp-Key": "tp-key"}
ALL_THREE = (*PROVIDERS, THIRD)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app():
    app = create_app({"clock": {"start": START, "frozen": True}}, providers=ALL_THREE)
    yield app
    app.extensions["mock"].webhooks.stop()


@pytest.fixture
def client(app):
    return app.test_client()


def send(client, to=("5551",), headers=KEY):
    return client.post("/tp/send", json={"account": "acct-1", "to": list(to), "text": "hi"}, headers=headers)


def test_default_app_serves_only_the_two_real_providers():
    app = create_app()
    assert set(app.extensions["mock"].providers) == {"jelou", "indigitall"}
    assert app.test_client().post("/tp/send", json={}).status_code == 404
    app.extensions["mock"].webhooks.stop()


def test_its_endpoint_and_errors_in_its_envelope(client):
    response = send(client)
    assert response.status_code == 201 and response.json["noteId"]
    bad = send(client, headers={"X-Tp-Key": "nope"})
    assert bad.status_code == 401 and bad.json == {"tp_error": "bad key", "code": 401}
    assert client.get("/tp/unknown").json["code"] == 404          # the app's 404 in its envelope
    assert client.get("/_mock/sandboxes").json["sandboxes"][0]["records"]["notes"] == 1


def test_journal_masks_its_credential_and_names_the_created_record(client):
    note_id = send(client).json["noteId"]
    send(client, headers={"X-Tp-Key": "wrong-key"})
    entries = client.get("/_mock/requests", query_string={"provider": "thirdprovider"}).json["requests"]
    created = [entry for entry in entries if entry["response"]["status"] == 201]
    assert [entry["noteId"] for entry in created] == [note_id]
    assert all("noteId" not in entry for entry in entries if entry["response"]["status"] != 201)
    assert all(entry["provider"] == "thirdprovider" for entry in entries)
    # X-Tp-Key is named like a secret: masked, never echoed
    assert {entry["headers"]["X-Tp-Key"] for entry in entries} == {"***"}


def test_fault_rules_match_its_credential(client):
    rule = client.post("/_mock/faults", json={"match": {"provider": "thirdprovider", "credential": "tp-key"},
                                              "action": {"status": 503}, "times": 1})
    assert rule.status_code == 201, rule.json
    other = send(client, headers={"X-Tp-Key": "other"})
    assert other.status_code == 401                           # another credential: not matched
    faulted = send(client)
    assert faulted.status_code == 503 and faulted.headers["X-Mock-Fault"] == rule.json["id"]
    assert faulted.json == {"tp_error": "Service Unavailable", "code": 503}
    assert send(client).status_code == 201                    # times: 1
    unknown = client.post("/_mock/faults", json={"match": {"provider": "fourth"}, "action": {"status": 503}})
    assert unknown.status_code == 400 and "match.provider" in unknown.json["error"]["message"]


def test_rate_limit_per_its_own_subject():
    app = create_app({"clock": {"start": START, "frozen": True},
                      "rate_limits": [{"provider": "thirdprovider", "per": "account", "limit": 1, "window": "PT1M"}]},
                     providers=ALL_THREE)
    client = app.test_client()
    assert send(client).status_code == 201
    assert send(client).status_code == 429
    app.extensions["mock"].webhooks.stop()
    with pytest.raises(SettingsError, match=r"rate_limits\[0\]\.per: jelou has no accounts"):
        create_app({"rate_limits": [{"provider": "jelou", "per": "account", "limit": 1, "window": "PT1M"}]},
                   providers=ALL_THREE)


def test_webhooks_delivered_to_a_receiver_signed_with_its_header(app, client):
    with WebhookReceiver(secret=None) as receiver:
        subscribed = client.post("/_mock/webhooks", json={"provider": "thirdprovider", "accountId": "acct-1",
                                                          "url": f"{receiver.url}/tp", "events": ["all"],
                                                          "signing_secret": "tp-secret"})
        assert subscribed.status_code == 201, subscribed.json
        assert subscribed.json["accountId"] == "acct-1" and subscribed.json["events"] == ["delivered"]
        wrong = client.post("/_mock/webhooks", json={"provider": "thirdprovider", "accountId": "nobody",
                                                     "url": f"{receiver.url}/tp", "events": ["all"]})
        assert wrong.status_code == 400 and "no account 'nobody'" in wrong.json["error"]["message"]
        note_id = send(client, to=["5551", "5552"]).json["noteId"]
        app.extensions["mock"].webhooks.start()
        client.post("/_mock/clock", json={"advance": "PT1M"})
        events = receiver.wait_for(2, timeout=30)
    bodies = sorted((event.data["to"], event.data["event"], event.data["noteId"]) for event in events)
    assert bodies == [("5551", "delivered", note_id), ("5552", "delivered", note_id)]
    for event in events:
        digest = hmac.new(b"tp-secret", event.body, hashlib.sha256).hexdigest()
        assert event.headers["x-tp-signature"] == f"sha256={digest}"


def test_its_ui_page_is_linked_in_the_nav(client):
    note_id = send(client).json["noteId"]
    page = client.get("/_mock/ui/thirdprovider")
    assert page.status_code == 200 and f'<li class="note">{note_id} to 5551</li>' in page.text
    overview = client.get("/_mock/ui/").text
    assert '<a href="/_mock/ui/thirdprovider" >Third notes</a>' in overview
    assert 'aria-current="page">Third notes</a>' in page.text


def test_its_overview_card_record_links_and_record_page(client):
    note_id = send(client, to=["5551", "5552"]).json["noteId"]
    assert client.post("/_mock/clock", json={"advance": "PT1H"}).status_code == 200      # all delivered
    overview = client.get("/_mock/ui/api/overview").json
    assert overview["thirdprovider"] == {"records": {"sent": 1}, "messages": {"user": 2}}
    assert overview["totals"] == {"campaigns": 0, "tasks": 0, "notes": 1}
    card = client.get("/_mock/ui/").text
    assert '<span data-bind="totals.notes">1</span> notes' in card
    assert '<td data-bind="thirdprovider.messages.user">2</td>' in card
    link = f'<a href="/_mock/ui/thirdprovider/{note_id}">note {note_id}</a>'
    assert link in client.get("/_mock/ui/requests").text                       # the journal row's record link
    only = client.get(f"/_mock/ui/requests?note={note_id}").text
    assert f'that created\n   note <a href="/_mock/ui/thirdprovider/{note_id}"><code>{note_id}</code></a>.' in only
    assert only.count('<tr id="') == 1
    page = client.get(f"/_mock/ui/thirdprovider/{note_id}")
    assert page.status_code == 200 and '<li class="message">5552: user</li>' in page.text
    assert 'aria-current="page">Third notes</a>' in page.text               # its nav link marks its pages
    assert f'href="/_mock/ui/requests?note={note_id}"' in page.text
    missing = client.get("/_mock/ui/thirdprovider/nope")
    assert missing.status_code == 404 and "There is no Third note nope in sandbox" in missing.text


def test_alone_the_generic_pages_show_only_what_it_declares():
    """Served alone, no generic page names another provider: examples, hints and owners are its own."""
    app = create_app({"clock": {"start": START, "frozen": True}}, providers=(THIRD,))
    client = app.test_client()
    pages = {path: client.get(path).text for path in ("/_mock/ui/", "/_mock/ui/requests", "/_mock/ui/faults",
                                                      "/_mock/ui/webhooks", "/_mock/ui/thirdprovider")}
    assert "<code>POST /tp/send</code>, …) and it appears here" in pages["/_mock/ui/requests"]
    assert ('placeholder=\'{"match": {"provider": "thirdprovider", "method": "POST", "path": "/tp/send"}, '
            '"action": {"status": 503}, "times": 1}\'') in pages["/_mock/ui/faults"]
    assert "add one with <code>POST /_mock/webhooks</code>.</p>" in pages["/_mock/ui/webhooks"]
    subscribed = client.post("/_mock/webhooks", json={"provider": "thirdprovider", "accountId": "acct-1",
                                                      "url": "http://127.0.0.1:9/tp", "events": ["all"]})
    assert subscribed.status_code == 201, subscribed.json
    pages["webhooks, subscribed"] = client.get("/_mock/ui/webhooks").text
    assert "<td>thirdprovider acct-1</td>" in pages["webhooks, subscribed"]        # its owner key (accountId)
    app.extensions["mock"].webhooks.stop()
    for path, html in pages.items():
        assert "jelou" not in html.lower() and "indigitall" not in html.lower(), path


def test_its_record_type_round_trips_a_shared_store_through_the_codec_it_declares(redis_url):
    app = create_app({"clock": {"start": START, "frozen": True}, "store": {"url": redis_url}},
                     providers=ALL_THREE)
    client = app.test_client()
    note_id = send(client, to=["5551"]).json["noteId"]
    other = create_app({"clock": {"start": START, "frozen": True}, "store": {"url": redis_url}},
                       providers=ALL_THREE)                  # another process's app reads it back
    page = other.test_client().get(f"/_mock/ui/thirdprovider/{note_id}")
    assert page.status_code == 200 and '<li class="message">5551: sent</li>' in page.text
    for one in (app, other):
        one.extensions["mock"].webhooks.stop()


def test_record_codecs_are_registered_by_the_app_not_by_importing_a_provider():
    script = textwrap.dedent("""
        from mock_server.indigitall import slicing
        from mock_server.store import codec
        allocation = slicing.Allocation(slot=7, count=3)
        try:
            codec.encode(allocation)
            print("registered at import")
        except TypeError:
            print("not registered at import")
        from mock_server import create_app
        create_app().extensions["mock"].webhooks.stop()
        print("round trip" if codec.decode(codec.encode(allocation)) == allocation else "broken")
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.split("\n")[:2] == ["not registered at import", "round trip"], done.stderr


def test_openapi_section_with_its_security_scheme(client):
    document = client.get("/_mock/openapi.json").json
    assert document["components"]["securitySchemes"]["tpKey"] == {"type": "apiKey", "in": "header", "name": "X-Tp-Key"}
    assert document["paths"]["/tp/send"]["post"]["security"] == [{"tpKey": []}]
    assert {"name": "Third"} in document["tags"]
    assert document["info"]["description"].startswith("Jelou Send Bulk HSM, indigitall Send messages from CSV and "
                                                      "Third Send note as this mock serves them")
    journal = document["components"]["schemas"]["JournalEntry"]["properties"]
    assert journal["noteId"] == {"type": "string"}
    subscription = document["components"]["schemas"]["ControlSubscription"]["properties"]
    assert subscription["provider"]["enum"] == ["jelou", "indigitall", "thirdprovider"] and "accountId" in subscription
    assert "x-undescribed" not in document["paths"]["/tp/send"]["post"]
    # without it the document does not mention it
    assert "tpKey" not in build_spec(build_settings(None), ())["components"]["securitySchemes"]


def test_settings_section_defaults_and_validation():
    settings = build_settings({"thirdprovider": {"rate": 2}}, ALL_THREE)
    assert settings.provider("thirdprovider").as_dict() == {"keys": ["tp-key"], "accounts": ["acct-1"], "rate": 2}
    with pytest.raises(SettingsError, match=r"^thirdprovider\.rate must be a number > 0, not -1$"):
        build_settings({"thirdprovider": {"rate": -1}}, ALL_THREE)
    with pytest.raises(SettingsError, match=r"unknown setting 'thirdprovider\.nope'"):
        build_settings({"thirdprovider": {"nope": 1}}, ALL_THREE)
    with pytest.raises(SettingsError, match=r"unknown setting 'thirdprovider'"):
        build_settings({"thirdprovider": {"rate": 2}})        # not registered: no such section


def test_banner_lists_its_lines(app):
    from mock_server.__main__ import banner
    assert "Third (X-Tp-Key: <key>): tp-key" in banner(app, "http://127.0.0.1:8080").splitlines()
