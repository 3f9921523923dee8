"""A private, real ``redis-server`` for the tests (pytest plugin, loaded by ``conftest.py``).

Fixtures (the server itself is ``loadtests.redisserver.RedisServer``: free port, temporary
directory, no persistence):

- ``redis_server`` (session): one server for the whole run;
- ``redis_url``: ``redis://127.0.0.1:PORT/0`` on that server, flushed before the test.

With no ``redis-server`` on PATH the tests that use them are skipped with the install command as
the reason — except under ``CI=true``, where a missing binary is a failure (CI must run them).
"""

from __future__ import annotations

import os

import pytest

from loadtests.redisserver import RedisServer, find_binary

REDIS_MISSING = ("redis-server is not on PATH", "apt-get install redis-server")   # missing_binary(*REDIS_MISSING)


def missing_binary(what: str, install: str) -> None:
    """Skip the test (locally) or fail it (``CI=true``) because ``what`` is missing; ``install``
    says how to get it (the command, or what the machine must be)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what}; install hint: {install} (CI=true: the test must run, not be skipped)", pytrace=False)
    pytest.skip(f"{what}; install hint: {install}")


def start_redis() -> RedisServer:
    """A started private server, or skip/fail (see the module docstring) when there is none."""
    binary = find_binary()
    if binary is None:
        missing_binary(*REDIS_MISSING)
    return RedisServer(binary).start()


@pytest.fixture(scope="session")
def redis_server():
    server = start_redis()
    yield server
    server.close()


@pytest.fixture
def redis_url(redis_server):
    """The URL of database 0 of the session's server, emptied before the test."""
    if redis_server.process is None:      # a test stopped it to emulate an outage
        redis_server.start()
    import redis

    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server.url
