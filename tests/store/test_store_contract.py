"""The store contract (``mock_server/store/base.py``), run against every implementation.

The implementations are the fixtures of ``support/stores.py`` (add one there).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

import pytest

from mock_server.store import ClockState, Lease, MemoryStore, NewRecord, SandboxLimit, StaleGeneration, Store, codec
from support.stores import START_US, FakeTime, fake_time, make_store, store  # noqa: F401  (fixtures)

@dataclass(frozen=True)
class Item:
    name: str
    size: int = 0
    blob: bytes = b""
    tags: tuple = ()


codec.register_dataclass(Item, "tests.item")


def item(name: str, *indexes, **fields) -> NewRecord:
    return NewRecord(Item(name, **fields), tuple(indexes))


def new(store: Store, sandbox: str, name: str, *indexes, kind: str = "item", ids: str = "uuid"):
    return store.create(sandbox, kind, lambda record_id, created_us: item(name, *indexes), ids=ids)


# -- sandboxes -------------------------------------------------------------------------------------

def test_the_store_satisfies_the_protocol(store):
    assert isinstance(store, Store)


def test_touch_creates_a_sandbox_once_with_the_configured_clock(store, fake_time):
    info = store.touch("a")
    assert info.name == "a" and info.generation == 0
    assert info.clock == ClockState(offset_us=START_US - round(fake_time() * 1e6), frozen_at_us=START_US)
    assert info.counts == {}
    fake_time.value += 10
    again = store.touch("a")
    assert again.created_real == info.created_real and again.used_real == info.used_real + 10
    assert [box.name for box in store.sandboxes()] == ["a"]


def test_running_clock_starts_at_the_real_time_by_default(make_store, fake_time):
    store = make_store(time_source=fake_time)
    state = store.clock("x")
    assert not state.frozen
    assert state.now_us(round(fake_time() * 1e6)) == round(fake_time() * 1e6)


def test_sandboxes_are_isolated(store):
    one = new(store, "a", "first", ("all", None))
    new(store, "b", "second", ("all", None))
    assert store.get("a", "item", one.id).value.name == "first"
    assert store.get("b", "item", one.id).value.name == "second"    # same seed, same first id
    assert [r.value.name for r in store.scan("a", "all")] == ["first"]
    store.update_clock("a", lambda state: ClockState(state.offset_us, START_US + 5))
    assert store.clock("b").frozen_at_us == START_US
    assert {box.name: box.counts for box in store.sandboxes()} == {"a": {"item": 1}, "b": {"item": 1}}


def test_drop_removes_everything(store):
    new(store, "a", "x", ("all", None))
    store.put("a", "rules", "r1", {"n": 1})
    assert store.drop("a") is True
    assert store.drop("a") is False
    assert [box.name for box in store.sandboxes()] == []
    assert store.page("a", "all").total == 0
    assert store.get_value("a", "rules", "r1") is None


def test_max_sandboxes_bounds_creation_by_any_operation(make_store):
    store = make_store(max_sandboxes=2)
    store.touch("a")
    store.put("b", "rules", "r1", {"n": 1})                    # any write creates on first use
    for create_c in (lambda: store.touch("c"), lambda: store.update_clock("c", lambda clock: ClockState(5)),
                     lambda: store.put("c", "m", "k", 1), lambda: store.reset("c")):
        with pytest.raises(SandboxLimit) as refused:
            create_c()
        assert refused.value.sandbox == "c" and refused.value.limit == 2
    assert [box.name for box in store.sandboxes()] == ["a", "b"]
    assert store.touch("a").name == "a" and store.get_value("b", "rules", "r1") == {"n": 1}   # existing ones work
    assert store.drop("b") is True
    assert store.touch("c").name == "c"                         # a freed place is taken again
    assert [box.name for box in store.sandboxes()] == ["a", "c"]


# Every read, and every write that changes nothing, in a sandbox that does not exist: what it
# answers there (a fresh sandbox's empty state).
READS = {
    "info": (lambda s: s.info("gone"), None),
    "get": (lambda s: s.get("gone", "item", "1"), None),
    "page": (lambda s: s.page("gone", "all"), ((), 0)),
    "page_deep": (lambda s: s.page("gone", "all", offset=5, limit=500), ((), 0)),
    "scan": (lambda s: list(s.scan("gone", "all")), []),
    "ledger": (lambda s: s.ledger("gone", "app"), {}),
    "read_log": (lambda s: s.read_log("gone", "journal").entries, ()),
    "clear_log": (lambda s: s.clear_log("gone", "journal"), None),
    "wait_log": (lambda s: s.wait_log("gone", "journal", 0, 0.05), 0),
    "counter": (lambda s: s.counter("gone", "k"), 0),
    "get_value": (lambda s: s.get_value("gone", "rules", "r1"), None),
    "items": (lambda s: s.items("gone", "rules"), []),
    "delete": (lambda s: s.delete("gone", "rules", "r1"), False),
    "update_value_none": (lambda s: s.update_value("gone", "rules", "r1", lambda current: None), None),
    "lease": (lambda s: s.lease("gone", "cursor", "A", 0).holder, "A"),
    "clock": (lambda s: s.clock("gone"), ClockState(START_US - 1_700_000_000_000_000, START_US)),
    "version": (lambda s: s.version("gone"), 0),
    "wait": (lambda s: s.wait("gone", 0, 0.05), 0),
    "trim": (lambda s: s.trim("gone", "all", 0), 0),
    "update_many_none": (lambda s: s.update_many("gone", [("item", "1")], lambda current: [None]), (None,)),
    "create_missing_nothing": (lambda s: s.create_missing("gone", []), ()),
    "update": (lambda s: s.update("gone", "item", "1", lambda current: item("y")), None),
    "release_nothing": (lambda s: s.release("gone", "app", {}), None),
}


@pytest.mark.parametrize("read", sorted(READS))
def test_a_read_never_creates_a_sandbox(store, read):
    """A read (or a write that changes nothing) in a dropped sandbox answers a fresh sandbox's
    empty state and leaves it dropped, as one that never existed (a scrape listing sandboxes, then
    reading each, must not bring back one dropped in between)."""
    op, empty = READS[read]
    new(store, "gone", "x", ("all", None))
    store.put("gone", "rules", "r1", {"n": 1})
    store.append("gone", "journal", {"n": 1}, max_entries=10)
    store.reserve("gone", "app", lambda view: (None, {1: 2}))
    assert store.drop("gone") is True
    answer = op(store)
    assert (tuple(answer.records), answer.total) == empty if read.startswith("page") else answer == empty
    assert [info.name for info in store.sandboxes()] == []
    assert store.info("gone") is None


def test_a_write_pinned_to_a_dropped_sandbox_creates_nothing(store):
    """A write given the generation of a sandbox that was reset, then dropped, is stale: it raises
    and does not bring the sandbox back."""
    store.touch("gone")
    generation = store.reset("gone").generation
    store.drop("gone")
    for write in (lambda: store.update_many("gone", [("item", "1")], lambda current: [item("y")], generation=generation),
                  lambda: store.create("gone", "item", lambda record_id, created_us: item("y"), generation=generation),
                  lambda: store.create_missing("gone", [("item", "1", item("y"))], generation=generation),
                  lambda: store.reserve("gone", "app", lambda view: (None, {1: 1}), generation=generation)):
        with pytest.raises(StaleGeneration):
            write()
    assert [info.name for info in store.sandboxes()] == []


def test_a_scrape_never_brings_back_a_sandbox_dropped_while_it_reads(store):
    """The metrics scrape's pattern: list the sandboxes, then read each (its clock as listed, its
    batches by a scan); one dropped between the listing and its reads stays dropped."""
    for name in ("a", "b", "c"):
        new(store, name, "x", ("all", None))
    listed = store.sandboxes()
    store.drop("b")
    seen = {info.name: [record.value.name for record in store.scan(info.name, "all")] for info in listed}
    assert seen == {"a": ["x"], "b": [], "c": ["x"]}
    assert [info.name for info in store.sandboxes()] == ["a", "c"]


def test_max_sandboxes_holds_under_concurrent_creation(make_store):
    """Creation and the count are one step: racing creators (two store objects, as two processes
    on a shared store) never exceed the bound."""
    first = make_store(max_sandboxes=5)
    stores = [first, make_store(max_sandboxes=5)] if not isinstance(first, MemoryStore) else [first, first]
    outcomes: list[str] = []
    start = threading.Barrier(20)

    def create(number: int) -> None:
        start.wait()
        try:
            stores[number % 2].touch(f"s{number}")
            outcomes.append("created")
        except SandboxLimit:
            outcomes.append("refused")
    threads = [threading.Thread(target=create, args=(number,)) for number in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["created"] * 5 + ["refused"] * 15
    assert len(first.sandboxes()) == 5


def test_expire_idle_uses_real_time(store, fake_time):
    store.touch("old")
    fake_time.value += 100
    store.touch("new")
    fake_time.value += 50
    assert store.expire_idle(120) == ["old"]
    assert [box.name for box in store.sandboxes()] == ["new"]
    assert store.expire_idle(120) == []


def test_reset_drops_everything_and_restarts_ids(store):
    first = [new(store, "a", str(n), ("all", None)).id for n in range(3)]
    numbered = new(store, "a", "t", kind="task", ids="sequence").id
    store.reserve("a", "ledger", lambda view: (None, {1: 5}))
    store.append("a", "journal", "x", max_entries=10)
    store.put("a", "rules", "r", 1)
    store.incr("a", "hits")
    store.update_clock("a", lambda state: ClockState(state.offset_us, START_US + 60_000_000))
    before = store.info("a")

    info = store.reset("a")

    assert info.generation == before.generation + 1 and info.version > before.version
    assert info.counts == {} and store.page("a", "all").total == 0
    assert store.ledger("a", "ledger") == {} and store.items("a", "rules") == []
    assert store.read_log("a", "journal").entries == () and store.counter("a", "hits") == 0
    assert store.clock("a").frozen_at_us == START_US + 60_000_000        # the clock keeps its time
    assert [new(store, "a", str(n)).id for n in range(3)] == first        # a fresh sandbox's ids
    assert new(store, "a", "t", kind="task", ids="sequence").id == numbered == "1"


def test_reset_with_rewind_returns_the_clock_to_its_start(store):
    store.update_clock("a", lambda state: ClockState(state.offset_us, START_US + 3_600_000_000))
    assert store.reset("a", rewind_clock=True).clock.frozen_at_us == START_US


def test_stale_generation_changes_nothing(store):
    generation = store.touch("a").generation
    store.reset("a")
    with pytest.raises(StaleGeneration):
        store.create("a", "item", lambda rid, created_us: item("late", ("all", None)), generation=generation)
    with pytest.raises(StaleGeneration):
        store.reserve("a", "ledger", lambda view: (None, {1: 1}), generation=generation)
    assert store.page("a", "all").total == 0 and store.ledger("a", "ledger") == {}


# -- clock -----------------------------------------------------------------------------------------

def test_update_clock_is_compare_and_set_and_may_refuse(store):
    before = store.version("a")
    state = store.update_clock("a", lambda s: ClockState(s.offset_us, s.frozen_at_us + 1_000_000))
    assert state.frozen_at_us == START_US + 1_000_000 and store.version("a") > before

    def refuse(state):
        raise ValueError("no")
    with pytest.raises(ValueError):
        store.update_clock("a", refuse)
    assert store.clock("a") == state


# -- records ---------------------------------------------------------------------------------------

def test_create_assigns_id_seq_time_and_indexes(store):
    record = new(store, "a", "x", ("all", None), ("by_size", 7))
    assert uuid.UUID(record.id).version == 4
    assert record.seq == 1 and record.version == 1 and record.created_us == START_US
    assert record.indexes == (("all", START_US / 1e6), ("by_size", 7.0))
    assert store.get("a", "item", record.id) == record
    assert store.get("a", "item", "nope") is None
    assert store.info("a").counts == {"item": 1}


def test_ids_are_seeded_and_the_same_in_every_fresh_sandbox(make_store, fake_time):
    one = make_store(seed=5, time_source=fake_time)
    two = make_store(seed=5, time_source=fake_time)
    other = make_store(seed=6, time_source=fake_time)
    ids = [new(one, "a", "x").id for _ in range(4)]
    assert ids == [new(two, "b", "x").id for _ in range(4)]
    assert len(set(ids)) == 4
    assert new(other, "a", "x").id != ids[0]


def test_sequence_ids_count_per_kind(store):
    assert [new(store, "a", "t", kind="task", ids="sequence").id for _ in range(3)] == ["1", "2", "3"]
    assert new(store, "a", "j", kind="job", ids="sequence").id == "1"


def test_build_gets_the_allocated_id(store):
    record = store.create("a", "item", lambda rid, created_us: item(f"built-for-{rid}"))
    assert record.value.name == f"built-for-{record.id}"


def test_build_gets_the_creation_instant(make_store, fake_time):
    """``build(id, created_us)``: the instant the record is stamped with, so a value can hold it
    (no patching on read), on a running clock and when the real time steps back."""
    store = make_store(time_source=fake_time)
    made = [store.create("a", "item", lambda rid, created_us: item("x", size=created_us)) for _ in range(2)]
    fake_time.value -= 5               # the real time steps back: the instant stays at the previous one
    made.append(store.create("a", "item", lambda rid, created_us: item("y", size=created_us), ids="sequence"))
    fake_time.value += 60
    made.append(store.create("a", "item", lambda rid, created_us: item("z", size=created_us)))
    for record in made:
        assert record.value.size == record.created_us == store.get("a", "item", record.id).value.size
    assert made[2].created_us == made[1].created_us and made[3].created_us > made[2].created_us


def test_values_round_trip_through_the_codec(store):
    record = store.create("a", "item", lambda rid, created_us: item("x", ("all", None), size=3, blob=b"\x00\x01", tags=("a", 1)))
    again = codec.decode(codec.encode(store.get("a", "item", record.id)))
    assert again == record and isinstance(again.value, Item) and again.value.tags == ("a", 1)


def test_update_is_compare_and_set_with_index_changes(store):
    record = new(store, "a", "x", ("all", None), ("queue", 10))
    updated = store.update("a", "item", record.id, lambda r: NewRecord(Item("y"), (("all", None), ("done", 1))))
    assert updated.version == 2 and updated.value == Item("y") and updated.seq == record.seq
    assert updated.created_us == record.created_us
    assert store.page("a", "queue").total == 0 and store.page("a", "done").total == 1
    assert [r.value.name for r in store.scan("a", "all")] == ["y"]
    assert store.update("a", "item", record.id, lambda r: None) == updated      # no change
    assert store.update("a", "item", "missing", lambda r: NewRecord(Item("z"))) is None

    def refuse(current):
        raise LookupError("refused")
    with pytest.raises(LookupError):
        store.update("a", "item", record.id, refuse)
    assert store.get("a", "item", record.id) == updated


def test_update_many_is_atomic_and_may_create(store):
    record = new(store, "a", "campaign", ("all", None))
    out = store.update_many("a", [("item", record.id), ("lane", "bot-1")],
                            lambda current: (NewRecord(Item("started")), NewRecord(Item("lane", size=5))))
    assert out[0].value.name == "started" and out[1].value == Item("lane", size=5) and out[1].version == 1
    assert store.get("a", "lane", "bot-1") == out[1]


def test_the_records_one_update_many_creates_share_its_creation_instant(make_store):
    """One step, one instant (the Redis script reads the clock once; the memory store read it per
    record: a window of webhook deliveries paid a clock reading each)."""
    ticks = iter(range(10 ** 9))
    store = make_store(time_source=lambda: 1_767_607_200 + next(ticks) / 1000)    # each reading 1 ms later
    names = ("one", "two", "three")
    out = store.update_many("a", [("item", name) for name in names],
                            lambda current: [item(name, ("all", None)) for name in names])
    assert len({record.created_us for record in out}) == 1, [record.created_us for record in out]
    assert [record.seq for record in out] == sorted({record.seq for record in out})
    assert [record.indexes for record in out] == [(("all", out[0].created_us / 1e6),)] * 3
    later = store.update_many("a", [("item", "four")], lambda current: [item("four")])
    assert later[0].created_us > out[0].created_us and later[0].seq > out[-1].seq


def test_create_missing_creates_only_the_missing_records_in_one_step(make_store):
    """The webhook window's write: the records that do not exist are created at one instant, in
    the order given, with their index entries; one that exists is left exactly as it was (None
    in its place); the same items again change nothing (not even the sandbox's version)."""
    ticks = iter(range(10 ** 9))
    store = make_store(time_source=lambda: 1_767_607_200 + next(ticks) / 1000)    # each reading 1 ms later
    old = store.update_many("a", [("item", "two")], lambda current: [item("old", ("all", None), ("other", 7))])[0]
    out = store.create_missing("a", [("item", "one", item("one", ("all", None), ("by-size", 3))),
                                     ("item", "two", item("new two", ("all", None))),
                                     ("lane", "three", item("three", ("all", None)))])
    assert out[1] is None and store.get("a", "item", "two") == old
    made = [out[0], out[2]]
    assert [(r.kind, r.id, r.value.name, r.version) for r in made] == [("item", "one", "one", 1), ("lane", "three", "three", 1)]
    assert made[0].created_us == made[1].created_us > old.created_us and old.seq < made[0].seq < made[1].seq
    assert made[0].indexes == (("all", made[0].created_us / 1e6), ("by-size", 3.0))
    assert [store.get("a", r.kind, r.id) for r in made] == made
    assert [r.value.name for r in store.scan("a", "all", newest_first=False)] == ["old", "one", "three"]
    assert store.page("a", "by-size").total == 1 and store.info("a").counts == {"item": 2, "lane": 1}
    version = store.version("a")
    again = store.create_missing("a", [("item", "one", item("x", ("all", None))), ("item", "two", item("y"))])
    assert again == (None, None) and store.version("a") == version and store.get("a", "item", "one") == made[0]
    with pytest.raises(StaleGeneration):
        store.create_missing("a", [("item", "four", item("four"))], generation=store.info("a").generation + 1)
    assert store.get("a", "item", "four") is None


def test_create_missing_given_one_id_twice_creates_it_once(store):
    """The same record twice in one window: the first is created, the second finds it there
    (None), as if they came in two steps; one record, one index entry, counted once, on every
    store (the Redis script checked every item's existence before creating any: it made both,
    the second over the first, with two index entries and a count of 2)."""
    out = store.create_missing("a", [("item", "twin", item("first", ("all", None), ("by-size", 1))),
                                     ("item", "twin", item("second", ("all", None), ("by-size", 2)))])
    assert out[1] is None and out[0].value.name == "first"
    assert store.get("a", "item", "twin") == out[0]
    assert store.info("a").counts == {"item": 1}
    assert [r.id for r in store.page("a", "all").records] == ["twin"]
    assert (store.page("a", "by-size").total, store.page("a", "by-size", low=2.0).total) == (1, 0)


def test_index_names_may_hold_any_character(store):
    """A record's index entries travel as one JSON argument to the Redis script: quotes, control
    characters, non-ASCII and astral characters in a name (a recipient, a bot id) come back as
    given, on every store."""
    name = 'by-owner:"q\\\x1f\x00ü😀'
    made = store.create_missing("a", [("item", "odd", item("odd", (name, 2.5), ("all", None)))])[0]
    assert made.indexes[0] == (name, 2.5) and store.get("a", "item", "odd") == made
    assert [r.id for r in store.page("a", name).records] == ["odd"]
    again = store.update("a", "item", "odd", lambda current: item("odd", (name, 3.0)))
    assert again.indexes == ((name, 3.0),) and store.page("a", name, low=3.0).total == 1
    assert store.page("a", "all").total == 0


def test_the_empty_name_is_an_index_like_any_other(store):
    made = store.create_missing("a", [("item", "blank", item("blank", ("", 1.0)))])[0]
    assert made.indexes == (("", 1.0),) and [r.id for r in store.page("a", "").records] == ["blank"]
    store.update("a", "item", "blank", lambda current: item("blank", ("", 2.0)))
    assert store.page("a", "", low=2.0).total == 1 and store.info("a").indexes == {}
    assert store.trim("a", "", 0) == 1 and store.get("a", "item", "blank") is None


def test_create_with_another_record_is_one_step(store):
    """``create(..., with_=(key, fn))``: the new record and another one (created if missing, else
    compare-and-set) in one step; ``fn`` sees what ``build`` made and the other's current state."""
    seen = []

    def take_lane(new, lane):
        seen.append(lane)
        end = (lane.value.size if lane is not None else 0) + 10
        return NewRecord(Item(f"{new.value.name}-started", size=end), new.indexes), NewRecord(Item("lane", size=end))

    first = store.create("a", "item", lambda rid, created_us: item(f"c-{rid}", ("all", None)),
                         with_=(("lane", "bot-1"), take_lane))
    assert first.value == Item(f"c-{first.id}-started", size=10) and first.indexes == (("all", START_US / 1e6),)
    lane = store.get("a", "lane", "bot-1")
    assert lane.value == Item("lane", size=10) and lane.version == 1 and seen == [None]
    second = store.create("a", "item", lambda rid, created_us: item("d", ("all", None)),
                          with_=(("lane", "bot-1"), take_lane))
    assert second.value.size == 20 and seen[-1] == lane and second.seq > lane.seq > first.seq
    assert store.get("a", "lane", "bot-1").version == 2 and store.get("a", "lane", "bot-1").value.size == 20
    assert store.get("a", "item", second.id) == second
    assert store.info("a").counts == {"item": 2, "lane": 1}
    # fn may leave the other record alone
    before = store.get("a", "lane", "bot-1")
    third = store.create("a", "item", lambda rid, created_us: item("e"), with_=(("lane", "bot-1"), lambda n, c: (n, None)))
    assert third.value == Item("e") and store.get("a", "lane", "bot-1") == before

    def refuse(new, current):
        raise LookupError("refused")
    with pytest.raises(LookupError):
        store.create("a", "item", lambda rid, created_us: item("f"), with_=(("lane", "bot-1"), refuse))
    assert store.info("a").counts == {"item": 3, "lane": 1}


def test_a_touch_answers_the_entries_of_each_non_empty_index(store):
    """``SandboxInfo.indexes``: what a request's touch tells of each counted index (its name starts
    with ``#``: a settle skips reading an empty queue), kept through creates, updates that move or
    drop entries, trims and resets; an index not counted ("plain") is never in it."""
    assert store.touch("a").indexes == {}
    made = [new(store, "a", str(n), ("#all", None), ("#queue", n), ("plain", n)) for n in range(4)]
    assert store.touch("a").indexes == {"#all": 4, "#queue": 4}
    store.update("a", "item", made[0].id, lambda record: item("0", ("#all", None)))            # leaves the queue
    store.update("a", "item", made[1].id, lambda record: item("1", ("#all", None), ("#queue", 9)))   # moves in it
    store.update_many("a", [("item", made[2].id), ("item", made[3].id)],
                      lambda current: (item("2", ("#all", None)), item("3", ("#all", None), ("#done", None))))
    assert store.touch("a").indexes == {"#all": 4, "#queue": 1, "#done": 1}
    assert store.info("a").indexes == store.touch("a").indexes
    assert store.trim("a", "#all", 1) == 3
    assert store.touch("a").indexes == {"#all": 1, "#done": 1}
    assert store.reset("a").indexes == {} and store.touch("a").indexes == {}


def test_index_sizes_stay_exact_through_many_indexes_coming_and_going(store):
    """Hundreds of indexes (one per key, as deliveries have one per recipient) created, moved,
    emptied and trimmed: every touch and info answers exactly the non-empty ones, and an answer
    given earlier does not change afterwards (the memory store shares copies between reads)."""
    import random
    rng = random.Random(3)
    where: dict[str, str] = {}             # record id -> its "r:KEY" index
    answers = []
    for step in range(600):
        if where and rng.random() < 0.4:
            record_id = rng.choice(sorted(where))
            key = f"#r:{rng.randrange(150)}"
            store.update("a", "item", record_id, lambda record, key=key: item("m", ("#all", None), (key, None), (key[1:], None)))
            where[record_id] = key
        else:
            key = f"#r:{rng.randrange(150)}"
            where[new(store, "a", "n", ("#all", None), (key, None), (key[1:], None)).id] = key
        if step % 150 == 149:
            kept = rng.randrange(len(where))
            assert store.trim("a", "#all", kept) == len(where) - kept
            survivors = {record.id for record in store.scan("a", "#all")}
            where = {record_id: key for record_id, key in where.items() if record_id in survivors}
        expected = {"#all": len(where)} if where else {}
        for key in where.values():
            expected[key] = expected.get(key, 0) + 1
        answer = store.touch("a").indexes if step % 2 else store.info("a").indexes
        assert answer == expected and dict(answer) == expected and len(answer) == len(expected)
        assert all(answer[name] == size for name, size in expected.items()) and "#r:nothing" not in answer
        answers.append((answer, expected))
    assert all(dict(answer) == expected for answer, expected in answers)


def test_trim_removes_the_oldest_records_of_an_index_from_every_index(store):
    made = [new(store, "a", str(n), ("all", None), ("by-name", n), (f"tag:{n % 2}", None)) for n in range(6)]
    other = new(store, "a", "other", ("all", None), kind="thing")
    before = store.version("a")
    assert store.trim("a", "by-name", 4) == 2            # "0" and "1" go, from all three indexes
    assert store.version("a") > before
    assert [r.value.name for r in store.scan("a", "by-name", newest_first=False)] == ["2", "3", "4", "5"]
    assert [r.value.name for r in store.scan("a", "all", newest_first=False)] == ["2", "3", "4", "5", "other"]
    assert store.page("a", "tag:0").total == 2 and store.page("a", "tag:1").total == 2
    assert store.get("a", "item", made[0].id) is None and store.get("a", "item", made[2].id) == made[2]
    assert store.info("a").counts == {"item": 4, "thing": 1}
    quiet = store.version("a")
    assert store.trim("a", "by-name", 4) == 0 and store.trim("a", "missing", 0) == 0
    assert store.version("a") == quiet                    # nothing removed, no change
    assert store.trim("a", "by-name", 0) == 4
    assert store.page("a", "by-name").total == 0 and store.page("a", "tag:1").total == 0
    assert store.get("a", "thing", other.id) == other
    # a trimmed id can be created again (update_many creates missing records)
    again = store.update_many("a", [("item", made[0].id)], lambda current: (item("back", ("by-name", 9)),))[0]
    assert again.version == 1 and store.page("a", "by-name").total == 1


def test_page_ranges_newest_first_with_total(store):
    ids = []
    for n in range(10):
        store.update_clock("a", lambda s: ClockState(s.offset_us, START_US + n * 1_000_000))
        ids.append(new(store, "a", str(n), ("all", None)).id)
    low, high = START_US / 1e6 + 2, START_US / 1e6 + 7
    page = store.page("a", "all", low=low, high=high, offset=1, limit=3)
    assert page.total == 6
    assert [r.value.name for r in page.records] == ["6", "5", "4"]
    oldest = store.page("a", "all", low=low, high=high, limit=2, newest_first=False)
    assert [r.value.name for r in oldest.records] == ["2", "3"]
    assert store.page("a", "all", offset=9, limit=5).records[0].value.name == "0"
    assert store.page("a", "all", offset=10).records == ()
    assert store.page("a", "nothing").total == 0
    assert [r.value.name for r in store.scan("a", "all", high=START_US / 1e6 + 1)] == ["1", "0"]


def test_scored_index_orders_by_score_then_creation(store):
    for name, score in (("c", 30), ("a", 10), ("b", 20), ("a2", 10)):
        new(store, "a", name, ("queue", score))
    assert [r.value.name for r in store.scan("a", "queue", newest_first=False)] == ["a", "a2", "b", "c"]
    assert [r.value.name for r in store.scan("a", "queue", high=15, newest_first=False)] == ["a", "a2"]


def test_scan_is_a_snapshot(store):
    for n in range(3):
        new(store, "a", str(n), ("all", None))
    seen = store.scan("a", "all")
    new(store, "a", "later", ("all", None))
    assert [r.value.name for r in seen] == ["2", "1", "0"]
    seen = store.scan("a", "all")
    next(seen)
    store.reset("a")
    assert list(seen) == []            # a reset's records vanish


def test_creation_time_never_goes_below_the_previous_one(make_store, fake_time):
    store = make_store(time_source=fake_time)
    first = new(store, "a", "x")
    fake_time.value -= 5               # the real time steps back (NTP)
    second = new(store, "a", "y")
    assert second.created_us >= first.created_us and second.seq > first.seq


# -- ledgers, logs, counters, maps -----------------------------------------------------------------

def test_reserve_and_release(store):
    result = store.reserve("a", "app-100", lambda view: (dict(view), {1: 600, 2: 100}))
    assert result == {}
    seen = store.reserve("a", "app-100", lambda view: (dict(view), {1: 400}))
    assert seen == {1: 600, 2: 100}

    def writes(view):
        view[1] = 0                     # the view is read-only
    with pytest.raises(TypeError):
        store.reserve("a", "app-100", writes)
    store.release("a", "app-100", {1: 1000, 2: 50, 3: 9})
    assert store.ledger("a", "app-100") == {2: 50}
    assert store.ledger("a", "other") == {}


def test_log_append_read_retention_and_clear(store):
    numbers = [store.append("a", "journal", {"n": n}, max_entries=3) for n in range(5)]
    assert numbers == [1, 2, 3, 4, 5]
    page = store.read_log("a", "journal")
    assert [value["n"] for _, value in page.entries] == [2, 3, 4]
    assert page.last == 5 and page.dropped == 2
    assert [seq for seq, _ in store.read_log("a", "journal", after=3, limit=1).entries] == [4]
    assert store.read_log("a", "journal", after=5).entries == ()
    store.clear_log("a", "journal")
    assert store.read_log("a", "journal").entries == ()
    assert store.append("a", "journal", "next", max_entries=3) == 6


def test_log_retention_by_encoded_bytes_keeps_the_newest(store):
    entry = {"body": "x" * 1000}
    size = len(codec.encode(entry))
    for _ in range(10):
        store.append("a", "journal", entry, max_entries=100, max_bytes=3 * size + 10)
    page = store.read_log("a", "journal")
    assert [seq for seq, _ in page.entries] == [8, 9, 10]
    assert (page.dropped, page.dropped_for_bytes, page.bytes) == (7, 7, 3 * size)
    store.append("a", "journal", {"n": 1}, max_entries=2, max_bytes=3 * size + 10)   # both bounds at once
    page = store.read_log("a", "journal")
    assert [seq for seq, _ in page.entries] == [10, 11]
    assert (page.dropped, page.dropped_for_bytes, page.bytes) == (9, 7, size + len(codec.encode({"n": 1})))
    store.append("a", "journal", {"big": "y" * 5000}, max_entries=100, max_bytes=100)   # alone over the bound: kept
    page = store.read_log("a", "journal")
    assert [seq for seq, _ in page.entries] == [12] and page.dropped_for_bytes == 9
    store.clear_log("a", "journal")
    page = store.read_log("a", "journal")
    assert (page.dropped, page.dropped_for_bytes, page.bytes) == (0, 0, 0)


def test_log_values_beyond_64_bits_are_kept(store):
    value = {"x": 123456789012345678901234567890, "y": [-(2**64) - 1, 2**63], "z": (2**200,)}
    store.append("a", "journal", value, max_entries=5)
    assert store.read_log("a", "journal").entries[0][1] == value
    store.put("a", "rules", "r", value)
    assert store.get_value("a", "rules", "r") == value


def test_counters_expire_after_their_ttl(store, fake_time):
    assert store.incr("a", "w:1") == 1
    assert store.incr("a", "w:1", 4) == 5
    assert store.incr("a", "w:2", ttl=10) == 1
    fake_time.value += 11
    assert store.counter("a", "w:2") == 0 and store.counter("a", "w:1") == 5
    assert store.incr("a", "w:2", ttl=10) == 1


def test_a_lease_is_held_by_one_owner_until_it_runs_out_or_is_let_go(store, fake_time):
    store.touch("a")
    start = fake_time.value
    assert store.lease("a", "cursor", "A", 30) == Lease("A", start + 30)
    version = store.version("a")
    assert store.lease("a", "cursor", "B", 30) == Lease("A", start + 30)      # A's: B waits
    fake_time.value += 10
    assert store.lease("a", "cursor", "A", 30) == Lease("A", start + 40)      # renewed by its holder
    assert store.lease("a", "other", "B", 30).holder == "B"                   # another key: another lease
    fake_time.value += 30.5                                                   # A died: its time ran out
    assert store.lease("a", "cursor", "B", 30) == Lease("B", fake_time.value + 30)
    assert store.lease("a", "cursor", "A", 30).holder == "B"                  # A came back: B's now
    assert store.lease("a", "cursor", "B", 0) == Lease("B", fake_time.value)  # let go: free at once
    assert store.lease("a", "cursor", "A", 30).holder == "A"
    assert store.version("a") == version                                     # leases wake nothing
    store.reset("a")
    assert store.lease("a", "cursor", "B", 30).holder == "B"                  # a reset drops them


def test_a_lease_never_recreates_a_dropped_sandbox(store):
    """Background work that took a lease and finishes after its sandbox was dropped lets go of it,
    or tries to take it again, without bringing the sandbox back (a dropped test sandbox stays dropped)."""
    store.touch("gone")
    assert store.lease("gone", "cursor", "A", 30).holder == "A"
    store.drop("gone")
    assert store.lease("gone", "cursor", "A", 0).holder == "A"
    assert store.lease("gone", "cursor", "B", 30).holder == ""               # nothing to take there
    assert "gone" not in [info.name for info in store.sandboxes()]


def test_owners_racing_for_a_lease_one_takes_it(make_store):
    store = make_store()
    store.touch("a")
    for key in ("k1", "k2", "k3"):
        gate, taken = threading.Barrier(4), []

        def race(owner: str) -> None:
            gate.wait()
            if store.lease("a", key, owner, 60).holder == owner:
                taken.append(owner)
        threads = [threading.Thread(target=race, args=(f"o{n}",)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(taken) == 1 and store.lease("a", key, "late", 60).holder == taken[0]


def test_maps_put_get_update_delete_in_order(store):
    store.put("a", "rules", "r2", {"times": 2})
    store.put("a", "rules", "r1", {"times": 1})
    assert store.items("a", "rules") == [("r2", {"times": 2}), ("r1", {"times": 1})]
    assert store.update_value("a", "rules", "r2", lambda v: {"times": v["times"] - 1}) == {"times": 1}
    assert store.update_value("a", "rules", "r2", lambda v: None) == {"times": 1}
    assert store.get_value("a", "rules", "r2") == {"times": 1}
    assert store.delete("a", "rules", "r2") is True and store.delete("a", "rules", "r2") is False
    assert store.get_value("a", "rules", "r2") is None


def test_no_mutable_value_is_shared_with_the_store(store):
    rule = {"match": {"path": "/v1/hsm/file"}, "times": 3}
    store.put("a", "rules", "r", rule)
    rule["times"] = 0                                     # the caller's object, changed afterwards
    got = store.get_value("a", "rules", "r")
    got["match"]["path"] = "/changed"                     # a read, changed afterwards
    assert store.get_value("a", "rules", "r") == {"match": {"path": "/v1/hsm/file"}, "times": 3}
    store.items("a", "rules")[0][1]["times"] = 9
    store.update_value("a", "rules", "r", lambda value: value.update(times=1))   # in place, returns None
    assert store.get_value("a", "rules", "r")["times"] == 3
    entry = {"status": 200, "headers": {"a": "b"}}
    store.append("a", "journal", entry, max_entries=5)
    entry["headers"]["a"] = "changed"
    store.read_log("a", "journal").entries[0][1]["headers"]["a"] = "changed again"
    assert store.read_log("a", "journal").entries[0][1] == {"status": 200, "headers": {"a": "b"}}
    assert store.ledger("a", "l") is not store.ledger("a", "l")



def test_no_mutable_record_value_is_shared_with_the_store(store):
    """A record's plain-data value (a webhook delivery record) is the store's own: changing the
    caller's object after create, or a value read back (get, page, scan, what update and
    update_many are given), changes nothing in the store and bumps no version."""
    value = {"status": "pending", "history": [{"attempt": 1}], "meta": {"n": 1}}
    record = store.create("a", "delivery", lambda rid, created_us: NewRecord(value, (("all", None),)))
    value["status"] = "changed"                           # the caller's object, changed afterwards
    value["history"].append({"attempt": 2})
    version = store.version("a")
    got = store.get("a", "delivery", record.id)
    got.value["meta"]["n"] = 9                             # a read, changed afterwards
    got.value["history"].clear()
    store.page("a", "all").records[0].value["status"] = "paged"
    next(store.scan("a", "all")).value["meta"]["n"] = 7

    def in_place(current):
        current.value["status"] = "in place"               # changed, but no replacement returned
        return None
    store.update("a", "delivery", record.id, in_place)
    store.update_many("a", (("delivery", record.id),), lambda current: [in_place(current[0])])
    expected = {"status": "pending", "history": [{"attempt": 1}], "meta": {"n": 1}}
    assert store.get("a", "delivery", record.id).value == expected
    assert store.version("a") == version
    updated = store.update("a", "delivery", record.id, lambda current: NewRecord({**current.value, "status": "done"}))
    updated.value["history"].append({"attempt": 3})        # the value a write returns, changed afterwards
    assert store.get("a", "delivery", record.id).value == {**expected, "status": "done"}

# -- change notification ---------------------------------------------------------------------------

def test_every_change_bumps_the_version(store):
    versions = [store.version("a")]
    new(store, "a", "x")
    versions.append(store.version("a"))
    store.update_clock("a", lambda s: ClockState(s.offset_us, s.frozen_at_us + 1))
    versions.append(store.version("a"))
    store.reserve("a", "l", lambda view: (None, {1: 1}))
    versions.append(store.version("a"))
    store.put("a", "m", "k", 1)
    versions.append(store.version("a"))
    store.reset("a")
    versions.append(store.version("a"))
    assert versions == sorted(set(versions))


def test_logs_and_counters_leave_the_version_alone(store):
    """The request journal is a log: appending to it must not wake what waits on records."""
    version = store.version("a")
    store.append("a", "journal", {"n": 1}, max_entries=1)
    store.append("a", "journal", {"n": 2}, max_entries=1)       # and a drop by retention
    store.clear_log("a", "journal")
    store.incr("a", "c")
    assert store.version("a") == version
    assert store.append("a", "journal", {"n": 3}, max_entries=5) == 3


def test_wait_log_returns_on_an_append_or_a_reset(store):
    store.touch("a")
    answered: list[int] = []

    def waiter(after: int):
        answered.append(store.wait_log("a", "journal", after, timeout=10))

    thread = threading.Thread(target=waiter, args=(0,))
    thread.start()
    time.sleep(0.05)
    store.append("a", "other", 1, max_entries=5)                 # another log: not this one
    store.append("a", "journal", {"n": 1}, max_entries=5)
    thread.join(timeout=10)
    assert not thread.is_alive() and answered == [1]
    thread = threading.Thread(target=waiter, args=(1,))
    thread.start()
    time.sleep(0.05)
    store.reset("a")                                             # the log starts again: look again
    thread.join(timeout=10)
    assert not thread.is_alive() and answered[1] == 0
    began = time.monotonic()
    assert store.wait_log("a", "journal", 0, timeout=0.2) == 0     # times out with the current last
    assert 0.15 <= time.monotonic() - began < 5
    began = time.monotonic()
    assert store.wait_log("a", "nothing", -1, timeout=5) == 0      # already past: at once
    assert time.monotonic() - began < 2
    began = time.monotonic()
    assert store.wait_log("never-made", "journal", -1, timeout=5) == 0   # no sandbox: last is 0
    assert time.monotonic() - began < 2
    assert store.info("never-made") is None                        # and the wait made none


def test_each_map_has_its_own_version_answered_by_touch(store):
    before = store.touch("a")
    assert before.maps.get("rules", 0) == 0
    store.put("a", "rules", "r1", {"n": 1})
    one = store.touch("a").maps["rules"]
    assert one > before.maps.get("rules", 0)
    new(store, "a", "x")                                      # other changes leave the map's version
    store.put("a", "other", "k", 1)
    store.append("a", "journal", 1, max_entries=5)
    assert store.touch("a").maps["rules"] == one
    store.update_value("a", "rules", "r1", lambda value: None)   # no change
    assert store.touch("a").maps["rules"] == one
    store.update_value("a", "rules", "r1", lambda value: {"n": 2})
    two = store.touch("a").maps["rules"]
    assert two > one
    store.delete("a", "rules", "r1")
    assert store.touch("a").maps["rules"] > two
    assert store.info("a").maps == store.touch("a").maps
    reset = store.reset("a")
    after = store.touch("a")             # same (created, generation, version) would mean same content
    assert after.generation == reset.generation > before.generation


def test_change_feed_names_every_changed_sandbox(store):
    store.touch("a")
    store.touch("b")
    feed = store.changes()
    try:
        assert feed.wait(0.05) == set()
        new(store, "a", "x")
        store.put("b", "m", "k", 1)
        store.put("b", "m", "k", 2)
        seen: set[str] = set()
        deadline = time.monotonic() + 10
        while seen != {"a", "b"} and time.monotonic() < deadline:
            seen |= feed.wait(1)
        assert seen == {"a", "b"}
        store.append("a", "journal", 1, max_entries=5)           # logs and counters do not count
        store.incr("a", "c")
        assert feed.wait(0.2) == set()
        answered: list[set[str]] = []
        waiter = threading.Thread(target=lambda: answered.append(feed.wait(10)))
        waiter.start()
        time.sleep(0.05)
        store.drop("b")                                           # a drop is a change too
        waiter.join(timeout=10)
        assert answered == [{"b"}]
    finally:
        feed.close()


def test_a_change_feed_reports_commits_only_of_the_sandboxes_it_watches(store):
    """``watch`` limits the commits of records a feed reports (a shared store then publishes the
    uploads to a sandbox nobody serves to nobody); every other change is reported still."""
    store.touch("a")
    store.touch("b")
    for opened_watching in (True, False):
        feed = store.changes(watch={"a"}) if opened_watching else store.changes()
        try:
            if not opened_watching:
                feed.watch({"a"})
            made = new(store, "b", "x")                               # commits where nobody watches
            store.update("b", "item", made.id, lambda record: item("x2"))
            assert feed.wait(0.3) == set()
            new(store, "a", "y")
            store.put("b", "m", "k", 1)                               # any other change, any sandbox
            seen: set[str] = set()
            deadline = time.monotonic() + 10
            while seen != {"a", "b"} and time.monotonic() < deadline:
                seen |= feed.wait(1)
            assert seen == {"a", "b"}
            feed.watch(None)                                          # every sandbox again
            new(store, "b", "z")
            assert feed.wait(10) == {"b"}
        finally:
            feed.close()


def test_wait_returns_on_change_without_holding_the_store(store):
    after = store.version("a")
    answered = []

    def waiter():
        answered.append(store.wait("a", after, timeout=10))

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.05)
    began = time.monotonic()
    new(store, "a", "x")             # would block if the waiter held the sandbox's lock
    assert time.monotonic() - began < 1
    thread.join(timeout=5)
    assert not thread.is_alive() and answered and answered[0] > after


def test_wait_times_out_with_the_current_version(store):
    version = store.version("a")
    began = time.monotonic()
    assert store.wait("a", version, timeout=0.2) == version
    assert 0.15 <= time.monotonic() - began < 2
    began = time.monotonic()
    assert store.wait("a", version - 1, timeout=5) == version       # already past: at once
    assert time.monotonic() - began < 2


# -- concurrency properties (real threads) ---------------------------------------------------------

def _run(threads: int, work) -> None:
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def run(slot: int) -> None:
        try:
            barrier.wait()
            work(slot)
        except BaseException as exc:   # reported below
            errors.append(exc)

    pool = [threading.Thread(target=run, args=(slot,)) for slot in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in pool)


def test_concurrent_creates_unique_ids_and_creation_order_is_time_order(make_store):
    store = make_store()                # a running real-time clock
    _run(8, lambda slot: [new(store, "a", f"{slot}-{n}", ("all", None)) for n in range(150)])
    records = list(store.scan("a", "all", newest_first=False))
    assert len(records) == 1200 and len({r.id for r in records}) == 1200
    assert [r.seq for r in records] == sorted(r.seq for r in records)
    assert [r.created_us for r in records] == sorted(r.created_us for r in records)
    for record in records[::37]:        # each found by a window holding its own creation instant
        window = store.page("a", "all", low=record.created - 0.001, high=record.created + 0.001, limit=10_000)
        assert record.id in {r.id for r in window.records}
    numbers = []
    _run(8, lambda slot: numbers.extend(new(store, "a", "t", kind="task", ids="sequence").id for _ in range(50)))
    tasks = sorted((store.get("a", "task", n) for n in numbers), key=lambda r: r.seq)
    assert [int(r.id) for r in tasks] == list(range(1, 401))       # sequence ids in creation order


def test_reset_never_half_keeps_a_create(make_store):
    store = make_store()
    stop = threading.Event()
    acknowledged: list[tuple[int, str]] = []     # (generation seen before the create returned, id)

    def writer(slot: int) -> None:
        while not stop.is_set():
            generation = store.touch("a").generation
            try:
                record = store.create("a", "item", lambda rid, created_us: item(rid, ("all", None), ("twin", None)),
                                      generation=generation)
            except StaleGeneration:
                continue
            acknowledged.append((generation, record.id))

    def resetter(slot: int) -> None:
        if slot == 0:
            for _ in range(20):
                time.sleep(0.005)
                store.reset("a")
            stop.set()
        else:
            writer(slot)

    _run(6, resetter)
    final = store.info("a").generation
    kept = {r.id for r in store.scan("a", "all")}
    assert kept == {r.id for r in store.scan("a", "twin")}         # no record with half its entries
    for generation, record_id in acknowledged:
        if generation == final:
            assert record_id in kept                                  # acknowledged after the last reset
    assert len(kept) == store.info("a").counts.get("item", 0)


def test_ledger_never_goes_over_capacity(store):
    capacity, slots = 100, range(5)

    def plan(view):
        for slot in slots:
            if view.get(slot, 0) + 7 <= capacity:
                return slot, {slot: 7}
        return None, {}

    placed = []
    _run(8, lambda slot: placed.extend(store.reserve("a", "app", plan) for _ in range(20)))
    ledger = store.ledger("a", "app")
    assert all(value <= capacity for value in ledger.values())
    assert sum(ledger.values()) == 7 * sum(1 for slot in placed if slot is not None)
    assert sum(1 for slot in placed if slot is not None) == 5 * (capacity // 7)


def test_concurrent_creates_with_another_record_never_pass_its_cap(store):
    """``create(..., with_=...)`` admits against the other record atomically (a messaging tier):
    of 160 concurrent creates, exactly ``cap`` are admitted, with either id style; ``update_many``
    giving units back meanwhile loses none."""
    cap = 50

    def admit(new_record, current):
        used = current.value.size if current is not None else 0
        admitted = used < cap
        return (NewRecord(Item(new_record.value.name, size=int(admitted)), new_record.indexes),
                NewRecord(Item("cap", size=used + admitted)))

    def creates(slot: int) -> None:
        for _ in range(20):
            store.create("a", "item", lambda rid, created_us: item(f"{slot}", ("all", None)),
                         ids="sequence" if slot % 2 else "uuid", with_=(("cap", "app"), admit))
    _run(8, creates)
    admitted = [record for record in store.scan("a", "all") if record.value.size]
    assert len(admitted) == cap and store.get("a", "cap", "app").value.size == cap

    def give_back(current):
        mine, cap_record = current
        return NewRecord(Item(mine.value.name, size=0)), NewRecord(Item("cap", size=cap_record.value.size - 1))

    def both(slot: int) -> None:
        if slot % 2:
            creates(slot)
        else:
            for record in admitted[slot * 6:slot * 6 + 6]:
                store.update_many("a", ((record.kind, record.id), ("cap", "app")), give_back)
    _run(8, both)
    admitted = [record for record in store.scan("a", "all") if record.value.size]
    assert len(admitted) == store.get("a", "cap", "app").value.size <= cap     # the record counts every holder
    _run(8, creates)                                                              # and has room again
    admitted = [record for record in store.scan("a", "all") if record.value.size]
    assert len(admitted) == cap and store.get("a", "cap", "app").value.size == cap


def test_concurrent_updates_lose_nothing(store):
    record = new(store, "a", "counter")
    _run(8, lambda slot: [store.update("a", "item", record.id,
                                       lambda r: NewRecord(Item("counter", size=r.value.size + 1)))
                          for _ in range(100)])
    assert store.get("a", "item", record.id).value.size == 800
    _run(8, lambda slot: [store.update_value("a", "m", "k", lambda v: (v or 0) + 1) for _ in range(100)])
    assert store.get_value("a", "m", "k") == 800
    _run(8, lambda slot: [store.incr("a", "c") for _ in range(100)])
    assert store.counter("a", "c") == 800


def test_a_feed_watching_a_sandbox_reports_its_commits_after_a_drop_and_re_creation(store):
    """A watched sandbox dropped and created again (``DELETE /_mock/sandboxes/NAME``, then reused):
    its commits are reported at once, as before the drop (the Redis store published nothing until
    the feed renewed its watch, up to 30 s later)."""
    store.touch("s1")
    feed = store.changes(watch={"s1"})
    try:
        new(store, "s1", "x")
        assert feed.wait(5) == {"s1"}
        store.drop("s1")
        store.touch("s1")
        feed.wait(0.3)
        feed.watch({"s1"})                    # the dispatcher's next round: the same sandboxes served
        new(store, "s1", "y")
        assert feed.wait(5) == {"s1"}
    finally:
        feed.close()


def test_a_sandbox_summary_stays_small_whatever_its_uncounted_indexes(store, request):
    """One index per recipient (webhook deliveries have them) is not counted: a touch answers only
    the counted indexes, and on Redis the sandbox hash a touch reads (HGETALL) keeps no field per
    recipient index (before: 2,000 recipients left 2,000 fields in it, each request read them all)."""
    store.update_many("a", [("item", str(n)) for n in range(2000)],
                      lambda current: tuple(item(str(n), ("#all", None), (f"r:{n}", None)) for n in range(2000)))
    assert store.touch("a").indexes == {"#all": 2000} and store.info("a").indexes == {"#all": 2000}
    store.update_many("a", [("item", str(n)) for n in range(2000)],
                      lambda current: tuple(item(str(n), (f"r:{n + 1}", None)) for n in range(2000)))
    assert store.touch("a").indexes == {}
    if "redis" in request.node.callspec.id:
        meta = store.redis.hgetall(store.prefix + "s:a")
        assert not [field for field in meta if field.startswith(b"x:")], "no size field per uncounted index"
        assert len(meta) < 40
