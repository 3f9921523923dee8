"""The performance benchmark: ``make bench`` (``python -m loadtests.bench``); prints one table.

Every figure is a ratio or a bound measured in this one run, on this machine. (a) is in
``benchservers.py``, (d), (e) and (f) in ``benchscale.py`` (their docstrings say how each is
measured); in short: (a) 1,000-row
upload req/s, mock / bare Flask + ``csv.reader`` (>= 1.5) and ``--workers 2 --store redis`` / one
process (>= 1.4), in alternating rounds; (d) ``GET /v1/campaigns`` p50 with 100,000 campaigns, memory
and Redis (<= 5 ms); (e) notifications by destination p50 on a 1,000,000-row campaign (<= 20 ms);
(f) Redis memory per recipient / CSV bytes per row (<= 1.5). All servers are subprocesses loaded by
the same client (``benchclient.hammer``).
(b) one 1,000,000-row upload, end to end (send, parse, validate, store, answer), over
    ``csv.reader`` alone reading the same file from disk in this process; median of ``--big-runs``.
    And the server's resident memory per stored recipient: (VmRSS after the uploads - VmRSS
    before) / recipients stored, on a fresh server. Targets <= 1.5x and <= 150 bytes.
(c) the indigitall slicing planner's part of task creation (``plan_slots`` + ``reserve`` +
    ``build_schedule`` + the ``slots`` field of the answer), timed in-process for 10,000 and
    1,000,000 rows with the number of slots held equal: application 100's geometry (1-hour slots,
    48-hour window; a task starting mid-slot may use 49) and a capacity per slot just large enough
    for the task to fill all 49. Rows are then the only variable; ratio of medians, target <= 1.5.
    (With a fixed capacity, more rows means more slots used, and the cost follows the slots, as
    the contract says.) The default capacity, 1,000/slot, is timed too, as a note: 10,000 rows
    fill 10 slots; 1,000,000 do not fit and the task is canceled, after looking at all 49 slots.
    Everything else task creation does per row (reading and checking the CSV, one outcome byte
    per row) is not the planner's and is covered by (a) and (b).
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import os
import platform
import runpy
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from urllib3.filepost import encode_multipart_formdata

from harness.csvgen import generate

from . import benchscale
from .benchclient import Server, request

JELOU = {"Authorization": "Basic " + base64.b64encode(b"demo-client-id:demo-client-secret").decode()}
LIST_PATH = "/v1/campaigns?botId=demo-bot&startAt=2000-01-01&endAt=2100-12-31"


@dataclass
class Figure:
    key: str
    what: str
    value: float
    shown: str
    target: str
    passed: bool | None          # None: a measurement without a target (printed "info")
    detail: str


def say(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


def jelou_csv(rows: int, cache: Path | None = None) -> bytes:
    """A valid ``order_confirmation`` CSV (seeded); big ones are cached in ``cache``."""
    path = cache / f"jelou-order_confirmation-{rows}rows.csv" if cache else None
    if path is not None and path.exists():
        return path.read_bytes()
    if rows >= 100_000:
        say(f"generating a {rows:,}-row CSV (once; cached in {cache}) ...")
    out = io.BytesIO()
    generate(out, "jelou", "jelou:order_confirmation", rows, seed=7)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(out.getvalue())
    return out.getvalue()


def upload(data: bytes) -> tuple[bytes, dict]:
    fields = {"campaignName": "bench", "elementName": "order_confirmation", "botId": "demo-bot",
              "params": json.dumps([{"param": 1, "column": "order_id"}, {"param": 2, "column": "order_amount"},
                                    {"param": 3, "column": "delivery_date"}]),
              "file": ("recipients.csv", data, "text/csv")}
    body, content_type = encode_multipart_formdata(fields)
    return body, {**JELOU, "Content-Type": content_type}


def read_with_csv_reader(path: Path) -> float:
    started = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as handle:
        for _ in csv.reader(handle):
            pass
    return time.perf_counter() - started


def figure_b(args) -> tuple[Figure, Figure]:
    rows = args.big_rows
    data = jelou_csv(rows, args.cache)
    path = args.cache / f"jelou-order_confirmation-{rows}rows.csv"
    reader = statistics.median(read_with_csv_reader(path) for _ in range(3))
    body, headers = upload(data)
    small, small_headers = upload(jelou_csv(10))
    times, stored = [], 0
    with Server("mock") as mock:
        request(mock.port, "POST", "/v1/hsm/file", small, small_headers)   # warm: imports, first-use caches
        request(mock.port, "POST", "/_mock/reset")
        time.sleep(0.5)
        before = mock.rss()
        for run in range(1, args.big_runs + 1):
            status, answer, seconds = request(mock.port, "POST", "/v1/hsm/file", body, headers)
            if status != 200:
                raise RuntimeError(f"the {rows:,}-row upload answered HTTP {status}: {answer[:300]!r}")
            stored += rows
            times.append(seconds)
            after = mock.rss()
            say(f"(b) upload {run}/{args.big_runs}: {seconds:.2f} s; RSS {before / 2**20:.0f} -> {after / 2**20:.0f} MiB "
                f"({(after - before) / stored:.0f} B per stored recipient)")
    e2e = statistics.median(times)
    ratio, per_recipient = e2e / reader, (after - before) / stored
    size = f"{len(data) / 2**20:.0f} MiB"
    return (Figure("b", f"{rows:,}-row upload end to end / csv.reader alone", ratio, f"{ratio:.2f}x", "<= 1.5x",
                   ratio <= 1.5, f"upload {e2e:.2f} s (median of {args.big_runs}), csv.reader {reader:.2f} s, file {size}"),
            Figure("b", "server resident memory per stored recipient", per_recipient, f"{per_recipient:.0f} B",
                   "<= 150 B", per_recipient <= 150,
                   f"VmRSS {before / 2**20:.0f} -> {after / 2**20:.0f} MiB for {stored:,} recipients ({len(data) / rows:.0f} B/row of CSV)"))


PLAN_START = datetime(2026, 1, 5, 10, 30, tzinfo=timezone.utc)   # mid-slot, like a task sent "now"


def plan_part_time(count: int, capacity: int | None, repeat: int) -> tuple[float, int, bool]:
    """``(median seconds, slots used, canceled)`` of the planner-dependent part of task creation
    on application 100's geometry; ``capacity=None``: just enough per slot to fill the window."""
    from mock_server.indigitall.slicing import (FRAGMENTED, SlicingSettings, eligible_slots, plan_slots, release,
                                                reserve, slot_schedule)
    from mock_server.indigitall.tasks import build_schedule

    window = len(eligible_slots(PLAN_START, SlicingSettings(slot_seconds=3600, window_seconds=48 * 3600)))
    settings = SlicingSettings(slot_seconds=3600, capacity=capacity or -(-count // window), window_seconds=48 * 3600)
    ledger: dict[int, int] = {}
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        plan = plan_slots(ledger, PLAN_START, count, settings, FRAGMENTED)
        reserve(ledger, plan)
        build_schedule(plan, settings, PLAN_START.timestamp(), count, 100.0)
        slot_schedule(plan.allocations, settings)
        samples.append(time.perf_counter() - began)
        release(ledger, plan.allocations)
    return statistics.median(samples), len(plan.allocations), plan.canceled


def figure_c(args) -> Figure:
    (small, small_slots, _), (big, big_slots, _) = (plan_part_time(n, None, args.plan_repeat) for n in (10_000, 1_000_000))
    if small_slots != big_slots:
        raise RuntimeError(f"(c) expected the same number of slots, got {small_slots} and {big_slots}")
    default_small, used, _ = plan_part_time(10_000, 1000, args.plan_repeat)
    default_big, _, canceled = plan_part_time(1_000_000, 1000, args.plan_repeat)
    ratio = big / small
    return Figure("c", "indigitall slicing plan time, 1M rows / 10k rows", ratio, f"{ratio:.2f}", "<= 1.5", ratio <= 1.5,
                  f"{small * 1e6:.0f} us vs {big * 1e6:.0f} us, each spread over all {small_slots} slots of the window; "
                  f"at 1,000/slot: 10k {default_small * 1e6:.0f} us ({used} slots), 1M {default_big * 1e6:.0f} us "
                  f"({'canceled: does not fit' if canceled else 'placed'})")


def table(figures: list[Figure], patch: Path | None = None) -> str:
    head = (f"Benchmark: {os.cpu_count()} CPUs, Python {platform.python_version()}, load average "
            f"{os.getloadavg()[0]:.1f}, "
            f"{datetime.now(timezone.utc):%Y-%m-%d}" + (f"  WITH PATCH {patch}" if patch else ""))
    width = max(len(f.what) for f in figures)
    lines = [head, f"{'':4}{'figure':<{width}}  {'measured':>9}  {'target':>8}  result"]
    for f in figures:
        lines.append(f"({f.key}) {f.what:<{width}}  {f.shown:>9}  {f.target:>8}  {'info' if f.passed is None else 'PASS' if f.passed else 'MISS'}")
    lines.append("")
    lines += [f"({f.key}) {f.detail}" for f in figures]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="abcder", help="which figures, e.g. 'ad' (default: all; e also gives f)")
    parser.add_argument("--rounds", type=int, default=3, help="(a) alternating rounds per server")
    parser.add_argument("--requests", type=int, default=600, help="(a) requests per round (without wrk)")
    parser.add_argument("--seconds", type=float, default=8, help="(a) seconds per round (with wrk)")
    parser.add_argument("--concurrency", type=int, default=8, help="(a) connections")
    parser.add_argument("--load", choices=("auto", "wrk", "threads"), default="auto",
                        help="(a) load generator: wrk (when on PATH, the default) or Python threads")
    parser.add_argument("--no-wiremock", action="store_true", help="(a) leave WireMock out")
    parser.add_argument("--model-requests", type=int, default=300, help="(r) uploads, then GETs, for the Redis model")
    parser.add_argument("--scale", type=int, default=3, help="(a) most mock processes sharing one Redis")
    parser.add_argument("--big-rows", type=int, default=1_000_000, help="(b) rows of the big upload")
    parser.add_argument("--big-runs", type=int, default=3, help="(b) big uploads (each stays stored)")
    parser.add_argument("--plan-repeat", type=int, default=3000, help="(c) timings per case")
    parser.add_argument("--campaigns", type=int, default=100_000, help="(d) campaigns stored before listing")
    parser.add_argument("--campaigns-redis", type=int, default=20_000,
                        help="(d) campaigns stored before listing, Redis (stored through the full send path from "
                             "8 threads: about 5 ms each on the 2-core VM, so 100,000 take 8+ minutes)")
    parser.add_argument("--list-requests", type=int, default=2000, help="(d) sequential GETs")
    parser.add_argument("--destination-requests", type=int, default=200, help="(e) sequential destination queries")
    parser.add_argument("--cache", type=Path, default=Path("results/bench"), help="where the big CSV is kept")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    parser.add_argument("--patch", type=Path, help="a Python file the servers (and figure c) run first, to measure "
                                                    "a candidate change to mock_server without editing it")
    args = parser.parse_args(argv)
    if args.patch:
        os.environ["LOADTESTS_BENCH_PATCH"] = str(args.patch.resolve())
        namespace = runpy.run_path(str(args.patch), run_name="loadtests_bench_patch")
        if callable(namespace.get("install")):
            namespace["install"]()
    figures: list[Figure] = []
    bench = sys.modules[__name__]
    steps = {"a": lambda a: benchscale.figure_a(a, bench), "b": figure_b, "c": figure_c,
             "d": lambda a: benchscale.figure_d(a, bench), "e": lambda a: benchscale.figure_e_f(a, bench),
             "r": lambda a: benchscale.figure_r(a, bench)}
    for key in args.only:
        if key not in steps:
            parser.error(f"--only takes letters among {''.join(steps)}, not '{key}'")
        say(f"figure ({key}) ...")
        result = steps[key](args)
        figures.extend(result if isinstance(result, (tuple, list)) else (result,))
    print(table(figures, args.patch), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(f) for f in figures], indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
