"""``make load``: start a mock, run Locust headless against it, then run the consistency check.

``python -m loadtests.run --users 20 --spawn-rate 10 --duration 30s --results results [--workers 2]``

Steps: (1) ``mock-server`` (``python -m mock_server``, the console script's code) on a free port
of 127.0.0.1, its output in ``results/server.log``; wait for ``/_mock/health``. (2) Locust as a
subprocess (keeps gevent's monkey-patching out of this process), writing ``report.html``,
``stats_*.csv`` and ``ledger.json`` into the results folder. ``--workers N`` runs one master and N
workers on localhost (``--expect-workers N``), for loads one process cannot generate; the workers'
output goes to ``worker-<i>.log``. (3) ``check.run`` against the same server. (4) Stop everything.
With ``--webhooks``, a webhook receiver (``mock-harness webhooks listen --quiet``, its own process)
is subscribed to every Jelou and indigitall event before Locust starts; at the end the receiver's
counters and the mock's delivery records are printed and written to ``webhooks.json``.
With ``--profile NAME|FILE`` (``make load PROFILE=realistic``) the mock's default sandbox uses that
traffic profile (``mock-harness profile set``); every run ends with the status curve
(``GET /_mock/messages/curve``) of its largest campaign and largest task, printed and written to
``curve.json``. What the run asks of the mock over HTTP (faults, profile, subscriptions, curves,
webhook counts) is in ``runmock.py``; this module starts and stops the processes.

Exit status: 0 only if Locust had no unexpected failure (deliberately invalid requests that got
their documented 4xx are successes) and the check found nothing lost; 2 if the run could not start.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import requests

from . import check, ledger
from .localhost import free_port
from .runmock import add_faults, report_curves, report_webhooks, set_profile, subscribe_all
from .webhook_bench import start_receiver

HERE = Path(__file__).resolve().parent
LOCUSTFILE = HERE / "locustfile.py"
PRODUCED = ("report.html", "stats_stats.csv", "stats_failures.csv", "stats_exceptions.csv",
            "stats_stats_history.csv", "ledger.json", "check.json", "server.log", "webhooks.json", "curve.json")


def seconds(timespan: str) -> int:
    """Locust's run-time syntax (``30s``, ``2m``, ``1h30m``, or plain seconds) in seconds."""
    if timespan.isascii() and timespan.isdigit():
        return int(timespan)
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", timespan.strip())
    if not parts or not any(parts.groups()):
        raise ValueError(f"cannot read duration '{timespan}': use e.g. 30s, 2m or 1h30m")
    hours, minutes, secs = (int(value or 0) for value in parts.groups())
    return hours * 3600 + minutes * 60 + secs


def start_server(results: Path, config: str | None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "mock_server", "--host", "127.0.0.1", "--port", str(port), "--quiet"]
    if config:
        command += ["--config", config]
    log = (results / "server.log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mock-server exited with status {process.returncode}; see {results / 'server.log'}")
        try:
            if requests.get(url + "/_mock/health", timeout=1).ok:
                return process, url
        except requests.RequestException:
            time.sleep(0.2)
    stop(process)
    raise RuntimeError(f"mock-server did not answer {url}/_mock/health within 30 s; see {results / 'server.log'}")


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def locust_commands(args, url: str, results: Path) -> tuple[list[str], list[list[str]]]:
    """The master (or only) Locust command and the worker commands."""
    base = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)]
    main = base + ["--headless", "-u", str(args.users), "-r", str(args.spawn_rate), "-t", args.duration,
                   "--host", url, "--html", str(results / "report.html"), "--csv", str(results / "stats"),
                   "--only-summary", "--ledger-file", str(results / "ledger.json")]
    if not args.workers:
        return main, []
    port = free_port()
    main += ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
             "--expect-workers", str(args.workers), "--expect-workers-max-wait", "60"]
    worker = base + ["--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
    return main, [worker] * args.workers


def run_locust(args, url: str, results: Path) -> int:
    main_command, worker_commands = locust_commands(args, url, results)
    limit = seconds(args.duration) + 120
    workers: list[subprocess.Popen] = []
    master = subprocess.Popen(main_command)
    try:
        for index, command in enumerate(worker_commands, start=1):
            log = (results / f"worker-{index}.log").open("w")
            workers.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
        started, shown = time.monotonic(), 0.0
        while master.poll() is None:
            elapsed = time.monotonic() - started
            if elapsed > limit:
                print(f"[load] Locust still running after {limit} s: stopping it", flush=True)
                stop(master)
                return 2
            if elapsed - shown >= 10:
                shown = elapsed
                print(f"[load] {elapsed:4.0f}s / {args.duration} ...", flush=True)
            time.sleep(0.5)
        for worker in workers:
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                stop(worker)
        return master.returncode
    finally:
        stop(master)
        for worker in workers:
            stop(worker)


def failures(stats_csv: Path) -> tuple[int, int]:
    """``(requests, failures)`` of the Aggregated row of Locust's stats CSV."""
    with stats_csv.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                return int(row["Request Count"]), int(row["Failure Count"])
    return 0, 0


def injected_count(stats_csv: Path) -> int:
    """Requests answered by an injected fault (named ``... [injected N]`` by the users)."""
    with stats_csv.open(newline="", encoding="utf-8") as handle:
        return sum(int(row["Request Count"]) for row in csv.DictReader(handle) if "[injected " in row["Name"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20, help="peak number of simulated users (default 20)")
    parser.add_argument("--spawn-rate", type=float, default=10, help="users started per second (default 10)")
    parser.add_argument("--duration", default="30s", help="run time, Locust syntax: 30s, 2m, 1h (default 30s)")
    parser.add_argument("--results", default="results", help="folder for the report, CSVs, ledger and logs")
    parser.add_argument("--workers", type=int, default=0, help="0: one Locust process; N: a master and N workers")
    parser.add_argument("--config", help="settings file for the mock (default: the demo tenant)")
    parser.add_argument("--fault", action="append", default=[], metavar="RULE",
                        help="a fault rule (JSON text, or @file.json) active during the run; repeatable. Its 429/5xx "
                             "answers are counted as '[injected N]' successes; the rules are removed before the check")
    parser.add_argument("--webhooks", action="store_true", help="also receive every webhook event and report the counts")
    parser.add_argument("--profile", metavar="NAME|FILE", help="traffic profile of the mock during the run "
                                                               "(realistic, degraded, ideal, or a JSON/YAML file)")
    args = parser.parse_args(argv)
    try:
        seconds(args.duration)
    except ValueError as exc:
        parser.error(str(exc))
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    for name in PRODUCED:
        (results / name).unlink(missing_ok=True)
    mode = f"1 master + {args.workers} workers" if args.workers else "1 process"
    print("[load] starting the mock ...", flush=True)
    server = receiver = None
    try:
        server, url = start_server(results, args.config)
        add_faults(url, args.fault)
        if args.profile:
            set_profile(url, args.profile)
        if args.webhooks:
            receiver, hook_url = start_receiver()
            subscribe_all(url, hook_url)
        print(f"[load] mock on {url}; Locust ({mode}): {args.users} users, {args.spawn_rate}/s, {args.duration}", flush=True)
        code = run_locust(args, url, results)
        if args.fault:
            requests.delete(url + "/_mock/faults", timeout=10).raise_for_status()
        stats_csv = results / "stats_stats.csv"
        if not stats_csv.exists() or not (results / "ledger.json").exists():
            print(f"[load] Locust wrote no stats or ledger (exit {code}): see its output above"
                  + (f" and {results}/worker-*.log" if args.workers else ""), file=sys.stderr)
            return 2
        total, failed = failures(stats_csv)
        print(f"[load] Locust done (exit {code}): {total} requests, {failed} unexpected failures, "
              f"{injected_count(stats_csv)} injected faults", flush=True)
        summary = check.run(url, ledger.load(results / "ledger.json"), stats_csv=stats_csv,
                            progress=lambda text: print(text, flush=True))
        print(summary.render(), flush=True)
        (results / "check.json").write_text(json.dumps({**asdict(summary), "ok": summary.ok}, indent=1), encoding="utf-8")
        report_curves(url, ledger.load(results / "ledger.json"), results)
        if receiver is not None:
            report_webhooks(url, hook_url, results)
    except RuntimeError as exc:
        print(f"[load] {exc}", file=sys.stderr)
        return 2
    except requests.RequestException as exc:
        print(f"[load] the check could not reach the mock ({exc}); see {results / 'server.log'}", file=sys.stderr)
        return 2
    finally:
        stop(server)
        stop(receiver)
    ok = failed == 0 and code == 0 and summary.ok
    print(f"[load] {'PASS' if ok else 'FAIL'}: {total} requests, {failed} unexpected failures, "
          f"{len(summary.lost)} lost. Report: {results / 'report.html'}", flush=True)
    if failed or code:
        print(f"[load] failures: see {results / 'stats_failures.csv'} and the report's Failures tab", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
