"""What one 1,000-row upload costs the app, in-process: CPU time and callgrind instructions.

The upload (figure (a)'s: ``POST /v1/hsm/file``, 42 KB multipart) goes through the app's whole WSGI
stack, called directly as a server would (the fault pipeline's middleware, the sandbox selector,
Flask and its hooks, the Jelou backend, the memory store, the access log, here writing to
``/dev/null`` from its background thread as under ``mock-server``), with no HTTP server and no
webhook thread. Two figures that the machine's load does not move:

- ``--cpu`` (default): CPU time per upload on the request's thread (``time.thread_time``) and in
  the whole process (``time.process_time``: the access log's writer too), the median of
  ``--blocks`` blocks of ``--block`` uploads, the garbage collector held off within a block;
- ``--callgrind``: instructions per upload, counted by ``valgrind --tool=callgrind`` (on PATH):
  two runs of this script (``--uploads`` 5 and 25 after the same warm-up, ``PYTHONHASHSEED=0``,
  the garbage collector off),
  the difference over 20, so start-up and imports cancel out; in all threads, and on the request's
  thread alone (the access log's writer thread is the other one).

``python -m loadtests.uploadcost [--cpu] [--callgrind]`` prints them; ``PYTHONPATH`` pointing at
another tree measures that tree's ``mock_server`` (a base commit) with this script.
"""

from __future__ import annotations

import argparse
import gc
import glob
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = (5, 25)


def build():
    """``(app, environ factory)`` for the 1,000-row upload; the app logs to /dev/null."""
    from werkzeug.test import EnvironBuilder

    from mock_server import create_app

    from .bench import jelou_csv, upload

    body, headers = upload(jelou_csv(1000))
    app = create_app({"store": {"url": "memory"}, "access_log": "text"})
    try:                                    # written off the request thread, as mock-server does
        from mock_server.faults import background_access_log
    except ImportError:                     # a tree from before it
        pass
    else:
        background_access_log(app)
    template = EnvironBuilder(path="/v1/hsm/file", method="POST", headers={**headers, "Host": "localhost"},
                              data=body).get_environ()
    template.pop("wsgi.input")

    def environ() -> dict:
        return {**template, "wsgi.input": io.BytesIO(body)}

    return app, environ


def post(app, environ) -> None:
    statuses: list[str] = []
    result = app(environ(), lambda status, headers, exc_info=None: statuses.append(status))
    try:
        for _ in result:
            pass
    finally:
        getattr(result, "close", lambda: None)()
    if not statuses or not statuses[0].startswith("200"):
        raise RuntimeError(f"upload answered {statuses}")


def uploads(count: int) -> None:
    """Warm up (10 uploads), then ``count`` more (the run callgrind counts)."""
    app, environ = build()
    gc.collect()
    gc.disable()                            # a collection's cost follows the heap, and when it falls moves
    for _ in range(10 + count):             # with the ids' hashes: not the upload's own work
        post(app, environ)
    stop_access_log(app)


def stop_access_log(app) -> None:
    log = app.extensions["mock.faults"].access_log
    close = getattr(log, "close", None)
    if close is not None:
        close()


def cpu(blocks: int, block: int) -> tuple[float, float]:
    """Median CPU seconds per upload over ``blocks`` blocks: ``(this thread, the whole process)``
    (the process's includes the access log's writer thread)."""
    app, environ = build()
    for _ in range(20):
        post(app, environ)
    spent: list[float] = []
    process: list[float] = []
    for _ in range(blocks):
        gc.collect()
        gc.disable()
        try:
            started, started_process = time.thread_time(), time.process_time()
            for _ in range(block):
                post(app, environ)
            spent.append((time.thread_time() - started) / block)
            process.append((time.process_time() - started_process) / block)
        finally:
            gc.enable()
    stop_access_log(app)
    return statistics.median(spent), statistics.median(process)


def callgrind() -> tuple[float, float]:
    """Instructions per upload (see the module doc): ``(all threads, the request's thread)``."""
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not on PATH")
    totals = []
    with tempfile.TemporaryDirectory() as folder:
        for count in RUNS:
            out = os.path.join(folder, f"callgrind.{count}")
            subprocess.run(["valgrind", "--tool=callgrind", "--separate-threads=yes", f"--callgrind-out-file={out}",
                            sys.executable, "-m", "loadtests.uploadcost", "--uploads", str(count)],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env={**os.environ, "PYTHONHASHSEED": "0"})        # the same dict and set layouts each run
            threads = {}
            for path in glob.glob(out + "-*"):                                # one file per thread: -01 is main
                with open(path, encoding="utf-8") as handle:
                    threads[path.rsplit("-", 1)[1]] = int(re.search(r"^(?:summary|totals): (\d+)", handle.read(), re.M)[1])
            totals.append((sum(threads.values()), threads["01"]))
    runs = RUNS[1] - RUNS[0]
    return (totals[1][0] - totals[0][0]) / runs, (totals[1][1] - totals[0][1]) / runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.uploadcost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu", action="store_true", help="CPU time per upload (the default figure)")
    parser.add_argument("--callgrind", action="store_true", help="instructions per upload (slow: about 2 minutes)")
    parser.add_argument("--blocks", type=int, default=15, help="--cpu: blocks (default 15)")
    parser.add_argument("--block", type=int, default=30, help="--cpu: uploads per block (default 30)")
    parser.add_argument("--uploads", type=int, help=argparse.SUPPRESS)       # one run under callgrind
    args = parser.parse_args(argv)
    if args.uploads is not None:
        sys.stdout = open(os.devnull, "w")                                      # the access log's stream
        uploads(args.uploads)
        return 0
    if args.callgrind:
        every, main = callgrind()
        print(f"instructions per 1,000-row upload (callgrind, in-process): {every / 1e6:.2f} M in all, "
              f"{main / 1e6:.2f} M on the request's thread", flush=True)
    if args.cpu or not args.callgrind:
        sys.stdout, shown = open(os.devnull, "w"), sys.stdout
        thread, process = cpu(args.blocks, args.block)
        sys.stdout = shown
        print(f"CPU per 1,000-row upload (in-process, median of {args.blocks} blocks of {args.block}): "
              f"{thread * 1e6:.0f} us on the request's thread, {process * 1e6:.0f} us in the process")
    return 0


if __name__ == "__main__":
    sys.exit(main())
