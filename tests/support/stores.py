"""Every store implementation as pytest fixtures (the contract suite and other store tests run on
each): ``make_store`` (parametrised: memory, redis), ``store`` (frozen clock at ``START_US``,
``fake_time`` as its real-time source).

To add an implementation, add a factory to ``IMPLEMENTATIONS``: it takes the keyword arguments
of ``MemoryStore`` (``seed``, ``clock_start_us``, ``clock_frozen``, ``time_source``) plus pytest's
``request`` (to skip or fail when a server it needs is missing) and returns a fresh, empty store.
"""

from __future__ import annotations

import pytest

from mock_server.store import MemoryStore, Store

START_US = 1_767_607_200_000_000          # 2026-01-05T10:00:00Z


def memory_store(request, **kwargs) -> Store:
    return MemoryStore(**kwargs)


def redis_store(request, **kwargs) -> Store:
    """A RedisStore on the session's private redis-server (``support/realredis.py``), emptied."""
    from mock_server.store.redis import RedisStore

    store = RedisStore(request.getfixturevalue("redis_url"), **kwargs)
    request.addfinalizer(store.close)
    return store


IMPLEMENTATIONS = {"memory": memory_store, "redis": redis_store}


class FakeTime:
    """A real-time source the test moves by hand."""

    def __init__(self, value: float = 1_700_000_000.0) -> None:
        self.value = value

    def __call__(self) -> float:
        return self.value


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def make_store(request):
    factory = IMPLEMENTATIONS[request.param]

    def make(**kwargs) -> Store:
        kwargs.setdefault("seed", 0)
        return factory(request, **kwargs)
    return make


@pytest.fixture
def fake_time():
    return FakeTime()


@pytest.fixture
def store(make_store, fake_time):
    return make_store(clock_start_us=START_US, clock_frozen=True, time_source=fake_time)
