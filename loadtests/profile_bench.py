"""Traffic profiles cost no per-message memory (CONTRACT §14): a 1,000,000-row campaign under a
profile against the same campaign under ``ideal``.

``python -m loadtests.profile_bench [--rows 1000000] [--events 200000] [--profile realistic]``
runs ``loadtests.webhook_bench`` twice, each in a fresh process (so one run's memory cannot hide
in the other's): under ``ideal``, then under ``--profile``. Each uploads the campaign, advances
the clock a day and delivers ``--events`` webhook events to a local receiver. It prints, side by
side, the process's memory after the upload and at its peak, and the webhook figures (events per
second, CPU per event), with the ratio of each to ``ideal``; ``within 10 %`` marks the memory and
webhook figures the contract bounds. Figures are printed, never asserted (the tests assert
behaviour; a loaded machine moves throughput by more than 10 % from one run to the next).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

MB = 1024 * 1024
FIGURES = (("rss_after_upload", "RSS after the upload", MB, "MB"), ("rss_peak", "RSS peak", MB, "MB"),
           ("events_per_second", "webhook events per second", 1, "/s"),
           ("cpu_us_per_event", "dispatcher CPU per event", 1, "us"))


def measure(profile: str, args) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "figures.json"
        command = [sys.executable, "-m", "loadtests.webhook_bench", "--rows", str(args.rows), "--events",
                   str(args.events), "--seconds", str(args.seconds), "--profile", profile, "--json", str(out)]
        print(f"[profile-bench] {profile}: {' '.join(command[1:])}", flush=True)
        subprocess.run(command, check=True)
        return json.loads(out.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.profile_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="recipients (default 1,000,000)")
    parser.add_argument("--events", type=int, default=200_000, help="events delivered per run (default 200,000)")
    parser.add_argument("--seconds", type=float, default=600.0, help="longest delivery per run (default 600)")
    parser.add_argument("--profile", default="realistic", help="the profile compared with ideal (default realistic)")
    parser.add_argument("--json", metavar="FILE", help="also write both runs' figures to FILE")
    args = parser.parse_args(argv)
    runs = {name: measure(name, args) for name in ("ideal", args.profile)}
    base, other = runs["ideal"], runs[args.profile]
    print(f"\n{args.rows:,} rows, {args.events:,} events per run: ideal vs {args.profile}")
    print(f"  {'figure':<28}{'ideal':>12}{args.profile:>12}{'ratio':>9}")
    for key, label, unit, suffix in FIGURES:
        ratio = other[key] / base[key] if base[key] else float("nan")
        mark = "within 10 %" if abs(ratio - 1) <= 0.10 else "OUTSIDE 10 %"
        print(f"  {label:<28}{base[key] / unit:>10.0f}{suffix:<2}{other[key] / unit:>10.0f}{suffix:<2}{ratio:>7.2f}  {mark}")
    print(f"  events by name: ideal {json.dumps(base['by_event'])}; {args.profile} {json.dumps(other['by_event'])}")
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
