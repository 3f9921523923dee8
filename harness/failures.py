"""Fault rules and the request journal through the control plane (``MockControl.faults`` / ``.journal``).

Typical use in a test of a retrying client::

    control.faults.add({"status": 503, "retryAfter": "PT1S"}, match={"path": "/v1/hsm/file"}, times=2)
    my_client.send_campaign(...)                      # retries, then succeeds
    attempts = control.journal.assert_attempts(3, method="POST", path="/v1/hsm/file")
    assert [a["response"]["status"] for a in attempts] == [503, 503, 200]
    control.journal.assert_honoured_retry_after(attempts)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

# seconds: the server's stamps vs the client's sleep. A journal entry's durationMs ends when the server
# has finished the exchange, which on a loaded machine can be tens of ms after the client read the
# answer and began to sleep (72 ms seen in CI with 0.05 here); a client that ignores Retry-After
# retries at once, so 0.25 s still fails it for any Retry-After of 1 s or more.
RETRY_TOLERANCE = 0.25


class FaultControl:
    """``/_mock/faults``: add, list, get, delete and clear fault rules."""

    def __init__(self, control) -> None:
        self._control = control

    def add(self, action: dict[str, Any], *, match: dict[str, Any] | None = None, times: int | None = None,
            after: int | None = None, probability: float | None = None, expires_after: str | None = None) -> dict:
        """Create a rule; returns it with its ``id``. ``action`` e.g. ``{"status": 503}``, ``{"drop": "reset"}``."""
        rule: dict[str, Any] = {"action": action}
        for key, value in (("match", match), ("times", times), ("after", after), ("probability", probability),
                           ("expiresAfter", expires_after)):
            if value is not None:
                rule[key] = value
        return self._control._call("POST", "/_mock/faults", json=rule)

    def list(self) -> list[dict]:
        return self._control._call("GET", "/_mock/faults")["faults"]

    def get(self, rule_id: str) -> dict:
        """The rule with its counters: ``matched`` (requests it selected) and ``fired``."""
        return self._control._call("GET", f"/_mock/faults/{rule_id}")

    def delete(self, rule_id: str) -> None:
        self._control._call("DELETE", f"/_mock/faults/{rule_id}")

    def clear(self) -> int:
        return self._control._call("DELETE", "/_mock/faults")["deleted"]


class RequestJournal:
    """``/_mock/requests``: what clients sent and what they got, oldest first."""

    def __init__(self, control) -> None:
        self._control = control

    def page(self, **query) -> dict:
        """One page as the server gives it (``requests``, ``total``, ``page``, ``limit``, ``dropped``)."""
        params = {key: value for key, value in query.items() if value is not None}
        wait = float(params.get("timeout") or 10.0) + 5.0 if params.get("wait_for") else 0.0
        return self._control._call("GET", "/_mock/requests", params=params, timeout=self._control.timeout + wait)

    def entries(self, *, provider: str | None = None, method: str | None = None, path: str | None = None,
                status: int | str | None = None, fault: str | None = None, since: str | None = None,
                wait_for: int | None = None, timeout: float | None = None) -> list[dict]:
        """Every matching entry (all pages); with ``wait_for`` the server first holds until that many match."""
        filters = {"provider": provider, "method": method, "path": path, "status": status, "fault": fault,
                   "since": since}
        first = self.page(**filters, wait_for=wait_for, timeout=timeout, limit=1000, page=1)
        found = list(first["requests"])
        number = 1
        while len(found) < first["total"]:
            number += 1
            more = self.page(**filters, limit=1000, page=number)["requests"]
            if not more:
                break
            found.extend(more)
        return found

    def clear(self) -> None:
        self._control._call("DELETE", "/_mock/requests")

    def assert_attempts(self, count: int, *, timeout: float = 10.0, **filters) -> list[dict]:
        """Assert that exactly ``count`` requests matching ``filters`` arrived (waiting up to ``timeout``)."""
        found = self.entries(**filters, wait_for=count, timeout=timeout)
        shown = [(entry["method"], entry["path"], entry["response"].get("status")) for entry in found]
        assert len(found) == count, f"expected {count} requests matching {filters}, the mock received {len(found)}: {shown}"
        return found

    @staticmethod
    def assert_honoured_retry_after(entries: list[dict], tolerance: float = RETRY_TOLERANCE) -> None:
        """Assert each retry came no sooner than the ``Retry-After`` of the answer before it."""
        for before, after in zip(entries, entries[1:]):
            header = _header(before["response"].get("headers") or {}, "Retry-After")
            if header is None:
                continue
            gap = (_instant(after["receivedAtReal"]) - _instant(before["receivedAtReal"])).total_seconds()
            gap -= before["durationMs"] / 1000.0
            assert gap >= float(header) - tolerance, (
                f"{after['id']} came {gap:.3f} s after the answer to {before['id']}, which said Retry-After: {header}")


def _header(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
