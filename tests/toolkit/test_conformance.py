"""``mock-harness conformance`` end to end: a second mock on loopback stands in for the real provider.

The target is a ``BackgroundServer`` (its own app and journal); the "mock" side is in-process or,
where a test needs to shape it too, another ``BackgroundServer`` given with ``--mock-url``.  What
reached the target is counted through its journal (``GET /_mock/requests``).  The pacing runs on
a fake clock and sleeper, so no test waits.
"""
from __future__ import annotations

import base64
import io
import json
from contextlib import ExitStack

import pytest
import requests
from flask import request as flask_request

from harness import cli
from harness.conformance import command
from harness.conformance.scenario import scenario
from harness.server import BackgroundServer
from mock_server import create_app

RECIPIENT = "593987654321"
ACCOUNT = ["--jelou-auth", "demo-client-id:demo-client-secret", "--jelou-bot", "demo-bot",
           "--jelou-template", "welcome_message", "--indigitall-key", "demo-server-key", "--indigitall-app", "100"]
# Notifications exist once a campaign has started: start at once on both sides, so the reads run too.
QUICK = {"jelou": {"start_delay": 0}}
ALL_STEPS = [step.name for step in scenario()]
SENDING = {step.name for step in scenario() if step.sends_messages}


@pytest.fixture
def servers():
    with ExitStack() as stack:
        def serve(config=None, hook=None):
            config = {**(config or {}), "server": {"host": "127.0.0.1"}}
            app = create_app(config)
            if hook is not None:
                app.after_request(hook)
            return stack.enter_context(BackgroundServer(app=app))
        yield serve


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def conformance(*argv, stdin=None, sleep=None, clock=None):
    """Run the command; return (exit code, stdout, stderr, sleeps)."""
    out, err, sleeps = io.StringIO(), io.StringIO(), []
    injected = {"stdout": out, "stderr": err, "stdin": stdin or io.StringIO(),
                "sleep": sleep or sleeps.append, "clock": clock or (lambda: 0.0)}
    try:
        code = command.main(list(argv), **injected)
    except SystemExit as exc:            # argparse's own usage errors
        code = exc.code
    return code, out.getvalue(), err.getvalue(), sleeps


def live(target, mock=None, *extra, **injected):
    """Run against ``target`` (and ``mock`` as --mock-url) with the demo account, one recipient, --yes."""
    where = ["--target", target.base_url] + (["--mock-url", mock.base_url] if mock else [])
    return conformance(*where, *ACCOUNT, "--recipient", RECIPIENT, "--yes", *extra, **injected)


def results(path) -> dict[str, dict]:
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    return {step["name"]: step for step in document["steps"]}


def differing(path) -> dict[str, list[str]]:
    return {name: [d["path"] for d in step["differences"]] for name, step in results(path).items()
            if step["result"] == "differs"}


def journal_total(server) -> int:
    answer = requests.get(server.base_url + "/_mock/requests", params={"limit": 1}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["total"]


def target_messages(server) -> list[dict]:
    answer = requests.get(server.base_url + "/_mock/messages", timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["messages"]


def test_identical_settings_make_every_step_the_same(servers, tmp_path):
    target, mock = servers(QUICK), servers(QUICK)
    report = tmp_path / "report.json"
    code, out, err, _ = live(target, mock, "--report", str(report))
    assert code == 0, out + err
    steps = results(report)
    assert list(steps) == ALL_STEPS
    assert {name: step["result"] for name, step in steps.items()} == {name: "same" for name in ALL_STEPS}
    # the report's format is CONTRACT §15's, step by step
    upload = steps["jelou.send.upload"]
    assert upload == {"name": "jelou.send.upload", "provider": "jelou",
                      "request": {"method": "POST", "path": "/v1/hsm/file"},
                      "result": "same", "differences": [], "reason": None}
    assert "21 same, 0 differs, 0 skipped, 0 error" in out
    assert out.index("Plan:") < out.index("STEP")


def test_the_in_process_mock_matches_a_default_target(servers, tmp_path):
    target = servers()
    report = tmp_path / "report.json"
    code, out, err, _ = live(target, None, "--report", str(report))
    assert code == 0, out + err
    assert {step["result"] for step in results(report).values()} <= {"same", "skipped"}
    assert results(report)["jelou.campaigns.one"]["result"] == "same"


def test_a_legacy_campaign_shape_differs_in_exactly_the_campaign_reads(servers, tmp_path):
    target, mock = servers({"jelou": {"campaigns_shape": "legacy", "start_delay": 0}}), servers(QUICK)
    report = tmp_path / "report.json"
    code, out, _, _ = live(target, mock, "--report", str(report))
    assert code == 1
    drift = differing(report)
    assert set(drift) == {"jelou.campaigns.list", "jelou.campaigns.one"}
    assert {"$.results", "$.pagination", "$.data", "$._metadata"} <= set(drift["jelou.campaigns.list"])
    assert {"$.data._id", "$.data.id", "$.data.rowCount"} <= set(drift["jelou.campaigns.one"])
    one = results(report)["jelou.campaigns.one"]["differences"]
    assert {"path": "$.data._id", "target": "string", "mock": "(absent)"} in one
    assert "jelou.campaigns.list" in out and "$.results: target array / mock (absent)" in out


def _changed_401_and_422(response):
    """A target whose Jelou 401 envelope changed and whose 422 lost a key (and tries markup)."""
    if flask_request.path != "/v1/hsm/file":
        return response
    if response.status_code == 401:
        response.set_data(json.dumps({"message": "Authentication failed <script>alert(1)</script>"}))
    elif response.status_code == 422:
        body = response.get_json()
        body.pop("statusMessage")
        response.set_data(json.dumps(body))
    return response


def test_a_changed_error_envelope_and_a_missing_key_differ_exactly_where_they_occur(servers, tmp_path):
    target, mock = servers(QUICK, hook=_changed_401_and_422), servers(QUICK)
    report, html = tmp_path / "report.json", tmp_path / "report.html"
    code, _, _, _ = live(target, mock, "--report", str(report), "--html", str(html))
    assert code == 1
    assert differing(report) == {
        "jelou.reject.auth": ["$.message", "$.status"],
        "jelou.reject.header": ["$.statusMessage"],
        "jelou.reject.phone": ["$.statusMessage"],
        "jelou.reject.column": ["$.statusMessage"],
        "jelou.reject.params": ["$.statusMessage"],
    }
    auth = results(report)["jelou.reject.auth"]["differences"]
    assert auth == [{"path": "$.message", "target": "string", "mock": "array"},
                    {"path": "$.status", "target": "(absent)", "mock": "string"}]
    page = html.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count('class="differs"') == 5


def test_nothing_reaches_the_target_without_consent(servers):
    target = servers()
    code, out, err, _ = conformance("--target", target.base_url, *ACCOUNT, "--recipient", RECIPIENT)
    assert code == 2
    assert "Plan:" in out and "--yes" in err and "nothing sent" in err
    code, _, err, _ = conformance("--target", target.base_url, *ACCOUNT, "--recipient", RECIPIENT,
                                  stdin=_Terminal("n\n"))
    assert code == 2 and "not confirmed" in err
    assert journal_total(target) == 0
    code, out, err, _ = conformance("--target", target.base_url, *ACCOUNT, "--recipient", RECIPIENT,
                                    stdin=_Terminal("y\n"))
    assert code == 0, out + err
    assert "[y/N]" in err and journal_total(target) > 0


def test_without_a_recipient_only_steps_that_send_nothing_reach_the_target(servers, tmp_path):
    target = servers()
    report = tmp_path / "report.json"
    code, out, err, _ = conformance("--target", target.base_url, *ACCOUNT, "--yes", "--report", str(report))
    assert code == 0, out + err
    steps = results(report)
    ran = [name for name, step in steps.items() if step["result"] != "skipped"]
    assert ran and not set(ran) & SENDING
    assert all(steps[name]["reason"].startswith("sends messages") for name in SENDING)
    assert journal_total(target) == len(ran)
    assert target_messages(target) == []


def test_with_a_recipient_messages_go_to_that_number_only(servers):
    target = servers(QUICK)
    code, out, err, _ = conformance("--target", target.base_url, *ACCOUNT, "--recipient", RECIPIENT, "--yes")
    assert code == 0, out + err
    messages = target_messages(target)
    assert messages and {message["recipient"] for message in messages} == {RECIPIENT}


def test_the_request_cap_and_the_pace_hold(servers, tmp_path):
    target = servers()
    report = tmp_path / "report.json"
    code, out, err, sleeps = conformance("--target", target.base_url, *ACCOUNT, "--recipient", RECIPIENT,
                                         "--yes", "--max-requests", "4", "--report", str(report))
    assert code == 0, out + err
    assert journal_total(target) == 4
    steps = results(report)
    assert [name for name, step in steps.items() if step["result"] == "same"] == ALL_STEPS[:4]
    assert {steps[name]["reason"] for name in ALL_STEPS[4:]} == {"--max-requests 4 reached"}
    assert "at most 4, 2 per second" in out
    # the injected clock never moves: every request after the first waited half a second
    assert sleeps == [0.5, 0.5, 0.5]


SECRET, KEY, TEAM = "team-secret-Zq81xK", "team-server-key-7f3a9c2e41", "team-client"
TEAM_CONFIG = {"jelou": {"clients": [{"client_id": TEAM, "client_secret": SECRET, "company_id": 1}], "start_delay": 0},
               "indigitall": {"server_keys": [{"key": KEY, "applications": [100, 200]}]}}


def test_no_output_or_saved_file_holds_a_secret_or_a_recipient(servers, tmp_path):
    target, mock = servers(TEAM_CONFIG), servers(QUICK)
    files = [tmp_path / "saved.json", tmp_path / "report.json", tmp_path / "report.html"]
    code, out, err, _ = conformance(
        "--target", target.base_url, "--mock-url", mock.base_url,
        "--jelou-auth", f"{TEAM}:{SECRET}", "--jelou-bot", "demo-bot", "--jelou-template", "welcome_message",
        "--indigitall-key", KEY, "--indigitall-app", "100", "--recipient", RECIPIENT, "--yes",
        "--save-target", str(files[0]), "--report", str(files[1]), "--html", str(files[2]))
    assert code == 0, out + err
    basic = base64.b64encode(f"{TEAM}:{SECRET}".encode()).decode()
    for text in [out, err] + [path.read_text(encoding="utf-8") for path in files]:
        for secret in (SECRET, KEY, basic, RECIPIENT):
            assert secret not in text
    saved = json.loads(files[0].read_text(encoding="utf-8"))
    assert saved["target"] == target.base_url
    assert saved["recipients"] == 1 and saved["setup"]["jelou_bot"] == "demo-bot"
    assert {step["outcome"] for step in saved["steps"]} == {"answered"}
    notification = next(step for step in saved["steps"] if step["name"] == "jelou.notifications.one")
    assert notification["response"]["json"]["destination"] == "<recipient-1>"


def test_against_saved_passes_without_credentials_and_fails_when_the_mock_drifts(servers, tmp_path):
    target, mock = servers(QUICK), servers(QUICK)
    saved = tmp_path / "saved.json"
    code, out, err, _ = live(target, mock, "--save-target", str(saved))
    assert code == 0, out + err
    before = journal_total(target)
    report = tmp_path / "ci.json"
    same = servers(QUICK)
    code, out, err, _ = conformance("--against-saved", str(saved), "--mock-url", same.base_url, "--report", str(report))
    assert code == 0, out + err
    assert {step["result"] for step in results(report).values()} == {"same"}
    code, out, err, _ = conformance("--against-saved", str(saved), "--provider", "indigitall")   # in-process mock
    assert code == 0, out + err
    assert "indigitall.task.list" in out and "jelou." not in out
    drifted = servers({"jelou": {"campaigns_shape": "legacy", "start_delay": 0}})
    code, out, _, _ = conformance("--against-saved", str(saved), "--mock-url", drifted.base_url, "--report", str(report))
    assert code == 1
    assert set(differing(report)) == {"jelou.campaigns.list", "jelou.campaigns.one"}
    assert journal_total(target) == before           # the saved runs never talked to the target


@pytest.mark.parametrize("argv, message", [
    ([], "give --target URL"),
    (["--target", "http://127.0.0.1:9", "--against-saved", "x.json"], "exclude each other"),
    (["--against-saved", "x.json", "--jelou-auth", "a:b"], "only with --target"),
    (["--against-saved", "x.json", "--recipient", RECIPIENT], "only with --target"),
    (["--against-saved", "/nonexistent/x.json"], "cannot read"),
    (["--target", "http://127.0.0.1:9", "--provider", "jelou"], "needs --jelou-auth"),
    (["--target", "http://127.0.0.1:9", *ACCOUNT, "--report", "/nonexistent/dir/r.json"], "does not exist"),
    (["--target", f"http://{TEAM}:{SECRET}@127.0.0.1:9", *ACCOUNT], "must not carry credentials"),
])
def test_usage_errors_exit_2_and_say_what_to_do(argv, message, monkeypatch):
    for name in ("JELOU_CLIENT_ID", "JELOU_CLIENT_SECRET", "INDIGITALL_SERVER_KEY"):
        monkeypatch.delenv(name, raising=False)
    code, out, err, _ = conformance(*argv)
    assert code == 2 and message in err
    assert SECRET not in out + err


@pytest.mark.parametrize("flag", [["--recipient", "+593987654321"], ["--max-requests", "0"],
                                  ["--jelou-auth", "no-colon"], ["--target", "127.0.0.1:8080"],
                                  ["--provider", "whatsapp"]])
def test_bad_flag_values_are_refused_by_the_cli(flag, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["conformance", *flag])
    assert exc.value.code == 2
    assert flag[0] in capsys.readouterr().err


def test_an_unsaved_file_is_refused(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"steps": []}', encoding="utf-8")
    code, _, err, _ = conformance("--against-saved", str(path))
    assert code == 2 and "not a file written by" in err


def test_the_in_process_mock_takes_the_target_accounts_bot_template_application_and_prefix(servers, tmp_path):
    from mock_server.settings import DEFAULTS

    INDIGITALL, JELOU = DEFAULTS["indigitall"], DEFAULTS["jelou"]

    slicing = INDIGITALL["applications"][1]["slicing"]
    target = servers({
        "jelou": {"bots": [*JELOU["bots"], {"id": "team-bot", "name": "Team", "company_id": 1}],
                  "templates": [*JELOU["templates"], {"bot_id": "team-bot", "element_name": "team_notice",
                                                      "status": "APPROVED", "type": "text",
                                                      "text": "Hi {{1}}, order {{2}}", "buttons": 0}]},
        "indigitall": {"path_prefix": "/api/v9",
                       "applications": [*INDIGITALL["applications"],
                                        {"id": 555, "templates": ["team_ticket"], "slicing": slicing}],
                       "server_keys": [{"key": "demo-server-key", "applications": [555]}]}})
    report = tmp_path / "report.json"
    code, out, err, _ = conformance(
        "--target", target.base_url, "--jelou-auth", "demo-client-id:demo-client-secret", "--jelou-bot", "team-bot",
        "--jelou-template", "team_notice", "--jelou-placeholders", "2", "--indigitall-key", "demo-server-key",
        "--indigitall-app", "555", "--indigitall-template", "team_ticket", "--indigitall-path-prefix", "/api/v9",
        "--recipient", RECIPIENT, "--yes", "--report", str(report))
    assert code == 0, out + err
    steps = results(report)
    assert {step["result"] for step in steps.values()} <= {"same", "skipped"}
    assert steps["jelou.send.upload"]["result"] == steps["indigitall.send.template"]["result"] == "same"
    assert steps["indigitall.task.one"]["request"]["path"].startswith("{prefix}/chat/application/")
    assert {message["recipient"] for message in target_messages(target)} == {RECIPIENT}
