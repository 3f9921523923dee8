"""Unit tests for ``mock_server.store.Store`` (buckets, seeded ids, sequences, reset, threads)."""

from __future__ import annotations

import threading
import uuid

from mock_server.store.legacy import Store


def test_bucket_created_empty_and_shared_by_name():
    store = Store()
    campaigns = store.bucket("campaigns")
    assert campaigns == {}
    campaigns["c1"] = {"id": "c1"}
    assert store.bucket("campaigns") is campaigns
    assert store.bucket("campaigns") == {"c1": {"id": "c1"}}
    assert store.bucket("tasks") == {}
    assert store.bucket("tasks") is not campaigns


def test_bucket_keeps_insertion_order():
    store = Store()
    bucket = store.bucket("b")
    for key in ("z", "a", "m"):
        bucket[key] = key
    assert list(store.bucket("b")) == ["z", "a", "m"]


def test_new_uuid_is_uuid4_shaped_and_seeded():
    first, second = Store(seed=5), Store(seed=5)
    ids = [first.new_uuid() for _ in range(5)]
    assert ids == [second.new_uuid() for _ in range(5)]
    assert len(set(ids)) == 5
    for value in ids:
        parsed = uuid.UUID(value)
        assert parsed.version == 4
        assert str(parsed) == value
        assert len(value) == 36 and value[14] == "4"


def test_different_seeds_give_different_ids():
    assert Store(seed=1).new_uuid() != Store(seed=2).new_uuid()


def test_next_number_sequences_are_independent():
    store = Store()
    assert [store.next_number("campaign") for _ in range(3)] == [1, 2, 3]
    assert store.next_number("task") == 1
    assert store.next_number("campaign") == 4


def test_next_number_custom_start():
    store = Store()
    assert store.next_number("app", start=100) == 100
    assert store.next_number("app", start=100) == 101
    assert store.next_number("app") == 102      # start only matters for the first number


def test_reset_clears_buckets_and_restarts_sequences_and_ids():
    store = Store(seed=9)
    bucket = store.bucket("campaigns")
    bucket["a"] = 1
    store.bucket("tasks")["t"] = 2
    ids_before = [store.new_uuid() for _ in range(3)]
    store.next_number("campaign")
    store.next_number("campaign")

    store.reset()

    assert store.bucket("campaigns") == {}
    assert store.bucket("tasks") == {}
    assert bucket == {}                                  # the same dict, emptied
    assert store.bucket("campaigns") is bucket
    assert [store.new_uuid() for _ in range(3)] == ids_before
    assert store.next_number("campaign") == 1


def test_reset_ids_match_a_fresh_store():
    store = Store(seed=3)
    for _ in range(10):
        store.new_uuid()
    store.reset()
    assert store.new_uuid() == Store(seed=3).new_uuid()


def test_notify_and_reset_wake_waiters():
    store = Store()
    woke = threading.Event()
    ready = threading.Event()

    def waiter():
        with store.changed:
            ready.set()
            store.changed.wait(timeout=5)
            woke.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    assert ready.wait(timeout=5)
    with store.lock:        # the waiter holds the lock until it waits, so this runs once it waits
        pass
    store.notify()
    thread.join(timeout=5)
    assert woke.is_set()
    assert not thread.is_alive()


def test_lock_is_reentrant():
    store = Store()
    with store.lock:
        with store.lock:
            assert store.next_number("x") == 1
            assert store.bucket("b") == {}


def test_next_number_thread_safety():
    store = Store()
    threads_count, per_thread = 8, 500
    results: list[list[int]] = [[] for _ in range(threads_count)]
    barrier = threading.Barrier(threads_count)

    def work(slot: int) -> None:
        barrier.wait()
        for _ in range(per_thread):
            results[slot].append(store.next_number("seq"))

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    numbers = [number for chunk in results for number in chunk]
    assert len(numbers) == threads_count * per_thread
    assert sorted(numbers) == list(range(1, threads_count * per_thread + 1))
    for chunk in results:
        assert chunk == sorted(chunk)       # each thread sees its own numbers increasing


def test_new_uuid_thread_safety():
    store = Store()
    results: list[list[str]] = [[] for _ in range(4)]

    def work(slot: int) -> None:
        for _ in range(300):
            results[slot].append(store.new_uuid())

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    everything = [value for chunk in results for value in chunk]
    assert len(set(everything)) == 1200
    reference = Store()
    assert set(everything) == {reference.new_uuid() for _ in range(1200)}
