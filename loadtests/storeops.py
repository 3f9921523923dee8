"""Store work per request: operations on the memory store, commands Redis executes.

``python -m loadtests.storeops`` builds one app on the in-memory store and one on a private
``redis-server`` it starts itself (``loadtests.redisserver``), sends the same requests to each
through Flask's test client (no HTTP server: only the app's own store work is counted), and prints

- memory store: store operations (public method calls) per request kind;
- Redis: commands Redis executed per request kind (``INFO commandstats`` before and after; the
  commands a Lua script runs are counted, the ``EVALSHA`` that ran it too), and the commands per
  second one idle process sends (its background loops) over ``--idle`` seconds;

with each target of the architecture issue (GET one campaign <= 6 Redis commands, a 100-row
upload <= 15, an idle process <= 5 commands/s; memory store <= 3 operations per GET) marked
PASS or MISS. Exit status 0 either way: it is a measurement, not a test.

Each kind is measured in its steady state: one request of the kind runs first, uncounted, so a
figure does not carry what the previous kind changed (the first GET after an upload re-reads the
Jelou queue the upload moved: +1 operation, +4 commands, printed as the "first" figure). To see
the commands themselves, run ``redis-cli -p PORT MONITOR`` against a server and send the requests.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections import Counter
from typing import Any, Callable

from mock_server.app import create_app, get_state

from .payloads import SEED, JELOU_PRESET
from .redisserver import RedisServer, find_binary

JELOU_AUTH = ("demo-client-id", "demo-client-secret")
TARGETS = {  # (store, request) -> at most
    ("memory", "GET /v1/campaigns/{id}"): 3,
    ("redis", "GET /v1/campaigns/{id}"): 6,
    ("redis", "POST /v1/hsm/file (100 rows)"): 15,
}
IDLE_TARGET = 5.0


class CountingStore:
    """A transparent proxy that counts calls of the store's public methods."""

    def __init__(self, store) -> None:
        object.__setattr__(self, "_store", store)
        object.__setattr__(self, "calls", Counter())

    def __getattr__(self, name: str):
        value = getattr(self._store, name)
        if name.startswith("_") or not callable(value) or name == "time_source":
            return value

        def counted(*args, **kwargs):
            self.calls[name] += 1
            return value(*args, **kwargs)
        return counted

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._store, name, value)


def _upload_body(rows: int) -> tuple[bytes, str]:
    from harness.csvgen import generate
    from urllib3.filepost import encode_multipart_formdata
    import json

    out = io.BytesIO()
    report = generate(out, "jelou", JELOU_PRESET, rows, seed=SEED)
    fields = {"campaignName": "ops", "elementName": report.template, "botId": "demo-bot",
              "params": json.dumps(report.params)}
    return encode_multipart_formdata({**fields, "file": (report.filename, out.getvalue(), "text/csv")})


def _requests(client) -> list[tuple[str, Callable[[], Any]]]:
    """The measured requests, in order (the upload first: the GETs read its campaign)."""
    import base64

    auth = {"Authorization": "Basic " + base64.b64encode(":".join(JELOU_AUTH).encode()).decode()}
    body, content_type = _upload_body(100)
    campaign: dict[str, str] = {}

    def upload():
        response = client.post("/v1/hsm/file", data=body, headers={**auth, "Content-Type": content_type})
        assert response.status_code == 200, response.get_data(as_text=True)
        campaign["id"] = response.headers["X-Mock-Campaign-Id"]
        return response

    def get_one():
        response = client.get(f"/v1/campaigns/{campaign['id']}", headers=auth)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response

    def listing():
        response = client.get("/v1/campaigns?botId=demo-bot&startAt=2000-01-01&endAt=2100-01-01", headers=auth)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response

    return [("POST /v1/hsm/file (100 rows)", upload), ("GET /v1/campaigns/{id}", get_one),
            ("GET /v1/campaigns (listing)", listing)]


def measure_memory(repeat: int) -> dict[str, float]:
    from mock_server.store import open_store

    counting = CountingStore(open_store("memory", seed=1))
    app = create_app({"seed": 1}, store=counting)   # every part of the app holds the counting proxy
    client = app.test_client()
    client.get("/_mock/health")
    figures: dict[str, float] = {}
    steps = _requests(client)
    steps[0][1]()                                   # warm: the sandbox exists, the campaign too
    for name, call in steps:
        counting.calls.clear()
        call()
        if name.startswith("GET /v1/campaigns/{id}"):
            figures[name + " (first, after an upload)"] = sum(counting.calls.values())
        counting.calls.clear()
        for _ in range(repeat):
            call()
        figures[name] = sum(counting.calls.values()) / repeat
        figures[name + " :: detail"] = dict(sorted(counting.calls.items()))  # type: ignore[assignment]
    return figures


def _commands(client) -> int:
    stats = client.info("commandstats")
    return sum(entry["calls"] for name, entry in stats.items() if name not in ("cmdstat_info",))


def measure_redis(repeat: int, idle: float) -> dict[str, float]:
    import redis

    binary = find_binary()
    if binary is None:
        raise SystemExit("redis-server is not on PATH: install it with `apt-get install redis-server`")
    server = RedisServer(binary).start()
    try:
        app = create_app({"seed": 1, "store": {"url": server.url}})
        counter = redis.Redis.from_url(server.url)
        client = app.test_client()
        steps = _requests(client)
        steps[0][1]()
        figures: dict[str, float] = {}
        for name, call in steps:
            before = _commands(counter)
            call()
            if name.startswith("GET /v1/campaigns/{id}"):
                figures[name + " (first, after an upload)"] = _commands(counter) - before
            before = _commands(counter)
            for _ in range(repeat):
                call()
            figures[name] = (_commands(counter) - before) / repeat
        subscribed = client.post("/_mock/webhooks", json={
            "provider": "indigitall", "applicationId": 100, "url": "http://127.0.0.1:9/idle",
            "events": ["sent"]})                     # the webhook dispatcher runs once one exists
        assert subscribed.status_code == 201, subscribed.get_data(as_text=True)
        time.sleep(1.0)                              # let the background loops reach their steady state
        before = _commands(counter)
        time.sleep(idle)
        figures["idle process (commands/s)"] = (_commands(counter) - before) / idle
        get_state(app).webhooks.stop()
        counter.close()
        return figures
    finally:
        server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="requests of each kind (default 20)")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle measurement (default 5)")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.idle <= 0:
        parser.error("--repeat must be >= 1 and --idle > 0")
    print("memory store: operations per request")
    memory = measure_memory(args.repeat)
    for name, value in memory.items():
        if name.endswith(" :: detail"):
            print(f"    {value}")
            continue
        print(f"  {name:<50} {value:6.1f}  {_verdict(TARGETS.get(('memory', name)), value)}")
    print("redis: commands executed per request")
    for name, value in measure_redis(args.repeat, args.idle).items():
        target = IDLE_TARGET if name.startswith("idle") else TARGETS.get(("redis", name))
        print(f"  {name:<50} {value:6.1f}  {_verdict(target, value)}")
    return 0


def _verdict(target: float | None, value: float) -> str:
    if target is None:
        return ""
    return f"{'PASS' if value <= target else 'MISS'} (target <= {target:g})"


if __name__ == "__main__":
    sys.exit(main())
