"""Two processes on one store share one campaign (issue 19, target 3), on every store: the lease on
a sandbox's cursor is taken *before* a window is derived, so the processes derive disjoint windows
and each event is delivered once, in order per message; a process that died holding the lease holds
the others up only until it runs out, then another takes its window over.

Two apps on one store stand for two processes: on Redis each has its own connection (its own
``RedisStore``), in memory they share the store object.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict

import pytest

from harness.server import BackgroundServer
from mock_server import create_app
from mock_server.webhooks.dispatcher import CURSOR_LEASE, META
from support.webhooks import advance, config, deliveries, send_jelou, subscribe, wait_deliveries

JELOU_ORDER = ["delivered_channel", "delivered_user", "read", "reply"]


@pytest.fixture(params=["memory", "redis"])
def processes(request):
    """``make(settings, count, time_source=None)``: that many apps ("processes") on one store."""
    def make(settings: dict, count: int, time_source=None) -> list:
        if request.param == "redis":
            settings = {**settings, "store": {"url": request.getfixturevalue("redis_url")}}
            return [create_app(settings, time_source=time_source) for _ in range(count)]
        first = create_app(settings, time_source=time_source)
        return [first, *(create_app(settings, store=first.extensions["mock"].store) for _ in range(count - 1))]
    return make


def _windows(app) -> list[tuple[float, float]]:
    """Record the windows (cursor, end) the app's dispatcher derives."""
    dispatcher, seen = app.extensions["mock"].webhooks, []
    walk, cap = dispatcher.walker.window, int(dispatcher.settings.window_events)

    def window(sources, t0, now, limit, wanted):
        events, end = walk(sources, t0, now, limit, wanted)
        if limit == cap and events:
            seen.append((t0, end))
        return events, end
    dispatcher.walker.window = window
    return seen


def _each_once_in_order(receiver, phones: list[str]) -> None:
    ids = Counter(event.event_id for event in receiver.events)
    assert len(ids) == 4 * len(phones) and set(ids.values()) == {1}, ids.most_common(3)
    per_message = defaultdict(list)
    for item in receiver.events:
        per_message[item.recipient].append(item.event)
    assert set(per_message) == set(phones)
    assert all(events == JELOU_ORDER for events in per_message.values())


def test_two_processes_derive_disjoint_windows_and_deliver_each_event_once_in_order(processes, webhook_receiver):
    phones = [f"99905{index:06d}" for index in range(120)]
    # 10 events a window, at most 40 in flight per process, 150 attempts a second each: a process
    # fills its room long before it delivers it, so the other derives the next windows meanwhile
    first, second = processes(config({"window_events": 10, "concurrency": 4, "rate": 150, "max_share": 1.0}), 2)
    windows = [_windows(first), _windows(second)]
    with BackgroundServer(app=first) as server:
        base = server.base_url
        other = second.extensions["mock"].webhooks.start()
        try:
            subscribe(base, provider="jelou", botId="demo-bot", url=webhook_receiver.url, events=["all"])
            send_jelou(base, phones)
            advance(base, "PT10M")
            webhook_receiver.wait_for(4 * len(phones), timeout=60)
            found = wait_deliveries(base, "delivered", 4 * len(phones), timeout=30)
            time.sleep(0.3)                       # nothing more arrives
        finally:
            other.stop()
    assert found["total"] == 4 * len(phones), found["counts"]
    _each_once_in_order(webhook_receiver, phones)
    # both derived (each fills its own room, 4 windows, while the other holds the lease) ...
    assert windows[0] and windows[1], windows
    # ... and no window twice: each starts where another ended
    starts = sorted(start for mine in windows for start, _ in mine)
    assert len(starts) == len(set(starts)), windows
    ends = {end for mine in windows for _, end in mine}
    assert all(start in ends for start in starts[1:]), windows


def test_a_dead_process_lease_on_the_cursor_is_taken_over_when_it_runs_out(processes, webhook_receiver):
    phones = [f"99905{index:06d}" for index in range(20)]
    offset = [0.0]
    real = lambda: time.time() + offset[0]        # noqa: E731  (a lease runs out: this real time jumps)
    (app,) = processes(config({"lease": 30.0}), 1, time_source=real)
    state = app.extensions["mock"]
    dispatcher, store = state.webhooks, state.store
    client = app.test_client()
    dispatcher.start = lambda: dispatcher                 # rounds by hand below (step), then started for real
    assert client.post("/_mock/webhooks", json={"provider": "jelou", "botId": "demo-bot", "url": webhook_receiver.url,
                                                "events": ["all"]}).status_code == 201
    with BackgroundServer(app=app) as server:
        send_jelou(server.base_url, phones)
        dispatcher.step()                                 # the cursor starts at now
        cursor = dispatcher.cursor("default")
        # another process took the lease, then was killed before it moved the cursor
        held = store.lease("default", CURSOR_LEASE, "dead-host:1:1", 30.0)
        advance(server.base_url, "PT10M")
        wait = dispatcher.step()
        assert dispatcher.cursor("default") == cursor and deliveries(server.base_url)["total"] == 0
        assert wait <= held.until - real() + 0.1          # it looks again when that lease runs out
        offset[0] += 31.0                                 # ... which it does
        dispatcher.step()
        assert dispatcher.cursor("default") > cursor
        made = deliveries(server.base_url)["total"]
        assert made > 0
        assert store.get_value("default", META, "cursor")["at"] == dispatcher.cursor("default")
        del dispatcher.start                              # deliver for real
        dispatcher.start()
        webhook_receiver.wait_for(4 * len(phones), timeout=60)
        wait_deliveries(server.base_url, "delivered", 4 * len(phones), timeout=30)
        time.sleep(0.3)
    _each_once_in_order(webhook_receiver, phones)
