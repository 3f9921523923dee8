"""The pytest plugin (entry point ``bulk_messaging_mock``), exercised from throwaway test modules."""
from __future__ import annotations

import textwrap

import pytest

import bulk_messaging_mock.pytest_plugin as plugin
from harness.control import MockControl
from harness.server import BackgroundServer
from mock_server.store import valid_sandbox_name


STRICT_INI = "[pytest]\nfilterwarnings =\n    error\n"

CLIENTS_MODULE = '''
from bulk_messaging_mock import ValidationError, module
import pytest

INDIGITALL_TEXT_LAYOUT, SEED_TEXT_CSV = module("harness.presets").INDIGITALL_TEXT_LAYOUT, module("harness.presets").SEED_TEXT_CSV

CSV = b"phone_number,order_id,amount,date\\n593987654321,A1,$5,May 1\\n99901000001,A2,$6,May 2\\n"
PARAMS = [{"param": 1, "column": "order_id"}, {"param": 2, "column": "amount"}, {"param": 3, "column": "date"}]


def send(mock_server):
    return mock_server.jelou.send_file(CSV, campaign_name="t", element_name="order_confirmation",
                                       bot_id="demo-bot", params=PARAMS)


def test_first_sees_only_its_campaign(mock_server, mock_reset, mock_clock):
    mock_clock.freeze()
    result = send(mock_server)
    mock_clock.advance("PT10M")
    assert mock_server.jelou.get_campaign(result.campaign_id)["status"] == "COMPLETED"
    sent = mock_server.control.messages(provider="jelou")
    assert sent["total"] == 2 and {m["status"] for m in sent["messages"]} >= {"FAILED"}


def test_second_starts_clean(mock_server, mock_reset, mock_clock):
    assert mock_server.control.messages()["total"] == 0
    assert mock_clock.state()["frozen"] is False    # its own sandbox: the first test's freeze is not here
    mock_clock.freeze()
    task = mock_server.indigitall.send_csv(100, SEED_TEXT_CSV, INDIGITALL_TEXT_LAYOUT)
    assert task["taskId"] == 1                      # ids restart after a reset
    before = mock_clock.now()
    mock_clock.advance("PT1M")
    assert mock_clock.now() > before and mock_clock.state()["frozen"] is True
    assert mock_server.indigitall.get_task(100, 1)["status"] == "finished"


def test_errors_are_typed(mock_server, mock_reset):
    with pytest.raises(ValidationError) as caught:
        mock_server.jelou.send_file(b"phone_number\\n+1\\n", campaign_name="t", element_name="welcome_message",
                                    bot_id="demo-bot", params=[])
    assert caught.value.fields["file"][0]["line"] == 2


def test_credentials_and_urls(mock_server):
    assert mock_server.base_url.startswith("http://127.0.0.1:")
    assert mock_server.jelou_credentials == ("demo-client-id", "demo-client-secret")
    assert mock_server.indigitall_server_key == "demo-server-key"
    assert mock_server.control.health() == {"status": "ok"}
'''


def example_module() -> str:
    """The example module of the plugin's docstring, as a user would copy it."""
    doc = plugin.__doc__
    block = doc.split("A test module in another project (the whole file)::\n", 1)[1]
    lines = []
    for line in block.splitlines()[1:]:
        if line and not line.startswith("    "):
            break
        lines.append(line)
    return textwrap.dedent("\n".join(lines)).strip() + "\n"


def test_the_plugin_is_registered_through_its_entry_point(request):
    assert request.config.pluginmanager.hasplugin("bulk_messaging_mock")
    assert request.config.pluginmanager.get_plugin("bulk_messaging_mock") is plugin


def test_the_docstring_example_is_about_ten_lines_and_passes(pytester):
    source = example_module()
    assert len(source.splitlines()) <= 10
    pytester.makeini(STRICT_INI)
    pytester.makepyfile(test_example=source)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_fixtures_clients_reset_and_clock(pytester):
    pytester.makeini(STRICT_INI)
    pytester.makepyfile(test_clients=CLIENTS_MODULE)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=4)


def test_mock_config_option_and_the_autouse_recipe(pytester):
    pytester.makeini(STRICT_INI)
    pytester.makefile(".yaml", mock=textwrap.dedent("""
        jelou:
          clients:
            - {client_id: my-id, client_secret: my-secret, company_id: 1}
        indigitall:
          path_prefix: /custom
    """))
    pytester.makeconftest(textwrap.dedent("""
        import pytest

        @pytest.fixture(autouse=True)
        def _fresh_mock(mock_reset):
            pass
    """))
    pytester.makepyfile(test_config=textwrap.dedent("""
        from harness.presets import INDIGITALL_TEXT_LAYOUT, SEED_TEXT_CSV

        def test_a(mock_server):
            assert mock_server.jelou_credentials == ("my-id", "my-secret")
            assert mock_server.indigitall.send_csv(100, SEED_TEXT_CSV, INDIGITALL_TEXT_LAYOUT)["taskId"] == 1

        def test_b(mock_server):          # reset by the autouse fixture: ids start again
            assert mock_server.indigitall.send_csv(100, SEED_TEXT_CSV, INDIGITALL_TEXT_LAYOUT)["taskId"] == 1
    """))
    pytester.runpytest("-p", "no:cacheprovider", "--mock-config", "mock.yaml").assert_outcomes(passed=2)


def test_overriding_mock_server_config_in_a_conftest(pytester):
    pytester.makeini(STRICT_INI)
    pytester.makeconftest(textwrap.dedent("""
        import pytest

        @pytest.fixture(scope="session")
        def mock_server_config():
            return {"clock": {"start": "2030-01-01T00:00:00Z", "frozen": True}}
    """))
    pytester.makepyfile(test_clock="def test_clock(mock_clock):\n    assert mock_clock.now().startswith('2030-01-01T00:00:00')\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.slow
def test_a_separate_process_gets_the_plugin_from_the_installed_package(pytester):
    pytester.makeini(STRICT_INI)
    pytester.makepyfile(test_example=example_module(), test_clients=CLIENTS_MODULE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)
    fixtures = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--fixtures")
    fixtures.stdout.fnmatch_lines(["*fixtures defined from bulk_messaging_mock.pytest_plugin*"])
    for line in ("mock_service [[]session scope[]] -- *", "mock_server -- *", "mock_reset -- *", "mock_clock -- *",
                 "webhook_receiver -- *", "mock_server_config [[]session scope[]] -- *"):   # pytest's listing order is its own
        fixtures.stdout.fnmatch_lines([line])


PARALLEL_MODULE = '''
import time

import pytest

CSV = b"phone_number,order_id,amount,date\\n593987654321,A1,$5,May 1\\n"
PARAMS = [{"param": 1, "column": "order_id"}, {"param": 2, "column": "amount"}, {"param": 3, "column": "date"}]


@pytest.mark.parametrize("hours", range(1, 9))
def test_each_test_has_its_own_clock_and_records(mock_server, mock_clock, hours):
    assert mock_clock.now() == "2026-01-05T10:00:00.000Z"          # a fresh sandbox, whatever ran before
    assert mock_server.control.messages()["total"] == 0
    result = mock_server.jelou.send_file(CSV, campaign_name=f"h{hours}", element_name="order_confirmation",
                                         bot_id="demo-bot", params=PARAMS)
    for _ in range(hours):
        mock_clock.advance("PT1H")
        time.sleep(0.05)                                           # overlap with the other workers
    assert mock_clock.now() == f"2026-01-05T{10 + hours:02d}:00:00.000Z"
    sent = mock_server.control.messages()
    assert sent["total"] == 1 and sent["messages"][0]["campaign"] == result.campaign_id
    campaigns = mock_server.jelou.list_campaigns("demo-bot", "2026-01-01", "2026-12-31")
    assert [item["name"] for item in campaigns["results"]] == [f"h{hours}"]
'''


@pytest.mark.slow
def test_pytest_n_4_against_one_shared_server(pytester):
    """Eight tests on four xdist workers share one server, each with its own sandbox and clock."""
    pytester.makeini(STRICT_INI)
    pytester.makepyfile(test_parallel=PARALLEL_MODULE)
    with BackgroundServer({"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True}}) as server:
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "4", "--mock-url", server.base_url)
        result.assert_outcomes(passed=8)
        result.stdout.fnmatch_lines(["*4 workers*"])
        with MockControl(server.base_url) as control:
            assert control.sandboxes() == []                       # each test dropped its sandbox
        state = server.app.extensions["mock"]
        assert state.clock.now().isoformat() == "2026-01-05T10:00:00+00:00"   # nobody moved the default clock


def test_sandbox_names_are_valid_and_distinct():
    names = {plugin.sandbox_name("a1b2c3", f"tests/test_x.py::test_{'y' * 80}[{n}]") for n in range(50)}
    assert len(names) == 50
    assert all(valid_sandbox_name(name) for name in names)
    assert plugin.sandbox_name("a1b2c3", "t.py::test_z[a b/c]").startswith("a1b2c3-")
