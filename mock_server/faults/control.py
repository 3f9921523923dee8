"""``/_mock/faults`` (CONTRACT §8) and ``/_mock/requests`` (§9) on the control plane."""

from __future__ import annotations

import fnmatch
from datetime import datetime
from typing import Callable

from flask import Blueprint, current_app, request

from .. import bodies
from ..control.messages import wait
from ..sandbox import current
from ..errors import ControlError
from ..isotime import isoformat, parse_datetime
from ..queryargs import int_arg, seconds_arg, shown, whole_number
from ..wire import answers, takes
from .pipeline import current_sandbox
from .records import JOURNAL, TooManyRules
from .rules import new_rule
from .schemas import (ClearedSchema, DeletedRuleSchema, DeletedRulesSchema, RuleListSchema, StoredRuleSchema,
                      journal_page, rule_body)

bp = Blueprint("mock_faults", __name__, url_prefix="/_mock")


def _instrument():
    return current_app.extensions["mock.faults"]


def _sandbox() -> str:
    return current_sandbox(request.environ)


@bp.post("/faults")
@answers(StoredRuleSchema, 201, "The rule")
@takes(rule_body)
def add_fault():
    instrument = _instrument()
    try:
        body = bodies.json_body(request.get_data(cache=True))
        rule = instrument.load_rule(body)
    except (bodies.BodyError, ValueError) as exc:
        raise ControlError(str(exc)) from None
    now = current().now_dt()
    try:
        return instrument.records.add_rule(_sandbox(), lambda rule_id: new_rule(rule_id, rule, now)), 201
    except TooManyRules as exc:
        raise ControlError(str(exc), 409) from None


@bp.get("/faults")
@answers(RuleListSchema, description="Rules")
def list_faults():
    rules = _instrument().records.rules(_sandbox())
    return {"faults": rules, "total": len(rules)}


@bp.get("/faults/<rule_id>")
@answers(StoredRuleSchema, description="The rule")
def get_fault(rule_id: str):
    rule = _instrument().records.rule(_sandbox(), rule_id)
    if rule is None:
        raise ControlError(f"no fault rule '{rule_id}'", 404)
    return rule


@bp.delete("/faults/<rule_id>")
@answers(DeletedRuleSchema, description="Deleted")
def delete_fault(rule_id: str):
    if not _instrument().records.delete_rule(_sandbox(), rule_id):
        raise ControlError(f"no fault rule '{rule_id}'", 404)
    return {"deleted": rule_id}


@bp.delete("/faults")
@answers(DeletedRulesSchema, description="How many")
def clear_faults():
    return {"deleted": _instrument().records.clear_rules(_sandbox())}


@bp.get("/requests")
@answers(journal_page, description="One page")
def list_requests():
    """The journal, oldest first: filters, ``limit``/``page``, and ``wait_for``/``timeout`` long-poll."""
    instrument = _instrument()
    sandbox = _sandbox()
    wanted = entry_filter(request.args)
    limits = instrument.state.settings.inspection
    limit = int_arg("limit", limits.default_limit, 1, limits.max_limit)
    page = int_arg("page", 1, 1)
    wait_for = int_arg("wait_for", 0, 0)
    most = float(limits.max_wait_seconds)
    timeout = seconds_arg("timeout", min(10.0, most), 0.0, most)     # the default never exceeds the bound

    kept = []                                    # the last page read: its drop counts

    def selected() -> list[dict]:
        entries, page = instrument.records.journal_page(sandbox)
        kept[:] = [page]
        return [entry for entry in entries if wanted(entry)]

    if wait_for:
        wait(instrument.state, current(), lambda: len(selected()), lambda after: None, wait_for, timeout,
             log=JOURNAL)
    entries = selected()
    start = (page - 1) * limit
    retention = kept[0]
    return {"requests": entries[start:start + limit], "total": len(entries), "page": page, "limit": limit,
            "dropped": retention.dropped,
            "droppedBy": {"journal.max_entries": retention.dropped - retention.dropped_for_bytes,
                          "journal.max_bytes": retention.dropped_for_bytes},
            "bytes": retention.bytes, "lost": instrument.lost(sandbox)}


@bp.delete("/requests")
@answers(ClearedSchema, description="Cleared")
def clear_requests():
    _instrument().records.clear_journal(_sandbox())
    return {"status": "ok"}


def entry_filter(args) -> Callable[[dict], bool]:
    """The journal filters of ``/_mock/requests`` (and of the UI's journal page) as one predicate on
    an entry: ``provider``, ``method``, ``path`` (exact or a glob: ``*`` any characters),
    ``status`` (503, 5xx or dropped), ``fault`` (a rule id) and ``since`` (ISO date-time, mock
    time); a ``ControlError`` names a malformed one."""
    provider = args.get("provider") or None
    method = (args.get("method") or "").upper() or None
    path = args.get("path") or None
    status = _status_arg(args.get("status"))
    fault = args.get("fault") or None
    since = _since_arg(args.get("since"))

    def wanted(entry: dict) -> bool:
        return ((not provider or entry["provider"] == provider)
                and (not method or entry["method"] == method)
                and (not path or entry["path"] == path or fnmatch.fnmatchcase(entry["path"], path))
                and (not status or status(entry["response"].get("status")))
                and (not fault or entry["fault"] == fault)
                and (not since or entry["receivedAt"] >= since))
    return wanted


def _status_arg(raw: str | None):
    """``status=503``, ``status=5xx`` or ``status=dropped``: a predicate on the answered status."""
    if not raw:
        return None
    text = raw.strip().lower()
    if text == "dropped":
        return lambda value: value is None
    if len(text) == 3 and text[0] in "12345" and text[1:] == "xx":
        return lambda value: value is not None and value // 100 == int(text[0])
    code = whole_number(text) if len(text) == 3 else None
    if code is not None and 100 <= code <= 599:
        return lambda value: value == code
    raise ControlError(f"'status' must be a status such as 503, a class such as 5xx, or 'dropped', not '{shown(raw)}'")


def _since_arg(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        moment: datetime = parse_datetime(raw)
    except ValueError as exc:
        raise ControlError(f"'since' must be an ISO 8601 date-time: {exc}") from None
    return isoformat(moment)
