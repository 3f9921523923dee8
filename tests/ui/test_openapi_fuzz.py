"""Schemathesis against the served spec: every operation, >= 1,000 generated cases in all.

Each case is sent in-process (WSGI) with the demo credentials of its provider, so generation reaches
the validation rules behind auth; the checks are: no 5xx, the status is documented, and the body,
content type and headers match what the spec says for that status. A ``fileUrl`` is pointed at
a closed port on 127.0.0.1, and so is every webhook URL, so no generated URL ever leaves the machine.
"""

from __future__ import annotations

import zlib

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)

from mock_server import create_app

from support.jelou import JELOU, advance, send_form
from support.indigitall import contacts, create

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 90
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
INDIGITALL = {"Authorization": "ServerKey demo-server-key"}
CLOSED_PORT_URL = "http://127.0.0.1:9/recipients.csv"
CASES: dict[str, int] = {}


# Built at collection (schemathesis' lazy fixture loader does not run on pytest 9.2): one app for
# the module, on a frozen clock, with short waits so a generated wait_for cannot hold a test.
FUZZ_APP = create_app({"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True},
                       "inspection": {"max_wait_seconds": 0.05}, "jelou": {"file_url_timeout": 0.5}})
schema = schemathesis.openapi.from_wsgi("/_mock/openapi.json", FUZZ_APP)


def _seed_records() -> dict[str, list[str]]:
    """One campaign and one sliced task to aim generated ids at (otherwise nearly all are 404)."""
    client = FUZZ_APP.test_client()
    campaign = send_form(client).headers["X-Mock-Campaign-Id"]
    task = create(client, contacts(1500), application=100)["taskId"]
    advance(client, "PT10S")
    return {"botId": ["demo-bot", "foreign-bot"], "applicationId": ["100", "200", "300"],
            "campaignId": [campaign], "taskId": [str(task)], "notificationId": [f"{campaign}-1", f"{campaign}-2"]}


KNOWN = _seed_records()


def steer(case) -> None:
    """Point three cases in four at records that exist, keeping the generated value in the fourth."""
    for name, value in (case.path_parameters or {}).items():
        choice = zlib.crc32(repr(sorted(case.path_parameters.items())).encode()) % 4
        if name in KNOWN and choice < 3:
            case.path_parameters[name] = KNOWN[name][choice % len(KNOWN[name])]
    if case.operation.path == "/v1/campaigns" and isinstance(case.query, dict):
        if zlib.crc32(repr(sorted(case.query.items())).encode()) % 2:
            case.query.update(botId="demo-bot", startAt="2026-01-01", endAt="2026-12-31")
    body = case.body if isinstance(case.body, dict) else {}
    for name in ("fileUrl", "url"):                       # no generated URL is ever fetched or called
        if isinstance(body.get(name), str):
            body[name] = CLOSED_PORT_URL
    for entry in body.get("webhooks") or () if isinstance(body.get("webhooks"), list) else ():
        if isinstance(entry, dict) and isinstance(entry.get("url"), str):
            entry["url"] = CLOSED_PORT_URL


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_answer_matches_the_spec(case):
    path = case.operation.path
    headers = JELOU if path.startswith("/v1/") else INDIGITALL if "/chat/application/" in path else {}
    steer(case)
    CASES[case.operation.label] = CASES.get(case.operation.label, 0) + 1
    case.call_and_validate(headers=headers, checks=CHECKS)


def test_at_least_a_thousand_cases_over_every_operation():
    assert CASES, "the fuzzing test did not run before this check (tests/ui/conftest.py deselects it then)"
    spec = FUZZ_APP.test_client().get("/_mock/openapi.json").json
    operations = {f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item
                  if path != "/_mock/openapi.json"}     # schemathesis does not fuzz the document it loaded
    assert operations <= set(CASES), sorted(operations - set(CASES))
    assert sum(CASES.values()) >= 1000, CASES
