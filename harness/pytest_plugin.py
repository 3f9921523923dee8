"""pytest plugin (entry point ``bulk_messaging_mock``): a live mock for your tests.

Fixtures:
- ``mock_server`` (session): the mock served on a free port in a background thread; has
  ``base_url``, ``app``, ``jelou_credentials``, ``indigitall_server_key`` and ``control``.
- ``mock_reset`` (function, used by the others): resets the mock before each test, so tests
  never see each other's campaigns or tasks.
- ``mock_clock`` (function): move the mock's clock (``advance("PT1H")``, ``set(iso)``, ``now()``).

Configure it with ``--mock-config FILE`` (YAML/JSON settings) or by overriding the
``mock_server_config`` fixture in your ``conftest.py``.
"""

from __future__ import annotations

import pytest

from mock_server.settings import load_file

from .control import MockControl
from .server import BackgroundServer


def pytest_addoption(parser):
    group = parser.getgroup("bulk-messaging-mock")
    group.addoption("--mock-config", default=None, help="settings file (YAML/JSON) for the mock_server fixture")


@pytest.fixture(scope="session")
def mock_server_config(request):
    """Settings for the session's mock (override this fixture to change them)."""
    path = request.config.getoption("--mock-config")
    return load_file(path) if path else {}


class LiveMock:
    def __init__(self, server: BackgroundServer) -> None:
        self.server = server
        self.app = server.app
        self.base_url = server.base_url
        settings = self.app.extensions["mock"].settings
        client = settings["jelou"]["clients"][0]
        self.jelou_credentials = (client["client_id"], client["client_secret"])
        self.indigitall_server_key = settings["indigitall"]["server_keys"][0]["key"]
        self.control = MockControl(self.base_url)


@pytest.fixture(scope="session")
def mock_server(mock_server_config):
    """The mock, served for the whole session."""
    with BackgroundServer(mock_server_config) as server:
        yield LiveMock(server)


@pytest.fixture
def mock_reset(mock_server):
    """Reset the mock's state before the test (campaigns, tasks, messages, ledgers)."""
    mock_server.control.reset()
    return mock_server


@pytest.fixture
def mock_clock(mock_reset):
    """The mock's clock, through the control plane."""
    return mock_reset.control.clock
