"""What the Redis store adds to the contract (tests/store/test_store_contract.py runs that on it too):
several store objects on one Redis act as one store, big CSVs are stored once and read lazily,
prefixes keep mocks apart, and an unreachable Redis is a clear StoreUnavailable that recovers."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest
import redis

from mock_server.csvfile import CsvRules, read_csv
from mock_server.rows import LazyRows, Rows
from mock_server.rows_codec import register_codecs
from mock_server.store import ClockState, NewRecord, codec, open_store
from mock_server.store.base import Blob
from mock_server.store.redis import RedisStore, StoreUnavailable

START_US = 1_767_607_200_000_000


@dataclass(frozen=True)
class Upload:
    name: str
    rows: Rows


register_codecs()                  # what the app does for the rows its records hold
codec.register_dataclass(Upload, "tests.upload")


@pytest.fixture
def pair(redis_url):
    """Two stores on the same Redis, as two processes would have."""
    stores = [RedisStore(redis_url, clock_start_us=START_US, clock_frozen=True) for _ in range(2)]
    yield stores
    for store in stores:
        store.close()


def test_create_with_another_record_sees_a_change_by_another_process(pair):
    """``create(..., with_=...)`` reads the other record, then compare-and-sets it in the commit:
    a change by another process in between makes ``fn`` run again on the new state."""
    a, b = pair
    a.update_many("s", [("lane", "bot-1")], lambda current: (NewRecord({"end": 1}),))
    calls = []

    def take_lane(new, lane):
        calls.append(lane.value["end"])
        if len(calls) == 1:
            b.update("s", "lane", "bot-1", lambda record: NewRecord({"end": 50}))
        return new, NewRecord({"end": lane.value["end"] + 1})

    made = a.create("s", "item", lambda rid, created_us: NewRecord({"n": 1}), with_=(("lane", "bot-1"), take_lane))
    assert calls == [1, 50] and b.get("s", "lane", "bot-1").value == {"end": 51}
    assert b.get("s", "item", made.id) == made and b.info("s").counts == {"item": 1, "lane": 1}


def test_creates_alternating_between_processes_take_the_ids_in_order(pair, redis_url):
    """A create assumes what its process's last create and touch left (the next UUID number, the
    newest instant, the clock) and the commit checks each: another process's create or clock
    change in between costs a retry, never a reused id, a lost number or a stale instant."""
    from mock_server.store import MemoryStore

    a, b = pair
    memory = MemoryStore(seed=0, clock_start_us=START_US, clock_frozen=True)
    expected = [memory.create("s", "item", lambda rid, created_us: NewRecord(0)).id for _ in range(6)]
    made = []
    for n, store in enumerate((a, a, b, a, a, b)):
        store.touch("s")
        if n == 4:                       # after a's touch (its last create was a's), b moves the clock on
            b.update_clock("s", lambda state: ClockState(state.offset_us, START_US + 7_000_000))
        made.append(store.create("s", "item", lambda rid, created_us: NewRecord(created_us)))
    assert [record.id for record in made] == expected
    assert [record.seq for record in made] == [1, 2, 3, 4, 5, 6]
    assert made[4].created_us == made[4].value == START_US + 7_000_000      # the clock as it is now
    assert b.info("s").counts == {"item": 6}


def csv_rows(count: int) -> Rows:
    lines = ["phone,name"] + [f"5939{i % 50:08d},n{i}" for i in range(count)]
    return read_csv(("\n".join(lines) + "\n").encode(), CsvRules())


def test_open_store_builds_a_redis_store_from_its_url(redis_url):
    store = open_store(redis_url, prefix="other:")
    assert isinstance(store, RedisStore) and store.prefix == "other:"
    store.close()


def test_two_stores_on_one_redis_are_one_store(pair):
    a, b = pair
    made = a.create("s", "item", lambda rid, created_us: NewRecord({"n": 1}, (("all", None),)))
    assert b.get("s", "item", made.id) == made
    assert b.create("s", "item", lambda rid, created_us: NewRecord({"n": 2})).seq == made.seq + 1
    ids = {a.create("t", "item", lambda rid, created_us: NewRecord(1)).id, b.create("t", "item", lambda rid, created_us: NewRecord(2)).id}
    assert len(ids) == 2                                  # the seeded sequence, shared
    b.update_clock("s", lambda state: ClockState(state.offset_us, START_US + 5_000_000))
    assert a.clock("s").frozen_at_us == START_US + 5_000_000
    b.reset("s")
    assert a.get("s", "item", made.id) is None and a.info("s").generation == 1


def test_ledger_capacity_holds_across_stores_and_threads(pair):
    capacity = 50

    def plan(view):
        if view.get(0, 0) + 3 <= capacity:
            return True, {0: 3}
        return False, {}

    placed = []

    def work(store):
        placed.extend(store.reserve("s", "app-100", plan) for _ in range(30))

    threads = [threading.Thread(target=work, args=(pair[i % 2],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert pair[0].ledger("s", "app-100") == {0: 3 * (capacity // 3)}
    assert placed.count(True) == capacity // 3


def test_wait_wakes_on_a_change_made_by_another_store(pair):
    a, b = pair
    after = a.version("s")
    answered = []
    waiter = threading.Thread(target=lambda: answered.append(a.wait("s", after, timeout=10)))
    waiter.start()
    b.put("s", "rules", "r1", {"x": 1})
    waiter.join(timeout=5)
    assert answered and answered[0] > after


def test_a_wait_before_the_sandbox_exists_hears_its_first_commit(pair):
    """A wait on a sandbox that does not exist creates none (it answers 0), yet a record commit in
    the sandbox another process creates meanwhile wakes it: the creating ``TOUCH`` takes over the
    waiter's deadline, so the commit publishes."""
    a, b = pair
    answered = []
    waiter = threading.Thread(target=lambda: answered.append(a.wait("later", 0, timeout=30)))
    waiter.start()
    deadline = time.monotonic() + 20
    while not b.redis.exists(b.prefix + "vw:later") and time.monotonic() < deadline:   # the waiter is in
        time.sleep(0.01)
    assert b.sandboxes() == []
    b.create("later", "item", lambda rid, created_us: NewRecord(1))
    waiter.join(timeout=20)
    assert answered == [1]


def test_an_unpinned_reserve_outlives_a_reset_between_its_read_and_its_commit(pair):
    """``reserve`` without a generation reads the ledger, then commits pinned to what it read; a
    reset by another process in between makes it read again (was: StaleGeneration to a caller
    that pinned nothing)."""
    a, b = pair
    a.reserve("s", "app", lambda view: (None, {1: 1}))
    calls = []

    def plan(view):
        calls.append(dict(view))
        if len(calls) == 1:
            b.reset("s")
        return None, {1: 2}
    a.reserve("s", "app", plan)
    assert calls == [{1: 1}, {}] and a.ledger("s", "app") == {1: 2}


def test_big_rows_are_stored_once_and_read_lazily(pair, redis_url):
    a, b = pair
    rows = csv_rows(2000)
    made = a.create("s", "upload", lambda rid, created_us: NewRecord(Upload("u", rows)))
    client = redis.Redis.from_url(redis_url)
    record_key = next(client.scan_iter(match=b"bulkmock:d:s:*:rec:upload:*"))
    assert len(client.hget(record_key, "v")) < 400           # a reference, not the CSV
    blob_keys = list(client.scan_iter(match=b"bulkmock:d:s:*:blob:*"))
    assert len(blob_keys) == 1 and client.strlen(blob_keys[0]) == len(rows._data)
    seen = b.get("s", "upload", made.id).value.rows
    assert isinstance(seen, LazyRows) and len(seen) == 2000 and seen.header == ["phone", "name"]
    assert seen.record(1999) == rows.record(1999)
    assert seen.find("593900000007") == rows.find("593900000007") == list(range(7, 2000, 50))
    assert len(list(client.scan_iter(match=b"bulkmock:d:s:*:blob:*:d"))) == 1    # the index, shared
    fresh = RedisStore(redis_url)
    again = fresh.get("s", "upload", made.id).value.rows
    assert again._load_index() is not None and again.find("593900000049") == list(range(49, 2000, 50))
    fresh.close()
    third = RedisStore(redis_url)           # rewriting a record that refers to the CSV never reads the CSV
    third.update("s", "upload", made.id, lambda r: NewRecord(Upload("again", r.value.rows)))
    assert blob_keys[0] not in third.blobs._cache
    third.close()
    updated = b.update("s", "upload", made.id, lambda r: NewRecord(Upload("renamed", r.value.rows)))
    assert a.get("s", "upload", made.id).value.rows.record(0) == rows.record(0) and updated.version == 3
    a.reset("s")
    assert list(client.scan_iter(match=b"bulkmock:d:s:*:blob:*")) == []       # dropped with the sandbox


def test_rows_read_by_the_streaming_reader_keep_their_offsets(pair):
    a, b = pair
    rows = read_csv(b'phone,note\n111,"two\nlines"\n222,x\n\n333,y\n', CsvRules())
    made = a.create("s", "upload", lambda rid, created_us: NewRecord(Upload("u", rows)))
    seen = b.get("s", "upload", made.id).value.rows
    assert [seen.record(i) for i in range(3)] == [rows.record(i) for i in range(3)]
    assert [seen.line(i) for i in range(3)] == [2, 4, 6]


class Text(Blob):
    """A blob type of the tests' own: the store knows it only through ``store.base.Blob``."""

    __slots__ = ("content", "source", "size")

    def __init__(self, content: bytes | None, source=None, size: int | None = None) -> None:
        self.content, self.source = content, source
        self.size = len(content) if size is None else size

    def text(self) -> bytes:
        return self.content if self.source is None else self.source.get("")

    def blob_parts(self):
        return {"": self.content, "upper": self.content.upper()}

    def blob_ref(self):
        return self.size

    @classmethod
    def from_blob(cls, source, ref):
        return cls(None, source, ref)

    @property
    def blob_source(self):
        return self.source


codec.register_blob(Text, "tests.text")


@dataclass(frozen=True)
class Note:
    title: str
    text: Text


codec.register_dataclass(Note, "tests.note")


def test_any_blob_type_is_kept_once_and_read_through_its_source(pair, redis_url):
    a, b = pair
    content = b"x" * 5000
    made = a.create("s", "note", lambda rid, created_us: NewRecord(Note("n", Text(content))))
    client = redis.Redis.from_url(redis_url)
    record_key = next(client.scan_iter(match=b"bulkmock:d:s:*:rec:note:*"))
    assert len(client.hget(record_key, "v")) < 200                   # a reference, not the content
    blob = next(key for key in client.scan_iter(match=b"bulkmock:d:s:*:blob:*") if not key.endswith(b":upper"))
    assert client.get(blob) == content and client.get(blob + b":upper") == content.upper()
    seen = b.get("s", "note", made.id).value.text
    assert isinstance(seen, Text) and seen.blob_source.name == blob and seen.text() == content
    assert seen.blob_source.get("upper") == content.upper()
    again = b.update("s", "note", made.id, lambda r: NewRecord(Note("renamed", r.value.text)))
    assert again.version == 2 and len(list(client.scan_iter(match=b"bulkmock:d:s:*:blob:*"))) == 2   # not written again
    assert a.get("s", "note", made.id).value.text.text() == content


def test_prefixes_keep_two_mocks_apart(redis_url):
    one, two = RedisStore(redis_url, prefix="one:"), RedisStore(redis_url, prefix="two:")
    one.put("s", "m", "k", 1)
    assert two.get_value("s", "m", "k") is None and [box.name for box in two.sandboxes()] == []
    one.close()
    two.close()


def test_unreachable_redis_is_store_unavailable_then_recovers(redis_server, redis_url):
    store = RedisStore(redis_url, socket_timeout=1)
    store.put("s", "m", "k", 1)
    redis_server.stop()
    with pytest.raises(StoreUnavailable, match="unreachable"):
        store.get_value("s", "m", "k")
    with pytest.raises(StoreUnavailable):
        store.create("s", "item", lambda rid, created_us: NewRecord(1))
    redis_server.start()
    store.put("s", "m", "k", 2)                              # the same object reconnects
    assert store.get_value("s", "m", "k") == 2
    store.close()


def _published(client: redis.Redis) -> int:
    return client.info("commandstats").get("cmdstat_publish", {}).get("calls", 0)


def test_a_commit_publishes_its_version_only_while_someone_listens(redis_url):
    """A commit of records (an upload's) publishes the new version only while a change feed or a
    waiter listens (``vf``, ``vw`` in the sandbox hash), and every listener still hears it: a
    feed hears sandboxes created after it opened, and keeps listening past ``FEED_LISTENS``."""
    from mock_server.store.redis_primitives import FEED_LISTENS

    now = [1_800_000_000.0]
    a, b = (RedisStore(redis_url, clock_start_us=START_US, clock_frozen=True, time_source=lambda: now[0])
            for _ in range(2))
    counter = redis.Redis.from_url(redis_url)
    item = lambda rid, created_us: NewRecord({"n": 1})     # noqa: E731
    try:
        a.create("s", "item", item)
        before = _published(counter)
        a.create("s", "item", item)
        assert _published(counter) == before                 # nobody listens: no PUBLISH

        after = a.version("s")                               # a waiter on another process
        answered: list[int] = []
        waiter = threading.Thread(target=lambda: answered.append(b.wait("s", after, timeout=20)))
        waiter.start()
        for _ in range(100):                                 # a commit (not a map change) wakes it
            a.create("s", "item", item)
            waiter.join(timeout=0.2)
            if not waiter.is_alive():
                break
        assert answered and answered[0] > after

        feed = b.changes()
        try:
            a.create("s", "item", item)
            a.create("t", "item", item)                      # created after the feed opened
            seen: set[str] = set()
            for _ in range(50):
                seen |= feed.wait(0.2)
                if seen == {"s", "t"}:
                    break
            assert seen == {"s", "t"}
            now[0] += 10 * FEED_LISTENS                      # the feed says it listens again
            feed.wait(0.01)
            a.create("t", "item", item)
            assert "t" in feed.wait(5)
        finally:
            feed.close()
        now[0] += 10 * FEED_LISTENS                          # nobody listens any more
        before = _published(counter)
        a.create("s", "item", item)
        assert _published(counter) == before
    finally:
        for store in (a, b):
            store.close()
        counter.close()


def test_a_create_that_loses_to_another_process_retries_on_what_its_commit_read(pair, redis_url):
    """A create guesses the next UUID and compare-and-sets the other record (a bot's lane); when
    another process created meanwhile, the commit that loses answers what it read, so the next
    attempt is the winning commit, with no read in between (was: ID_COUNTER, the record, the
    commit), and the ids are those one memory store gives."""
    from mock_server.store import MemoryStore

    a, b = pair
    item = lambda rid, created_us: NewRecord({"n": 1})          # noqa: E731

    def lane(new, current):
        return new, NewRecord({"end": (current.value["end"] if current is not None else 0) + 1})

    memory = MemoryStore(seed=0, clock_start_us=START_US, clock_frozen=True)
    expected = [memory.create("s", "item", item, with_=(("lane", "bot-1"), lane)).id for _ in range(3)]
    made = [a.create("s", "item", item, with_=(("lane", "bot-1"), lane)),
            b.create("s", "item", item, with_=(("lane", "bot-1"), lane))]   # a's guess is stale now
    counter = redis.Redis.from_url(redis_url)
    scripts = lambda: counter.info("commandstats")["cmdstat_evalsha"]["calls"]   # noqa: E731
    before = scripts()
    made.append(a.create("s", "item", item, with_=(("lane", "bot-1"), lane)))
    assert scripts() - before == 2                   # the commit that lost, then the one that won
    counter.close()
    assert [record.id for record in made] == expected and [record.seq for record in made] == [1, 3, 4]
    assert b.get("s", "lane", "bot-1").value == {"end": 3}


def test_creates_of_one_process_on_the_same_other_record_take_turns(pair, redis_url):
    """Two threads of one process creating with the same bot's lane: the second one builds only
    after the first committed, so neither commit loses (was: both read the lane, one lost)."""
    a, _ = pair
    second_built = threading.Event()
    builds: list[str] = []

    def first(rid, created_us):
        builds.append("first")
        second_built.wait(1)            # without turns the second thread builds meanwhile
        return NewRecord({"n": 1})

    def second(rid, created_us):
        builds.append("second")
        second_built.set()
        return NewRecord({"n": 2})

    def lane(new, current):
        return new, NewRecord({"end": (current.value["end"] if current is not None else 0) + 1})

    a.create("s", "item", lambda rid, created_us: NewRecord({"n": 0}), with_=(("lane", "bot-1"), lane))
    counter = redis.Redis.from_url(redis_url)
    commits = lambda: counter.info("commandstats")["cmdstat_evalsha"]["calls"]   # noqa: E731
    before = commits()
    threads = [threading.Thread(target=a.create, args=("s", "item", build), kwargs={"with_": (("lane", "bot-1"), lane)})
               for build in (first, second)]
    threads[0].start()
    while not builds:
        second_built.wait(0.01)
    threads[1].start()
    for thread in threads:
        thread.join(timeout=30)
    assert commits() - before == 2 and builds == ["first", "second"]
    counter.close()
    assert a.get("s", "lane", "bot-1").value == {"end": 3}


def test_a_taken_uuid_create_that_loses_answers_the_uuid_counter(pair, redis_url):
    """A create that took its UUID number first (a process that knew nothing of the sandbox) and
    lost its commit to another process retries on what the commit read: the UUID counter, not
    the record sequence (was: ``n:seq``, so the retry guessed a wrong number and lost once more)."""
    from mock_server.store import MemoryStore

    a, b = pair
    fresh = RedisStore(redis_url, clock_start_us=START_US, clock_frozen=True)    # a third process
    item = lambda rid, created_us: NewRecord({"n": 1})          # noqa: E731
    try:
        b.update_many("s", [("lane", f"bot-{n}") for n in range(1, 4)],
                      lambda current: tuple(NewRecord({"end": 1}) for _ in current))   # seq 1-3
        first = b.create("s", "item", item)                              # UUID 1, seq 4
        calls = []

        def take_lane(new, lane):
            calls.append(lane.value["end"])
            if len(calls) == 1:
                a.update("s", "lane", "bot-1", lambda record: NewRecord({"end": 50}))
            return new, NewRecord({"end": lane.value["end"] + 1})

        made = fresh.create("s", "item", item, with_=(("lane", "bot-1"), take_lane))
        assert calls == [1, 50]                  # one lost commit, then the winning one
        memory = MemoryStore(seed=0, clock_start_us=START_US, clock_frozen=True)
        expected = [memory.create("s", "item", item).id for _ in range(3)]
        assert [first.id, made.id] == [expected[0], expected[2]]          # UUID 2 was lost to the failed commit
        assert b.get("s", "lane", "bot-1").value == {"end": 51}
    finally:
        fresh.close()


def _lane_key_on_the_same_stripe(sandbox: str, key: str, same: bool) -> str:
    """A bot id whose lane hashed to the same (or another) of the 64 lock stripes as ``key``'s
    (the base's ``hash((sandbox, kind, id)) % 64``)."""
    stripe = hash((sandbox, "lane", key)) % 64
    return next(f"bot-{n}" for n in range(2, 100_000) if (hash((sandbox, "lane", f"bot-{n}")) % 64 == stripe) == same)


def _lane(new, current):
    return new, NewRecord({"end": (current.value["end"] if current is not None else 0) + 1})


def test_creates_on_unrelated_lanes_do_not_take_turns(pair):
    """Two threads creating with different bots' lanes never wait for each other (was: 64 lock
    stripes, so two unrelated bots on one stripe waited for the other's whole create)."""
    a, _ = pair
    other = _lane_key_on_the_same_stripe("s", "bot-1", same=True)
    release = threading.Event()
    started = threading.Event()

    def slow(rid, created_us):
        started.set()
        release.wait(30)
        return NewRecord({"n": 1})

    first = threading.Thread(target=a.create, args=("s", "item", slow), kwargs={"with_": (("lane", "bot-1"), _lane)})
    first.start()
    try:
        assert started.wait(30)
        done = []
        second = threading.Thread(target=lambda: done.append(a.create(
            "s", "item", lambda rid, created_us: NewRecord({"n": 2}), with_=(("lane", other), _lane))))
        second.start()
        second.join(timeout=15)
        assert done, "a create on another bot's lane waited for the first create"
    finally:
        release.set()
        first.join(timeout=30)
    assert a.get("s", "lane", "bot-1").value == {"end": 1} and a.get("s", "lane", other).value == {"end": 1}


def test_nested_creates_on_two_lanes_in_opposite_orders_do_not_deadlock(pair):
    """A create whose ``build`` creates with another lane, in two threads in opposite orders
    (was: each thread held its stripe's lock and waited for the other's)."""
    a, _ = pair
    other = _lane_key_on_the_same_stripe("s", "bot-1", same=False)
    both_inside = threading.Barrier(2, timeout=30)
    made: list[str] = []

    def outer(first: str, second: str) -> None:
        nested: list[str] = []

        def build(rid, created_us):             # again when the outer commit lost: nest once
            if not nested:
                both_inside.wait()               # each thread holds its outer lane's turn now
                nested.append(a.create("s", "item", lambda rid, created_us: NewRecord({"inner": first}),
                                       with_=(("lane", second), _lane)).id)
            return NewRecord({"outer": first})
        outer_id = a.create("s", "item", build, with_=(("lane", first), _lane)).id
        made.extend([*nested, outer_id])

    threads = [threading.Thread(target=outer, args=pair_, daemon=True) for pair_ in (("bot-1", other), (other, "bot-1"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "the nested creates deadlocked"
    assert len(set(made)) == 4
    assert a.get("s", "lane", "bot-1").value == {"end": 2} and a.get("s", "lane", other).value == {"end": 2}


def test_a_create_with_the_lane_its_process_last_wrote_reads_nothing_before_its_commit(pair):
    """The other record a process's last create wrote (a bot's lane) is assumed unchanged: the next
    create is one round trip, its commit (was: a read of the lane, then the commit); when another
    process changed it meanwhile, the commit that loses answers it as it is."""
    from loadtests.redismodel import counting

    a, b = pair
    item = lambda rid, created_us: NewRecord({"n": 1})          # noqa: E731
    a.create("s", "item", item, with_=(("lane", "bot-1"), _lane))
    with counting() as counts:
        a.create("s", "item", item, with_=(("lane", "bot-1"), _lane))
    assert counts["round trips"] == 1
    b.update("s", "lane", "bot-1", lambda record: NewRecord({"end": 40}))
    a.create("s", "item", item, with_=(("lane", "bot-1"), _lane))
    assert b.get("s", "lane", "bot-1").value == {"end": 41}


def test_a_thread_keeps_its_own_connection(pair, monkeypatch):
    """Each thread runs its commands on a connection of its own, kept: a command takes nothing from
    the pool and gives nothing back (was: a get and a release each, 8 % of a worker's time)."""
    a, _ = pair
    a.touch("s")
    taken = []
    get_connection = a.redis.connection_pool.get_connection
    monkeypatch.setattr(a.redis.connection_pool, "get_connection",
                        lambda *args, **kwargs: taken.append(1) or get_connection(*args, **kwargs))
    for number in range(5):
        made = a.create("s", "item", lambda rid, created_us: NewRecord({"n": number}))
        assert a.get("s", "item", made.id).value == {"n": number}
    assert taken == []
    other = threading.Thread(target=lambda: a.touch("s"))     # another thread: its own, once
    other.start()
    other.join(timeout=30)
    assert taken == [1]


def test_an_upload_on_redis_is_three_round_trips(redis_url):
    """Sequential uploads to one process on Redis: the touch (the sandbox's hash, which tells that
    no campaign waits to start, so the settle reads nothing), the commit (which assumes the UUID
    counter and the bot's lane this process last saw) and the journal entry (was five: the
    sending queue and the lane were read too)."""
    from loadtests import bench
    from loadtests.redismodel import counting
    from mock_server import create_app

    app = create_app({"store": {"url": redis_url}})
    client = app.test_client()
    body, headers = bench.upload(bench.jelou_csv(20))
    try:
        for _ in range(3):
            assert client.post("/v1/hsm/file", data=body, headers=headers).status_code == 200
        with counting() as counts:
            answer = client.post("/v1/hsm/file", data=body, headers=headers)
        assert answer.status_code == 200 and answer.json["status"] == "success"
        assert counts["round trips"] == 3
    finally:
        app.extensions["mock"].webhooks.stop()


def test_keys_of_an_earlier_layout_are_refused_not_misread(redis_url):
    """A Redis kept by an earlier version (sandboxes under the prefix, no layout mark: its sandbox
    hashes lack the index sizes a touch now relies on, so a queued campaign would never start) is
    refused with what to do; an empty prefix gets this version's mark; another mark is refused too."""
    from mock_server.store import StoreLayoutError
    from mock_server.store.redis import LAYOUT

    raw = redis.Redis.from_url(redis_url)
    raw.hset("old:sandboxes", "default", 1)
    raw.hset("old:s:default", mapping={"ep": "1", "gen": "0", "ver": "3"})
    old = RedisStore(redis_url, prefix="old:")
    with pytest.raises(StoreLayoutError, match=r"written by an earlier version of the mock.*FLUSHDB.*store.prefix"):
        old.touch("default")
    with pytest.raises(StoreLayoutError):
        old.get("default", "campaign", "1")        # every operation, not only the first
    assert raw.hget("old:s:default", "ver") == b"3" and raw.get("old:layout") is None    # nothing written

    fresh = RedisStore(redis_url, prefix="new:")
    fresh.update_many("s", [("item", "a")], lambda current: (NewRecord({"n": 1}),))
    assert raw.get("new:layout") == LAYOUT.encode()
    raw.set("new:layout", "1999.1")
    with pytest.raises(StoreLayoutError, match="written by key layout 1999.1"):
        RedisStore(redis_url, prefix="new:").info("s")
    for store in (old, fresh):
        store.close()


def test_the_server_refuses_to_start_on_keys_of_an_earlier_layout(redis_url, tmp_path):
    """``mock-server --store`` on such a Redis stops at once, exit status 1, saying what to do
    (before: it served, and campaigns queued by the earlier version stayed PENDING for ever)."""
    import subprocess
    import sys

    redis.Redis.from_url(redis_url).hset("bulkmock:sandboxes", "default", 1)
    done = subprocess.run([sys.executable, "-m", "mock_server", "--port", "0", "--quiet", "--store", redis_url],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("mock-server: the Redis keys under prefix 'bulkmock:' were written by an earlier")
    assert "FLUSHDB" in done.stderr and "Traceback" not in done.stderr


def test_what_a_process_keeps_per_sandbox_is_bounded_and_forgotten_on_drop(redis_url, monkeypatch):
    """The per-sandbox shortcuts (epoch, clock, counters, last use) go with a drop, clock included,
    and are bounded: sandboxes dropped by another process or expired would stay for ever."""
    from mock_server.store import redis as redis_store

    store = RedisStore(redis_url)
    store.touch("s")
    store.drop("s")
    assert not any("s" in cache for cache in (store._used, store._epochs, store._clocks, store._made))
    monkeypatch.setattr(redis_store, "CACHED_SANDBOXES", 3)
    for number in range(10):
        store.update_many(f"s{number}", [("item", "a")], lambda current: (NewRecord({"n": 1}),))
    assert len(store._epochs) <= 3 and len(store._clocks) <= 3 and len(store._made) <= 3
    assert store.get("s0", "item", "a").value == {"n": 1} and store.info("s9").counts == {"item": 1}
    store.close()
