"""``mock-harness`` flag errors a new user meets: each names the problem (issue 8, CLI robustness)."""

from __future__ import annotations

import pytest

from harness.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("argv, message", [
    (["csv", "jelou", "--rows", "abc"], "argument --rows: must be a whole number such as 1000, not 'abc'"),
    (["csv", "jelou", "--rows", "-5"], "argument --rows: must be 0 or more, not -5"),
    (["csv", "jelou", "--magic-rate", "2"], "argument --magic-rate: must be between 0 and 1 (e.g. 0.05 for 5%), not 2"),
    (["csv", "jelou", "--invalid-rate", "lots"],
     "argument --invalid-rate: must be a number between 0 and 1 (e.g. 0.05 for 5%), not 'lots'"),
    (["send", "jelou", "x.csv", "--base-url", "localhost:18080"],
     "argument --base-url: 'localhost:18080' is not an http(s) URL; did you mean http://localhost:18080 ?"),
    (["send", "indigitall", "x.csv", "--base-url", "ftp://host"], "did you mean http://host ?"),
    (["send", "indigitall", "x.csv", "--base-url", "http://"], "'http://' has no host"),
])
def test_flag_errors_name_the_problem(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err, err
    assert "%%" not in err and "invalid _" not in err and "Traceback" not in err


def test_rows_accept_thousands_separators(tmp_path, capsys):
    out = tmp_path / "x.csv"
    assert run(capsys, "csv", "jelou", "--rows", "1_000", "--out", str(out), "--quiet")[0] == 0
    assert len(out.read_bytes().splitlines()) == 1001


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == "mock-harness 0.2.0"


def test_progress_lines_when_stderr_is_not_a_terminal(tmp_path, capsys):
    out = tmp_path / "big.csv"
    code, _, err = run(capsys, "csv", "jelou", "--rows", "100000", "--out", str(out))
    assert code == 0
    lines = [line for line in err.splitlines() if line.startswith("mock-harness csv:")]
    assert lines[0] == f"mock-harness csv: writing 100,000 rows to {out} (stderr is not a terminal: progress every 10%)"
    steps = lines[1:]
    assert [line.rsplit("(", 1)[1] for line in steps] == [f"{tenth * 10}%)" for tenth in range(1, 11)]
    counts = [int(line.split(": ")[1].split("/")[0].replace(",", "")) for line in steps]
    assert counts == sorted(counts) and counts[-1] == 100_000
    assert all(count >= tenth * 10_000 for tenth, count in enumerate(counts, 1))


def test_small_files_print_only_the_summary(tmp_path, capsys):
    code, _, err = run(capsys, "csv", "jelou", "--rows", "10", "--out", str(tmp_path / "small.csv"))
    assert code == 0 and "progress every" not in err and err.strip()
