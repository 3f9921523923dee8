"""``mock-harness profile show|set NAME|FILE`` and the pytest plugin's ``mock_profile`` fixture."""

from __future__ import annotations

import json

import pytest

from harness.cli import main
from harness.server import BackgroundServer

START = "2026-01-05T10:00:00Z"
STRICT_INI = "[pytest]\nfilterwarnings =\n    error\n"


@pytest.fixture(scope="module")
def server():
    with BackgroundServer({"clock": {"start": START, "frozen": True}}) as running:
        yield running


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_show_then_set_a_name_then_a_file_in_a_sandbox(server, capsys, tmp_path):
    base = ("--base-url", server.base_url, "--sandbox", "cli-profile")
    code, out, _ = _run(capsys, "profile", "show", *base)
    assert code == 0 and json.loads(out)["name"] == "ideal"
    code, out, _ = _run(capsys, "profile", "set", "realistic", *base)
    assert code == 0 and json.loads(out)["profile"]["throughput"] == {"mps": 80.0}
    assert json.loads(_run(capsys, "profile", "show", "--base-url", server.base_url)[1])["name"] == "ideal"
    yaml_file = tmp_path / "slow.yaml"
    yaml_file.write_text("stages:\n  user: {median: PT1M, p95: PT1H}\nshares: {read: 0.2}\n", encoding="utf-8")
    code, out, _ = _run(capsys, "profile", "set", str(yaml_file), *base)
    shown = json.loads(out)
    assert code == 0 and shown["name"] == "custom"
    assert shown["profile"]["stages"]["user"] == {"median": "PT1M", "p95": "PT1H"} and shown["profile"]["shares"]["read"] == 0.2
    saved = tmp_path / "saved.json"              # what `show` printed can be set again
    saved.write_text(json.dumps(shown), encoding="utf-8")
    code, out, _ = _run(capsys, "profile", "set", str(saved), "--base-url", server.base_url, "--sandbox", "other")
    assert code == 0 and json.loads(out)["profile"] == shown["profile"]


@pytest.mark.parametrize("argument, needle", [
    ("nope", "name: no profile called 'nope'"),
    ("{file}", "profile.shares.read: must be a number from 0 to 1"),
    ("missing.json", "cannot read config file missing.json"),
])
def test_set_reports_the_server_s_message_and_exits_2(server, capsys, tmp_path, monkeypatch, argument, needle):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text('{"shares": {"read": 3}}', encoding="utf-8")
    code, out, err = _run(capsys, "profile", "set", argument.format(file=bad), "--base-url", server.base_url)
    assert code == 2 and out == "" and needle in err, err


def test_an_unreachable_server_is_a_clear_error(capsys):
    code, _, err = _run(capsys, "profile", "show", "--base-url", "http://127.0.0.1:9")
    assert code == 2 and "cannot connect to http://127.0.0.1:9" in err


def test_the_mock_profile_fixture_sets_the_test_s_sandbox(pytester):
    pytester.makeini(STRICT_INI)
    pytester.makepyfile(test_plugin_profile_fixture='''
import io

def test_realistic(mock_server, mock_profile, mock_clock):
    resolved = mock_profile({"failures": [{"code": 131026, "share": 1.0}]})
    assert resolved["name"] == "custom"
    mock_server.jelou.send_file(io.BytesIO(b"phone,x\\n593900000001,a\\n"), campaign_name="c",
                                element_name="welcome_message", bot_id="demo-bot", params=[])
    mock_clock.advance("PT1M")
    message = mock_server.control.messages(status="FAILED")["messages"][0]
    assert message["error"]["code"] == 131026

def test_the_next_test_is_on_the_default(mock_server):
    assert mock_server.control.profile()["name"] == "ideal"
''')
    pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly").assert_outcomes(passed=2)


def test_the_installed_console_script_sets_a_profile_from_a_file(server, tmp_path):
    """The wheel's ``mock-harness`` (``bulk_messaging_mock.harness``) reaches the server's code as
    its sibling package; a top-level ``mock_server`` import there is a ModuleNotFoundError."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).parent / "mock-harness"
    profile = tmp_path / "p.json"
    profile.write_text('{"shares": {"read": 0.25}}', encoding="utf-8")
    done = subprocess.run([str(script), "profile", "set", str(profile), "--base-url", server.base_url,
                           "--sandbox", "script"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["profile"]["shares"]["read"] == 0.25
