"""The benchmark's figure (a), servers compared on one upload (``bench.py`` prints it).

1,000-row multipart upload, req/s, in alternating rounds on servers started side by side, loaded
by ``wrk -t1 -c8`` (``--seconds`` a round; Python threads when wrk is not on PATH): the baseline
(Flask + ``csv.reader`` on stock waitress, 16 threads), ``mock-server`` exactly as it starts with no
flags (waitress with its slow-client protections, access log on, to /dev/null), the mock app on
the same waitress with and without metrics (their CPU per request gives the metrics overhead,
shown for information; the <= 3 % target is judged in-process by ``metricscost.py``), a WireMock
stub (npm ``wiremock``; left out with a note without npm/java), the mock on one granian worker,
1..``--scale`` mock processes (granian) sharing a private ``redis-server`` (the client spreads
its connections over them) and ``mock-server --workers 2 --store redis://``.
Targets (issue 19): mock / baseline >= 1.5, mock / WireMock >= 0.5, workers-2-on-Redis / one
memory process >= 1.0. On a miss the line says by how much, with the hot spots of a py-spy
``--gil`` profile of the mock taken during its last round (when py-spy is installed).
The Redis processes are left out, with a note, when ``redis-server`` is not on PATH.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from . import metricscost
from .benchclient import Rate, Server, hammer, process_cpu, request, wrk, wrk_available
from .redisserver import private_redis
from .wiremock import WireMock


def _granian() -> bool:
    """Whether granian (the HTTP server of ``mock-server --workers N``) is installed."""
    return importlib.util.find_spec("granian") is not None


def _workers_flag() -> bool:
    """Whether this tree's ``mock-server`` has ``--workers`` (several processes under one command)."""
    from mock_server import settings

    return "workers" in settings.DEFAULTS.get("server", {})


def _profile(pid: int, seconds: float, out: Path) -> subprocess.Popen | None:
    """py-spy (when installed) sampling ``pid`` while it holds the GIL, in the background."""
    spy = shutil.which("py-spy") or (str(Path(sys.executable).with_name("py-spy"))
                                     if Path(sys.executable).with_name("py-spy").exists() else None)
    if spy is None:
        return None
    return subprocess.Popen([spy, "record", "--gil", "--nonblocking", "-f", "raw", "-r", "200", "-d",
                             str(max(1, int(seconds))), "-o", str(out), "--pid", str(pid)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def hot_spots(raw: Path, top: int = 8) -> str:
    """The functions holding the GIL longest (self time, % of the samples) in a py-spy raw profile."""
    own: Counter = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frame = stack.rsplit(";", 1)[-1]
        match = re.match(r"(.*) \((.*?):\d+\)$", frame)
        name = f"{Path(match[2]).parent.name}/{Path(match[2]).name}:{match[1]}" if match else frame
        own[name] += int(count)
        total += int(count)
    return ", ".join(f"{name} {100 * count / total:.0f}%" for name, count in own.most_common(top)) if total else "no samples"


def _round(bench, args, name: str, target, body: bytes, headers: dict, use_wrk: bool):
    """One load round on ``target`` (``(ports, pid)``): a :class:`Rate`."""
    ports, pid = target
    if use_wrk and len(ports) == 1:
        return wrk(ports[0], "POST", "/v1/hsm/file", body=body, headers=headers, seconds=args.seconds,
                   connections=args.concurrency, pid=pid)
    before = process_cpu(pid) if pid else None
    load = hammer(ports, "POST", "/v1/hsm/file", body=body, headers=headers, count=args.requests,
                  concurrency=args.concurrency)
    used = process_cpu(pid) - before if pid else None
    return Rate(load.rate, load.requests, used / load.requests if used is not None else None)


def figure_a(args, bench) -> list:
    body, headers = bench.upload(bench.jelou_csv(1000))
    use_wrk = args.load == "wrk" or (args.load == "auto" and wrk_available())
    if args.load == "wrk" and not wrk_available():
        raise RuntimeError("--load wrk: wrk is not on PATH (apt-get install wrk)")
    bench.say(f"(a) load generator: {'wrk -t1 -c%d, %g s a round' % (args.concurrency, args.seconds) if use_wrk else 'threads with http.client (wrk is not on PATH: apt-get install wrk)'}")
    rates: dict[str, list] = {}
    notes: list[str] = []
    profile_text = None
    with private_redis() as redis, contextlib.ExitStack() as stack:
        def start(server) -> tuple[list[int], int | None]:
            started = stack.enter_context(server)
            return [started.port], started.process.pid

        servers: dict[str, tuple[list[int], int | None]] = {
            "bare": start(Server("bare")),
            "mock": start(Server("cli", quiet=False)),           # `mock-server` with no flags, as `make run`
            "mock (benchserver)": start(Server("mock")),
            "mock, no metrics": start(Server("mock", extra=("--no-metrics",))),
        }
        problem = WireMock.unavailable()
        if problem is None and not args.no_wiremock:
            try:
                wiremock = stack.enter_context(WireMock(args.cache))
                servers["WireMock stub"] = ([wiremock.port], None)
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                problem = f"WireMock could not start: {exc}"
        elif args.no_wiremock:
            problem = "--no-wiremock"
        if problem:
            notes.append(f"WireMock left out: {problem}")
            bench.say(f"(a) WireMock left out: {problem}")
        if _granian():
            servers["mock on granian"] = ([stack.enter_context(Server("mock", server="granian")).port], None)
        if redis is not None:
            kind = "granian" if _granian() else None         # the multi-process server, when installed
            shared = [stack.enter_context(Server("mock", store=redis.url, server=kind)).port for _ in range(args.scale)]
            for count in range(1, args.scale + 1):
                servers[f"redis x{count}"] = (shared[:count], None)
            if _workers_flag():
                servers["workers-2-redis"] = ([stack.enter_context(
                    Server("cli", flags=("--workers", "2", "--store", redis.url))).port], None)
        for ports, _ in servers.values():
            hammer(ports, "POST", "/v1/hsm/file", body=body, headers=headers, count=50, concurrency=args.concurrency)
        for round_number in range(1, args.rounds + 1):
            for name, target in servers.items():
                if name.startswith(("mock", "redis", "workers")):
                    request(target[0][0], "POST", "/_mock/reset")
                spy = None
                if name == "mock" and round_number == args.rounds and use_wrk:
                    raw = Path(tempfile.mkdtemp(prefix="bench-profile-")) / "mock.txt"
                    spy = _profile(target[1], args.seconds - 1, raw)
                result = _round(bench, args, name, target, body, headers, use_wrk)
                if spy is not None:
                    spy.wait(30)
                    if raw.exists():
                        profile_text = hot_spots(raw)
                    shutil.rmtree(raw.parent, ignore_errors=True)
                rates.setdefault(name, []).append(result)
                cpu = f", {result.cpu_per_request * 1e6:.0f} us CPU/request" if result.cpu_per_request else ""
                bench.say(f"(a) round {round_number}/{args.rounds} {name}: {result.rate:.0f} req/s{cpu}")
    median = {name: statistics.median(r.rate for r in values) for name, values in rates.items()}
    cpu = {name: statistics.median(r.cpu_per_request for r in values) for name, values in rates.items()
           if all(r.cpu_per_request for r in values)}
    how = (f"median of {args.rounds} alternating rounds of "
           + (f"{args.seconds:g} s, wrk -t1 -c{args.concurrency}" if use_wrk else f"{args.requests}, {args.concurrency} connections"))
    hot = f"; profile of the mock (py-spy --gil, share of GIL time): {profile_text}" if profile_text else ""
    ratio = median["mock"] / median["bare"]
    cpu_note = (f"; CPU per upload: mock {cpu['mock'] * 1e6:.0f} us, bare {cpu['bare'] * 1e6:.0f} us"
                if "mock" in cpu and "bare" in cpu else "")
    figures = [bench.Figure("a", "1,000-row upload, req/s: mock-server default (1 process) / Flask + csv.reader on waitress",
                            ratio, f"{ratio:.2f}", ">= 1.5", ratio >= 1.5,
                            f"mock {median['mock']:.0f} req/s, bare {median['bare']:.0f} req/s ({how}){cpu_note}"
                            + (_shortfall(ratio, 1.5) + hot if ratio < 1.5 else ""))]
    if "WireMock stub" in median:
        versus = median["mock"] / median["WireMock stub"]
        figures.append(bench.Figure("a", "same, mock-server default / WireMock stub", versus, f"{versus:.2f}", ">= 0.5",
                                    versus >= 0.5, f"mock {median['mock']:.0f} req/s, WireMock {median['WireMock stub']:.0f} "
                                    "req/s (a stub: no parsing, no journal)" + (_shortfall(versus, 0.5) + hot if versus < 0.5 else "")))
    if "mock on granian" in median:
        fast = median["mock on granian"] / median["bare"]
        figures.append(bench.Figure("a", "same, the mock served by one granian worker / bare", fast, f"{fast:.2f}", ">= 1.5",
                                    fast >= 1.5, f"mock on granian {median['mock on granian']:.0f} req/s, "
                                    f"bare on waitress {median['bare']:.0f} req/s (same rounds; granian has no total "
                                    "read deadline nor idle timeout, so it is not the default)"))
    with_metrics, without = "mock (benchserver)", "mock, no metrics"
    if with_metrics in cpu and without in cpu:
        overhead = cpu[with_metrics] / cpu[without] - 1
        shown = f"{overhead * 100:+.1f}%"
        detail = (f"CPU per upload {cpu[with_metrics] * 1e6:.0f} us with metrics, {cpu[without] * 1e6:.0f} us without; "
                  f"{median[with_metrics]:.0f} vs {median[without]:.0f} req/s")
    else:
        overhead = median[without] / median[with_metrics] - 1
        shown = f"{overhead * 100:+.1f}%"
        detail = f"{median[with_metrics]:.0f} req/s with metrics, {median[without]:.0f} without (no CPU figures)"
    figures.append(bench.Figure("a", "metrics overhead on the upload over HTTP (CPU per request, with / without - 1)",
                                overhead, shown, "-", None, detail + "; a round moves by 5-10 % here: the target is "
                                "judged in-process, next line"))
    figures.append(metricscost.figure(bench))
    for note in notes:
        figures[0].detail += f"; {note}"
    if redis is None:
        bench.say("(a) redis-server is not on PATH: the Redis figures are left out")
        return figures
    growth = ", ".join(f"{name.split()[1]} {median[name]:.0f}" for name in median if name.startswith("redis x"))
    if "workers-2-redis" in median:
        name, what = "workers-2-redis", "same, mock-server --workers 2 --store redis / 1 process memory"
    else:
        name, what = "redis x2", "same, 2 mock-server processes on one Redis / 1 process memory"
    scale = median[name] / median["mock"]
    figures.append(bench.Figure("a", what, scale, f"{scale:.2f}", ">= 1.0", scale >= 1.0,
                                f"{name} {median[name]:.0f} req/s vs 1 process memory {median['mock']:.0f} req/s; "
                                f"processes on one Redis (connections spread over them), req/s: {growth}"))
    bench.redis_x1 = median.get("redis x1")
    return figures


def _shortfall(ratio: float, target: float) -> str:
    return f"; MISS by {target - ratio:.2f} ({ratio / target * 100:.0f}% of the target)"
