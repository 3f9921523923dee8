"""Every entry of fixtures/manifest.json, sent to a live mock, gets exactly its stated answer.

The answer is read here independently of ``harness.manifest_run`` (which ``mock-harness fixtures
--verify`` uses); both readings must agree.  Also: the committed fixtures are up to date,
``--check`` notices any change, and accepted files deliver what they hold.
"""
from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from harness import defects as d
from harness import manifest
from harness.cli import main
from harness.client import IndigitallClient, JelouClient, MockControl
from harness.magic import magic_code
from harness.manifest_run import check_answer, send_entry
from harness.server import BackgroundServer

ROOT = Path(__file__).resolve().parents[2] / "fixtures"
ENTRIES = manifest.load(ROOT)
START = "2026-01-05T10:00:00Z"


@pytest.fixture(scope="module")
def live():
    with BackgroundServer({"clock": {"start": START, "frozen": True}}) as server, \
            JelouClient(server.base_url, "demo-client-id", "demo-client-secret") as jelou, \
            IndigitallClient(server.base_url, "demo-server-key") as indigitall, \
            MockControl(server.base_url) as control:
        yield server, jelou, indigitall, control


@pytest.fixture
def fresh(live):
    live[3].reset()
    return live


def read_answer(provider: str, status: int, body: dict) -> tuple:
    """(fields, line, text, error code) as the manifest's ``expect`` describes them."""
    if provider == "jelou":
        code = (body.get("error") or {}).get("code")
        if status == 422:
            field = next(iter(body["validationError"]))
            first = body["validationError"][field][0]
            return list(body["validationError"]), first.get("line"), first["en"], code
        return [], None, body["message"][0], code
    errors = body.get("errors") or []
    if errors:
        return sorted({e["field"] for e in errors}), errors[0].get("line"), errors[0]["message"], body["errorCode"]
    return [], None, body["message"], body["errorCode"]


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["name"] for e in ENTRIES])
def test_entry_gets_exactly_its_stated_answer(fresh, entry):
    _, jelou, indigitall, _ = fresh
    answer = send_entry(entry, ROOT, jelou, indigitall)
    expected = entry["expect"]
    assert answer.status == expected["status"], answer.body
    if answer.status < 400:
        if entry["provider"] == "jelou":
            assert answer.body["status"] == "success" and answer.headers["X-Mock-Campaign-Id"]
        else:
            assert answer.body["statusCode"] == 201 and answer.body["data"]["taskId"] == 1
        assert expected["field"] is None and expected["line"] is None
    else:
        fields, line, text, code = read_answer(entry["provider"], answer.status, answer.body)
        assert fields == ([expected["field"]] if expected["field"] else []), answer.body
        assert line == expected["line"], answer.body
        assert expected["reason_contains"] in text, answer.body
        assert code == expected["error_code"], answer.body
    assert check_answer(entry, answer) == []


def test_manifest_covers_every_kind_for_both_providers_and_its_files_exist():
    names = [e["name"] for e in ENTRIES]
    assert len(names) == len(set(names))
    for provider in ("jelou", "indigitall"):
        kinds = {e["kind"] for e in ENTRIES if e["provider"] == provider and e["kind"]}
        assert kinds == set(d.KINDS)
        assert {e["expect"]["status"] for e in ENTRIES if e["provider"] == provider} > {200 if provider == "jelou" else 201}
    for entry in ENTRIES:
        assert (ROOT / entry["file"]).is_file()
        assert entry["request"]["filename"] == Path(entry["file"]).name
        assert len((ROOT / entry["file"]).read_bytes()) < 2000        # small samples only
    seeds = {e["name"] for e in ENTRIES if e["expect"]["status"] == 201 and "seed" in e["name"]}
    assert seeds == {"indigitall-seed-text", "indigitall-seed-template"}
    missing = [e for e in ENTRIES if e["name"] == "indigitall-seed-text-layout-template-csv"]
    assert missing and missing[0]["expect"]["status"] == 400


def test_committed_fixtures_are_up_to_date(capsys):
    assert main(["fixtures", "--check", "--out", str(ROOT)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_check_lists_every_difference(tmp_path, capsys):
    copy = tmp_path / "fixtures"
    shutil.copytree(ROOT, copy)
    (copy / "jelou" / "valid.csv").write_bytes((ROOT / "jelou" / "valid.csv").read_bytes() + b"\n")
    (copy / "indigitall" / "bom.csv").unlink()
    (copy / "jelou" / "old.csv").write_bytes(b"phone_number\n")
    assert main(["fixtures", "--check", "--out", str(copy)]) == 1
    out, err = capsys.readouterr()
    assert f"differs: {copy / 'jelou' / 'valid.csv'}" in out
    assert f"missing: {copy / 'indigitall' / 'bom.csv'}" in out
    assert f"not generated any more: {copy / 'jelou' / 'old.csv'}" in out
    assert "mock-harness fixtures --out" in err
    assert main(["fixtures", "--check", "--out", str(tmp_path / "nowhere")]) == 2


def test_check_and_verify_work_from_any_directory(live, tmp_path, monkeypatch, capsys):
    """Issue 22 item 8: `fixtures --check` / `--verify` without --out worked only from the repository's
    root (elsewhere: "fixtures is not a directory"); they read the clone's committed fixtures."""
    monkeypatch.chdir(tmp_path)
    assert main(["fixtures", "--check"]) == 0
    assert f"fixtures in {ROOT} are up to date" in capsys.readouterr().out
    assert main(["fixtures", "--verify", "--base-url", live[0].base_url, "--only", "jelou-valid"]) == 0
    assert "ok   jelou-valid: 200" in capsys.readouterr().out
    (tmp_path / "fixtures").mkdir()  # a ./fixtures of the project's own is the one checked
    assert main(["fixtures", "--check"]) == 1
    assert "fixtures in fixtures are out of date" in capsys.readouterr().err


def test_writing_twice_gives_the_same_bytes(tmp_path, capsys):
    assert main(["fixtures", "--out", str(tmp_path / "a")]) == 0
    assert f"({len(ENTRIES)} manifest entries)" in capsys.readouterr().out
    assert main(["fixtures", "--check", "--out", str(tmp_path / "a")]) == 0


def test_tables_and_defects_must_agree(monkeypatch):
    monkeypatch.delitem(manifest.JELOU_REJECTS, d.PHONE_PLUS)
    with pytest.raises(RuntimeError, match="disagree about 'phone-plus' for jelou"):
        manifest.build()


def test_verify_sends_the_whole_manifest(live, capsys):
    base = ["fixtures", "--verify", "--out", str(ROOT), "--base-url", live[0].base_url]
    assert main(base) == 0
    assert f"{len(ENTRIES)} of {len(ENTRIES)} entries got exactly" in capsys.readouterr().out
    assert main(base + ["--only", "jelou-valid", "--only", "indigitall-latin1"]) == 0
    assert "2 of 2" in capsys.readouterr().out
    assert main(base + ["--only", "no-such-entry"]) == 2
    assert main(base[:4] + ["--base-url", live[0].base_url, "--client-secret", "wrong", "--only", "jelou-valid"]) == 1
    out = capsys.readouterr().out
    assert "FAIL jelou-valid: 401" in out and "status 401, expected 200" in out


def _rows(relative: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO((ROOT / relative).read_bytes().decode("utf-8-sig"), newline="")))


def _send_and_deliver(live, name: str) -> list[dict]:
    _, jelou, indigitall, control = live
    entry = next(e for e in ENTRIES if e["name"] == name)
    answer = send_entry(entry, ROOT, jelou, indigitall)
    assert answer.status < 300
    control.clock.advance("PT2H")
    return control.messages(provider=entry["provider"])["messages"]


def test_tricky_cells_arrive_exactly_as_written(fresh):
    jelou = _send_and_deliver(fresh, "jelou-tricky-cells")
    assert [m["content"]["parameters"]["3"] for m in jelou] == [r["delivery_date"] for r in _rows("jelou/tricky-cells.csv")]
    assert set(d.TRICKY_VALUES) <= {m["content"]["parameters"]["3"] for m in jelou}
    indigitall = _send_and_deliver(fresh, "indigitall-tricky-cells")
    names = [r["name"] for r in _rows("indigitall/tricky-cells.csv")]
    assert [m["content"]["content"]["body"] for m in indigitall] == [f"Hi there {name}!" for name in names]


JELOU_OUTCOMES = {"01": "FAILED", "02": "DELIVERED_CHANNEL", "03": "DELIVERED_USER", "04": "READ",
                  "05": "REPLY", "06": "DELIVERED_USER", "07": "FAILED"}
INDIGITALL_OUTCOMES = {"01": "failed", "02": "sent", "03": "delivered", "04": "read", "05": "read",
                       "06": "delivered", "07": "failed"}


@pytest.mark.parametrize("provider,outcomes", [("jelou", JELOU_OUTCOMES), ("indigitall", INDIGITALL_OUTCOMES)])
def test_magic_fixture_reaches_every_outcome(fresh, provider, outcomes):
    messages = _send_and_deliver(fresh, f"{provider}-magic")
    by_code = {magic_code(m["recipient"]): m["status"] for m in messages}
    assert by_code == outcomes
