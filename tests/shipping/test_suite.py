"""The test suite itself, as ``make test`` runs it (``pytest -n 2 --dist loadfile``; docs/development.md)."""
from __future__ import annotations

from collections import Counter


def test_every_collected_test_has_its_own_node_id(request):
    """xdist schedules tests by node id: of tests sharing one id, one ran and the others were
    dropped without a word (schemathesis' generated tests on pytest 9.2: 36 fuzzed operations).
    Checks every test collected in this run (the whole suite under ``make test``)."""
    items = request.session.items
    assert request.node in items
    shared = {nodeid: count for nodeid, count in Counter(item.nodeid for item in items).items() if count > 1}
    assert not shared, shared
