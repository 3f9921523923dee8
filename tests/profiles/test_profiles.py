"""Traffic profiles (CONTRACT §14): the model, its validation and ``GET/PUT /_mock/profile``."""

from __future__ import annotations

import pytest

from mock_server import create_app
from mock_server.profiles import Catalogue, ProfileError, format_duration, parse
from mock_server.settings import SettingsError, build_settings

from support.jelou import START


def test_a_new_sandbox_is_on_ideal_with_every_field_resolved_from_the_delivery_settings(client):
    answer = client.get("/_mock/profile")
    assert answer.status_code == 200
    assert answer.json["name"] == "ideal"
    assert answer.json["profile"] == {
        "stages": {"channel": {"fixed": "PT1S"}, "user": {"fixed": "PT1S"}, "read": {"fixed": "PT28S"},
                   "reply": {"fixed": "PT30S"}},
        "shares": {"read": 0.5, "reply": 0.0}, "failures": [], "throughput": {"mps": None}, "tier": None}
    assert answer.json["available"] == ["ideal", "realistic", "degraded"]


def test_put_a_built_in_profile_by_name_then_reset_returns_to_the_default(client):
    answer = client.put("/_mock/profile", json={"name": "realistic"})
    assert answer.status_code == 200 and answer.json["name"] == "realistic"
    profile = answer.json["profile"]
    assert profile["stages"]["read"] == {"median": "PT10M", "p95": "PT6H"}
    assert profile["throughput"] == {"mps": 80.0}
    assert profile["failures"][0] == {"code": 131026, "title": "Message undeliverable", "share": 0.02, "at": "send"}
    assert client.get("/_mock/profile").json["name"] == "realistic"
    assert client.get("/_mock/profile", headers={"X-Mock-Sandbox": "other"}).json["name"] == "ideal"
    client.post("/_mock/reset")
    assert client.get("/_mock/profile").json["name"] == "ideal"


def test_an_inline_profile_is_custom_and_takes_the_ideal_values_for_missing_keys(client):
    answer = client.put("/_mock/profile", json={"profile": {"shares": {"read": 0.9},
                                                            "stages": {"user": {"median": "PT2S", "p95": "PT1M"}},
                                                            "tier": {"unique_recipients_24h": 10}}})
    assert answer.status_code == 200
    assert answer.json["name"] == "custom"
    profile = answer.json["profile"]
    assert profile["shares"] == {"read": 0.9, "reply": 0.0}
    assert profile["stages"]["channel"] == {"fixed": "PT1S"}
    assert profile["stages"]["user"] == {"median": "PT2S", "p95": "PT1M"}
    assert profile["tier"] == {"unique_recipients_24h": 10, "overflow": "fail", "code": 131048}
    assert client.get("/_mock/profile").json == answer.json


@pytest.mark.parametrize("body, needle", [
    ({"profile": {"stages": {"read": {"median": "PT10M", "p95": "PT1M"}}}}, "profile.stages.read.p95: must be at least"),
    ({"profile": {"stages": {"read": {"median": "PT10M"}}}}, "profile.stages.read.p95: is required"),
    ({"profile": {"stages": {"read": {"fixed": "soon"}}}}, "profile.stages.read.fixed"),
    ({"profile": {"stages": {"read": {"fixed": "P1Y"}}}}, "profile.stages.read.fixed"),
    ({"profile": {"stages": {"walk": {"fixed": "PT1S"}}}}, "profile.stages.walk: unknown key"),
    ({"profile": {"shares": {"read": 1.5}}}, "profile.shares.read: must be a number from 0 to 1"),
    ({"profile": {"shares": {"reply": "half"}}}, "profile.shares.reply"),
    ({"profile": {"failures": [{"code": 131026, "share": 0.7}, {"code": 131049, "share": 0.5}]}},
     "profile.failures: the shares add up to 1.2"),
    ({"profile": {"failures": [{"code": 131026, "share": 0.1, "at": "later"}]}}, "profile.failures[0].at"),
    ({"profile": {"failures": [{"code": 42, "share": 0.1}]}}, "profile.failures[0].title: is required"),
    ({"profile": {"failures": [{"share": 0.1}]}}, "profile.failures[0].code: is required"),
    ({"profile": {"failures": {"code": 1}}}, "profile.failures: must be a list"),
    ({"profile": {"throughput": {"mps": 0}}}, "profile.throughput.mps: must be a number above 0"),
    ({"profile": {"tier": {"unique_recipients_24h": 0}}}, "profile.tier.unique_recipients_24h"),
    ({"profile": {"tier": {"unique_recipients_24h": 5, "overflow": "drop"}}}, "profile.tier.overflow"),
    ({"profile": {"bogus": 1}}, "profile.bogus: unknown key"),
    ({"profile": []}, "profile"),
    ({"name": "nope"}, "name: no profile called 'nope'"),
    ({}, 'give exactly one of "name"'),
    ({"name": "realistic", "profile": {}}, 'give exactly one of "name"'),
    ({"nom": "realistic"}, "nom"),
])
def test_an_invalid_profile_is_a_400_naming_the_field_and_changes_nothing(client, body, needle):
    client.put("/_mock/profile", json={"name": "degraded"})
    answer = client.put("/_mock/profile", json=body)
    assert answer.status_code == 400
    assert needle in answer.json["error"]["message"], answer.json
    assert client.get("/_mock/profile").json["name"] == "degraded"


def test_settings_name_the_default_profile_and_add_or_override_profiles():
    config = {"clock": {"start": START, "frozen": True},
              "delivery": {"profile": "slow", "profiles": {
                  "slow": {"stages": {"user": {"fixed": "PT1H"}}},
                  "realistic": {"throughput": {"mps": 1000}}}}}
    app = create_app(config)
    try:
        client = app.test_client()
        answer = client.get("/_mock/profile").json
        assert answer["name"] == "slow" and answer["profile"]["stages"]["user"] == {"fixed": "PT1H"}
        assert answer["available"] == ["ideal", "realistic", "degraded", "slow"]
        realistic = client.put("/_mock/profile", json={"name": "realistic"}).json["profile"]
        assert realistic["throughput"] == {"mps": 1000.0}          # overridden...
        assert realistic["shares"] == {"read": 0.5, "reply": 0.0}  # ...over ideal, key by key
    finally:
        app.extensions["mock"].webhooks.stop()


@pytest.mark.parametrize("delivery, needle", [
    ({"profile": "nope"}, "delivery.profile 'nope' is not a profile"),
    ({"profiles": {"ideal": {}}}, "'ideal' cannot be a profile name"),
    ({"profiles": {"x": {"shares": {"read": 2}}}}, "delivery.profiles.x.shares.read"),
    ({"profiles": []}, "delivery.profiles must be a mapping"),
])
def test_bad_profile_settings_are_refused_naming_the_key(delivery, needle):
    with pytest.raises(SettingsError, match=None) as caught:
        build_settings({"delivery": delivery})
    assert needle in str(caught.value)


def test_the_resolved_text_round_trips_and_durations_format_canonically():
    catalogue = Catalogue(build_settings({}).delivery)
    for profile in catalogue.profiles.values():
        assert parse(__import__("json").loads(profile.to_json()), ideal=None) == profile
    assert [format_duration(s) for s in (0, 0.5, 1, 90, 600, 3600, 5400, 86400, 172800 + 1)] == \
        ["PT0S", "PT0.5S", "PT1S", "PT1M30S", "PT10M", "PT1H", "PT1H30M", "P1D", "P2DT1S"]
    with pytest.raises(ProfileError) as caught:
        parse({"stages": {}}, ideal=None)
    assert caught.value.field == "shares"
