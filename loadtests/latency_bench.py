"""Injected latency against the server's thread pool: the elastic pool side by side with waitress's own.

``python -m loadtests.latency_bench [--requests 100] [--latency 2] [--threads 16]``

For each pool, serves a fresh mock in this process, adds a fault rule holding every Jelou request
``--latency`` seconds, fires ``--requests`` concurrent requests, and probes ``/_mock/health`` every
50 ms meanwhile. Prints how long the batch took, the slowest single answer and the slowest probe.
"""

from __future__ import annotations

import argparse
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from waitress.server import create_server as waitress_server

from mock_server import create_app
from mock_server.serving import WaitressThread

AUTH = ("demo-client-id", "demo-client-secret")


class PlainWaitress(WaitressThread):
    """The same runner on waitress's fixed pool (``threads`` workers, nothing lent)."""

    def __init__(self, app, *, threads: int) -> None:
        self.server = waitress_server(app, host="127.0.0.1", port=0, threads=threads, connection_limit=1000)
        self.host, self.port = "127.0.0.1", self.server.effective_port
        self._thread = threading.Thread(target=self._run, daemon=True)


def measure(runner, count: int, latency: float) -> tuple[float, float, float]:
    with runner as server:
        requests.post(server.base_url + "/_mock/faults", json={"match": {"provider": "jelou"},
                                                               "action": {"latency": f"PT{latency}S"}}, timeout=10)
        probes: list[float] = []
        stop = threading.Event()

        def probe() -> None:
            with requests.Session() as session:
                while not stop.is_set():
                    started = time.monotonic()
                    session.get(server.base_url + "/_mock/health", timeout=120)
                    probes.append(time.monotonic() - started)
                    stop.wait(0.05)

        def one(_) -> float:
            started = time.monotonic()
            requests.get(server.base_url + "/v1/campaigns/x", auth=AUTH, timeout=120)
            return time.monotonic() - started

        prober = threading.Thread(target=probe)
        prober.start()
        started = time.monotonic()
        with ThreadPoolExecutor(count) as pool:
            answers = list(pool.map(one, range(count)))
        elapsed = time.monotonic() - started
        stop.set()
        prober.join()
    return elapsed, max(answers), max(probes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtests.latency_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=16, help="the pool's base size (mock-server's default: 16)")
    args = parser.parse_args(argv)
    config = {"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True}}
    print(f"{args.requests} concurrent requests, {args.latency:g} s injected latency, {args.threads} threads")
    for label, runner in (("elastic pool (mock-server)", WaitressThread(create_app(config), threads=args.threads)),
                          ("waitress fixed pool", PlainWaitress(create_app(config), threads=args.threads))):
        elapsed, slowest, probe = measure(runner, args.requests, args.latency)
        print(f"  {label:<28} batch {elapsed:6.2f} s   slowest answer {slowest:6.2f} s   "
              f"slowest /_mock/health {probe * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
