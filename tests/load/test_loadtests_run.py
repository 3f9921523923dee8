"""Real headless Locust runs through ``python -m loadtests.run`` (what ``make load`` calls).

Locust runs in subprocesses so gevent's monkey-patching never touches the pytest process. Each
run is a few seconds with a few users against a ``mock-server`` subprocess on a free port.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load(results: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "loadtests.run", "--users", "4", "--spawn-rate", "4", "--duration", "4s",
               "--results", str(results), *extra]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)


def assert_passed(done: subprocess.CompletedProcess, results: Path) -> dict:
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "RESULT: PASS: 0 lost" in done.stdout
    assert (results / "report.html").stat().st_size > 10_000
    assert (results / "stats_stats.csv").exists() and (results / "stats_failures.csv").exists()
    summary = json.loads((results / "check.json").read_text())
    assert summary["ok"] and summary["lost"] == [] and summary["mismatches"] == []
    assert sum(summary["accepted"].values()) > 0
    assert summary["found"] == summary["expected"]
    entries = json.loads((results / "ledger.json").read_text())["entries"]
    assert {entry["provider"] for entry in entries} == {"jelou", "indigitall"}
    return summary


@pytest.mark.slow
def test_headless_run_has_no_unexpected_failure_and_loses_nothing(tmp_path):
    done = load(tmp_path)
    assert_passed(done, tmp_path)
    assert ", 0 unexpected failures" in done.stdout


@pytest.mark.slow
def test_distributed_run_one_master_two_workers(tmp_path):
    done = load(tmp_path, "--workers", "2")
    assert_passed(done, tmp_path)
    assert "2 workers connected" in done.stderr
    assert (tmp_path / "worker-1.log").exists() and (tmp_path / "worker-2.log").exists()


@pytest.mark.slow
def test_injected_faults_are_expected_not_failures(tmp_path):
    rule = '{"match": {"method": "GET"}, "action": {"status": 503}, "probability": 0.3}'
    # 12 s, not the 4 s of the others: both rules must fire, and a loaded CI machine made only a
    # couple of GET /v1/campaigns in 4 s (none, once)
    done = load(tmp_path, "--fault", rule, "--fault", '{"match": {"path": "/v1/campaigns"}, "action": {"status": 429}}',
                "--duration", "12s")
    summary = assert_passed(done, tmp_path)
    assert ", 0 unexpected failures" in done.stdout
    injected = re.search(r"(\d+) injected faults", done.stdout)
    assert injected and int(injected.group(1)) > 0, done.stdout[-3000:]
    names = (tmp_path / "stats_stats.csv").read_text()
    assert "[injected 503]" in names and "[injected 429]" in names
    assert summary["found"] == summary["expected"]


def test_a_bad_fault_rule_stops_the_run_before_locust(tmp_path):
    done = load(tmp_path, "--fault", '{"action": {"status": 200}}')
    assert done.returncode == 2
    assert "the mock refused --fault" in done.stderr and "action.status" in done.stderr
