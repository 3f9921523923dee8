"""What the cyclic garbage collector costs the server process, under each way of tuning it.

``python -m loadtests.gccost [--rounds 2] [--modes default,freeze,t50k,freeze+t50k]`` runs, for
each round and each mode in turn (alternating, so the machine's load falls on all of them alike),
one child process per measurement, the mode applied right after ``create_app`` (where
``mock-server`` applies its own, ``mock_server.gctuning``):

- ``upload``: ``--uploads`` 1,000-row uploads (``POST /v1/hsm/file``, figure (a)'s body) through the
  app's WSGI stack in-process, the collector on; process CPU per upload;
- ``events``: ``loadtests.webhook_bench --rows R --events E`` (memory store); its dispatcher CPU per
  event and its RSS line;
- ``callgrind``: instructions per upload (``valgrind --tool=callgrind``, all threads): two children
  of ``upload``, 10 and 110 uploads after the same warm-up, the difference over 100, so start-up
  and imports cancel out (``PYTHONHASHSEED=0``); the figure the machine's load does not move;
- ``big``: one ``--big-rows`` upload in-process; resident memory per stored recipient
  (figure (b)'s second figure) and the upload's CPU.

Each child also counts the time spent inside collections (``gc.callbacks``, the collecting
thread's CPU) and the collections per generation. Modes: ``default`` (Python's 700/10/10),
``freeze`` (``gc.collect(); gc.freeze()``: the objects built at start-up leave the collected
generations), ``tN`` (generation-0 threshold N, e.g. ``t50k``; generations 1 and 2 as they are),
and ``freeze+tN``. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

MB = 1024 * 1024


def apply_mode(mode: str) -> None:
    for part in mode.split("+"):
        if part == "freeze":
            gc.collect()
            gc.freeze()
        elif part.startswith("t"):
            text = part[1:].lower().replace("k", "000")
            gc.set_threshold(int(text), *gc.get_threshold()[1:])
        elif part != "default":
            raise SystemExit(f"gccost: unknown mode part {part!r}")


class GcClock:
    """CPU seconds spent inside collections, on the collecting thread."""

    def __init__(self) -> None:
        self.spent, self.collections, self._started = 0.0, [0, 0, 0], 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.thread_time()
        else:
            self.spent += time.thread_time() - self._started
            self.collections[info["generation"]] += 1

    def reset(self) -> None:
        self.spent, self.collections = 0.0, [0, 0, 0]


def built_app(config: dict, mode: str):
    from mock_server import create_app

    app = create_app(config)
    apply_mode(mode)
    return app


def child_upload(mode: str, count: int) -> dict:
    from werkzeug.test import EnvironBuilder

    from .bench import jelou_csv, upload

    body, headers = upload(jelou_csv(1000))
    app = built_app({"store": {"url": "memory"}, "access_log": None}, mode)
    environ = EnvironBuilder(path="/v1/hsm/file", method="POST", headers={**headers, "Host": "localhost"},
                             data=body).get_environ()

    def post() -> None:
        statuses: list[str] = []
        result = app({**environ, "wsgi.input": io.BytesIO(body)}, lambda status, *rest: statuses.append(status))
        for _ in result:
            pass
        getattr(result, "close", lambda: None)()
        assert statuses[0].startswith("200"), statuses

    for _ in range(20):
        post()
    clock = GcClock()
    started = time.process_time()
    for _ in range(count):
        post()
    spent = time.process_time() - started
    return {"cpu_us": spent / count * 1e6, "gc_us": clock.spent / count * 1e6, "collections": clock.collections}


def child_big(mode: str, rows: int) -> dict:
    from werkzeug.test import EnvironBuilder

    from .bench import jelou_csv, upload
    from .localhost import rss_now, rss_peak

    body, headers = upload(jelou_csv(rows))
    small, small_headers = upload(jelou_csv(10))
    app = built_app({"store": {"url": "memory"}, "access_log": None, "jelou": {"max_rows": rows}}, mode)
    client = app.test_client()
    assert client.post("/v1/hsm/file", data=small, headers={**small_headers, "Host": "localhost"}).status_code == 200
    before, clock = rss_now(), GcClock()
    started = time.process_time()
    environ = EnvironBuilder(path="/v1/hsm/file", method="POST", headers={**headers, "Host": "localhost"},
                             data=body).get_environ()
    del body
    answer = client.open(environ)
    assert answer.status_code == 200, answer.data[:300]
    spent = time.process_time() - started
    return {"cpu_s": spent, "gc_s": clock.spent, "collections": clock.collections,
            "bytes_per_recipient": (rss_now() - before) / rows, "rss_mb": rss_now() / MB,
            "peak_mb": rss_peak() / MB}


def child_events(mode: str, rows: int, events: int) -> dict:
    import mock_server

    from . import webhook_bench

    clock: list[GcClock] = []
    create_app = mock_server.create_app

    def create_and_tune(*args, **kwargs):
        app = create_app(*args, **kwargs)
        apply_mode(mode)
        clock.append(GcClock())
        return app

    mock_server.create_app = create_and_tune
    out = io.StringIO()
    stdout, sys.stdout = sys.stdout, out
    try:
        webhook_bench.main(["--rows", str(rows), "--events", str(events), "--python-gc"])
    finally:
        sys.stdout = stdout
    text = out.getvalue()
    cpu = float(re.search(r"CPU per event: dispatcher (\d+) us", text).group(1))
    delivered = int(re.search(r"delivered: ([\d,]+) events", text).group(1).replace(",", ""))
    rss = re.search(r"RSS during delivery: (.*)", text).group(1)
    return {"cpu_us": cpu, "gc_us": clock[0].spent / delivered * 1e6, "collections": clock[0].collections, "rss": rss}


def child_command(kind: str, mode: str, args, **overrides) -> list[str]:
    given = {"uploads": args.uploads, "rows": args.rows, "events": args.events, "big_rows": args.big_rows, **overrides}
    return [sys.executable, "-m", "loadtests.gccost", "--child", kind, "--modes", mode,
            *(item for name, value in given.items() for item in (f"--{name.replace('_', '-')}", str(value)))]


def callgrind(mode: str, args) -> dict:
    """Instructions per upload under ``mode`` (see the module doc)."""
    totals = []
    with tempfile.TemporaryDirectory() as folder:
        for count in (10, 110):
            out = os.path.join(folder, f"callgrind.{count}")
            subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                            *child_command("upload", mode, args, uploads=count)],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env={**os.environ, "PYTHONHASHSEED": "0"})
            with open(out, encoding="utf-8") as handle:
                totals.append(int(re.search(r"^(?:summary|totals): (\d+)", handle.read(), re.MULTILINE)[1]))
    return {"instructions": (totals[1] - totals[0]) / 100}


def run_child(kind: str, mode: str, args) -> dict:
    if kind == "callgrind":
        return callgrind(mode, args)
    done = subprocess.run(child_command(kind, mode, args), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"gccost: {kind} {mode} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gccost", description=__doc__.split("\n")[0])
    parser.add_argument("--modes", default="default,freeze,t50k,freeze+t50k", help="comma-separated modes")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (default 2)")
    parser.add_argument("--kinds", default="upload,events", help="upload, events, callgrind, big (comma-separated)")
    parser.add_argument("--uploads", type=int, default=300, help="upload: measured uploads per child (default 300)")
    parser.add_argument("--rows", type=int, default=200_000, help="events: campaign rows (default 200,000)")
    parser.add_argument("--events", type=int, default=80_000, help="events: events delivered (default 80,000)")
    parser.add_argument("--big-rows", type=int, default=1_000_000, help="big: rows of the one upload (default 1,000,000)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        figures = {"upload": lambda: child_upload(args.modes, args.uploads),
                   "big": lambda: child_big(args.modes, args.big_rows),
                   "events": lambda: child_events(args.modes, args.rows, args.events)}[args.child]()
        figures.update(threshold=gc.get_threshold()[0], frozen=gc.get_freeze_count())    # the mode, as applied
        print(json.dumps(figures))
        return 0
    modes, kinds = args.modes.split(","), args.kinds.split(",")
    results: dict[tuple[str, str], list[dict]] = {}
    for round_number in range(1, args.rounds + 1):
        for kind in kinds:
            for mode in modes:
                figures = run_child(kind, mode, args)
                results.setdefault((kind, mode), []).append(figures)
                print(f"round {round_number} {kind:<6} {mode:<12} {json.dumps(figures)}", flush=True)
    print(f"\nmedians of {args.rounds} round(s); load average {os.getloadavg()[0]:.1f}:")
    for kind in kinds:
        key = {"upload": "cpu_us", "events": "cpu_us", "big": "bytes_per_recipient", "callgrind": "instructions"}[kind]
        unit = {"upload": "us CPU per upload", "events": "us dispatcher CPU per event", "big": "B per recipient",
                "callgrind": "instructions per upload"}[kind]
        for mode in modes:
            rows = results[(kind, mode)]
            main_figure = statistics.median(r[key] for r in rows)
            gc_figure = statistics.median(r.get("gc_us", r.get("gc_s", 0)) for r in rows)
            line = f"  {kind:<9} {mode:<12} {main_figure:11,.0f} {unit}"
            if "collections" in rows[-1]:
                line += (f"; in collections {gc_figure:.1f}{' s' if kind == 'big' else ' us'}"
                         f"; collections {rows[-1]['collections']}")
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
