"""The generic reads (and the one clock write) of the inspection UI, in one place.

Every function takes the app's ``MockState`` and the request's :class:`~mock_server.sandbox.Sandbox`
and returns plain dicts. A provider's own reads (its records, its messages) live in its package,
next to its pages (``Provider.ui_blueprint``); the overview asks each provider for its part
(``Provider.ui_overview``).
"""

from __future__ import annotations

from typing import Any, Iterable

from ..isotime import isoformat, parse_duration
from ..store import DEFAULT_SANDBOX


class NotFound(LookupError):
    """No record with that id (a provider's page answers the UI's 404 page)."""


def sandboxes(state) -> list[str]:
    """Every sandbox's name, ``default`` first."""
    names = sorted(info.name for info in state.store.sandboxes())
    return [DEFAULT_SANDBOX] + [name for name in names if name != DEFAULT_SANDBOX]


def clock(state, sb) -> dict[str, Any]:
    now, frozen = sb.clock.state()
    return {"now": isoformat(now), "frozen": frozen}


def change_clock(state, sb, *, advance: str | None = None, frozen: bool | None = None) -> dict[str, Any]:
    """Freeze/unfreeze and/or advance by an ISO 8601 duration; ``ValueError`` says what is wrong."""
    if frozen is not None:
        sb.clock.freeze(frozen)
    if advance:
        duration = parse_duration(advance.strip())          # ValueError (ClockError is one too)
        if duration.is_zero:
            raise ValueError("advance by a positive duration such as PT1H")
        sb.clock.advance(duration)
    state.settle(sb)
    return clock(state, sb)


# -- overview ------------------------------------------------------------------------------------
def overview(state, sb) -> dict[str, Any]:
    """The clock and each provider's part (``Provider.ui_overview``: records and messages by status);
    ``totals`` counts each provider's records under its record kind's plural."""
    parts: dict[str, Any] = {}
    totals: dict[str, int] = {}
    for provider in state.providers.values():
        part = provider.ui_overview(state, sb)
        if part:
            parts[provider.name] = part
            plural = next(iter(provider.record_kinds.values()), None)
            if plural is not None:
                totals[plural] = sum(part["records"].values())
    return {"sandbox": sb.name, "clock": clock(state, sb), **parts, "totals": totals}


def summary(rows: list[dict[str, Any]], counts: str, statuses: Iterable[str]) -> dict[str, Any]:
    """A provider's overview part from its listing's rows: the rows by ``status``, and their
    message counts (each row's ``counts`` field) summed per status."""
    return {"records": count_by(row["status"] for row in rows),
            "messages": {name: sum(row[counts][name] for row in rows) for name in statuses}}


def count_by(values: Iterable[str]) -> dict[str, int]:
    """How many times each value occurs, in order of first occurrence."""
    out: dict[str, int] = {}
    for value in values:
        out[value] = out.get(value, 0) + 1
    return out
