"""Shared fixtures: an app on a frozen clock and its test client (request helpers: ``tests/support/``).

``tests/`` is on ``sys.path`` (``pythonpath`` in pyproject.toml): tests import their helpers as
``support.jelou``, ``support.indigitall``, ``support.webhooks``, ``support.live_server``.
"""

from __future__ import annotations

import pytest

from mock_server import create_app
from mock_server.wire import AppWire
from support.jelou import START

pytest_plugins = ["support.realredis",   # redis_server / redis_url: a private real redis-server
                  "pytester"]            # the plugin tests run pytest in a temporary project


def pytest_collection_modifyitems(items):
    """Every generated schemathesis test gets its own node id (``test_x[GET /v1/campaigns]``).

    schemathesis 4.32 builds them with no callspec and the function's name as ``originalname``,
    from which pytest 9.2 derives the node id: all 37 operations of ``tests/ui/test_openapi_fuzz.py``
    had one id. ``pytest -n`` (xdist) schedules by node id, so it ran one of them and dropped 36
    without a word (``tests/shipping/test_suite.py`` checks that ids are unique)."""
    for item in items:
        if type(item).__name__ == "SchemathesisFunction" and not item.nodeid.endswith("::" + item.name):
            item._id = item.parent.id.child(item.name)     # what pytest gives any other node


@pytest.fixture(autouse=True)
def checked_answers(monkeypatch):
    """Every app in a test fails (500) when an answer's schema would change the answer its view built."""
    monkeypatch.setattr(AppWire, "check", True)


@pytest.fixture
def app_config():
    """Settings for the ``app`` fixture; override in a module to change them."""
    return {}


@pytest.fixture
def app(app_config):
    config = {"clock": {"start": START, "frozen": True}, **app_config}
    app = create_app(config)
    yield app
    app.extensions["mock"].webhooks.stop()


@pytest.fixture
def client(app):
    return app.test_client()
