"""A webhook window's store work per delivery record, alone: create, finish, trim.

``python -m loadtests.window_bench [--records 40000] [--redis]``: ``Deliveries.create`` of
windows of 500 records, ``finish_many`` of each in steps of 64 (as the recorder writes them),
``trim`` after each window, on a memory store (the collector tuned as ``mock-server`` serves);
it prints the process CPU per record of each (``time.process_time``). With ``--redis`` (a
private ``redis-server``), it creates 20 more windows and prints, per window, the scripts run
(round trips) and the commands (``INFO commandstats``, which also counts those a script runs),
and the client's CPU per record. Compare two trees run alternately: ``PYTHONPATH=TREE python -m
loadtests.window_bench``. The figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import sys
import time

WINDOW = 500
ENTRY = {"attempt": 1, "at": "2026-01-05T10:00:01Z", "statusCode": 204, "latencyMs": 1.0, "error": None}


def windows(start: int, count: int):
    from mock_server.webhooks.records import delivery_id, new_value
    from mock_server.webhooks.subscriptions import Subscription

    sub = Subscription(id="wh_1", provider="indigitall", owner="200", url="http://127.0.0.1:9/hook",
                       events=frozenset({"sent"}), source="control")
    for w in range(start, start + count):
        yield [(delivery_id(f"e-{i}", sub.id), new_value(event_id=f"e-{i}", event="sent", subscription=sub,
                                                        recipient=f"r{i}", due_at=1.0, body=b'{"x": 1}' * 30, lane=i % 8,
                                                        budget=5, owner="A", lease_end=2e9))
               for i in range(w * WINDOW, w * WINDOW + WINDOW)]


def memory(records: int) -> None:
    from mock_server.store import MemoryStore
    from mock_server.webhooks.records import Deliveries

    from .benchserver import serving_gc

    serving_gc()
    store = MemoryStore(seed=1, clock_start_us=1_767_607_200_000_000, clock_frozen=True)
    generation = store.touch("s").generation
    deliveries = Deliveries(store, max_records=10_000)
    spent = {"create": 0.0, "finish": 0.0, "trim": 0.0}
    for items in windows(0, records // WINDOW):
        began = time.process_time()
        made = deliveries.create("s", generation, items)
        spent["create"] += time.process_time() - began
        began = time.process_time()
        for start in range(0, len(made), 64):
            deliveries.finish_many("s", generation, "A", [(record.id, ENTRY, "delivered", None)
                                                         for record in made[start:start + 64]], 1.9e9)
        spent["finish"] += time.process_time() - began
        began = time.process_time()
        deliveries.trim("s")
        spent["trim"] += time.process_time() - began
    count = records // WINDOW * WINDOW
    print("memory, CPU per record: " + ", ".join(f"{name} {seconds / count * 1e6:.2f} us" for name, seconds in spent.items()))


def redis_window() -> None:
    import redis

    from mock_server.store.redis import RedisStore
    from mock_server.webhooks.records import Deliveries

    from .redisserver import RedisServer, find_binary

    binary = find_binary()
    if binary is None:
        print("redis: skipped: no redis-server on PATH (apt-get install redis-server)")
        return
    server = RedisServer(binary).start()
    try:
        store = RedisStore(server.url, seed=1, clock_start_us=1_767_607_200_000_000, clock_frozen=True)
        generation = store.touch("s").generation
        deliveries, counter = Deliveries(store, 10_000), redis.Redis.from_url(server.url)
        batches = windows(0, 21)
        deliveries.create("s", generation, next(batches))          # the scripts loaded
        counter.config_resetstat()
        began = time.process_time()
        for items in batches:
            deliveries.create("s", generation, items)
        cpu = (time.process_time() - began) / (20 * WINDOW) * 1e6
        stats = {name: entry["calls"] for name, entry in counter.info("commandstats").items()
                 if not name.startswith(("cmdstat_config", "cmdstat_info"))}
        scripts = sum(calls for name, calls in stats.items() if name.startswith("cmdstat_eval"))
        print(f"redis, per {WINDOW}-record window: {scripts / 20:g} scripts (round trips), "
              f"{sum(stats.values()) / 20:,.0f} commands (with those the scripts run); client CPU {cpu:.1f} us per record")
        counter.close()
        store.close()
    finally:
        server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="window_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=40_000, help="records created, finished and trimmed (default 40,000)")
    parser.add_argument("--redis", action="store_true", help="also a window's scripts, commands and client CPU on Redis")
    args = parser.parse_args(argv)
    memory(args.records)
    if args.redis:
        redis_window()
    return 0


if __name__ == "__main__":
    sys.exit(main())
