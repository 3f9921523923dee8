"""Messaging tiers and shared throughput under concurrency and cancellation, on both stores (CONTRACT §14).

A tier's admission is one atomic store step with the batch it admits (an indigitall task is created
with its application's shaping record; a Jelou campaign starts with its bot's lane and tier), so
concurrent sends to one application or bot never admit more distinct recipients than the tier.
A canceled task gives back what its unsent part held: its busy intervals and its unsent recipients.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter

import pytest

from mock_server import create_app
from mock_server.isotime import parse_datetime
from mock_server.store.redis import RedisStore

from support.jelou import START
from support.profiles import instant, messages, phones, send_indigitall, send_jelou

T0 = parse_datetime(START).timestamp()
KEY = {"Authorization": "ServerKey demo-server-key"}


@pytest.fixture(params=["memory", "redis"])
def shared_app(request):
    """One app (and its store) that every thread's test client shares."""
    config = {"seed": 3, "clock": {"start": START, "frozen": True}}
    store = None
    if request.param == "redis":
        store = RedisStore(request.getfixturevalue("redis_url"), seed=3, clock_frozen=True,
                           clock_start_us=int(T0 * 1_000_000))
    app = create_app(config, store=store)
    yield app
    app.extensions["mock"].webhooks.stop()
    if store is not None:
        store.close()


def _profile(client, headers: dict, **profile) -> None:
    answer = client.put("/_mock/profile", json={"profile": profile}, headers=headers)
    assert answer.status_code == 200, answer.json


def _concurrently(app, count: int, send) -> list:
    """``send(client, index)`` in ``count`` threads released together; their results, in order."""
    results: list = [None] * count
    problems: list = []
    gate = threading.Barrier(count)

    def run(index: int) -> None:
        client = app.test_client()
        try:
            gate.wait(timeout=60)
            results[index] = send(client, index)
        except Exception as exc:        # noqa: BLE001 - reported below, with the thread's index
            problems.append((index, repr(exc)))
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)          # switch threads often: interleave the sends as much as possible
    try:
        threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        sys.setswitchinterval(interval)
    assert not problems, problems
    assert all(not thread.is_alive() for thread in threads)
    return results


def _admitted(client, batches, headers: dict) -> int:
    """Messages of ``batches`` that were sent to someone (not failed, not waiting)."""
    client.post("/_mock/clock", json={"advance": "PT1H"}, headers=headers)
    statuses = Counter(item["status"] for batch in batches for item in messages(client, str(batch), headers))
    return sum(number for status, number in statuses.items() if status.lower() not in ("failed", "queued", "created"))


@pytest.mark.parametrize("send", [send_indigitall, send_jelou], ids=["indigitall-application", "jelou-bot"])
def test_concurrent_sends_to_one_owner_never_pass_its_tier(shared_app, send):
    """8 threads, 3 new recipients each, a tier of 5: exactly 5 admitted, round after round (the
    indigitall case admitted up to 24 on b4e230b; Jelou's lane and tier were one step already)."""
    client = shared_app.test_client()
    for round_ in range(4):
        headers = {"X-Mock-Sandbox": f"tier-{round_}"}
        _profile(client, headers, tier={"unique_recipients_24h": 5, "overflow": "fail"})
        batches = _concurrently(shared_app, 8, lambda each, index, headers=headers: send(
            each, phones(3, first=100 * index), headers=headers))
        assert _admitted(client, batches, headers) == 5, f"round {round_}"


def _cancel(client, task: int, headers: dict | None = None) -> dict:
    answer = client.delete(f"/v2/chat/application/200/task/{task}", headers={**KEY, **(headers or {})})
    assert answer.status_code == 200, answer.json
    return answer.json["data"]


def _failed(item: dict) -> int | None:
    """A message's error code when it failed (None: it reached its recipient)."""
    return item["error"]["code"] if item["status"] == "failed" else None


def _sends(client, batch) -> list[float]:
    return [instant(item["timestamps"]["sentAt"]) for item in messages(client, str(batch))]


def test_a_canceled_task_gives_back_the_busy_time_of_its_unsent_part(shared_app):
    client = shared_app.test_client()
    _profile(client, {}, throughput={"mps": 10})
    first = send_indigitall(client, phones(100))                 # would send from T0 to T0 + 9.9 s
    client.post("/_mock/clock", json={"advance": "PT2S"})
    assert _cancel(client, first)["messages"]["canceled"] == 79   # 21 sent: T0 .. T0 + 2.0 s
    second = send_indigitall(client, phones(10, first=1000))
    client.post("/_mock/clock", json={"advance": "PT1M"})
    sends = _sends(client, second)
    assert sends[0] == pytest.approx(T0 + 2.1, abs=1e-3)         # right after the last message really sent
    assert sends[-1] == pytest.approx(T0 + 3.0, abs=1e-3)
    assert max(_sends(client, first)[:21]) == pytest.approx(T0 + 2.0, abs=1e-3)


def test_a_canceled_task_gives_back_the_tier_places_of_the_recipients_it_never_messaged(shared_app):
    client = shared_app.test_client()
    _profile(client, {}, throughput={"mps": 1}, tier={"unique_recipients_24h": 5, "overflow": "fail"})
    numbers = phones(5)
    first = send_indigitall(client, numbers)                     # T0 .. T0 + 4 s
    client.post("/_mock/clock", json={"advance": "PT1.5S"})
    _cancel(client, first)                                       # numbers[0] and numbers[1] were messaged
    second = send_indigitall(client, phones(3, first=100) + [numbers[0]])
    client.post("/_mock/clock", json={"advance": "PT1M"})
    assert [_failed(item) for item in messages(client, str(second))] == [None] * 4
    # the window is full again: 2 sent by the canceled task, 3 by the second one
    third = send_indigitall(client, [numbers[3], "5939777777", numbers[1], phones(1, first=100)[0]])
    client.post("/_mock/clock", json={"advance": "PT1M"})
    assert [_failed(item) for item in messages(client, str(third))] == [131048, 131048, None, None]
    # the sends really made still count, and leave the window 24 hours after them
    client.post("/_mock/clock", json={"advance": "PT24H"})
    fourth = send_indigitall(client, phones(5, first=200))
    client.post("/_mock/clock", json={"advance": "PT1M"})
    assert [_failed(item) for item in messages(client, str(fourth))] == [None] * 5


def test_an_indigitall_queueing_tier_holds_sends_and_they_keep_the_application_busy(shared_app):
    client = shared_app.test_client()
    _profile(client, {}, throughput={"mps": 1}, tier={"unique_recipients_24h": 2, "overflow": "queue"})
    numbers = phones(3)
    first = send_indigitall(client, numbers)
    # a task sent half a second before the held send is placed after it (one send at a time)
    client.post("/_mock/clock", json={"advance": "PT86399.5S"})
    second = send_indigitall(client, [numbers[2]])      # in the window: the tier lets it through at once
    client.post("/_mock/clock", json={"advance": "PT1M"})
    assert _sends(client, first) == pytest.approx([T0, T0 + 1, T0 + 86400], abs=1e-3)   # the third waits a day
    assert all(item["status"] != "failed" for item in messages(client, str(first)))
    assert _sends(client, second) == pytest.approx([T0 + 86401], abs=1e-3)


def _send_instants(client, batches) -> list[float]:
    """Every message's send instant across ``batches`` (each must have been sent), in order."""
    items = [item for batch in batches for item in messages(client, str(batch))]
    assert all(item["timestamps"].get("sentAt") for item in items), [item["status"] for item in items]
    return sorted(instant(item["timestamps"]["sentAt"]) for item in items)


def _busiest_day(client, batches) -> int:
    """The most distinct recipients sent to in any rolling 24 hours (t - 1 day, t] across ``batches``."""
    sends = sorted((instant(item["timestamps"]["sentAt"]), item["recipient"])
                   for batch in batches for item in messages(client, str(batch)))
    return max(len({who for moment, who in sends if end - 86400 < moment <= end}) for end, _ in sends)


def _busiest_second(sends: list[float]) -> int:
    """The most sends in any 1-second window [t, t + 1) (timestamps are to the millisecond)."""
    return max(sum(1 for other in sends if start <= other < start + 1 - 2e-3) for start in sends)


@pytest.mark.parametrize("send", [send_indigitall, send_jelou], ids=["indigitall-application", "jelou-bot"])
def test_held_sends_share_the_owners_throughput_with_its_other_batches(shared_app, send):
    """Two batches under a queueing tier of 3 at 2 mps: the sends each one holds for a day are
    placed against the owner's other sends too (on main, the second task's held sends overlapped
    the first's: 4 sends in one second of an application at 2 mps)."""
    client = shared_app.test_client()
    _profile(client, {}, throughput={"mps": 2}, tier={"unique_recipients_24h": 3, "overflow": "queue"})
    first = send(client, phones(6))
    second = send(client, phones(5, first=100))
    client.post("/_mock/clock", json={"advance": "P5D"})     # a Jelou campaign waits for its bot's lane
    sends = _send_instants(client, [first, second])
    assert len(sends) == 11
    assert max(sends) > T0 + 86400                        # some sends really were held for a day
    assert _busiest_second(sends) <= 2, [round(moment - T0, 3) for moment in sends]
    assert _busiest_day(client, [first, second]) <= 3, [round(moment - T0, 3) for moment in sends]
