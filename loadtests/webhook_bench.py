"""Webhook benchmark: a large Jelou campaign advanced by a day, its events delivered to a local receiver.

``python -m loadtests.webhook_bench [--rows 1000000] [--events 200000]`` (``make bench-webhooks``):
1. starts ``mock-harness webhooks listen --quiet`` in its own process (the receiver: it parses
   every body, answers 204, counts);
2. builds a mock in this process (frozen clock), subscribes the receiver to every Jelou event of
   ``demo-bot``, uploads a ``--rows`` campaign and advances the clock by ``--advance`` (P1D): every
   transition of every message is then due, millions of events for a million recipients;
3. runs the dispatcher until the receiver has counted ``--events`` events (or ``--seconds``
   pass), the garbage collector tuned as ``mock-server`` tunes it (``--python-gc``: as Python
   sets it), and prints the delivery rate (receiver's count over real time; the receiver's work is
   included, it shares the machine's cores), the dispatcher's CPU per event, in all and per
   thread (producer, recorder, the attempts' event loop; of which system time), and this
   process's RSS at each quarter of the run (``current``) and its peak, so a flat memory
   profile is visible;
4. with ``--scaleout`` (skipped, saying so, without ``redis-server`` on PATH), the same campaign on a
   private ``redis-server`` delivered by one, then by two mock processes (``--worker``: an app on
   that Redis, its dispatcher only) to one receiver, in alternating rounds (``--rounds``), each
   from a fresh Redis: the delivery rate of each (receiver's count over ``--scale-seconds`` after
   the first events) and the two-process ratio (the issue's target: >= 1.6). The campaign is set up
   by this process through an app whose dispatcher is never started, so only the workers deliver.

The figures are printed, never asserted (CONTRACT: benchmarks print, tests assert behaviour).
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import time
import urllib.request

from .localhost import cpu_seconds, free_port, rss_now, rss_peak, thread_cpu

MB = 1024 * 1024


def campaign_csv(rows: int) -> bytes:
    out = io.StringIO()
    out.write("phone_number,name\n")
    for index in range(rows):
        out.write(f"59390{index:07d},N{index}\n")
    return out.getvalue().encode()


def receiver_stats(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/_stats", timeout=5) as answer:
        return json.loads(answer.read())


def start_receiver() -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "harness.cli", "webhooks", "listen", "--port", str(port), "--quiet"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            receiver_stats(url)
            return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("webhook_bench: the receiver did not start")


def bench_settings(rows: int, concurrency: int, store: str = "memory") -> dict:
    return {"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True},
            "webhooks": {"rate": 1_000_000, "concurrency": concurrency},
            "jelou": {"max_rows": max(rows, 1)}, "store": {"url": store}}


def set_up(app, url: str, rows: int, advance: str, profile: str = "ideal") -> float:
    """Subscribe the receiver, upload a ``rows`` campaign under ``profile``, advance the clock; the
    upload's seconds."""
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    client = app.test_client()
    answer = client.post("/_mock/webhooks", json={"provider": "jelou", "botId": "demo-bot", "url": url, "events": ["all"]})
    assert answer.status_code == 201, answer.json
    answer = client.put("/_mock/profile", json={"name": profile})
    assert answer.status_code == 200, answer.json
    started = time.monotonic()
    data = campaign_csv(rows)
    boundary, body = encode_multipart({"campaignName": "bench", "elementName": "welcome_message", "botId": "demo-bot",
                                       "params": "[]", "file": FileStorage(io.BytesIO(data), filename="bench.csv")})
    del data
    answer = client.post("/v1/hsm/file", data=body, content_type=f"multipart/form-data; boundary={boundary}",
                         headers={"Authorization": "Basic ZGVtby1jbGllbnQtaWQ6ZGVtby1jbGllbnQtc2VjcmV0"})
    assert answer.status_code == 200, answer.json
    del body
    seconds = time.monotonic() - started
    answer = client.post("/_mock/clock", json={"advance": advance})
    assert answer.status_code == 200, answer.json
    return seconds


def worker(store: str, concurrency: int) -> int:
    """``--worker STORE``: a mock app on the shared store, its dispatcher delivering, until stdin closes."""
    from mock_server import create_app

    from .benchserver import serving_gc

    app = create_app(bench_settings(0, concurrency, store))
    serving_gc()                                # as in a mock-server worker
    dispatcher = app.extensions["mock"].webhooks
    dispatcher.start()
    print("ready", flush=True)
    sys.stdin.read()
    dispatcher.stop()
    return 0


def scaleout_round(binary: str, processes: int, args) -> tuple[float, float, int]:
    """One round from a fresh Redis: ``(events/s, dispatcher CPU us per event, events)`` delivered
    by ``processes`` worker processes over ``--scale-seconds``."""
    from loadtests.redisserver import RedisServer
    from mock_server import create_app

    redis = RedisServer(binary).start()
    receiver, url = start_receiver()
    workers: list[subprocess.Popen] = []
    try:
        app = create_app(bench_settings(args.rows, args.concurrency, redis.url))
        app.extensions["mock"].webhooks.start = lambda: None      # set-up only: the workers deliver
        set_up(app, url, args.rows, args.advance)
        for _ in range(processes):
            workers.append(subprocess.Popen([sys.executable, "-m", "loadtests.webhook_bench", "--worker", redis.url,
                                             "--concurrency", str(args.concurrency)],
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        for process in workers:
            assert process.stdout.readline().strip() == "ready", "webhook_bench: a worker did not start"
        deadline = time.monotonic() + 60
        while receiver_stats(url)["total"] == 0:          # the first events: every worker is under way
            assert time.monotonic() < deadline, "webhook_bench: no event within 60 s"
            time.sleep(0.05)
        begin, first = time.monotonic(), receiver_stats(url)["total"]
        cpu = [cpu_seconds(process.pid) for process in workers]
        time.sleep(args.scale_seconds)
        count = receiver_stats(url)["total"] - first
        elapsed = time.monotonic() - begin
        cpu_used = sum(cpu_seconds(process.pid) - before for process, before in zip(workers, cpu))
    finally:
        for process in workers:
            process.stdin.close()
        for process in workers:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        receiver.terminate()
        receiver.wait(timeout=10)
        redis.close()
    return count / elapsed, cpu_used / max(count, 1) * 1e6, count


def scaleout(args) -> None:
    from loadtests.redisserver import find_binary

    binary = find_binary()
    if binary is None:
        print("scale-out: skipped: no redis-server on PATH (apt-get install redis-server)")
        return
    rates: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(args.rounds):
        for processes in (1, 2):
            rate, cpu, count = scaleout_round(binary, processes, args)
            rates[processes].append(rate)
            print(f"scale-out on Redis: {processes} process(es): {count:,} events in {args.scale_seconds:g} s = "
                  f"{rate:,.0f} events/s, dispatcher CPU {cpu:.0f} us per event", flush=True)
    one, two = (sorted(rates[n])[len(rates[n]) // 2] for n in (1, 2))
    print(f"scale-out on Redis: 2 processes / 1 process = {two / one:.2f} (median of {args.rounds} alternating "
          f"rounds: {two:,.0f} vs {one:,.0f} events/s; target >= 1.6)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="webhook_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="recipients (default 1,000,000)")
    parser.add_argument("--events", type=int, default=200_000, help="stop after this many events (default 200,000)")
    parser.add_argument("--seconds", type=float, default=300.0, help="stop after this many seconds (default 300)")
    parser.add_argument("--advance", default="P1D", help="how far to move the clock (default P1D)")
    parser.add_argument("--concurrency", type=int, default=8, help="webhooks.concurrency (default 8)")
    parser.add_argument("--profile", default="ideal", help="the traffic profile of the campaign (default ideal)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE (loadtests.profile_bench)")
    parser.add_argument("--scaleout", action="store_true", help="also measure 1 vs 2 processes on a private Redis")
    parser.add_argument("--only-scaleout", action="store_true", help="only the Redis scale-out measurement")
    parser.add_argument("--scale-seconds", type=float, default=20.0, help="seconds measured per scale-out round (default 20)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating scale-out rounds (default 2)")
    parser.add_argument("--python-gc", action="store_true",
                        help="leave the garbage collector as Python sets it (mock-server tunes it: mock_server.httpserver.tune_gc)")
    parser.add_argument("--worker", metavar="STORE", help=argparse.SUPPRESS)    # a scale-out delivery process
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.concurrency)
    if args.only_scaleout:
        scaleout(args)
        return 0

    from mock_server import create_app

    from .benchserver import serving_gc

    process, url = start_receiver()
    try:
        app = create_app(bench_settings(args.rows, args.concurrency))
        if not args.python_gc:
            serving_gc()                        # the garbage collector as mock-server serves with it
        upload_seconds = set_up(app, url, args.rows, args.advance, args.profile)
        baseline = rss_now()
        print(f"campaign: {args.rows:,} recipients uploaded in {upload_seconds:.1f} s; clock advanced {args.advance}; "
              f"RSS {baseline / MB:.0f} MB before delivery", flush=True)
        dispatcher = app.extensions["mock"].webhooks
        begin, samples, marks = time.monotonic(), [], [args.events * q // 4 for q in (1, 2, 3, 4)]
        cpu_before, receiver_before = cpu_seconds(), cpu_seconds(process.pid)
        dispatcher.start()
        count = 0
        while count < args.events and time.monotonic() - begin < args.seconds:
            time.sleep(0.25)
            count = receiver_stats(url)["total"]
            while marks and count >= marks[0]:
                samples.append((marks.pop(0), rss_now()))
        elapsed = time.monotonic() - begin
        cpu_mock, cpu_receiver = cpu_seconds() - cpu_before, cpu_seconds(process.pid) - receiver_before
        threads = thread_cpu()                  # the dispatcher's threads started with it: all theirs
        dispatcher.stop()
        stats = receiver_stats(url)
        records = dispatcher.deliveries.counts("default")
    finally:
        process.terminate()
        process.wait(timeout=10)
    rate = stats["total"] / elapsed if elapsed else 0.0
    print(f"delivered: {stats['total']:,} events in {elapsed:.1f} s = {rate:,.0f} events/s "
          f"(dispatcher concurrency {args.concurrency}; receiver in its own process, same machine)")
    print(f"CPU per event: dispatcher {cpu_mock / max(stats['total'], 1) * 1e6:.0f} us, "
          f"receiver {cpu_receiver / max(stats['total'], 1) * 1e6:.0f} us "
          f"(CPU busy: dispatcher {cpu_mock / elapsed:.0%}, receiver {cpu_receiver / elapsed:.0%} of one core)")
    per_event = 1e6 / max(stats["total"], 1)
    print("CPU per event by thread (of which system): " + ", ".join(
        f"{name} {sum(split) * per_event:.0f} us ({split[1] * per_event:.0f})" for name, split in
        sorted(threads.items(), key=lambda item: -sum(item[1])) if name.startswith("webhooks")))
    print(f"by event: {json.dumps(stats['byEvent'])}; records kept: {json.dumps(records)}")
    print("RSS during delivery: " + ", ".join(f"{n:,} events {r / MB:.0f} MB" for n, r in samples)
          + f"; peak {rss_peak() / MB:.0f} MB (baseline after upload {baseline / MB:.0f} MB)")
    if args.json:
        figures = {"profile": args.profile, "rows": args.rows, "events": stats["total"], "seconds": elapsed,
                   "events_per_second": rate, "rss_after_upload": baseline, "rss_peak": rss_peak(),
                   "rss_during": [r for _, r in samples], "by_event": stats["byEvent"],
                   "cpu_us_per_event": cpu_mock / max(stats["total"], 1) * 1e6}
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(figures, handle, indent=1)
    if args.scaleout:
        scaleout(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
