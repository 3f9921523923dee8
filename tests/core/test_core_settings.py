"""Unit tests for ``mock_server.settings`` (defaults, deep merge, checks, config files)."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest

from mock_server.settings import DEFAULTS, Section, SettingsError, build_settings, defaults, load_file
from mock_server.settings.model import walk


def settings_error(config) -> str:
    with pytest.raises(SettingsError) as info:
        build_settings(config)
    return str(info.value)


# --------------------------------------------------------------------------- defaults and merge


def test_build_settings_none_equals_defaults():
    assert build_settings(None) == defaults()
    assert build_settings({}) == defaults()
    assert build_settings(None).as_dict() == DEFAULTS


def test_settings_are_typed_and_frozen():
    settings = build_settings(None)
    assert settings.jelou.file_url_timeout == 10.0 and settings.webhooks.timeout == 5.0
    assert settings.provider("indigitall") is settings.indigitall
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.delivery.read_share = 0.9
    with pytest.raises(AttributeError):
        settings.jelou.bots.append({"id": "x"})            # lists are tuples
    assert isinstance(settings.jelou.bots, tuple) and isinstance(settings.indigitall.applications[0]["templates"], tuple)


def test_build_settings_returns_a_copy():
    pristine = copy.deepcopy(DEFAULTS)
    settings = build_settings(None)
    settings.jelou.bots[0]["name"] = "Changed"      # tenant entries are plain mappings: a copy per build
    assert DEFAULTS == pristine
    assert build_settings(None).as_dict() == pristine


def test_as_dict_round_trips():
    plain = build_settings({"jelou": {"sending_rate": 5}}).as_dict()
    assert plain["jelou"]["bots"] == DEFAULTS["jelou"]["bots"] and isinstance(plain["jelou"]["bots"], list)
    assert build_settings(plain) == build_settings({"jelou": {"sending_rate": 5}})


def test_override_nested_key_keeps_siblings():
    settings = build_settings({"jelou": {"sending_rate": 5}, "delivery": {"read_share": 0.25}})
    assert settings.jelou.sending_rate == 5
    assert settings.delivery.read_share == 0.25
    assert settings.jelou == dataclasses.replace(defaults().jelou, sending_rate=5)
    assert settings.delivery == dataclasses.replace(defaults().delivery, read_share=0.25)
    assert settings.indigitall == defaults().indigitall
    assert settings.seed == 0


def test_override_two_levels_deep():
    settings = build_settings({"clock": {"frozen": True}, "inspection": {"max_limit": 50}})
    assert settings.clock.as_dict() == {"start": None, "frozen": True}
    assert settings.inspection.as_dict() == {"default_limit": 100, "max_limit": 50, "max_wait_seconds": 60.0,
                                             "max_waiters": 16}


def test_list_replaces_default_list():
    bots = [{"id": "only-bot", "name": "Only", "company_id": 1}]
    settings = build_settings({"jelou": {"bots": bots}, "indigitall": {"channel_types": ["sms"]}})
    assert settings.jelou.bots == tuple(bots)
    assert settings.indigitall.channel_types == ("sms",)
    # the companies list and everything else stay default
    assert settings.jelou.companies == defaults().jelou.companies
    bots.append({"id": "late"})                   # the result does not alias the input
    bots[0]["name"] = "Renamed"
    assert len(settings.jelou.bots) == 1 and settings.jelou.bots[0]["name"] == "Only"


def test_empty_list_replaces_default():
    assert build_settings({"jelou": {"templates": []}}).jelou.templates == ()


def test_scalar_none_is_kept():
    assert build_settings({"clock": {"start": None}}).clock.start is None


def test_every_field_has_a_description():
    for path, spec in walk(type(defaults())):
        assert spec.metadata.get("doc"), f"{path} has no description"
    assert all(issubclass(type(getattr(defaults(), name)), Section) for name in ("jelou", "indigitall", "webhooks"))


# --------------------------------------------------------------------------- unknown keys / wrong types


def test_unknown_top_level_key():
    message = settings_error({"sede": 1})
    assert message.startswith("unknown setting 'sede' (known here: ")
    assert "seed" in message and "jelou" in message


def test_unknown_nested_key_names_dotted_path():
    message = settings_error({"jelou": {"sending_rat": 5}})
    assert message.startswith("unknown setting 'jelou.sending_rat' (known here: ")
    assert "sending_rate" in message


def test_unknown_deeply_nested_key():
    assert settings_error({"clock": {"frozen": True, "speed": 2}}) == \
        "unknown setting 'clock.speed' (known here: frozen, start)"


def test_mapping_expected_but_scalar_given():
    assert settings_error({"delivery": 5}) == "setting 'delivery' must be a mapping"
    assert settings_error({"jelou": "yes"}) == "setting 'jelou' must be a mapping"
    assert settings_error({"clock": ["x"]}) == "setting 'clock' must be a mapping"


def test_settings_error_is_value_error():
    assert issubclass(SettingsError, ValueError)


def test_empty_section_keeps_defaults():
    # ``delivery:`` with nothing under it in a YAML file loads as {"delivery": None}.
    settings = build_settings({"delivery": None})
    assert settings.delivery == defaults().delivery


# --------------------------------------------------------------------------- check()


@pytest.mark.parametrize("provider", ["jelou", "indigitall"])
def test_invalid_rows_value(provider):
    assert settings_error({provider: {"invalid_rows": "drop"}}) == f"{provider}.invalid_rows must be 'reject' or 'skip'"


@pytest.mark.parametrize("provider", ["jelou", "indigitall"])
@pytest.mark.parametrize("value", [0, -1, 2.5, "10"])
def test_max_rows_must_be_positive_integer(provider, value):
    assert settings_error({provider: {"max_rows": value}}) == f"{provider}.max_rows must be a positive integer"


@pytest.mark.parametrize("provider", ["jelou", "indigitall"])
@pytest.mark.parametrize("value", [0, -5, None, "fast"])
def test_sending_rate_must_be_positive(provider, value):
    assert settings_error({provider: {"sending_rate": value}}) == f"{provider}.sending_rate must be > 0"


def test_skip_and_legacy_are_accepted():
    settings = build_settings({"jelou": {"invalid_rows": "skip", "campaigns_shape": "legacy", "max_rows": 1}})
    assert (settings.jelou.invalid_rows, settings.jelou.campaigns_shape) == ("skip", "legacy")


def test_campaigns_shape():
    assert settings_error({"jelou": {"campaigns_shape": "v3"}}) == "jelou.campaigns_shape must be 'current' or 'legacy'"


@pytest.mark.parametrize("value", [1.01, -0.1, 2])
def test_read_share_out_of_range(value):
    assert settings_error({"delivery": {"read_share": value}}) == "delivery.read_share must be between 0 and 1"


@pytest.mark.parametrize("value", [0, 0.0, 1, 1.0, 0.5])
def test_read_share_bounds_inclusive(value):
    assert build_settings({"delivery": {"read_share": value}}).delivery.read_share == value


@pytest.mark.parametrize("value", ["v2", "/v2/", "/", "", 2])
def test_path_prefix(value):
    assert settings_error({"indigitall": {"path_prefix": value}}) == \
        "indigitall.path_prefix must start with '/' and not end with '/' (e.g. /v2)"


def test_path_prefix_accepted():
    assert build_settings({"indigitall": {"path_prefix": "/api/v2"}}).indigitall.path_prefix == "/api/v2"


def test_defaults_as_a_config_pass_the_checks():
    assert build_settings(copy.deepcopy(DEFAULTS)) == defaults()


# --------------------------------------------------------------------------- load_file


def test_load_json(tmp_path):
    path = tmp_path / "mock.json"
    path.write_text(json.dumps({"seed": 7, "jelou": {"sending_rate": 10}}), encoding="utf-8")
    assert load_file(path) == {"seed": 7, "jelou": {"sending_rate": 10}}
    assert build_settings(load_file(str(path))).jelou.sending_rate == 10


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".conf"])
def test_load_yaml(tmp_path, suffix):
    path = tmp_path / f"mock{suffix}"
    path.write_text("seed: 3\ndelivery:\n  read_share: 0.75\njelou:\n  bots:\n    - {id: b1, name: B, company_id: 1}\n",
                    encoding="utf-8")
    assert load_file(path) == {"seed": 3, "delivery": {"read_share": 0.75},
                               "jelou": {"bots": [{"id": "b1", "name": "B", "company_id": 1}]}}


@pytest.mark.parametrize("name", ["empty.yaml", "empty.json", "empty.yml"])
def test_load_empty_yaml(tmp_path, name):
    path = tmp_path / name
    path.write_text("" if name.endswith("yaml") or name.endswith("yml") else "null", encoding="utf-8")
    assert load_file(path) == {}


def test_load_comment_only_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("# nothing here\n", encoding="utf-8")
    assert load_file(path) == {}


def test_load_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(SettingsError) as info:
        load_file(path)
    assert str(info.value) == f"cannot read config file {path}: No such file or directory"


def test_load_invalid_json_names_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"seed": ', encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_file(path)
    assert str(info.value).startswith(f"config file {path} is not valid json: ")


def test_load_invalid_yaml_names_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("seed: [1, 2\njelou: {", encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_file(path)
    assert str(info.value).startswith(f"config file {path} is not valid yaml: ")


def test_load_invalid_yaml_without_suffix(tmp_path):
    path = tmp_path / "config"
    path.write_text("a: b: c\n", encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_file(path)
    assert str(info.value).startswith(f"config file {path} is not valid YAML: ")


@pytest.mark.parametrize(("name", "text"), [("list.yaml", "- a\n- b\n"), ("list.json", "[1, 2]"),
                                            ("scalar.yaml", "42\n")])
def test_load_top_level_non_mapping_rejected(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_file(path)
    assert str(info.value) == f"config file {path} must hold a mapping at the top level"


# --------------------------------------------------------------------------- the settings page's table, the demo tenant


def test_the_settings_page_table_is_generated_from_the_model():
    from pathlib import Path

    from mock_server.settings.table import BEGIN, END, PAGE, table, with_table

    page = (Path(__file__).resolve().parents[2] / PAGE).read_text(encoding="utf-8")
    assert BEGIN in page and END in page
    assert with_table(page, table()) == page, \
        f"{PAGE}'s settings table is stale: run `python -m mock_server.settings --write {PAGE}`"
    rows = table().splitlines()
    assert "| `jelou.file_url_timeout` | 10 s | " in "\n".join(rows)
    keys = {path for path, _ in walk(type(defaults()))}
    assert {row.split("`")[1] for row in rows[2:]} == keys | {"jelou.bots[].notification_urls"}


def test_demo_tenant_comes_from_the_providers_data_files():
    from importlib import resources

    import yaml

    jelou = yaml.safe_load(resources.files("mock_server.jelou").joinpath("demo.yaml").read_text(encoding="utf-8"))
    indigitall = yaml.safe_load(resources.files("mock_server.indigitall").joinpath("demo.yaml").read_text("utf-8"))
    assert DEFAULTS["jelou"]["bots"] == jelou["bots"] and DEFAULTS["jelou"]["templates"] == jelou["templates"]
    assert DEFAULTS["indigitall"]["server_keys"] == indigitall["server_keys"]
    assert DEFAULTS["indigitall"]["applications"] == indigitall["applications"]


def test_package_data_ships_the_demo_tenants():
    """The wheel's package data (setup.py, which maps the packages under bulk_messaging_mock) names
    every provider's demo tenant (the slim-install test builds the wheel and serves from it)."""
    from pathlib import Path

    setup = (Path(__file__).resolve().parents[2] / "setup.py").read_text(encoding="utf-8")
    declared = next(line for line in setup.splitlines() if line.strip().startswith("package_data="))
    assert '"*/demo.yaml"' in declared


@pytest.mark.parametrize("config, message", [
    ({"rate_limits": [{"provider": "nope", "per": "credential", "limit": 1, "window": "PT1M"}]},
     "rate_limits[0].provider must be one of: jelou, indigitall"),
    ({"latency_profiles": [{"method": "BREW"}]}, "latency_profiles[0].method must be one of: "),
    ({"clock": {"start": "yesterday"}}, "clock.start: "),
    ({"access_log": "xml"}, "access_log must be one of: text, json (or null: off)"),
    ({"jelou": {"bots": [{"id": "b", "company_id": 1, "notification_urls": [{"url": 5}]}]}},
     "jelou.bots[b].notification_urls[0]: "),
])
def test_every_check_runs_when_the_settings_are_built(config, message):
    """One validator: what the factory used to check while wiring the app, the model checks on load."""
    assert settings_error(config).startswith(message)
