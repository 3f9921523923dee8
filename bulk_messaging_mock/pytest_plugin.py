"""pytest plugin (entry point ``bulk_messaging_mock``): a live mock for your tests.

Installing this package registers the plugin; any project's tests can use its fixtures, also a
project with its own top-level ``harness``, ``mock_server`` or ``loadtests`` package: the plugin
reaches this project's code through ``bulk_messaging_mock.module`` and imports nothing until a
fixture is used (see ``bulk_messaging_mock``).  The clients and their errors are
``from harness.client import ...`` as usual, or, in such a project,
``bulk_messaging_mock.module("harness.client")``.

Each test gets its own *sandbox* (CONTRACT §7) of one shared mock: its own records and its own
clock, created fresh for the test and dropped after it. Tests are therefore independent and run in
parallel (``pytest -n 4`` with pytest-xdist) against one server — started by the plugin for the
session, or a shared one given with ``--mock-url`` (e.g. a CI service container).

Fixtures
- ``mock_server`` (function): the mock as this test sees it.  It has ``base_url`` (the
  sandbox's base URL, ``.../sandboxes/NAME``), ``sandbox`` (its name), ``service_url`` (the
  server's root), ``app`` (the Flask app when the plugin serves it, else None), ``jelou_credentials``
  (clientId, clientSecret), ``indigitall_server_key``, ``indigitall_path_prefix``, and ready
  clients, all bound to the sandbox: ``jelou`` (``JelouClient``), ``indigitall``
  (``IndigitallClient``), ``control`` (``MockControl``: reset, clock, messages).  Credentials are
  read from the mock's settings, so a config with other tenants still works.
- ``mock_reset`` (function): resets the test's sandbox (campaigns, tasks, messages, ledgers; the
  clock keeps its time) and returns ``mock_server``.  A test's sandbox starts empty anyway; use it
  to start over in the middle of a test, or in an autouse fixture of a ``conftest.py``::

      import pytest

      @pytest.fixture(autouse=True)
      def _fresh_mock(mock_reset):
          pass

- ``mock_clock`` (function): the sandbox's clock: ``now()``, ``state()``,
  ``advance("PT1H")``, ``set("2026-01-05T10:00:00Z")``, ``freeze()`` / ``freeze(False)``.
  Every transition due up to the new time has happened when ``advance``/``set`` return.  It comes
  with the test's fresh sandbox, so **a test that asks for it starts from an empty mock** (no
  campaigns, tasks or messages) on a clock at the configured start; with
  ``--mock-shared-sandbox`` nothing is reset for you: add ``mock_reset``.
- ``mock_profile`` (function): set the sandbox's traffic profile for the test: ``mock_profile("realistic")``
  or ``mock_profile({"failures": [{"code": 131026, "share": 0.1}]})`` (returns the resolved profile).
- ``mock_faults`` (function): the sandbox's fault rules (``add``, ``list``, ``get``, ``delete``,
  ``clear``), none before and after the test. ``mock_faults.add({"status": 503}, match={"path": "/v1/hsm/file"}, times=2)``.
- ``mock_journal`` (function): the sandbox's request journal, emptied before the test:
  ``entries(**filters)``, ``assert_attempts(n, method=..., path=...)`` (waits for them),
  ``assert_honoured_retry_after(entries)``.
- ``webhook_receiver`` (function): a :class:`harness.webhooks.WebhookReceiver` on a free port of
  ``MOCK_WEBHOOK_BIND`` (default 127.0.0.1), its ``url`` naming ``MOCK_WEBHOOK_HOST`` (default the
  bind address), stopped after the test. Subscribe its ``url`` (``POST /_mock/webhooks``, or Jelou's
  ``POST /v1/bots/{botId}/events/webhook``), then ``webhook_receiver.wait_for(n)`` /
  ``wait_for(predicate)`` (``wait_quiet()``: until nothing more arrives) and inspect ``events`` (``event``, ``event_id``, ``attempt``,
  ``recipient``, ``data``, ``signature_ok``). ``fail_next(n)`` makes it answer errors; set
  ``secret`` to have signatures checked; ``delay`` to answer slowly.
- ``mock_service`` (session): the server itself (``url``, ``app``, ``settings``: the typed settings model,
  ``settings.as_dict()`` for plain data).
- ``mock_server_config`` (session): the mock's settings; ``--mock-config FILE`` (YAML/JSON), or
  override the fixture in your ``conftest.py``.  Default: the demo tenant, real-time clock.

Options: ``--mock-url URL`` (or the environment variable ``MOCK_BASE_URL``; the flag wins) uses a
running mock instead of starting one (give ``--mock-config`` too if it does not use the demo
tenant); pytest's header says which server the session uses and why.  ``--mock-shared-sandbox``
makes every test use the ``default`` sandbox (the behaviour before sandboxes: state is shared,
reset it yourself).  ``MOCK_WEBHOOK_BIND`` / ``MOCK_WEBHOOK_HOST``: where ``webhook_receiver``
listens and the host its URL names (a mock in a container reaching the runner; docs/ci.md).

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

import hashlib
import ipaddress
import os
import re
import secrets

import pytest
import requests

from . import module


def pytest_addoption(parser):
    group = parser.getgroup("bulk-messaging-mock")
    group.addoption("--mock-config", default=None, help="settings file (YAML/JSON) for the mock_server fixture")
    group.addoption("--mock-url", default=None,
                    help="use the mock running at this URL (shared by parallel workers or CI jobs) instead of starting one")
    group.addoption("--mock-shared-sandbox", action="store_true",
                    help="run every test in the 'default' sandbox instead of one sandbox per test")


BASE_URL_VARIABLE = "MOCK_BASE_URL"
WEBHOOK_BIND_VARIABLE, WEBHOOK_HOST_VARIABLE = "MOCK_WEBHOOK_BIND", "MOCK_WEBHOOK_HOST"


def chosen_server(config, environ=None) -> tuple[str | None, str]:
    """``(url, why)``: the running mock to use (``--mock-url``, else ``MOCK_BASE_URL``) or None
    (start one in this process), and the reason, as pytest's header says it."""
    environ = os.environ if environ is None else environ
    flag = config.getoption("--mock-url")
    if flag:
        ignored = f"; {BASE_URL_VARIABLE} ignored" if environ.get(BASE_URL_VARIABLE, "").strip() else ""
        return flag.strip(), f"--mock-url{ignored}"
    variable = environ.get(BASE_URL_VARIABLE, "").strip()
    if variable:
        return variable, BASE_URL_VARIABLE
    return None, f"neither --mock-url nor {BASE_URL_VARIABLE} is set"


def pytest_report_header(config):
    url, why = chosen_server(config)
    if url is None:
        return f"bulk-messaging-mock: an in-process mock started by the plugin ({why})"
    return f"bulk-messaging-mock: the mock at {url} (from {why})"


def webhook_address(environ=None) -> tuple[str, str]:
    """``(bind, host)`` of the ``webhook_receiver`` fixture: ``MOCK_WEBHOOK_BIND`` (default
    127.0.0.1) and ``MOCK_WEBHOOK_HOST`` (default: the bind address), the host its URL names."""
    environ = os.environ if environ is None else environ
    bind = environ.get(WEBHOOK_BIND_VARIABLE, "").strip() or "127.0.0.1"
    host = environ.get(WEBHOOK_HOST_VARIABLE, "").strip()
    if not host:
        try:
            unspecified = ipaddress.ip_address(bind).is_unspecified
        except ValueError:
            unspecified = False
        if unspecified:
            raise pytest.UsageError(
                f"{WEBHOOK_BIND_VARIABLE}={bind} listens on every address; set {WEBHOOK_HOST_VARIABLE} to the "
                "host name or address the mock reaches this machine by (the receiver's URL names it)")
        host = bind
    return bind, host


@pytest.fixture(scope="session")
def mock_server_config(request):
    """Settings for the session's mock (override this fixture to change them)."""
    path = request.config.getoption("--mock-config")
    return module("mock_server.settings").load_file(path) if path else {}


class MockService:
    """The server: its root ``url``, its ``settings``, and ``app`` when this process serves it."""

    def __init__(self, url: str, settings, app=None) -> None:
        self.url = url.rstrip("/")
        self.settings = settings
        self.app = app


class LiveMock:
    """The running mock as one test sees it: its sandbox's base URL, credentials, and clients."""

    def __init__(self, service: MockService, sandbox: str | None) -> None:
        self.service_url = service.url
        self.app = service.app
        self.sandbox = sandbox or "default"
        self.base_url = service.url + (f"/sandboxes/{sandbox}" if sandbox else "")
        settings = service.settings
        client = settings.jelou.clients[0]
        self.jelou_credentials = (client["client_id"], client["client_secret"])
        self.indigitall_server_key = str(settings.indigitall.server_keys[0]["key"])
        self.indigitall_path_prefix = settings.indigitall.path_prefix
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
def mock_service(request, mock_server_config):
    """The mock server for the session: the one ``--mock-url`` (else ``MOCK_BASE_URL``) names, or
    one started here."""
    url, _ = chosen_server(request.config)
    if url:
        yield MockService(url, module("mock_server.settings").build_settings(mock_server_config))
        return
    with module("harness.server").BackgroundServer(mock_server_config) as server:
        yield MockService(server.base_url, server.app.extensions["mock"].settings, server.app)


@pytest.fixture(scope="session")
def _mock_session_token() -> str:
    """Tells this session's sandboxes from another session's on a shared server."""
    return secrets.token_hex(3)


def sandbox_name(token: str, nodeid: str) -> str:
    """``<token>-<hash>-<readable test name>``, within the 64 characters a sandbox name may have."""
    digest = hashlib.sha1(nodeid.encode()).hexdigest()[:8]
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "-", nodeid.rsplit("::", 1)[-1]).strip("-.")
    return f"{token}-{digest}-{readable}"[:64].rstrip("-.")


@pytest.fixture
def mock_server(request, mock_service, _mock_session_token):
    """The mock for this test: a fresh sandbox of its own (dropped afterwards)."""
    shared = request.config.getoption("--mock-shared-sandbox")
    name = None if shared else sandbox_name(_mock_session_token, request.node.nodeid)
    live = LiveMock(mock_service, name)
    if name is not None:
        live.control.reset(clock=True)         # a name left by an earlier run starts clean too
    try:
        yield live
    finally:
        if name is not None:
            try:
                requests.delete(f"{mock_service.url}/_mock/sandboxes/{name}", timeout=10).close()
            except requests.RequestException:
                pass                            # the server went away: nothing left to drop
        live.close()


@pytest.fixture
def mock_reset(mock_server):
    """Reset the test's sandbox (campaigns, tasks, messages, ledgers; the clock keeps its time)."""
    mock_server.control.reset()
    return mock_server


@pytest.fixture
def mock_clock(mock_server):
    """The sandbox's clock, through the control plane."""
    return mock_server.control.clock


@pytest.fixture
def mock_profile(mock_server):
    """Set the traffic profile of this test's sandbox: ``mock_profile("realistic")`` or
    ``mock_profile({"shares": {"read": 0.6}})``; returns the resolved profile. The sandbox's
    profile before the test is restored after it (a test's own sandbox is dropped anyway)."""
    control = mock_server.control
    before = control.profile()
    yield control.set_profile
    try:
        control.set_profile(before["profile"] if before["name"] == "custom" else before["name"])
    except Exception:                   # the server went away: nothing to restore
        pass


@pytest.fixture
def mock_faults(mock_server):
    """Fault rules of the test's sandbox, none before the test and none left after it."""
    faults = mock_server.control.faults
    faults.clear()
    yield faults
    faults.clear()


@pytest.fixture
def mock_journal(mock_server):
    """The test sandbox's request journal, emptied before the test."""
    journal = mock_server.control.journal
    journal.clear()
    return journal


@pytest.fixture
def webhook_receiver():
    """A webhook receiver collecting the events the mock delivers: it listens on ``MOCK_WEBHOOK_BIND``
    (default 127.0.0.1) and its ``url`` names ``MOCK_WEBHOOK_HOST`` (default: the bind address)."""
    bind, host = webhook_address()
    with module("harness.webhooks").WebhookReceiver(bind, advertise=host) as receiver:
        yield receiver
