"""The performance benchmark: ``make bench`` (``python -m loadtests.bench``); prints one table.

Every figure is a ratio or a bound measured in this one run, on this machine:
(a) requests/s of a 1,000-row multipart upload to ``POST /v1/hsm/file``: the mock (full validation
    and storage) over a bare Flask app that only parses the same CSV with ``csv.reader``. Both are
    ``benchserver`` subprocesses under the same waitress server (``mock_server.httpserver``), loaded by the same client
    (``benchclient.hammer``) in alternating rounds (the mock is reset before each of its rounds);
    the medians are compared. Target >= 0.8.
(b) one 1,000,000-row upload, end to end (send, parse, validate, store, answer), over
    ``csv.reader`` alone reading the same file from disk in this process; median of ``--big-runs``.
    And the server's resident memory per stored recipient: (VmRSS after the uploads - VmRSS
    before) / recipients stored, on a fresh server. Targets <= 3x and <= 150 bytes.
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
(d) ``GET /v1/campaigns`` (default page of 10) on a server holding 100,000 campaigns of the same
    bot, stored at start-up through the Jelou backend; p50 over sequential requests. Target <= 5 ms.
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

from .benchclient import Server, hammer, request

JELOU = {"Authorization": "Basic " + base64.b64encode(b"demo-client-id:demo-client-secret").decode()}
LIST_PATH = "/v1/campaigns?botId=demo-bot&startAt=2000-01-01&endAt=2100-12-31"


@dataclass
class Figure:
    key: str
    what: str
    value: float
    shown: str
    target: str
    passed: bool
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


def figure_a(args) -> Figure:
    body, headers = upload(jelou_csv(1000))
    rates: dict[str, list[float]] = {"mock": [], "bare": []}
    with Server("mock") as mock, Server("bare") as bare:
        servers = {"mock": mock, "bare": bare}
        for name, server in servers.items():
            hammer(server.port, "POST", "/v1/hsm/file", body=body, headers=headers, count=50, concurrency=args.concurrency)
        for round_number in range(1, args.rounds + 1):
            for name, server in servers.items():
                if name == "mock":
                    request(server.port, "POST", "/_mock/reset")
                load = hammer(server.port, "POST", "/v1/hsm/file", body=body, headers=headers,
                              count=args.requests, concurrency=args.concurrency)
                rates[name].append(load.rate)
                say(f"(a) round {round_number}/{args.rounds} {name}: {load.rate:.0f} req/s, p50 {load.p50 * 1000:.1f} ms")
    mock_rate, bare_rate = statistics.median(rates["mock"]), statistics.median(rates["bare"])
    ratio = mock_rate / bare_rate
    return Figure("a", "1,000-row upload, req/s: mock / bare Flask + csv.reader", ratio, f"{ratio:.2f}", ">= 0.80",
                  ratio >= 0.8, f"mock {mock_rate:.0f} req/s, bare {bare_rate:.0f} req/s (median of {args.rounds} rounds "
                  f"of {args.requests}, {args.concurrency} connections)")


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
    return (Figure("b", f"{rows:,}-row upload end to end / csv.reader alone", ratio, f"{ratio:.2f}x", "<= 3x",
                   ratio <= 3, f"upload {e2e:.2f} s (median of {args.big_runs}), csv.reader {reader:.2f} s, file {size}"),
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


def figure_d(args) -> Figure:
    with Server("mock", prefill_campaigns=args.campaigns) as mock:
        hammer(mock.port, "GET", LIST_PATH, headers=JELOU, count=50, concurrency=1)
        load = hammer(mock.port, "GET", LIST_PATH, headers=JELOU, count=args.list_requests, concurrency=1)
        wide = hammer(mock.port, "GET", LIST_PATH + "&limit=50", headers=JELOU, count=200, concurrency=1)
        status, answer, _ = request(mock.port, "GET", LIST_PATH, headers=JELOU)
        total = json.loads(answer)["data"]["pagination"]["total"]
    if total != args.campaigns:
        raise RuntimeError(f"the server lists {total} campaigns, expected {args.campaigns}")
    p50 = load.p50 * 1000
    return Figure("d", f"GET /v1/campaigns p50, {args.campaigns:,} campaigns stored", p50, f"{p50:.2f} ms", "<= 5 ms",
                  p50 <= 5, f"p95 {load.percentile(0.95) * 1000:.2f} ms over {args.list_requests} sequential requests "
                  f"(page of 10); limit=50: p50 {wide.p50 * 1000:.2f} ms")


def table(figures: list[Figure], patch: Path | None = None) -> str:
    head = (f"Benchmark: {os.cpu_count()} CPUs, Python {platform.python_version()}, waitress threads=16, "
            f"{datetime.now(timezone.utc):%Y-%m-%d}" + (f"  WITH PATCH {patch}" if patch else ""))
    width = max(len(f.what) for f in figures)
    lines = [head, f"{'':4}{'figure':<{width}}  {'measured':>9}  {'target':>8}  result"]
    for f in figures:
        lines.append(f"({f.key}) {f.what:<{width}}  {f.shown:>9}  {f.target:>8}  {'PASS' if f.passed else 'MISS'}")
    lines.append("")
    lines += [f"({f.key}) {f.detail}" for f in figures]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="abcd", help="which figures, e.g. 'ad' (default: all four)")
    parser.add_argument("--rounds", type=int, default=3, help="(a) alternating rounds per server")
    parser.add_argument("--requests", type=int, default=600, help="(a) requests per round")
    parser.add_argument("--concurrency", type=int, default=4, help="(a) connections")
    parser.add_argument("--big-rows", type=int, default=1_000_000, help="(b) rows of the big upload")
    parser.add_argument("--big-runs", type=int, default=3, help="(b) big uploads (each stays stored)")
    parser.add_argument("--plan-repeat", type=int, default=3000, help="(c) timings per case")
    parser.add_argument("--campaigns", type=int, default=100_000, help="(d) campaigns stored before listing")
    parser.add_argument("--list-requests", type=int, default=2000, help="(d) sequential GETs")
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
    steps = {"a": figure_a, "b": figure_b, "c": figure_c, "d": figure_d}
    for key in args.only:
        if key not in steps:
            parser.error(f"--only takes letters among abcd, not '{key}'")
        say(f"figure ({key}) ...")
        result = steps[key](args)
        figures.extend(result if isinstance(result, tuple) else (result,))
    print(table(figures, args.patch), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(f) for f in figures], indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
