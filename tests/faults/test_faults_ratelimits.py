"""Rate limits and latency profiles from the settings (CONTRACT §8)."""

from __future__ import annotations

import pytest

from support.jelou import JELOU, send_form
from support.indigitall import KEY, PREFIX, contacts, send
from mock_server import create_app
from mock_server.faults.ratelimits import load_latency_profiles
from mock_server.settings import SettingsError

START = "2026-01-05T10:00:20Z"          # 20 s into a minute
START_S = 1767607220
LIST = {"limit": 5, "page": 1, "botId": "demo-bot", "startAt": "2026-01-01", "endAt": "2026-12-31"}


def make(*limits, **config):
    return create_app({"clock": {"start": START, "frozen": True}, "rate_limits": list(limits), **config}).test_client()


def get_list(client, headers=JELOU):
    return client.get("/v1/campaigns", query_string=LIST, headers=headers)


def test_per_credential_fixed_window_with_accurate_retry_after():
    client = make({"provider": "jelou", "per": "credential", "limit": 2, "window": "PT1M"})
    first, second, third = get_list(client), get_list(client), get_list(client)
    assert [first.status_code, second.status_code] == [200, 200]
    assert first.headers["X-RateLimit-Limit"] == "2" and first.headers["X-RateLimit-Remaining"] == "1"
    assert second.headers["X-RateLimit-Remaining"] == "0"
    assert first.headers["X-RateLimit-Reset"] == str(START_S + 40)
    assert third.status_code == 429
    assert third.json["status"] == "failed" and "2 requests per 60 s per credential" in third.json["message"][0]
    assert third.headers["Retry-After"] == "40"
    assert (third.headers["X-RateLimit-Remaining"], third.headers["X-RateLimit-Reset"]) == ("0", str(START_S + 40))
    assert "X-Mock-Fault" not in third.headers
    client.post("/_mock/clock", json={"advance": "PT30.5S"})
    refused = get_list(client)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "10"    # 9.5 s, rounded up
    client.post("/_mock/clock", json={"advance": "PT9.5S"})                        # the next minute
    assert [get_list(client).status_code for _ in range(3)] == [200, 200, 429]


def test_a_429_has_no_side_effect_and_is_not_counted():
    client = make({"provider": "jelou", "per": "credential", "limit": 1, "window": "PT1H"})
    assert send_form(client).status_code == 200
    refused = send_form(client)
    assert refused.status_code == 429 and "X-Mock-Campaign-Id" not in refused.headers
    client.post("/_mock/clock", json={"advance": "PT1M"})
    assert client.get("/_mock/messages").json["total"] == 3            # one campaign of 3 rows, not two
    journal = client.get("/_mock/requests").json["requests"]
    assert [entry["response"]["status"] for entry in journal] == [200, 429]
    assert "campaignId" in journal[0] and "campaignId" not in journal[1]


def test_other_credentials_and_providers_have_their_own_windows():
    client = make({"provider": "indigitall", "per": "credential", "limit": 1, "window": "PT1M"})
    assert [get_list(client).status_code for _ in range(3)] == [200, 200, 200]
    first = client.get(f"{PREFIX}/100/task/1", headers=KEY)
    second = client.get(f"{PREFIX}/100/task/1", headers=KEY)
    assert first.status_code == 404 and first.headers["X-RateLimit-Remaining"] == "0"
    assert second.status_code == 429
    assert second.json == {"statusCode": 429, "message": second.json["message"], "errorCode": "TOO_MANY_REQUESTS"}
    other = client.get(f"{PREFIX}/100/task/1", headers={"Authorization": "ServerKey someone-else"})
    assert other.status_code == 401


def test_per_application():
    client = make({"provider": "indigitall", "per": "application", "limit": 1, "window": "PT1M"})
    assert client.get(f"{PREFIX}/100/task/1", headers=KEY).status_code == 404
    assert client.get(f"{PREFIX}/100/task/1", headers=KEY).status_code == 429
    assert client.get(f"{PREFIX}/200/task/1", headers=KEY).status_code == 404
    refused = send(client, contacts(5), application=100)
    assert refused.status_code == 429
    listed = client.get(f"{PREFIX}/200/task", query_string={"limit": 10}, headers=KEY)
    assert listed.status_code == 429


def test_per_bot_reads_the_send_body_and_the_path():
    client = make({"provider": "jelou", "per": "bot", "limit": 1, "window": "PT1M"})
    assert send_form(client).status_code == 200
    assert send_form(client).status_code == 429                               # botId demo-bot in the form
    assert client.get("/v1/bots/demo-bot/notifications", headers=JELOU).status_code == 429
    assert send_form(client, botId="foreign-bot").status_code == 403          # another bot: own window
    assert get_list(client).status_code == 200                                # no bot in the path: not limited


@pytest.mark.parametrize("limit, message", [
    ({"provider": "twilio", "per": "credential", "limit": 1, "window": "PT1M"}, "rate_limits[0].provider"),
    ({"provider": "jelou", "per": "tenant", "limit": 1, "window": "PT1M"}, "rate_limits[0].per"),
    ({"provider": "jelou", "per": "application", "limit": 1, "window": "PT1M"}, "rate_limits[0].per"),
    ({"provider": "jelou", "per": "bot", "limit": 0, "window": "PT1M"}, "rate_limits[0].limit"),
    ({"provider": "jelou", "per": "bot", "limit": 1, "window": "P1M"}, "rate_limits[0].window"),
    ({"provider": "jelou", "per": "bot", "limit": 1, "window": "PT0S"}, "rate_limits[0].window"),
    ({"provider": "jelou", "per": "bot", "limit": 1, "window": "PT1S", "burst": 2}, "rate_limits[0]: unknown"),
])
def test_bad_rate_limit_settings_name_the_key(limit, message):
    with pytest.raises(SettingsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        make(limit)


def test_latency_profiles_settings():
    profiles = load_latency_profiles([{"provider": "jelou", "method": "post", "path": "/v1/hsm/file",
                                       "base": "PT0.2S", "per_1000_rows": "PT0.05S"}, {"base": "PT1S"}])
    assert profiles[0].applies("jelou", "POST", "/v1/hsm/file")
    assert not profiles[0].applies("jelou", "GET", "/v1/hsm/file")
    assert profiles[0].seconds(20_000) == pytest.approx(0.2 + 1.0)
    assert profiles[1].applies("indigitall", "GET", "/v2/x") and profiles[1].seconds(5000) == 1.0
    for bad, key in [([{"base": "fast"}], r"latency_profiles\[0\].base"), ([{"path": "v1"}], r"latency_profiles\[0\].path"),
                     ([{"provider": "x"}], r"latency_profiles\[0\].provider"), ("PT1S", "latency_profiles must be a list"),
                     ([{"per_row": "PT1S"}], "unknown key")]:
        with pytest.raises(SettingsError, match=key):
            load_latency_profiles(bad)


def test_a_latency_profile_delays_uploads_by_their_rows(monkeypatch):
    waits = []
    monkeypatch.setattr("mock_server.serving.hold_until", lambda environ, seconds: waits.append(round(seconds, 6)))
    client = make(latency_profiles=[{"provider": "jelou", "path": "/v1/hsm/file", "base": "PT0.2S",
                                     "per_1000_rows": "PT0.05S"}])
    rows = "\n".join(["phone_number"] + [f"5939{i:08d}" for i in range(3000)]) + "\n"
    assert send_form(client, rows.encode(), elementName="welcome_message", params=[]).status_code == 200
    get_list(client)
    entries = client.get("/_mock/requests").json["requests"]
    assert [entry["latencyMs"] for entry in entries] == [350.0, 0.0]
    assert waits == [0.35]                                                     # the list is not an upload
