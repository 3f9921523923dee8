"""The dispatcher's watcher under a stream of store writes: it looks at the store's change feed
at most once per producer tick (``TICK``), not once per write, so a busy upload path does not pay a
thread switch per write; a change is still noticed within a tick. On Redis its feed watches the
commits of the sandboxes it serves only, so uploads nobody serves publish nothing."""

from __future__ import annotations

import threading
import time

import redis

from harness.server import BackgroundServer
from mock_server import create_app
from mock_server.webhooks.dispatcher import TICK
from support.webhooks import config, send_jelou, subscribe


def test_a_stream_of_writes_wakes_the_watcher_once_per_tick_not_once_per_write():
    app = create_app(config())
    state = app.extensions["mock"]
    store = state.store
    looks: list[int] = []
    opened = store.changes

    def counting_feed(watch=None):
        feed = opened(watch)
        wait = feed.wait

        def counted(timeout):
            names = wait(timeout)
            if names and threading.current_thread().name == "webhooks-watcher":
                looks.append(len(names))
            return names
        feed.wait = counted
        return feed

    store.changes = counting_feed
    store.touch("default")
    state.webhooks.start()
    try:
        time.sleep(0.2)                              # the watcher is waiting on its feed
        writes, started = 150, time.monotonic()
        for number in range(writes):
            store.update_value("default", "watcher-test", "n", lambda _current, number=number: number)
            time.sleep(0.002)
        elapsed = time.monotonic() - started
        deadline = time.monotonic() + 10
        while not looks and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        state.webhooks.stop()
    assert looks, "the watcher never saw a change"
    # once per write before (150 looks); now once per tick of the time the writes took, plus slack
    assert len(looks) <= elapsed / TICK + 3, (len(looks), round(elapsed, 2))


def test_on_redis_uploads_to_a_sandbox_nobody_serves_publish_nothing(redis_url, webhook_receiver):
    """Two processes' dispatchers run, no subscription: an upload publishes no message (was: every
    commit published, and every process's watcher read every upload's message); once a
    subscription exists, the dispatchers serve the sandbox and its uploads publish again."""
    settings = {**config(), "store": {"url": redis_url}}
    first, second = create_app(settings), create_app(settings)
    counter = redis.Redis.from_url(redis_url)
    published = lambda: counter.info("commandstats").get("cmdstat_publish", {}).get("calls", 0)   # noqa: E731
    try:
        with BackgroundServer(app=first) as server:
            other = second.extensions["mock"].webhooks.start()
            try:
                feeds = lambda: sum(int(client["psub"]) for client in counter.client_list())   # noqa: E731
                deadline = time.monotonic() + 20
                while feeds() < 2 and time.monotonic() < deadline:                   # both feeds are open
                    time.sleep(0.01)
                assert feeds() == 2
                send_jelou(server.base_url, ["5215550000001"])
                before = published()
                for number in range(3):
                    send_jelou(server.base_url, [f"52155500000{number + 2}"])
                assert published() == before
                subscribe(server.base_url, provider="jelou", botId="demo-bot", url=webhook_receiver.url, events=["all"])
                before, deadline = published(), time.monotonic() + 20
                while published() == before and time.monotonic() < deadline:
                    send_jelou(server.base_url, ["5215550000009"])
                assert published() > before
            finally:
                other.stop()
    finally:
        counter.close()
