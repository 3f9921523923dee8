"""The in-memory store's ordered index (``memory_parts.Index``): bulk removal against one by one."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.store import memory_index
from mock_server.store.memory_parts import Index


@pytest.mark.parametrize("load", [memory_index.LOAD, 4, 16])
def test_remove_many_leaves_what_one_removal_at_a_time_leaves(monkeypatch, load):
    """Entries with equal scores, removals clustered at the front (a trim's) or anywhere, one
    entry, none present: the same keys and references, in the same order, as ``remove`` each;
    with small chunks (split beyond ``2 * load``), chunks losing some, most or all of theirs."""
    monkeypatch.setattr(memory_index, "LOAD", load)
    rng = random.Random(11)
    for case in range(300):
        bulk, single = Index(), Index()
        size = rng.randrange(1, 120)
        entries = [(float(rng.randrange(20)), seq, ("k", f"r{seq}")) for seq in range(size)]
        for entry in entries:
            bulk.add(entry)
            single.add(entry)
        front = case % 2 == 0
        pool = sorted(entries)[:max(1, size // 3)] if front else entries
        doomed = rng.sample(pool, rng.randrange(0, len(pool) + 1))
        doomed.append((99.0, 10_000, ("k", "absent")))             # not in the index: ignored
        rng.shuffle(doomed)
        bulk.remove_many(doomed)
        for entry in doomed:
            single.remove(entry)
        assert (bulk.keys, bulk.refs) == (single.keys, single.refs)
        assert len(bulk.keys) == len(bulk) == size - len(doomed) + 1
        assert bulk.slice(0, len(bulk)) == single.refs and bulk.bounds(None, None) == (0, len(bulk))
        for entry in entries:
            assert (entry in doomed) != (entry[2] in bulk.slice(*bulk.bounds(entry[0], entry[0])))
        assert bulk._maxes == [chunk[-1] for chunk in bulk._chunks] and all(bulk._chunks)   # its layout's invariant
        for entry in rng.sample(entries, len(entries)):    # what is left, then the rest, removed one by one
            bulk.remove(entry)
            single.remove(entry)
            assert (bulk.keys, bulk.refs) == (single.keys, single.refs)
        assert len(bulk) == 0


def test_chunked_index_answers_as_one_sorted_list(monkeypatch):
    """Small chunks (split beyond 8 entries), so every operation crosses chunk boundaries: adds
    in and out of order, removals anywhere (the front of a large index, the webhook pump's
    case), pops from the front, bounds and slices: the same as one sorted list of the entries."""
    monkeypatch.setattr(memory_index, "LOAD", 4)
    rng = random.Random(5)
    for case in range(60):
        index, model, seq = Index(), [], 0
        for step in range(400):
            action = rng.random()
            if action < 0.55 or not model:
                seq += 1
                score = float(rng.randrange(30)) if case % 3 else float(seq)      # in order, or not
                entry = (score, seq, ("k", f"r{seq}"))
                index.add(entry)
                model.append(entry)
                model.sort(key=lambda item: item[:2])
            elif action < 0.85:
                entry = model[rng.randrange(min(len(model), 5))] if rng.random() < 0.5 else rng.choice(model)
                index.remove(entry)
                model.remove(entry)
            elif action < 0.9:
                index.remove((99.5, 0, ("k", "absent")))                 # not there: nothing changes
            else:
                count = rng.randrange(len(model) + 2)
                assert index.pop_front(count) == [entry[2] for entry in model[:count]]
                del model[:count]
            assert len(index) == len(model)
            assert index.refs == [entry[2] for entry in model] and index.keys == [entry[:2] for entry in model]
            low, high = sorted(rng.choice([None, float(rng.randrange(-2, 32))]) or 0.0 for _ in range(2))
            low = None if rng.random() < 0.2 else low
            start, end = index.bounds(low, high)
            inside = [entry[2] for entry in model if (low is None or entry[0] >= low) and entry[0] <= high]
            assert index.slice(start, end) == inside
            a, b = sorted(rng.randrange(len(model) + 3) for _ in range(2))
            assert index.slice(a, b) == [entry[2] for entry in model[a:b]]


def test_a_removal_near_the_front_of_a_large_index_moves_one_chunk():
    """100,000 entries: a removal at the front leaves the other chunks as they were (the same
    list objects), where one flat list moved every entry behind it."""
    index = Index()
    for seq in range(100_000):
        index.add((float(seq), seq, ("k", str(seq))))
    chunks = list(index._chunks)
    index.remove((3.0, 3, ("k", "3")))
    assert index._chunks[0] is chunks[0] and all(a is b for a, b in zip(index._chunks[1:], chunks[1:]))
    assert len(chunks) > 100 and len(index) == 99_999
    assert index.slice(0, 4) == [("k", "0"), ("k", "1"), ("k", "2"), ("k", "4")]


_STEPS = st.lists(st.tuples(st.sampled_from(["add", "remove", "absent", "pop"]), st.integers(0, 60)), max_size=120)
_BOUND = st.one_of(st.none(), st.integers(-1, 7))


@settings(max_examples=300, deadline=None)
@given(steps=_STEPS, load=st.integers(1, 3), ranges=st.lists(st.tuples(_BOUND, _BOUND), max_size=3),
       start=st.integers(0, 40), stop=st.integers(0, 40))
def test_chunked_index_against_a_sorted_list_hypothesis(steps, load, ranges, start, stop):
    """Hypothesis' sequences of adds (equal scores many), removals (anywhere, absent entries: the
    same key with another reference, a key past the end), pops: chunks of 2 to 6 entries, so every
    boundary is crossed; no chunk is ever left empty and each chunk's max is its last entry;
    bounds (open, empty, inverted) and slices answer as one sorted list."""
    saved, memory_index.LOAD = memory_index.LOAD, load       # (no monkeypatch: a function fixture per example)
    try:
        index, model, seq = Index(), [], 0
        for step, n in steps:
            if step == "add":
                seq += 1
                entry = (float(n % 7), seq, ("k", str(seq)))
                index.add(entry)
                model.append(entry)
                model.sort()
            elif step == "remove" and model:
                entry = model[n % len(model)]
                index.remove(entry)
                model.remove(entry)
            elif step == "absent":
                index.remove((float(n % 7), 10 ** 6, ("k", "past")))
                index.remove((float(n % 7), 1, ("k", "another")))
            elif step == "pop":
                assert index.pop_front(n % 13) == [entry[2] for entry in model[:n % 13]]
                del model[:n % 13]
            assert len(index) == len(model) and index.refs == [entry[2] for entry in model]
            assert all(index._chunks) and [chunk[-1] for chunk in index._chunks] == index._maxes
        for low, high in ranges:
            first, end = index.bounds(None if low is None else float(low), None if high is None else float(high))
            assert index.slice(first, end) == [entry[2] for entry in model if (low is None or entry[0] >= low)
                                               and (high is None or entry[0] <= high)]
        assert index.slice(start, stop) == [entry[2] for entry in model[start:stop]]
    finally:
        memory_index.LOAD = saved
