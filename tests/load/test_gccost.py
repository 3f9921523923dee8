"""A smoke run of ``loadtests.gccost`` with tiny sizes: each mode is applied in its child and measured.

Not a measurement (figures are in loadtests/README.md, "The garbage collector").
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_gccost_runs_every_kind_under_two_modes():
    command = [sys.executable, "-m", "loadtests.gccost", "--rounds", "1", "--kinds", "upload,events,big",
               "--modes", "default,freeze+t50k", "--uploads", "5", "--rows", "300", "--events", "100", "--big-rows", "2000"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = done.stdout.split("medians of 1 round(s)")[1].splitlines()[1:]
    assert [line.split()[:2] for line in summary] == [
        [kind, mode] for kind in ("upload", "events", "big") for mode in ("default", "freeze+t50k")]
    assert all("collections [" in line for line in summary)
    applied = [json.loads(line.split(None, 4)[4]) for line in done.stdout.splitlines() if line.startswith("round 1")]
    assert [(figures["threshold"], figures["frozen"] > 0) for figures in applied] == [(700, False), (50_000, True)] * 3
    assert "B per recipient" in summary[-1] and "dispatcher CPU per event" in summary[2]
