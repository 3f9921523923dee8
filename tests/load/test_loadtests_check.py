"""loadtests without Locust: the prepared bodies, the file server, the ledger file and the check.

Nothing here imports ``locust`` (its gevent monkey-patching must stay out of pytest); the real
Locust runs are in ``test_loadtests_run.py``.
"""

from __future__ import annotations

import json

import pytest
import requests

from support.jelou import JELOU
from harness.server import BackgroundServer
from loadtests import check, ledger, payloads, run

INDIGITALL = {"Authorization": "ServerKey demo-server-key"}


@pytest.fixture(scope="module")
def bodies():
    return payloads.get()


@pytest.fixture
def server():
    with BackgroundServer({"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True}}) as background:
        yield background


def post(url: str, upload: payloads.Upload, headers: dict) -> requests.Response:
    return requests.post(url, data=upload.body, headers={**headers, "Content-Type": upload.content_type}, timeout=30)


def accepted(server, bodies) -> list[ledger.Entry]:
    """One real Jelou campaign and one real indigitall task, as the Locust users record them."""
    jelou = post(server.base_url + "/v1/hsm/file", bodies.jelou["small"], JELOU)
    assert jelou.status_code == 200, jelou.text
    task = post(server.base_url + "/v2/chat/application/200/message/csv", bodies.indigitall["medium"], INDIGITALL)
    assert task.status_code == 201, task.text
    return [ledger.Entry("jelou", jelou.headers["X-Mock-Campaign-Id"], 10, "POST /v1/hsm/file [upload small]"),
            ledger.Entry("indigitall", str(task.json()["data"]["taskId"]), 1000, "POST indigitall [upload medium]",
                         "scheduled", 200)]


def quiet(text: str) -> None:
    pass


def test_bodies_have_the_sizes_and_the_mock_answers_as_the_users_expect(server, bodies):
    assert {name: bodies.jelou[name].rows for name in payloads.SIZES} == payloads.SIZES
    assert bodies.jelou["large"].csv.count(b"\n") == payloads.SIZES["large"] + 1
    assert payloads.get() is bodies                      # built once per process
    assert post(server.base_url + "/v1/hsm/file", bodies.jelou["large"], JELOU).status_code == 200
    invalid = post(server.base_url + "/v1/hsm/file", bodies.jelou["invalid"], JELOU)
    assert invalid.status_code == 422 and "file" in invalid.json()["validationError"]
    sliced = post(server.base_url + "/v2/chat/application/100/message/csv", bodies.indigitall["large"], INDIGITALL)
    assert sliced.status_code == 201 and sliced.json()["data"]["sliced"] is True
    missing = post(server.base_url + "/v2/chat/application/200/message/csv", bodies.indigitall["invalid"], INDIGITALL)
    assert missing.status_code == 400 and missing.json()["errorCode"] == "MISSING_VARIABLES"


def test_file_server_serves_the_prepared_csvs_for_file_url_sends(server, bodies):
    files = payloads.FileServer(bodies.files).start()
    try:
        fetched = requests.get(files.url + "/jelou-medium.csv", timeout=10)
        assert fetched.content == bodies.jelou["medium"].csv
        assert requests.get(files.url + "/nope.csv", timeout=10).status_code == 404
        sent = requests.post(server.base_url + "/v1/hsm/file", headers=JELOU, timeout=30,
                             json={**bodies.jelou_fields, "fileUrl": files.url + "/jelou-small.csv"})
        assert sent.status_code == 200, sent.text
    finally:
        files.stop()


def test_check_passes_when_everything_accepted_is_stored_and_sent(server, bodies):
    summary = check.run(server.base_url, accepted(server, bodies), progress=quiet)
    assert summary.ok, summary.render()
    assert summary.expected == summary.found == {"jelou": 10, "indigitall": 1000}
    assert summary.advances == 1
    assert "RESULT: PASS: 0 lost" in summary.render()


def test_check_detects_a_campaign_the_server_does_not_have(server, bodies):
    entries = accepted(server, bodies)
    entries.append(ledger.Entry("jelou", "00000000-0000-4000-8000-000000000000", 10, "POST /v1/hsm/file [upload small]"))
    entries.append(ledger.Entry("indigitall", "999", 10, "POST indigitall [upload small]", "scheduled", 200))
    summary = check.run(server.base_url, entries, progress=quiet)
    assert not summary.ok
    assert len(summary.lost) == 2 and all("not stored (HTTP 404" in item for item in summary.lost)
    assert summary.stored == {"jelou": 1, "indigitall": 1}
    assert "FAIL: 2 lost" in summary.render()


def test_check_detects_a_wrong_row_count(server, bodies):
    entries = accepted(server, bodies)
    entries[0] = ledger.Entry("jelou", entries[0].id, 11, entries[0].name)
    summary = check.run(server.base_url, entries, progress=quiet)
    assert [item for item in summary.lost if "stored with 10 messages, Locust sent 11 rows" in item]


def test_check_expects_no_messages_from_a_task_slicing_canceled(server, bodies):
    url = server.base_url + "/v2/chat/application/100/message/csv"
    statuses = [post(url, bodies.indigitall["large"], INDIGITALL).json()["data"]["status"] for _ in range(5)]
    assert statuses[-1] == "canceled"          # 5 x 10,000 rows > 49 slots x 1,000 in the window
    entries = [ledger.Entry("indigitall", str(index), 10_000, "sliced", status, 100)
               for index, status in enumerate(statuses, start=1)]
    summary = check.run(server.base_url, entries, progress=quiet)
    assert summary.ok, summary.render()
    assert summary.expected["indigitall"] == summary.found["indigitall"] == 40_000


def test_check_flags_accepted_sends_the_ledger_missed(server, bodies, tmp_path):
    entries = accepted(server, bodies)
    stats = tmp_path / "stats_stats.csv"
    stats.write_text("Type,Name,Request Count,Failure Count\n"
                     "POST,POST /v1/hsm/file [upload small],3,1\n"
                     "POST,POST /v1/hsm/file [invalid: bad phone -> 422],4,0\n"
                     "GET,GET /v1/campaigns,9,0\n,Aggregated,16,1\n", encoding="utf-8")
    summary = check.run(server.base_url, entries, stats_csv=stats, progress=quiet)
    assert summary.lost == [] and not summary.ok
    assert summary.mismatches == ["'POST /v1/hsm/file [upload small]': Locust counted 2 accepted, the ledger has 1: "
                                  "accepted ids went unrecorded and could not be checked"]


def test_check_command_line(server, bodies, tmp_path, capsys):
    book = ledger.Ledger()
    for entry in accepted(server, bodies):
        book.record(entry)
    path = book.write(tmp_path / "ledger.json")
    assert json.loads(path.read_text())["sends"] == {"POST /v1/hsm/file [upload small]": 1,
                                                     "POST indigitall [upload medium]": 1}
    out = tmp_path / "check.json"
    assert check.main(["--host", server.base_url, "--ledger", str(path), "--json", str(out)]) == 0
    assert json.loads(out.read_text())["ok"] is True
    book.record(ledger.Entry("jelou", "missing-id", 1, "x"))
    book.write(path)
    assert check.main(["--host", server.base_url, "--ledger", str(path)]) == 1
    assert "LOST jelou missing-id (x): not stored" in capsys.readouterr().out
    assert check.main(["--host", server.base_url, "--ledger", str(tmp_path / "none.json")]) == 2
    assert "run the load test first" in capsys.readouterr().err


@pytest.mark.parametrize("text, expected", [("30s", 30), ("2m", 120), ("1h30m", 5400), ("45", 45)])
def test_run_reads_locust_durations(text, expected):
    assert run.seconds(text) == expected


def test_run_refuses_an_unreadable_duration():
    with pytest.raises(ValueError, match="use e.g. 30s"):
        run.seconds("soon")
