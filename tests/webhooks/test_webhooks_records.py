"""Delivery records in the store (``mock_server/webhooks/records.py``), on every store implementation.

Two owners stand for two processes sharing one store: each delivery is created once, attempted by
the owner of its lease, taken over when a lease runs out (the process died), retried by whoever
claims it when it falls due, and redelivered from any process.
"""

from __future__ import annotations

import pytest

from mock_server.store import MemoryStore, StaleGeneration
from mock_server.webhooks.records import Deliveries, delivery_id, new_value, public
from mock_server.webhooks.subscriptions import Subscription
from support.stores import START_US, FakeTime, make_store  # noqa: F401  (fixtures: both stores)

SUB = Subscription(id="wh_1", provider="indigitall", owner="200", url="http://user:pw@127.0.0.1:9/hook",
                   events=frozenset({"sent", "read"}), source="control")
SANDBOX = "team"


@pytest.fixture
def real():
    return FakeTime(1_800_000_000.0)


@pytest.fixture
def records(make_store, real):  # noqa: F811
    store = make_store(clock_start_us=START_US, clock_frozen=True, time_source=real)
    store.touch(SANDBOX)
    return Deliveries(store, max_records=3)


def items(owner: str, lease_end: float, count: int = 3, event: str = "sent", start: int = 0):
    out = []
    for n in range(start, start + count):
        event_id = f"indigitall-7-{n + 1}-{event}"
        out.append((delivery_id(event_id, SUB.id),
                    new_value(event_id=event_id, event=event, subscription=SUB, recipient=f"3466600000{n}",
                              due_at=START_US / 1e6 + n, body=b'{"n": %d}' % n, lane=n % 2, budget=2, owner=owner,
                              lease_end=lease_end)))
    return out


def entry(attempt: int, status: int | None, error: str | None = None) -> dict:
    return {"attempt": attempt, "at": "2026-01-05T10:00:01Z", "statusCode": status, "latencyMs": 1.0, "error": error}


def generation(records) -> int:
    return records.store.info(SANDBOX).generation


def test_each_record_is_created_once_whoever_derives_it(records, real):
    gen = generation(records)
    mine = records.create(SANDBOX, gen, items("A", real.value + 30))
    assert [r.value["owner"] for r in mine] == ["A", "A", "A"]
    # B derived the same window and one more event (a race, or again after A died before moving
    # the cursor): only the missing record is created, and it is B's
    theirs = records.create(SANDBOX, gen, items("B", real.value + 30, count=4))
    assert [(r.id, r.value["owner"]) for r in theirs] == [(delivery_id("indigitall-7-4-sent", SUB.id), "B")]
    assert records.create(SANDBOX, gen, items("B", real.value + 30, count=4)) == []
    assert records.counts(SANDBOX) == {"pending": 4, "retrying": 0, "delivered": 0, "dead": 0}
    owners = [r.value["owner"] for r in records.select(SANDBOX, limit=10)[0]]
    assert owners == ["A", "A", "A", "B"]


def test_a_lease_that_ran_out_is_taken_over_and_the_old_owner_backs_off(records, real):
    gen = generation(records)
    made = records.create(SANDBOX, gen, items("A", real.value + 30))
    assert records.claim_due(SANDBOX, gen, "B", real.value, real.value + 30, limit=10) == []
    # A is alive and busy: it renews the leases of its queue, so nothing is due
    assert records.renew(SANDBOX, gen, [r.id for r in made[:2]], "A", real.value + 60) == {made[0].id, made[1].id}
    real.value += 31                                      # the third lease ran out: A died, or lost it
    taken = records.claim_due(SANDBOX, gen, "B", real.value, real.value + 30, limit=10,
                              queued=lambda record_id: False)
    assert [(r.id, r.value["owner"]) for r in taken] == [(made[2].id, "B")]
    real.value += 29.5                                    # now A's two as well (it did not renew)
    again = records.claim_due(SANDBOX, gen, "A", real.value, real.value + 30, limit=10,
                              queued=lambda record_id: record_id == made[0].id)     # not the one it has queued
    assert [r.id for r in again] == [made[1].id]
    # A comes back for the one B holds: its renewal fails, so it does not attempt
    assert records.renew(SANDBOX, gen, [made[2].id], "A", real.value + 60) == set()
    assert records.renew(SANDBOX, gen, [made[2].id], "B", real.value + 60) == {made[2].id}
    # an attempt A had made meanwhile is kept in the history, and changes nothing else
    assert records.finish(SANDBOX, gen, made[2].id, "A", entry(1, 204), "delivered", real.value) is None
    after = records.store.get(SANDBOX, "webhook.delivery", made[2].id)
    assert after.value["status"] == "pending" and after.value["owner"] == "B" and len(after.value["history"]) == 1


def test_retry_is_due_for_any_process_then_dead_then_redelivered(records, real):
    gen = generation(records)
    record_id = records.create(SANDBOX, gen, items("A", real.value + 30, count=1))[0].id
    retrying = records.finish(SANDBOX, gen, record_id, "A", entry(1, 503, "HTTP 503"), "retrying", real.value,
                              real.value + 1)
    assert retrying.value["owner"] is None and retrying.value["attempts"] == 1
    shown = public(retrying, real.value, str)
    assert shown["status"] == "retrying" and shown["nextRetryInSeconds"] == 1.0
    assert shown["url"] == "http://***@127.0.0.1:9/hook" and "body" not in shown and "owner" not in shown
    assert records.claim_due(SANDBOX, gen, "B", real.value, real.value + 30, limit=5) == []
    real.value += 1
    taken = records.claim_due(SANDBOX, gen, "B", real.value, real.value + 30, limit=5)
    assert [t.id for t in taken] == [record_id]
    dead = records.finish(SANDBOX, gen, record_id, "B", entry(2, 500, "HTTP 500"), "dead", real.value)
    assert dead.value["status"] == "dead" and [h["statusCode"] for h in dead.value["history"]] == [503, 500]
    assert records.claim_due(SANDBOX, gen, "B", real.value + 99, real.value + 130, limit=5) == []
    # redelivery from a third process: all or nothing by ids
    assert records.redeliver(SANDBOX, [record_id, "nope@wh_1"], None, 3, real.value) == (0, ["nope@wh_1"])
    assert records.redeliver(SANDBOX, [record_id, record_id], None, 3, real.value) == (1, [])
    again = records.store.get(SANDBOX, "webhook.delivery", record_id).value
    assert (again["status"], again["owner"], again["budget"]) == ("pending", None, 5)
    taken = records.claim_due(SANDBOX, gen, "C", real.value, real.value + 30, limit=5)
    assert [t.value["owner"] for t in taken] == ["C"]
    assert records.redeliver(SANDBOX, [record_id], None, 3, real.value) == (0, [record_id])    # not finished


def test_listing_filters_pages_and_keeps_the_last_finished(records, real):
    gen = generation(records)
    made = records.create(SANDBOX, gen, [*items("A", real.value + 30, count=5),
                                         *items("A", real.value + 30, count=1, event="read")])
    for position in (4, 0, 3, 2, 1):              # finished in another order than created
        real.value += 1
        records.finish(SANDBOX, gen, made[position].id, "A", entry(1, 204), "delivered", real.value)
    records.trim(SANDBOX)
    assert records.counts(SANDBOX) == {"pending": 1, "retrying": 0, "delivered": 3, "dead": 0}
    assert records.dropped(SANDBOX) == {"delivered": 2, "dead": 0}
    kept, total = records.select(SANDBOX, status="delivered")     # the three finished last, in creation order
    assert total == 3 and [r.value["recipient"] for r in kept] == ["34666000001", "34666000002", "34666000003"]
    page, total = records.select(SANDBOX, offset=1, limit=2, newest_first=True)
    assert total == 4 and [r.value["recipient"] for r in page] == ["34666000003", "34666000002"]
    assert records.select(SANDBOX, event="read")[1] == 1
    assert records.select(SANDBOX, status="pending", event="sent")[1] == 0
    assert records.select(SANDBOX, status="pending", event="read")[1] == 1
    assert records.select(SANDBOX, recipient="34666000000")[1] == 1            # its "read"; the "sent" was trimmed
    assert records.select(SANDBOX, recipient="34666000004")[1] == 0
    # a redelivered old record that finishes again is the newest finished: it stays, another goes
    assert records.redeliver(SANDBOX, [made[1].id], None, 2, real.value) == (1, [])
    records.claim_due(SANDBOX, gen, "A", real.value, real.value + 30, limit=5)
    real.value += 1
    records.finish(SANDBOX, gen, made[1].id, "A", entry(2, 204), "delivered", real.value)
    records.trim(SANDBOX)
    kept, _ = records.select(SANDBOX, status="delivered")
    assert [r.value["recipient"] for r in kept] == ["34666000001", "34666000002", "34666000003"]
    assert records.dropped(SANDBOX) == {"delivered": 2, "dead": 0}
    assert records.redeliver(SANDBOX, None, "delivered", 2, real.value) == (3, [])
    assert records.counts(SANDBOX)["pending"] == 4


def test_a_reset_drops_the_records_and_refuses_stale_work(records, real):
    gen = generation(records)
    record_id = records.create(SANDBOX, gen, items("A", real.value + 30, count=1))[0].id
    records.store.reset(SANDBOX)
    assert records.counts(SANDBOX)["pending"] == 0
    with pytest.raises(StaleGeneration):
        records.finish(SANDBOX, gen, record_id, "A", entry(1, 204), "delivered", real.value)
    with pytest.raises(StaleGeneration):
        records.create(SANDBOX, gen, items("A", real.value + 30, count=1))


def test_a_record_value_is_immutable_so_the_memory_store_keeps_it_as_it_is(records, real):
    """A delivery's value was a dict the memory store encoded at every write and decoded at every
    read (a fifth of its time per delivery); it is an immutable mapping now, shared by readers."""
    gen = generation(records)
    (made,) = records.create(SANDBOX, gen, items("A", real.value + 30, count=1))
    records.finish(SANDBOX, gen, made.id, "A", entry(1, 204), "delivered", real.value)
    value = records.records.get(SANDBOX, made.id).value
    with pytest.raises(TypeError):
        value["status"] = "pending"                   # noqa: the point: no reader can change it
    with pytest.raises(TypeError):
        value["history"][0]["statusCode"] = 500
    assert value["status"] == "delivered" and [dict(h) for h in value["history"]] == [entry(1, 204)]
    again = records.records.get(SANDBOX, made.id).value
    assert again == value and again["history"][0]["statusCode"] == 204
    if isinstance(records.store, MemoryStore):
        assert again is value                         # kept as it is: not decoded for each reader


def test_a_window_of_records_is_one_redis_command_whatever_its_size(redis_url, real):
    """The producer's write of a window (``Store.create_missing``): one script, no read first
    (``update_many`` read every record, then committed: two scripts), for 3 records or 300, and
    a window derived again (all there) is one script too. (``commandstats`` also counts the
    commands a script runs: the scripts are what a round trip costs.)"""
    import redis

    from mock_server.store.redis import RedisStore

    store = RedisStore(redis_url, seed=1, clock_start_us=START_US, clock_frozen=True, time_source=real)
    store.touch(SANDBOX)
    records, counter = Deliveries(store, max_records=3), redis.Redis.from_url(redis_url)
    gen = generation(records)
    try:
        for count, start, created in ((3, 0, 3), (300, 0, 297), (300, 0, 0)):
            counter.config_resetstat()
            made = records.create(SANDBOX, gen, items("A", real.value + 30, count=count, start=start))
            calls = {name: entry["calls"] for name, entry in counter.info("commandstats").items()}
            scripts = {name: number for name, number in calls.items() if name.startswith(("cmdstat_eval", "cmdstat_script"))}
            assert len(made) == created and scripts == {"cmdstat_evalsha": 1}, (count, calls)   # (their commands count too)
        assert records.counts(SANDBOX)["pending"] == 300
    finally:
        counter.close()
        store.close()
