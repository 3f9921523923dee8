"""``make load --profile`` (``python -m loadtests.run --profile``): the run under a traffic profile,
its report with the status curve; a bad profile stops the run before Locust."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load(results: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "loadtests.run", "--users", "4", "--spawn-rate", "4", "--duration", "4s",
               "--results", str(results), *extra]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)


@pytest.mark.slow
def test_a_load_run_under_realistic_passes_and_reports_the_curve(tmp_path):
    done = load(tmp_path, "--profile", "realistic")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "[load] traffic profile: realistic" in done.stdout and "RESULT: PASS: 0 lost" in done.stdout
    assert "[load] curve of jelou" in done.stdout and "[load] curve of indigitall" in done.stdout
    curves = json.loads((tmp_path / "curve.json").read_text())
    for provider, shape in curves.items():
        assert all(sum(point["counts"].values()) == shape["total"] for point in shape["points"])
        final = shape["points"][-1]["counts"]
        assert final.get("CREATED", final.get("queued")) == 0        # every message has been sent by the end


def test_a_bad_profile_stops_the_run_before_locust(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"shares": {"read": 7}}', encoding="utf-8")
    done = load(tmp_path, "--profile", str(bad))
    assert done.returncode == 2
    assert "the mock refused --profile" in done.stderr and "profile.shares.read" in done.stderr
