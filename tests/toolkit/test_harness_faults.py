"""The harness's fault and journal helpers, and the retrying-client example of docs/failure-testing.md run as a user would."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

from harness.control import ControlError, MockControl
from harness.server import BackgroundServer


PAGE = Path(__file__).resolve().parents[2] / "docs" / "failure-testing.md"
STRICT_INI = "[pytest]\nfilterwarnings =\n    error\n"


def readme_example() -> str:
    section = PAGE.read_text(encoding="utf-8").split("## A retrying client, end to end", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_the_readme_retrying_client_example_passes(pytester):
    pytester.makeini(STRICT_INI)
    pytester.makepyfile(test_retrying=readme_example())
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_fixtures_clear_rules_and_journal(pytester):
    pytester.makeini(STRICT_INI)
    pytester.makepyfile(test_fixtures='''
import requests

def test_first(mock_server, mock_faults, mock_journal):
    rule = mock_faults.add({"status": 502}, match={"provider": "jelou", "method": "GET"}, times=1)
    url = f"{mock_server.base_url}/v1/campaigns/x"
    assert requests.get(url, auth=mock_server.jelou_credentials).status_code == 502
    assert requests.get(url, auth=mock_server.jelou_credentials).status_code == 404
    assert mock_faults.get(rule["id"])["fired"] == 1
    assert [e["response"]["status"] for e in mock_journal.assert_attempts(2, path="/v1/campaigns/*")] == [502, 404]

def test_second_starts_clean(mock_server, mock_faults, mock_journal):
    assert mock_faults.list() == [] and mock_journal.entries() == []
''')
    pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly").assert_outcomes(passed=2)


def test_client_methods_and_failed_assertions():
    with BackgroundServer({"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True}}) as server, \
            MockControl(server.base_url) as control:
        first = control.faults.add({"status": 503}, match={"path": "/v1/campaigns/a"}, after=1, probability=1.0,
                                   expires_after="PT1M")
        second = control.faults.add({"latency": "PT0S"})
        assert (first["after"], first["expiresAfter"]) == (1, "PT1M")
        assert [rule["id"] for rule in control.faults.list()] == [first["id"], second["id"]]
        control.faults.delete(second["id"])
        with pytest.raises(ControlError) as missing:
            control.faults.delete(second["id"])
        assert missing.value.status == 404
        with pytest.raises(ControlError) as bad:
            control.faults.add({"status": 99})
        assert bad.value.status == 400 and "action.status" in str(bad.value)
        for _ in range(3):
            requests.get(f"{server.base_url}/v1/campaigns/a", auth=("demo-client-id", "demo-client-secret"))
        assert [e["response"]["status"] for e in control.journal.entries()] == [404, 503, 503]
        assert len(control.journal.entries(status=503, fault=first["id"])) == 2
        with pytest.raises(AssertionError, match="expected 4 requests"):
            control.journal.assert_attempts(4, timeout=0.2)
        assert control.faults.clear() == 1
        control.journal.clear()
        assert control.journal.page()["total"] == 0
