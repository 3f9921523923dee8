"""The in-memory store's ordered index (``memory_parts.Index``): bulk removal against one by one."""

from __future__ import annotations

import random

from mock_server.store.memory_parts import Index


def test_remove_many_leaves_what_one_removal_at_a_time_leaves():
    """Entries with equal scores, removals clustered at the front (a trim's) or anywhere, one
    entry, none present: the same keys and references, in the same order, as ``remove`` each."""
    rng = random.Random(11)
    for case in range(300):
        bulk, single = Index(), Index()
        size = rng.randrange(1, 120)
        entries = [((float(rng.randrange(20)), seq), ("k", f"r{seq}")) for seq in range(size)]
        for key, ref in entries:
            bulk.add(key, ref)
            single.add(key, ref)
        front = case % 2 == 0
        pool = sorted(entries)[:max(1, size // 3)] if front else entries
        doomed = rng.sample(pool, rng.randrange(0, len(pool) + 1))
        doomed.append(((99.0, 10_000), ("k", "absent")))           # not in the index: ignored
        rng.shuffle(doomed)
        bulk.remove_many(doomed)
        for key, ref in doomed:
            single.remove(key, ref)
        assert (bulk.keys, bulk.refs) == (single.keys, single.refs)
        assert len(bulk.keys) == size - len(doomed) + 1
