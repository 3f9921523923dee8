"""waitress's thread count for the upload: ``mock-server --threads N`` side by side with the bare app.

``python -m loadtests.threadsbench [--threads 16,8,4,2] [--rounds 3] [--seconds 8]`` starts the
bare app (Flask + csv.reader on stock waitress, figure (a)'s baseline) and one ``mock-server`` per
thread count (access log on, to /dev/null, as ``make run``), then runs ``wrk -t1 -c8`` on each in
turn, round after round, so every server sees the same minutes of the machine's load. It prints, per
server, the median req/s and CPU per upload (``/proc``), and the ratio to the bare app. The
server adds ``inspection.max_waiters`` (16) threads for long-polls to ``--threads``; they wait on
waitress's queue like the others. ``--switch`` adds the default server run with other GIL switch
intervals (``sys.setswitchinterval``). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys

from .benchclient import Server, hammer, wrk, wrk_available


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.threadsbench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", default="16,8,4,2", help="thread counts to compare (default 16,8,4,2)")
    parser.add_argument("--switch", default="", help="also the default server with these GIL switch intervals, "
                                                     "seconds (e.g. 0.001,0.02; Python's default is 0.005)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args(argv)
    if not wrk_available():
        raise SystemExit("wrk is not on PATH")
    from . import bench

    body, headers = bench.upload(bench.jelou_csv(1000))
    counts = [int(value) for value in args.threads.split(",") if value]
    switches = [float(value) for value in args.switch.split(",") if value]
    results: dict[str, list] = {}
    with contextlib.ExitStack() as stack:
        servers = {"bare": stack.enter_context(Server("bare"))}
        for count in counts:
            servers[f"mock --threads {count}"] = stack.enter_context(
                Server("cli", quiet=False, flags=("--threads", str(count))))
        for interval in switches:
            server = Server("cli", quiet=False)
            server.command[1:3] = ["-c", f"import sys; sys.setswitchinterval({interval}); "
                                         "from mock_server.__main__ import main; sys.exit(main(sys.argv[1:]))"]
            servers[f"mock, switch {interval * 1000:g} ms"] = stack.enter_context(server)
        for server in servers.values():
            hammer([server.port], "POST", "/v1/hsm/file", body=body, headers=headers, count=50, concurrency=8)
        for number in range(1, args.rounds + 1):
            for name, server in servers.items():
                rate = wrk(server.port, "POST", "/v1/hsm/file", body=body, headers=headers, seconds=args.seconds,
                           connections=args.connections, pid=server.process.pid)
                results.setdefault(name, []).append(rate)
                print(f"[threadsbench] round {number} {name}: {rate.rate:.0f} req/s, "
                      f"{rate.cpu_per_request * 1e6:.0f} us CPU/upload", file=sys.stderr, flush=True)
    bare = statistics.median(rate.rate for rate in results["bare"])
    print(f"load average {os.getloadavg()[0]:.1f}; median of {args.rounds} alternating rounds of {args.seconds:g} s, "
          f"wrk -t1 -c{args.connections}")
    for name, rates in results.items():
        median = statistics.median(rate.rate for rate in rates)
        cpu = statistics.median(rate.cpu_per_request for rate in rates)
        print(f"  {name:<20} {median:7.0f} req/s  {cpu * 1e6:6.0f} us CPU/upload  {median / bare:5.2f} x bare")
    return 0


if __name__ == "__main__":
    sys.exit(main())
