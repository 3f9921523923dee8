"""The generic reads (and the one clock write) of the inspection UI, in one place.

Every function takes the app's ``MockState`` and the request's :class:`~mock_server.sandbox.Sandbox`
and returns plain dicts. A provider's own reads (its records, its messages) live in its package,
next to its pages (``Provider.ui_blueprint``); the overview asks each provider for its part
(``Provider.ui_overview``).
"""

from __future__ import annotations

from typing import Any, Iterable

from marshmallow import ValidationError

from ..control.routes import change_clock as change_control_clock
from ..control.schemas import ClockChangeSchema
from ..isotime import isoformat
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


def change_clock(state, sb, *, to: str | None = None, advance: str | None = None,
                 frozen: bool | None = None) -> dict[str, Any]:
    """The clock forms: freeze/unfreeze, advance by an ISO 8601 duration, or set the clock ``to``
    an ISO 8601 instant (or, given a duration there, advance by it). Checked by the schema of
    ``POST /_mock/clock`` and applied by its code; ``ValueError`` says what is wrong."""
    body: dict[str, Any] = {} if frozen is None else {"frozen": frozen}
    to = (to or "").strip()
    if to:
        body["advance" if to[:1] in "Pp" else "now"] = to
    if advance and advance.strip():
        body["advance"] = advance.strip()
    if not body:
        raise ValueError("give an instant to set the clock to (e.g. 2026-01-05T12:00:00Z) or a duration to advance by (e.g. PT1H)")
    try:
        loaded = ClockChangeSchema().load(body)
    except ValidationError as exc:
        raise ValueError(_first_message(exc.messages)) from None
    change_control_clock(state, sb, loaded)
    return clock(state, sb)


def _first_message(messages) -> str:
    """A marshmallow error as one sentence naming the field (``to`` for ``now``)."""
    if isinstance(messages, dict):
        field, found = next(iter(messages.items()))
        text = _first_message(found)
        names = {"now": "the instant to set the clock to", "advance": "the duration"}
        return text if field == "_schema" or field not in names else f"{names[field]}: {text}"
    return _first_message(messages[0]) if isinstance(messages, list) and messages else str(messages)


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


SEARCH_LIMIT = 50          # hits listed per provider (the search says when there are more)


def search(state, sb, text: str) -> dict[str, Any]:
    """The home page's search: each provider's records matching ``text`` (``Provider.ui_search``:
    an id, a name or a recipient's number), at most ``SEARCH_LIMIT`` each; ``ValueError`` for a
    query that is empty or longer than 100 characters."""
    text = text.strip()
    if not text or len(text) > 100:
        raise ValueError("search for 1 to 100 characters: a campaign or task id, a name or a recipient's number")
    groups = []
    for provider in state.providers.values():
        hits = provider.ui_search(state, sb, text, SEARCH_LIMIT + 1)
        groups.append({"provider": provider.name, "title": provider.title, "hits": hits[:SEARCH_LIMIT],
                       "more": len(hits) > SEARCH_LIMIT})
    return {"text": text, "groups": groups, "total": sum(len(group["hits"]) for group in groups),
            "limit": SEARCH_LIMIT}


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
