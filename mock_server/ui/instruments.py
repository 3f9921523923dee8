"""The UI's reads and writes of the request journal and the fault rules (CONTRACT §8-9).

Kept apart from ``data.py`` because these belong to the ``faults`` package's instrument
(``app.extensions["mock.faults"]``); every call goes through its ``records`` and rule loader, the
same ones ``/_mock/faults`` and ``/_mock/requests`` use.
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable

from ..faults.rules import new_rule


def journal(instrument, sb, *, page: int = 1, size: int = 50, record: dict[str, str] | None = None,
            wanted: Callable[[dict], bool] | None = None) -> dict[str, Any]:
    """One page of the sandbox's journal, newest first, and how many entries were dropped.

    ``record`` (e.g. ``{"campaignId": "..."}``) keeps only the entries that created that record;
    ``wanted``, the filters of ``/_mock/requests`` (``faults.control.entry_filter``), the others.
    Cost: one pass over the kept entries (bounded by ``journal.max_entries``).
    """
    entries, dropped = instrument.records.journal(sb.name)
    entries = [entry for entry in reversed(entries)
               if (not record or all(str(entry.get(key)) == value for key, value in record.items()))
               and (wanted is None or wanted(entry))]
    start = (page - 1) * size
    items = [{**entry, "pretty": {key: json.dumps(entry.get(key), indent=2, ensure_ascii=False)
                                  for key in ("query", "headers", "body", "response")}}
             for entry in entries[start:start + size]]
    return {"items": items, "total": len(entries), "dropped": dropped, "page": page, "size": size,
            "pages": max(1, math.ceil(len(entries) / size))}


def journal_size(instrument, sb) -> int:
    return len(instrument.records.journal(sb.name)[0])


def fault_rules(instrument, sb) -> list[dict[str, Any]]:
    return instrument.records.rules(sb.name)


def add_fault(instrument, sb, text: str) -> dict[str, Any]:
    """Add the rule given as JSON text; ``ValueError`` says what is wrong with it."""
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the rule is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    rule = instrument.load_rule(body)
    now = sb.now_dt()
    return instrument.records.add_rule(sb.name, lambda rule_id: new_rule(rule_id, rule, now))


def delete_fault(instrument, sb, rule_id: str) -> bool:
    return instrument.records.delete_rule(sb.name, rule_id)
