"""``mock-harness send``: outcome printing, exit codes, --wait, and usage errors."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from harness.cli import main
from harness.control import MockControl
from harness.fileserver import FileServer
from harness.presets import INDIGITALL_TEMPLATE_LAYOUT
from harness.server import BackgroundServer

ROOT = Path(__file__).resolve().parents[2] / "fixtures"
J, I = ROOT / "jelou", ROOT / "indigitall"
FROZEN = {"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True}}
# Real time, but every step takes milliseconds: --wait finishes almost at once.
FAST = {"delivery": {"channel_after": 0.01, "user_after": 0.02, "read_after": 0.03, "reply_after": 0.04,
                     "slow_user_after": 0.05},
        "jelou": {"sending_rate": 1000.0, "start_delay": 0.0}, "indigitall": {"sending_rate": 1000.0}}
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture(scope="module")
def frozen():
    with BackgroundServer(FROZEN) as server:
        yield server


@pytest.fixture(scope="module")
def fast():
    with BackgroundServer(FAST) as server:
        yield server


def send(server, *args: str) -> list[str]:
    return ["send", *args, "--base-url", server.base_url]


def test_jelou_success_prints_status_and_campaign_id(frozen, capsys):
    assert main(send(frozen, "jelou", str(J / "valid.csv"))) == 0
    out = capsys.readouterr().out
    assert out.startswith("200 OK: The campaign has been created")
    assert re.search(rf"^campaign: {UUID}$", out, re.M)


@pytest.mark.parametrize("args", [
    ["--preset", "promo_image", str(J / "valid-promo_image.csv")],
    ["--template", "survey_quick_reply", str(J / "valid-survey_quick_reply.csv")],
    ["--template", "welcome_message", "--campaign-name", "hello", str(J / "valid-welcome_message.csv")],
    ["--params", '[{"param": 1, "column": "first_name"}]', "--template", "promo_image", "--type", "image",
     "--media-url", "https://example.com/x.png", "--actions", "{}", str(J / "valid-promo_image.csv")],
])
def test_jelou_presets_and_explicit_fields(frozen, capsys, args):
    assert main(send(frozen, "jelou", *args)) == 0, capsys.readouterr()
    assert "200 OK" in capsys.readouterr().out


def test_jelou_from_url(frozen, capsys):
    with FileServer(ROOT) as files:
        assert main(send(frozen, "jelou", "--url", files.url("jelou/valid.csv"))) == 0
    assert "200 OK" in capsys.readouterr().out


def test_jelou_rejection_lists_each_problem_with_line_and_column(frozen, capsys):
    assert main(send(frozen, "jelou", str(J / "phone-plus.csv"))) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0] == ("jelou answered 422 Unprocessable Entity [E0422]: "
                                   "The values entered are not correct.")
    assert re.search(r"^  file: line 2, column 'phone_number': the first column must be .* \(value '\+\d+'\)$", out, re.M)
    assert main(send(frozen, "jelou", "--bot-id", "no-such-bot", str(J / "valid.csv"))) == 1
    assert "404 Not Found [bot_not_found]: Bot not found" in capsys.readouterr().out


def test_indigitall_success_error_and_layout_sources(frozen, capsys, tmp_path):
    assert main(send(frozen, "indigitall", str(I / "seed-text.csv"))) == 0
    out = capsys.readouterr().out
    assert re.match(r"201 Created: task \d+ in application 100 is scheduled: 3 messages from .*, "
                    r"fragmentedSlots, not sliced", out)
    layout = tmp_path / "layout.json"
    layout.write_text(INDIGITALL_TEMPLATE_LAYOUT, encoding="utf-8")
    assert main(send(frozen, "indigitall", str(I / "seed-template.csv"), "--layout", str(layout),
                     "--application-id", "200", "--delay", "PT1H", "--slicing-condition", "deferredConsecutiveSlots")) == 0
    assert "in application 200 is scheduled" in capsys.readouterr().out
    assert main(send(frozen, "indigitall", str(I / "seed-template.csv"), "--preset", "template")) == 0
    assert main(send(frozen, "indigitall", str(I / "row-channel-not-allowed.csv"),
                     "--layout", '{"contactCode": "{{contactCode}}", "channelType": "{{channelType}}", '
                                 '"sendType": "proactive", "content": {"body": "x"}}')) == 1
    out = capsys.readouterr().out
    assert "indigitall answered 400 Bad Request [INVALID_ROWS]" in out
    assert "  file: line 3, column 'channelType': channelType 'sms' is not allowed (allowed: cloud_api) (value 'sms')" in out


def test_wait_follows_a_jelou_campaign_to_the_end(fast, capsys):
    assert main(send(fast, "jelou", str(J / "magic.csv"), "--wait", "--interval", "0.02", "--timeout", "10")) == 0
    out, err = capsys.readouterr()
    # "so far": the 99901 row fails when sent; the 99907 one a moment after it reached the channel.
    assert re.search(rf"^campaign {UUID} COMPLETED: 7 messages, \d+ delivered, [12] failed$", out, re.M)
    assert re.search(r"^by status so far: .*FAILED [12]", out, re.M)
    assert "campaign " in err and "delivered or failed" in err     # progress lines (stderr is not a terminal)


def test_wait_prints_in_order_into_one_pipe(fast):
    """Issue 22 item 8: with stdout and stderr in one pipe (a CI log, `2>&1`), the answer and the campaign
    id came after the progress lines (stdout was flushed only at exit)."""
    completed = subprocess.run([sys.executable, "-m", "harness.cli", *send(fast, "jelou", str(J / "valid.csv")),
                                "--wait", "--interval", "0.02", "--timeout", "30"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60,
                               env={k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"})  # as in CI
    lines = completed.stdout.splitlines()
    assert completed.returncode == 0, completed.stdout
    assert lines[0].startswith("200 OK") and lines[1].startswith("campaign: "), lines
    assert re.fullmatch(r"campaign [0-9a-f]{8}: \w+, \d+/\d+ delivered or failed", lines[2]), lines


def test_wait_follows_an_indigitall_task_to_the_end(fast, capsys):
    assert main(send(fast, "indigitall", str(I / "magic.csv"), "--wait", "--interval", "0.02", "--timeout", "10")) == 0
    out = capsys.readouterr().out
    assert re.search(r"^task \d+ finished: 7 messages$", out, re.M)
    assert re.search(r"^by status so far: .*failed [12]", out, re.M)


def test_wait_with_the_clock_moved_through_the_control_plane(frozen, capsys):
    # The upload's journal entry is written once the task exists.  (A fixed delay raced a slow upload
    # on a loaded machine: the clock moved first and the task waited on a frozen clock.  Waiting for
    # the task's 5 messages always waited the full 10 s: on a frozen clock only the first is sent.)
    journal, uploads = f"{frozen.base_url}/_mock/requests", {"method": "POST", "path": "/v2/chat/application/*/message/csv"}
    before = requests.get(journal, params={**uploads, "limit": 1}, timeout=10).json()["total"]

    def move_once_sent(control) -> None:
        """Advance the clock once the task exists (the mock's long-poll on its journal)."""
        requests.get(journal, params={**uploads, "limit": 1, "wait_for": before + 1, "timeout": 10}, timeout=30)
        control.clock.advance("PT5M")

    with MockControl(frozen.base_url) as control:
        mover = threading.Thread(target=move_once_sent, args=(control,))
        mover.start()
        try:
            code = main(send(frozen, "indigitall", str(I / "valid.csv"), "--wait", "--interval", "0.02", "--timeout", "10"))
        finally:
            mover.join()
    out, err = capsys.readouterr()
    assert code == 0 and "finished: 5 messages" in out
    assert "the mock's clock is frozen" in err


def test_wait_times_out_on_a_frozen_clock(frozen, capsys):
    assert main(send(frozen, "jelou", str(J / "valid.csv"), "--wait", "--interval", "0.02", "--timeout", "0.1")) == 1
    err = capsys.readouterr().err
    assert "the mock's clock is frozen" in err and "still PENDING after 0.1 s" in err


def test_wait_ends_1_when_the_campaign_fails(fast, capsys, tmp_path):
    failing = tmp_path / "fails.csv"
    failing.write_text("phone_number\n99901000001\n99901000002\n", encoding="utf-8")
    assert main(send(fast, "jelou", str(failing), "--template", "welcome_message", "--wait", "--interval", "0.02")) == 1
    assert "FAILED: 2 messages, 0 delivered, 2 failed" in capsys.readouterr().out


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_says_how_to_start_the_mock(capsys):
    url = f"http://127.0.0.1:{_closed_port()}"
    assert main(["send", "jelou", str(J / "valid.csv"), "--base-url", url]) == 1
    assert "is the mock running? start it with `make run`" in capsys.readouterr().err
    assert main(["send", "indigitall", str(I / "valid.csv"), "--base-url", url]) == 1
    assert "is the mock running?" in capsys.readouterr().err


def test_credentials_come_from_options_or_the_environment(frozen, capsys, monkeypatch):
    assert main(send(frozen, "jelou", str(J / "valid.csv"), "--client-secret", "nope")) == 1
    assert "401 Unauthorized: Authentication failed" in capsys.readouterr().out
    monkeypatch.setenv("INDIGITALL_SERVER_KEY", "nope")
    assert main(send(frozen, "indigitall", str(I / "valid.csv"))) == 1
    assert "401 Unauthorized [INVALID_ACCESS_TOKEN]" in capsys.readouterr().out
    monkeypatch.setenv("MOCK_BASE_URL", frozen.base_url)
    monkeypatch.delenv("INDIGITALL_SERVER_KEY")
    assert main(["send", "indigitall", str(I / "valid.csv")]) == 0


@pytest.mark.parametrize("args,message", [
    (["jelou"], "give either FILE or --url URL"),
    (["jelou", str(J / "valid.csv"), "--url", "http://x/y.csv"], "give either FILE or --url URL"),
    (["jelou", "missing.csv"], "missing.csv: no such file; make one with `mock-harness csv jelou --out missing.csv`"),
    (["jelou", str(J / "valid.csv"), "--params", "[{"], "--params is not valid JSON"),
    (["jelou", str(J / "valid.csv"), "--preset", "nope"], "unknown preset 'nope' for jelou"),
    (["indigitall", str(I / "valid.csv"), "--layout", "nope.json"], "not JSON text and no such file"),
    (["indigitall", str(I / "valid.csv"), "--preset", "order_confirmation"], "unknown preset"),
])
def test_usage_errors_exit_2(capsys, args, message):
    assert main(["send", *args, "--base-url", "http://127.0.0.1:9"]) == 2
    assert message in capsys.readouterr().err


def test_send_needs_a_provider(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["send"])
    assert caught.value.code == 2
