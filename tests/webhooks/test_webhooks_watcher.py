"""The dispatcher's watcher under a stream of store writes: it looks at the store's change feed
at most once per producer tick (``TICK``), not once per write, so a busy upload path does not pay a
thread switch per write; a change is still noticed within a tick."""

from __future__ import annotations

import threading
import time

from mock_server import create_app
from mock_server.webhooks.dispatcher import TICK
from support.webhooks import config


def test_a_stream_of_writes_wakes_the_watcher_once_per_tick_not_once_per_write():
    app = create_app(config())
    state = app.extensions["mock"]
    store = state.store
    looks: list[int] = []
    opened = store.changes

    def counting_feed():
        feed = opened()
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
