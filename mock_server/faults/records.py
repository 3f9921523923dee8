"""Fault rules, rate-limit windows and journal entries on the store's generic primitives.

Everything is per sandbox and goes through the store interface (``mock_server.store.base``), so
it holds across workers with a shared store:

- fault rules: the map ``faults`` (rule id -> rule), counted with ``update_value`` (compare-and-set);
- rate limits: counters ``ratelimit:<limit>:<subject>:<window number>`` (``incr``);
- the journal: the log ``journal`` (``append`` with ``max_entries`` and ``max_bytes``, ``read_log``,
  ``clear_log``); entry ids are ``req-<sequence number>``.

Bounds per sandbox (CONTRACT §18): ``faults.max_rules`` rules (one more is :class:`TooManyRules`),
``journal.max_entries`` entries and ``journal.max_bytes`` encoded bytes (the oldest dropped, counted).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from ..sandbox import MapCache, Sandbox
from ..store import LogPage, Store
from .rules import RequestView, expired, fires, matches

RULES = "faults"
JOURNAL = "journal"
WINDOW_GRACE = 86_400.0    # real seconds a window counter outlives its window (the mock clock may be frozen)


class TooManyRules(ValueError):
    """The sandbox already has ``faults.max_rules`` rules."""


class Records:
    """The faults package's view of one store; every call names the sandbox."""

    def __init__(self, store: Store, journal, faults, maps: MapCache | None = None) -> None:
        """:param journal: the ``journal`` settings; :param faults: the ``faults`` settings;
        :param maps: the app's :class:`MapCache` (the rules are read once per change)."""
        self.store = store
        self.maps = maps or MapCache(store)
        self.max_entries = journal.max_entries
        self.max_bytes = journal.max_bytes
        self.max_rules = faults.max_rules

    # -- fault rules -------------------------------------------------------------------------
    def add_rule(self, sandbox: str, make: Callable[[str], dict]) -> dict:
        """Store a new rule; :class:`TooManyRules` when the sandbox has ``faults.max_rules`` already
        (counted before adding: rules added at the same instant by other workers may pass it by a few)."""
        if len(self.store.items(sandbox, RULES)) >= self.max_rules:
            raise TooManyRules(f"this sandbox has {self.max_rules:,} fault rules, the most faults.max_rules allows; "
                               "delete some (DELETE /_mock/faults/ID, or DELETE /_mock/faults for all) first")
        rule_id = f"fault-{self.store.incr(sandbox, 'fault-ids')}"
        rule = make(rule_id)
        self.store.put(sandbox, RULES, rule_id, rule)
        return rule

    def rules(self, sandbox: str) -> list[dict]:
        return [value for _, value in self.store.items(sandbox, RULES)]

    def rule(self, sandbox: str, rule_id: str) -> dict | None:
        return self.store.get_value(sandbox, RULES, rule_id)

    def delete_rule(self, sandbox: str, rule_id: str) -> bool:
        return self.store.delete(sandbox, RULES, rule_id)

    def clear_rules(self, sandbox: str) -> int:
        return sum(self.store.delete(sandbox, RULES, rule_id) for rule_id, _ in self.store.items(sandbox, RULES))

    def select_rule(self, sb: Sandbox, view: RequestView, now: datetime, draw: Callable[[str, int], float]) -> dict | None:
        """The first rule (creation order) that matches and fires; counts every rule that matched.
        The rules are read once per change of the map (``MapCache``), not once per request."""
        sandbox = sb.name
        for rule_id, rule in self.maps.items(sb, RULES):
            if expired(rule, now) or not matches(rule, view):
                continue

            def count(current: Any) -> dict | None:
                if current is None:
                    return None                  # deleted meanwhile
                matched = current["matched"] + 1
                fired = fires(current, matched, draw)
                return {**current, "matched": matched, "fired": current["fired"] + fired,
                        "lastFired": matched if fired else current.get("lastFired")}

            counted = self.store.update_value(sandbox, RULES, rule_id, count)
            if counted is not None and counted.get("lastFired") == counted["matched"]:
                return counted
        return None

    # -- rate-limit windows ----------------------------------------------------------------------
    def take(self, sandbox: str, keys: list[tuple[str, int, float]]) -> tuple[list[int], int | None]:
        """Count one request in every ``(key, limit, window seconds)``; all or nothing.

        Returns the counts and, when a limit is exceeded, the position of the first one exceeded
        (then nothing stays counted).
        """
        counts: list[int] = []
        for position, (key, limit, window) in enumerate(keys):
            value = self.store.incr(sandbox, f"ratelimit:{key}", 1, ttl=window + WINDOW_GRACE)
            counts.append(value)
            if value > limit:
                for taken_key, _, _ in keys[:position + 1]:
                    self.store.incr(sandbox, f"ratelimit:{taken_key}", -1)
                return counts, position
        return counts, None

    # -- journal ---------------------------------------------------------------------------------
    def log(self, sandbox: str, entry: dict) -> int:
        return self.store.append(sandbox, JOURNAL, entry, max_entries=self.max_entries, max_bytes=self.max_bytes)

    def journal(self, sandbox: str) -> tuple[list[dict], int]:
        """Every kept entry, oldest first (each with its ``id``), and how many were dropped."""
        entries, page = self.journal_page(sandbox)
        return entries, page.dropped

    def journal_page(self, sandbox: str) -> tuple[list[dict], LogPage]:
        """``journal``, with the whole page (drop counts, bytes kept) in place of the drop count."""
        page = self.store.read_log(sandbox, JOURNAL, after=0, limit=self.max_entries)
        return [{"id": f"req-{number}", **value} for number, value in page.entries], page

    def clear_journal(self, sandbox: str) -> None:
        self.store.clear_log(sandbox, JOURNAL)
