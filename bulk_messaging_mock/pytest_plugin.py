"""pytest plugin (entry point ``bulk_messaging_mock``): a live mock for your tests.

Installing this package registers the plugin; any project's tests can use its fixtures, also a
project with its own top-level ``harness``, ``mock_server`` or ``loadtests`` package: the plugin
reaches this project's code through ``bulk_messaging_mock.module`` and imports nothing until a
fixture is used (see ``bulk_messaging_mock``).  The clients and their errors are
``from harness.client import ...`` as usual, or, in such a project,
``bulk_messaging_mock.module("harness.client")``.

Fixtures
- ``mock_server`` (session): the mock served on a free port in a background thread.  It has
  ``base_url``, ``app`` (the Flask app, for direct access to its state), ``jelou_credentials``
  (clientId, clientSecret), ``indigitall_server_key``, ``indigitall_path_prefix``, and ready
  clients: ``jelou`` (``JelouClient``), ``indigitall`` (``IndigitallClient``), ``control``
  (``MockControl``: reset, clock, messages).  Credentials are read from the mock's settings, so
  a config with other tenants still works.
- ``mock_reset`` (function): resets the mock before the test (campaigns, tasks, messages, slot
  ledgers; the clock keeps its time) and returns ``mock_server``.  It is explicit on purpose;
  to reset before every test of a directory, put this in its ``conftest.py``::

      import pytest

      @pytest.fixture(autouse=True)
      def _fresh_mock(mock_reset):
          pass

- ``mock_clock`` (function): **resets the mock like** ``mock_reset`` (it is built on it), then
  gives the mock's clock: ``now()``, ``state()``, ``advance("PT1H")``,
  ``set("2026-01-05T10:00:00Z")``, ``freeze()`` / ``freeze(False)``.
  Every transition due up to the new time has happened when ``advance``/``set`` return.
- ``mock_server_config`` (session): the mock's settings; ``--mock-config FILE`` (YAML/JSON), or
  override the fixture in your ``conftest.py``.  Default: the demo tenant, real-time clock.

A test module in another project (the whole file)::

    import requests

    def test_my_client_sends_a_bulk_campaign(mock_server, mock_clock):
        answer = requests.post(f"{mock_server.base_url}/v1/hsm/file", auth=mock_server.jelou_credentials,
                               files={"file": ("r.csv", b"phone_number\\n593987654321\\n")},
                               data={"campaignName": "t", "elementName": "welcome_message", "botId": "demo-bot", "params": "[]"})
        assert answer.status_code == 200, answer.text
        mock_clock.advance("PT1M")
        sent = mock_server.control.messages(campaign=answer.headers["X-Mock-Campaign-Id"])
        assert [m["recipient"] for m in sent["messages"]] == ["593987654321"]

(replace ``requests.post`` with your own client, pointed at ``mock_server.base_url``).
"""

from __future__ import annotations

import pytest

from . import module


def pytest_addoption(parser):
    group = parser.getgroup("bulk-messaging-mock")
    group.addoption("--mock-config", default=None, help="settings file (YAML/JSON) for the mock_server fixture")


@pytest.fixture(scope="session")
def mock_server_config(request):
    """Settings for the session's mock (override this fixture to change them)."""
    path = request.config.getoption("--mock-config")
    return module("mock_server.settings").load_file(path) if path else {}


class LiveMock:
    """The running mock: where it is, its credentials, and clients for it."""

    def __init__(self, server) -> None:
        self.server = server
        self.app = server.app
        self.base_url = server.base_url
        settings = self.app.extensions["mock"].settings
        client = settings["jelou"]["clients"][0]
        self.jelou_credentials = (client["client_id"], client["client_secret"])
        self.indigitall_server_key = str(settings["indigitall"]["server_keys"][0]["key"])
        self.indigitall_path_prefix = settings["indigitall"]["path_prefix"]
        clients = module("harness.client")
        self.control = clients.MockControl(self.base_url)
        self.jelou = clients.JelouClient(self.base_url, *self.jelou_credentials)
        self.indigitall = clients.IndigitallClient(self.base_url, self.indigitall_server_key,
                                                   path_prefix=self.indigitall_path_prefix)

    def close(self) -> None:
        for client in (self.control, self.jelou, self.indigitall):
            client.close()

    def __repr__(self) -> str:
        return f"<LiveMock {self.base_url}>"


@pytest.fixture(scope="session")
def mock_server(mock_server_config):
    """The mock, served for the whole session."""
    with module("harness.server").BackgroundServer(mock_server_config) as server:
        live = LiveMock(server)
        try:
            yield live
        finally:
            live.close()


@pytest.fixture
def mock_reset(mock_server):
    """Reset the mock's state before the test (campaigns, tasks, messages, ledgers)."""
    mock_server.control.reset()
    return mock_server


@pytest.fixture
def mock_clock(mock_reset):
    """The mock's clock, through the control plane."""
    return mock_reset.control.clock
