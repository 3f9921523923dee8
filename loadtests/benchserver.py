"""The two servers the benchmark compares, served identically: ``python -m loadtests.benchserver``.

``--app mock``: the mock exactly as ``mock-server`` builds it (``create_app`` with the demo tenant).
``--app bare``: a Flask app whose only route, ``POST /v1/hsm/file``, parses the multipart body,
reads the ``file`` part and counts its rows with ``csv.reader``: the least any server taking a
CSV upload must do, and the baseline of figure (a).

The mock runs under the waitress server ``mock-server`` runs in one process
(``mock_server.httpserver.waitress_server`` with the default ``server`` settings); the bare app under
stock waitress with 16 threads (``waitress.create_server``: the baseline does not move when the mock's
server is tuned). ``--no-metrics`` turns the mock's metrics (``mock_server.metrics``) into no-ops, to
measure what they cost; ``--server granian`` serves either from one
granian worker instead (the HTTP server ``mock-server --workers N`` uses), to compare servers. ``--prefill-campaigns N`` (mock only) stores
N one-row Jelou campaigns before serving, through the Jelou backend's own ``send_bulk`` (full
validation and storage, without HTTP), for figure (d).

``LOADTESTS_BENCH_PATCH=/path/to/patch.py`` (set by ``bench.py --patch``) runs that file before the
app is built, and its ``install()`` if it has one: a way to measure a candidate change to
``mock_server`` (e.g. by monkeypatching) without touching the tree. The table says when it was used.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import runpy
import sys
import threading
import time

from flask import Flask, request

PREFILL_CSV = b"phone_number,order_id,order_amount,delivery_date\n593991234567,A1,$1.00,tomorrow\n"
PREFILL_FIELDS = {"campaignName": "bench", "elementName": "order_confirmation", "botId": "demo-bot",
                  "params": json.dumps([{"param": 1, "column": "order_id"}, {"param": 2, "column": "order_amount"},
                                        {"param": 3, "column": "delivery_date"}])}


def bare_app(max_bytes: int) -> Flask:
    app = Flask("bare")
    app.config["MAX_CONTENT_LENGTH"] = max_bytes
    app.config["MAX_FORM_MEMORY_SIZE"] = 16 * 1024 * 1024

    @app.post("/v1/hsm/file")
    def parse_only():
        part = request.files["file"]
        try:
            text = part.read().decode("utf-8")
        finally:
            part.close()
        rows = sum(1 for _ in csv.reader(io.StringIO(text, newline="")))
        return {"rows": rows}

    @app.get("/_mock/health")
    def health():
        return {"status": "ok"}

    return app


def prefill(app: Flask, count: int, threads: int = 1) -> None:
    """Store ``count`` one-row campaigns via the Jelou backend, printing progress to stderr.

    ``threads`` > 1 sends from that many threads (a shared store spends its time waiting on the
    network, so the waits overlap); creation order is then not the numbering order, which no
    figure depends on."""
    from mock_server.bodies import FilePart

    state = app.extensions["mock"]
    backend, sandbox = state.backends["jelou"], state.sandbox()
    client = backend.settings.clients[0]
    started = time.monotonic()
    numbers = iter(range(1, count + 1))
    lock = threading.Lock()

    def work() -> None:
        with app.app_context():
            while True:
                with lock:
                    number = next(numbers, None)
                if number is None:
                    return
                backend.send_bulk(sandbox, client, dict(PREFILL_FIELDS), FilePart("r.csv", PREFILL_CSV), {})
                if number % 20_000 == 0 or number == count:
                    print(f"[benchserver] prefilled {number:,}/{count:,} campaigns "
                          f"({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)

    pool = [threading.Thread(target=work) for _ in range(max(1, threads))]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.benchserver", description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", choices=("mock", "bare"), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--prefill-campaigns", type=int, default=0)
    parser.add_argument("--store", default="memory", help="the mock's store: memory or redis://HOST:PORT/DB")
    parser.add_argument("--no-metrics", action="store_true", help="mock: metrics calls do nothing (their cost)")
    parser.add_argument("--server", choices=("waitress", "granian"), default="waitress",
                        help="granian: one granian worker process (no prefill), for comparing HTTP servers")
    args = parser.parse_args(argv)
    if args.server == "granian":
        return serve_granian(args)
    from mock_server import create_app
    from mock_server.httpserver import bind, waitress_server

    patch = os.environ.get("LOADTESTS_BENCH_PATCH")
    if patch:
        namespace = runpy.run_path(patch, run_name="loadtests_bench_patch")
        if callable(namespace.get("install")):
            namespace["install"]()
    if args.no_metrics:
        without_metrics()
    mock = create_app({"store": {"url": args.store}})
    serving_gc()
    if args.prefill_campaigns:
        prefill(mock, args.prefill_campaigns, threads=1 if args.store == "memory" else 8)
    if args.app == "bare":
        from waitress import create_server

        create_server(bare_app(mock.config["MAX_CONTENT_LENGTH"]), host="127.0.0.1", port=args.port, threads=16).run()
        return 0
    waitress_server(mock, mock.extensions["mock"].settings.server, bind("127.0.0.1", args.port)).run()
    return 0


def serving_gc() -> None:
    """The garbage collector as this tree's ``mock-server`` serves with it, once the app is built
    (``mock_server.httpserver.tune_gc``; a tree from before it: as Python sets it)."""
    try:
        from mock_server.httpserver import tune_gc
    except ImportError:
        return
    tune_gc()


def without_metrics() -> None:
    """Make every metrics call of the apps built afterwards a no-op (``--no-metrics``)."""
    from mock_server.metrics import Metrics

    for name in ("request", "messages_accepted", "fault_fired", "webhook_attempt", "time_store"):
        setattr(Metrics, name, lambda self, *args, **kwargs: None)


def granian_target():
    """What a granian worker serves: the app named by ``LOADTESTS_BENCH_APP`` (set by ``serve_granian``)."""
    from mock_server import create_app

    mock = create_app({"store": {"url": os.environ.get("LOADTESTS_BENCH_STORE", "memory")}})
    serving_gc()
    return mock if os.environ["LOADTESTS_BENCH_APP"] == "mock" else bare_app(mock.config["MAX_CONTENT_LENGTH"])


def serve_granian(args) -> int:
    from granian import Granian
    from granian.constants import Interfaces

    os.environ["LOADTESTS_BENCH_APP"], os.environ["LOADTESTS_BENCH_STORE"] = args.app, args.store
    Granian("loadtests.benchserver:granian_target", address="127.0.0.1", port=args.port, interface=Interfaces.WSGI,
            workers=1, blocking_threads=16, factory=True).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
