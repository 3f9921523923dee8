"""Figure (r): the Redis model of scale-out (issue 19, target 2), measured on a private ``redis-server``.

These machines cannot show 16 cores, so the benchmark measures what one request costs Redis and
derives where Redis saturates:

- an app on the Redis store (``create_app``, in this process, through Flask's test client: no HTTP)
  makes ``--model-requests`` 1,000-row uploads, then as many ``GET /v1/campaigns/{id}``;
- around each batch: ``CONFIG RESETSTAT``, then ``INFO commandstats`` (calls and µs per command:
  execution only; a script's own ``redis.call``s are counted both under ``evalsha`` and under their
  own names) and ``INFO cpu`` (``used_cpu_user + used_cpu_sys``: everything the Redis process did,
  protocol parsing and networking included, which is what saturates its one thread);
- client side, every round trip (redis-py ``Connection.send_packed_command``: one write per command,
  or per pipeline), counted per request. The app's
  background threads (webhook producer, sandbox expiry) are included: they are part of the cost.

Model: one Redis sustains ``1e6 / (Redis CPU µs per upload)`` uploads/s; with one mock process
answering ``R`` uploads/s on Redis (figure (a)'s ``redis x1`` when it ran, else this in-process rate),
Redis saturates at about ``that / R`` processes (each process needs its own core).
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def counting() -> Iterator[Counter]:
    """Count redis-py round trips (``"round trips"``) while inside."""
    from redis.connection import Connection

    counts: Counter = Counter()
    send = Connection.send_packed_command

    def counted_send(self, command, check_health=True):
        counts["round trips"] += 1
        return send(self, command, check_health)

    Connection.send_packed_command = counted_send
    try:
        yield counts
    finally:
        Connection.send_packed_command = send


def _redis_cpu(client) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _measure(client, action, count: int) -> dict:
    client.config_resetstat()
    cpu_before = _redis_cpu(client)
    with counting() as counts:
        started = time.perf_counter()
        for number in range(count):
            action(number)
        elapsed = time.perf_counter() - started
        sent = Counter(counts)
    cpu = _redis_cpu(client) - cpu_before
    stats = {name.removeprefix("cmdstat_"): value for name, value in client.info("commandstats").items()
             if name.removeprefix("cmdstat_") not in ("info", "config|resetstat", "config")}
    return {"cpu_us": cpu * 1e6 / count, "round_trips": sent["round trips"] / count,
            "exec_us": {name: (value["usec"] / count, value["calls"] / count) for name, value in stats.items()},
            "seconds": elapsed / count}


def figure_r(args, bench, redis) -> list:
    import redis as redis_client

    from mock_server import create_app

    app = create_app({"store": {"url": redis.url}})
    client = app.test_client()
    body, headers = bench.upload(bench.jelou_csv(1000))
    ids: list[str] = []

    def upload(_number: int) -> None:
        answer = client.post("/v1/hsm/file", data=body, headers=headers)
        if answer.status_code != 200:
            raise RuntimeError(f"(r) upload answered HTTP {answer.status_code}: {answer.get_data()[:300]!r}")
        ids.append(answer.headers["X-Mock-Campaign-Id"])

    def get(number: int) -> None:
        answer = client.get(f"/v1/campaigns/{ids[number % len(ids)]}", headers=bench.JELOU)
        if answer.status_code != 200:
            raise RuntimeError(f"(r) GET answered HTTP {answer.status_code}")

    try:
        with redis_client.Redis(port=redis.port) as direct:
            for number in range(10):
                upload(number)                      # warm: scripts loaded, imports done
            uploads = _measure(direct, upload, args.model_requests)
            gets = _measure(direct, get, args.model_requests)
    finally:
        app.extensions["mock"].webhooks.stop()
    sustained = 1e6 / uploads["cpu_us"]
    per_process = getattr(bench, "redis_x1", None)
    source = "figure (a) redis x1"
    if not per_process:
        per_process, source = 1 / uploads["seconds"], "this in-process run, one thread"
    saturation = sustained / per_process
    top = sorted(uploads["exec_us"].items(), key=lambda item: -item[1][0])[:6]
    breakdown = ", ".join(f"{name} {usec:.0f} us/{calls:.1f} calls" for name, (usec, calls) in top)
    exec_total = sum(usec for name, (usec, _) in uploads["exec_us"].items() if name.startswith(("evalsha", "eval")))
    return [
        bench.Figure("r", "Redis CPU per 1,000-row upload (INFO cpu)", uploads["cpu_us"], f"{uploads['cpu_us']:.0f} us",
                     "-", None, f"round trips {uploads['round_trips']:.1f} per upload; commandstats per upload: {breakdown} (scripts: {exec_total:.0f} us, their calls included)"),
        bench.Figure("r", "Redis CPU per GET /v1/campaigns/{id} (INFO cpu)", gets["cpu_us"], f"{gets['cpu_us']:.0f} us",
                     "-", None, f"round trips {gets['round_trips']:.1f} per GET"),
        bench.Figure("r", "uploads/s one Redis sustains (1e6 / CPU us per upload)", sustained, f"{sustained:,.0f}", "-",
                     None, f"one mock process on Redis: {per_process:.0f} uploads/s ({source}); "
                     f"median upload {statistics.median([uploads['seconds']]) * 1000:.1f} ms in-process"),
        bench.Figure("r", "mock processes at which Redis saturates (one core each)", saturation, f"{saturation:.1f}",
                     "-", None, f"{sustained:,.0f} / {per_process:.0f}: beyond it, more processes add no uploads/s"),
    ]
