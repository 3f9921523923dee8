"""The benchmark's figures at scale: large stores, memory and Redis (``bench.py`` prints them).

(a) servers compared on one upload: ``benchservers.py`` (re-exported here).
(r) the Redis model: ``redismodel.py``.
(d) ``GET /v1/campaigns`` p50 with 100,000 campaigns of one bot in memory and ``--campaigns-redis``
    (default 20,000: storing them takes minutes) in Redis, where a page costs O(log n + page) (a
    sorted-set range and one script); target <= 5 ms each.
(e) ``GET .../notifications?destination=`` p50 on a 1,000,000-row campaign (target <= 20 ms), memory
    and Redis; the first query, which builds the destination index, is shown apart.
(f) Redis ``used_memory`` growth per stored recipient over the CSV's bytes per row, measured around one
    1,000,000-row upload plus its first destination query (so the index is in Redis too); target <= 1.5.

Figures needing Redis are left out, with a note, when ``redis-server`` is not on PATH.
"""

from __future__ import annotations

import json
import random
import statistics
import time

from .benchclient import Server, hammer, request
from .benchservers import figure_a  # noqa: F401 (re-exported: bench.py calls benchscale.figure_a)
from .redisserver import RedisServer, private_redis

NOTIFICATIONS = "/v1/external/bots/demo-bot/notifications?destination="


def figure_r(args, bench) -> list:
    from .redismodel import figure_r as model

    with private_redis() as redis:
        if redis is None:
            bench.say("(r) redis-server is not on PATH: the Redis model is left out")
            return []
        return model(args, bench, redis)


def _list_p50(bench, args, store: str | None, campaigns: int) -> tuple[float, float, float]:
    with Server("mock", prefill_campaigns=campaigns, store=store, start_timeout=1800) as mock:
        hammer(mock.port, "GET", bench.LIST_PATH, headers=bench.JELOU, count=50, concurrency=1)
        load = hammer(mock.port, "GET", bench.LIST_PATH, headers=bench.JELOU, count=args.list_requests, concurrency=1)
        wide = hammer(mock.port, "GET", bench.LIST_PATH + "&limit=50", headers=bench.JELOU, count=200, concurrency=1)
        _, answer, _ = request(mock.port, "GET", bench.LIST_PATH, headers=bench.JELOU)
    total = json.loads(answer)["data"]["pagination"]["total"]
    if total != campaigns:
        raise RuntimeError(f"the server lists {total} campaigns, expected {campaigns}")
    return load.p50 * 1000, load.percentile(0.95) * 1000, wide.p50 * 1000


def figure_d(args, bench) -> list:
    figures = []
    with private_redis() as redis:
        for name, store in (("memory", None), ("Redis", redis.url if redis else None)):
            if name == "Redis" and store is None:
                bench.say("(d) redis-server is not on PATH: the Redis figure is left out")
                continue
            campaigns = args.campaigns if store is None else args.campaigns_redis
            p50, p95, wide = _list_p50(bench, args, store, campaigns)
            figures.append(bench.Figure("d", f"GET /v1/campaigns p50, {campaigns:,} campaigns, {name}", p50,
                                        f"{p50:.2f} ms", "<= 5 ms", p50 <= 5,
                                        f"{name}: p95 {p95:.2f} ms over {args.list_requests} sequential requests "
                                        f"(page of 10); limit=50: p50 {wide:.2f} ms"))
    return figures


def _destination_run(bench, args, data: bytes, store: str | None, redis: RedisServer | None):
    """Upload the big CSV, start it, time destination queries; Redis memory growth if ``redis``."""
    generator = random.Random(11)
    lines = data.split(b"\n", args.big_rows + 1)
    phones = [lines[generator.randrange(1, args.big_rows + 1)].split(b",", 1)[0].decode() for _ in range(50)]
    body, headers = bench.upload(data)
    with Server("mock", store=store) as mock:
        before = redis.used_memory() if redis else 0
        status, answer, upload_seconds = request(mock.port, "POST", "/v1/hsm/file", body, headers)
        if status != 200:
            raise RuntimeError(f"the {args.big_rows:,}-row upload answered HTTP {status}: {answer[:300]!r}")
        request(mock.port, "POST", "/_mock/clock", json.dumps({"advance": "PT1M"}).encode(),
                {"Content-Type": "application/json"})
        status, answer, first = request(mock.port, "GET", NOTIFICATIONS + phones[0], headers=bench.JELOU)
        found = json.loads(answer)["pagination"]["total"]
        if status != 200 or found < 1:
            raise RuntimeError(f"destination query answered HTTP {status} with {found} results")
        after = redis.used_memory() if redis else 0
        times = []
        for number in range(args.destination_requests):
            started = time.perf_counter()
            status, _, _ = request(mock.port, "GET", NOTIFICATIONS + phones[number % len(phones)], headers=bench.JELOU)
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, first, upload_seconds, after - before


def figure_e_f(args, bench) -> list:
    data = bench.jelou_csv(args.big_rows, args.cache)
    p50, first, upload_seconds, _ = _destination_run(bench, args, data, None, None)
    figures = [bench.Figure("e", f"notifications by destination p50, {args.big_rows:,}-row campaign, memory", p50,
                            f"{p50:.2f} ms", "<= 20 ms", p50 <= 20,
                            f"memory: first query {first:.2f} s (builds the destination index), then p50 over "
                            f"{args.destination_requests} queries; upload {upload_seconds:.2f} s")]
    with private_redis() as redis:
        if redis is None:
            bench.say("(e)(f) redis-server is not on PATH: the Redis figures are left out")
            return figures
        p50, first, upload_seconds, grown = _destination_run(bench, args, data, redis.url, redis)
        figures.append(bench.Figure("e", "same, Redis", p50, f"{p50:.2f} ms", "<= 20 ms", p50 <= 20,
                                    f"Redis: first query {first:.2f} s (fetches the CSV, builds and stores the index); "
                                    f"upload {upload_seconds:.2f} s"))
        per_row, csv_per_row = grown / args.big_rows, len(data) / args.big_rows
        ratio = per_row / csv_per_row
        figures.append(bench.Figure("f", "Redis memory per recipient / CSV bytes per row", ratio, f"{ratio:.2f}",
                                    "<= 1.5", ratio <= 1.5,
                                    f"used_memory +{grown / 2**20:.1f} MiB for {args.big_rows:,} recipients: "
                                    f"{per_row:.1f} B each vs {csv_per_row:.1f} B per CSV row (index included)"))
    return figures
