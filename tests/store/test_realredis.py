"""The private redis-server fixture itself: started, emptied per test, restartable, and a missing
binary is a skip locally but a failure under CI=true."""

from __future__ import annotations

import pytest
import redis

from support.realredis import REDIS_MISSING, missing_binary


def test_server_answers_and_is_private(redis_server, redis_url):
    client = redis.Redis.from_url(redis_url)
    assert client.ping()
    assert client.config_get("save")["save"] == ""          # no persistence
    assert client.config_get("appendonly")["appendonly"] == "no"
    assert client.connection_pool.connection_kwargs["port"] == redis_server.port
    client.set("left-over", "1")


def test_each_test_starts_empty(redis_url):
    assert redis.Redis.from_url(redis_url).dbsize() == 0


def test_stop_then_start_again(redis_server, redis_url):
    redis_server.stop()
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(redis_url, socket_connect_timeout=0.5).ping()
    redis_server.start()
    assert redis.Redis.from_url(redis_url).ping()


def test_missing_binary_skips_locally(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install redis-server"):
        missing_binary(*REDIS_MISSING)


def test_missing_binary_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        missing_binary(*REDIS_MISSING)
