"""A smoke run of the benchmark with tiny sizes: it must run and print every figure's line.

Not a measurement: targets are not asserted here (``make bench`` is where they are measured;
benchmarks stay out of the timed suite).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_runs_end_to_end_with_tiny_sizes(tmp_path):
    command = [sys.executable, "-m", "loadtests.bench", "--rounds", "1", "--requests", "20", "--big-rows", "2000",
               "--big-runs", "1", "--plan-repeat", "20", "--campaigns", "300", "--campaigns-redis", "300", "--list-requests", "30",
               "--destination-requests", "10", "--seconds", "1", "--model-requests", "5", "--no-wiremock", "--cache", str(tmp_path), "--json", str(tmp_path / "bench.json")]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads((tmp_path / "bench.json").read_text())
    # with redis-server on PATH (CI installs it): the Redis variants of (a), (d), (e), (f) and the Redis
    # model (r); (a) has one more line per optional server (WireMock, granian, --workers)
    keys = [figure["key"] for figure in figures]
    assert keys[:2] == ["a", "a"] and keys[keys.index("b"):] == ["b", "b", "c", "d", "d", "e", "e", "f", "r", "r", "r", "r"]
    assert {figure["what"] for figure in figures if figure["key"] == "a"} >= {
        "1,000-row upload, req/s: mock-server default (1 process) / Flask + csv.reader on waitress",
        "metrics overhead on the upload over HTTP (CPU per request, with / without - 1)",
        "metrics overhead on the upload, in-process (CPU per upload, with / without - 1)"}
    assert all(isinstance(figure["value"], (int, float)) for figure in figures)
    lines = [line for line in done.stdout.splitlines() if line.startswith("(")]
    assert [line[:3] for line in lines[:len(figures)]] == [f"({figure['key']})" for figure in figures]
    assert all(line.rstrip().endswith(("PASS", "MISS", "info")) for line in lines[:len(figures)])
