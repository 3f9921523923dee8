"""Web pages cannot drive the mock (CONTRACT §18 "Browsers", "Host header", "Headers"), with the
Flask test client (whose ``Host`` is ``localhost``). The real-browser test is in test_ui_browser.py."""

from __future__ import annotations

import re

import pytest

from support.jelou import JELOU, START, order_csv, send_form
from support.indigitall import KEY
from mock_server import create_app
from mock_server.browsers import BrowserPolicy, browser_policy, host_refusal, is_loopback_host, origin_refusal
from mock_server.settings import SettingsError, defaults

FOREIGN = "http://127.0.0.1:9999"
RULE = {"match": {"provider": "jelou"}, "action": {"drop": "reset"}}
WEBHOOK = {"provider": "indigitall", "applicationId": 100, "url": "http://example.com/hook", "events": ["sent"]}


def make(**server) -> object:
    app = create_app({"clock": {"start": START, "frozen": True}, "server": server})
    return app.test_client()


def state_of(client) -> dict:
    return {"clock": client.get("/_mock/clock").json, "faults": client.get("/_mock/faults").json["total"],
            "webhooks": client.get("/_mock/webhooks").json["total"],
            "sandboxes": [item["name"] for item in client.get("/_mock/sandboxes").json["sandboxes"]]}


# -- Host ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "localhost.evil.example", "127.0.0.1.nip.io",
                                  "10.0.0.5:8080", "[fe80::1]:80"])
def test_a_foreign_host_is_421_on_every_path_and_changes_nothing(client, host):
    before = state_of(client)
    control = client.post("/_mock/clock", json={"advance": "P30D"}, headers={"Host": host})
    assert control.status_code == 421
    assert "server.allowed_hosts" in control.json["error"]["message"] and repr(host) in control.json["error"]["message"]
    jelou = client.get("/v1/campaigns", headers={**JELOU, "Host": host})
    assert jelou.status_code == 421 and jelou.json["status"] == "failed" and "Host" in jelou.json["message"][0]
    indigitall = client.get("/v2/chat/application/100/task/1", headers={**KEY, "Host": host})
    assert indigitall.status_code == 421 and indigitall.json["statusCode"] == 421
    for path in ("/_mock/health", "/_mock/ui/", "/_mock/docs/", "/sandboxes/new/_mock/clock", "/"):
        answer = client.get(path, headers={"Host": host})
        assert answer.status_code == 421 and answer.is_json, path
    assert state_of(client) == before


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:8080", "localhost.", "app.localhost:3000", "127.0.0.1",
                                  "127.0.0.1:8080", "127.9.8.7:1", "[::1]:8080", "[::1]"])
def test_localhost_and_loopback_hosts_are_served(client, host):
    assert client.get("/_mock/clock", headers={"Host": host}).status_code == 200


def test_loopback_recognition_at_the_function_level():
    # IPv6 embeddings of loopback: judged here only, never connected to.
    for name in ("::ffff:127.0.0.1", "::ffff:7f00:1", "0:0:0:0:0:0:0:1", "2130706433", "0x7f.1"):
        assert is_loopback_host(name), name
    for name in ("::ffff:10.0.0.1", "::2", "128.0.0.1", "localhost.example", "mylocalhost", ""):
        assert not is_loopback_host(name), name


def test_allowed_hosts_adds_names_and_a_wildcard_accepts_any():
    client = make(allowed_hosts=["Mock.Internal", "10.0.0.5"])
    assert client.get("/_mock/clock", headers={"Host": "mock.internal:8080"}).status_code == 200
    assert client.get("/_mock/clock", headers={"Host": "10.0.0.5:8080"}).status_code == 200
    assert client.get("/_mock/clock", headers={"Host": "other.internal"}).status_code == 421
    assert make(allowed_hosts=["*"]).get("/_mock/clock", headers={"Host": "anything.example"}).status_code == 200


def test_a_non_loopback_listen_address_accepts_any_host_unless_allowed_hosts_is_set():
    open_client = make(host="0.0.0.0")
    assert open_client.get("/_mock/clock", headers={"Host": "mock.example:8080"}).status_code == 200
    listed = make(host="0.0.0.0", allowed_hosts=["mock.example"])
    assert listed.get("/_mock/clock", headers={"Host": "mock.example:8080"}).status_code == 200
    assert listed.get("/_mock/clock", headers={"Host": "localhost:8080"}).status_code == 200
    assert listed.get("/_mock/clock", headers={"Host": "evil.example"}).status_code == 421


def test_a_request_without_a_host_header_is_served():
    policy = browser_policy(defaults().server)
    assert host_refusal(policy, None) is None and host_refusal(policy, "evil.example") is not None


# -- Origin ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{"Origin": FOREIGN}, {"Origin": "http://localhost:9999"},
                                     {"Origin": "https://localhost"}, {"Origin": "null"},
                                     {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                                     {"Origin": "http://localhost", "Sec-Fetch-Site": "cross-site"},
                                     {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}])
def test_a_change_from_another_origin_is_403_and_changes_nothing(client, headers):
    before = state_of(client)
    attempts = [client.post("/_mock/faults", json=RULE, headers=headers),
                client.post("/_mock/clock", json={"advance": "P30D"}, headers=headers),
                client.post("/sandboxes/other/_mock/clock", json={"advance": "P30D"}, headers=headers),
                client.post("/_mock/reset", headers=headers),
                client.post("/_mock/webhooks", json=WEBHOOK, headers=headers),
                client.delete("/_mock/faults", headers=headers),
                client.delete("/_mock/sandboxes/default", headers=headers),
                client.post("/_mock/ui/clock", data={"advance": "P30D"}, headers=headers),
                client.post("/_mock/ui/faults", data={"rule": '{"action": {"status": 503}}'}, headers=headers)]
    for answer in attempts:
        assert answer.status_code == 403, answer.get_data(as_text=True)
        error = answer.json["error"]
        assert error["status"] == 403 and "another origin" in error["message"]
        assert "server.allowed_origins" in error["message"]
    assert state_of(client) == before


def test_own_origin_scripts_and_reads_pass(client):
    assert client.post("/_mock/clock", json={"advance": "PT1S"}, headers={"Origin": "http://localhost"}).status_code == 200
    assert client.post("/_mock/clock", json={"advance": "PT1S"},
                       headers={"Origin": "http://localhost:80", "Sec-Fetch-Site": "same-origin"}).status_code == 200
    assert client.post("/_mock/clock", json={"advance": "PT1S"}, headers={"Sec-Fetch-Site": "none"}).status_code == 200
    assert client.post("/_mock/clock", json={"advance": "PT1S"}).status_code == 200           # curl, requests
    own_form = client.post("/_mock/ui/clock", data={"advance": "PT1S"}, headers={"Origin": "http://localhost"})
    assert own_form.status_code == 303
    assert client.get("/_mock/clock").json["now"] == "2026-01-05T10:00:05.000Z"
    assert client.get("/_mock/clock", headers={"Origin": FOREIGN, "Sec-Fetch-Site": "cross-site"}).status_code == 200


def test_the_emulated_apis_are_not_under_the_origin_rule(client):
    answer = send_form(client, order_csv(), headers={**JELOU, "Origin": FOREIGN, "Sec-Fetch-Site": "cross-site"})
    assert answer.status_code == 200, answer.json


IMAGE = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}


@pytest.mark.parametrize("path, envelope", [("/sandboxes/page-1/_mock/clock", "error"),
                                            ("/sandboxes/page-2/_mock/ui/", "error"),
                                            ("/sandboxes/page-3/v1/campaigns", "message"),
                                            ("/sandboxes/page-4/v2/chat/application/100/task", "statusCode")])
@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_another_sites_page_cannot_create_a_sandbox(client, path, envelope, site):
    """An <img> per name would otherwise fill sandboxes.max_count: every GET creates its sandbox."""
    answer = client.get(path, headers={**IMAGE, "Sec-Fetch-Site": site})
    assert answer.status_code == 403 and envelope in answer.json, answer.json
    assert "may not create one" in answer.get_data(as_text=True) and "server.allowed_origins" in answer.get_data(as_text=True)
    assert [name for name in state_of(client)["sandboxes"] if name.startswith("page-")] == []


def test_another_sites_page_is_served_in_existing_sandboxes_and_default(client):
    assert client.get("/sandboxes/mine/_mock/clock").status_code == 200                 # a script creates it
    assert client.get("/sandboxes/mine/_mock/clock", headers=IMAGE).status_code == 200
    assert client.get("/_mock/clock", headers=IMAGE).status_code == 200                 # default is created
    for own in ({"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}, {}):     # the UI's, typed URLs, scripts
        assert client.get("/sandboxes/new-one/_mock/clock", headers=own).status_code == 200
        client.delete("/_mock/sandboxes/new-one")
    assert sorted(state_of(client)["sandboxes"]) == ["default", "mine"]
    allowed = make(allowed_origins=["http://localhost:3000"])
    listed = allowed.get("/sandboxes/dash/_mock/clock", headers={**IMAGE, "Origin": "http://localhost:3000"})
    assert listed.status_code == 200


def test_allowed_origins_are_exceptions():
    client = make(allowed_origins=["http://localhost:3000", "https://dash.example"])
    for origin in ("http://localhost:3000", "https://dash.example:443", "HTTPS://DASH.EXAMPLE"):
        answer = client.post("/_mock/clock", json={"advance": "PT1S"},
                             headers={"Origin": origin, "Sec-Fetch-Site": "cross-site"})
        assert answer.status_code == 200, origin
    assert client.post("/_mock/clock", json={"advance": "PT1S"}, headers={"Origin": "http://localhost:3001"}).status_code == 403


def test_origin_rule_at_the_function_level():
    policy = BrowserPolicy(check_host=True)
    own = ("http", "localhost", 8080)
    assert origin_refusal(policy, "PUT", "/_mock/x", origin="http://localhost:8080", fetch_site=None, own=own) is None
    assert origin_refusal(policy, "PATCH", "/_mock", origin="http://localhost:8081", fetch_site=None, own=own)
    assert origin_refusal(policy, "POST", "/_mockery", origin=FOREIGN, fetch_site=None, own=own) is None
    assert origin_refusal(policy, "HEAD", "/_mock/x", origin=FOREIGN, fetch_site="cross-site", own=own) is None
    assert origin_refusal(policy, "POST", "/_mock/x", origin="http://[::1", fetch_site=None, own=own)  # malformed


@pytest.mark.parametrize("server, named", [({"allowed_origins": ["localhost:3000"]}, "server.allowed_origins"),
                                           ({"allowed_origins": ["http://a.example/path"]}, "server.allowed_origins"),
                                           ({"allowed_origins": "http://a.example"}, "server.allowed_origins"),
                                           ({"allowed_origins": [""]}, "server.allowed_origins"),
                                           ({"allowed_hosts": ["mock.example:8080"]}, "server.allowed_hosts"),
                                           ({"allowed_hosts": ["http://mock.example"]}, "server.allowed_hosts"),
                                           ({"allowed_hosts": [3]}, "server.allowed_hosts")])
def test_bad_entries_are_settings_errors(server, named):
    with pytest.raises(SettingsError, match=re.escape(named) + " (entries|must)"):
        create_app({"server": server})


# -- headers of the pages -------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/_mock/ui/", "/_mock/ui/faults", "/_mock/ui/jelou", "/_mock/ui/static/ui.js",
                                  "/_mock/docs/", "/_mock/docs/swagger-ui-bundle.js", "/sandboxes/x/_mock/ui/"])
def test_pages_send_a_strict_csp_and_no_framing(client, path):
    answer = client.get(path)
    answer.close()
    assert answer.status_code == 200
    policy = answer.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/_mock/ui/", "/_mock/ui/faults", "/_mock/ui/jelou", "/_mock/ui/indigitall",
                                  "/_mock/ui/webhooks", "/_mock/ui/requests", "/_mock/docs/"])
def test_pages_have_no_inline_script_style_or_handler(client, path):
    html = client.get(path).get_data(as_text=True)
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert re.findall(r"<style\b|\sstyle=|\son[a-z]+=|javascript:", html, re.IGNORECASE) == []
