"""Collection rule of tests/ui/."""

from __future__ import annotations

import pytest

FUZZ = "tests/ui/test_openapi_fuzz.py::"


@pytest.hookimpl(trylast=True)          # after -k / -m have deselected what they deselect
def pytest_collection_modifyitems(config, items):
    """``test_at_least_a_thousand_cases_over_every_operation`` counts the cases the fuzz test of its
    module sent: a run that selects it without the fuzz test (``-k``, a node id) deselects it too,
    so it never runs with nothing to count (nor skips)."""
    if any(item.nodeid.startswith(FUZZ + "test_every_answer_matches_the_spec") for item in items):
        return
    dropped = [item for item in items if item.nodeid == FUZZ + "test_at_least_a_thousand_cases_over_every_operation"]
    if dropped:
        items[:] = [item for item in items if item not in dropped]
        config.hook.pytest_deselected(items=dropped)
