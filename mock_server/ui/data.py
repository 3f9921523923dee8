"""Every read (and the one clock write) the inspection UI makes, in one place.

The pages and the polling endpoints call only these functions, which use the backends' own
records and renderers; when the store changes shape, this is the module to port. Every function
takes the app's ``MockState`` and the request's :class:`~mock_server.sandbox.Sandbox` and returns
plain dicts. Costs: the polling calls touch each
campaign/task once (counts are ``bytearray.count`` calls, never a loop over recipients); only a
phone search scans a campaign's file, in C (``Rows.find_in_first_cells``), stopping at
``MAX_MATCHES`` hits.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..delivery import RESERVED_PREFIX
from ..indigitall.slicing import slot_bounds
from ..indigitall.tasks import ALL as ALL_TASKS
from ..indigitall.tasks import MESSAGE_STATUSES as INDIGITALL_STATUSES
from ..indigitall.tasks import ledger_name
from ..isotime import from_timestamp, isoformat, parse_duration
from ..jelou.campaigns import MESSAGE_STATUSES as JELOU_STATUSES
from ..store import DEFAULT_SANDBOX
MAX_MATCHES = 10_000          # a phone search lists at most this many (refine it to see others)
PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")
TIMELINE = (("sentAt", "sent"), ("deliveryChannelAt", "delivered to channel"), ("deliveryUserAt", "delivered to user"),
            ("readAt", "read"), ("replyAt", "replied"), ("failedAt", "failed"))


class NotFound(LookupError):
    """No campaign/task with that id."""


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


# -- Jelou ---------------------------------------------------------------------------------------
def _jelou(state):
    return state.backends["jelou"]


def _campaign_row(state, campaign, now: float) -> dict[str, Any]:
    counts = campaign.message_counts(state.timelines, now)
    sent = campaign.sent_count(now)
    return {"id": campaign.id, "name": campaign.name, "elementName": campaign.element_name,
            "botId": campaign.bot_id, "status": campaign.status(now), "total": campaign.total, "sent": sent,
            "progress": round(100.0 * sent / campaign.total, 1) if campaign.total else 100.0,
            "counts": {name: counts.get(name, 0) for name in JELOU_STATUSES},
            "createdAt": isoformat(campaign.created_at), "fileName": campaign.file_name}


def campaigns(state, sb) -> list[dict[str, Any]]:
    """Every Jelou campaign of the sandbox, newest first, with live counters."""
    now = sb.now()
    return [_campaign_row(state, campaign, now) for campaign in _jelou(state).scan(sb, newest_first=True)]


def _find_campaign(state, sb, campaign_id: str):
    campaign = _jelou(state).get(sb, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id}")
    return campaign


def campaign(state, sb, campaign_id: str) -> dict[str, Any]:
    found = _find_campaign(state, sb, campaign_id)
    row = _campaign_row(state, found, sb.now())
    row.update(template=found.template_text, type=found.type, mediaUrl=found.media_url,
               scheduledAt=isoformat(from_timestamp(found.scheduled_at)) if found.scheduled_at is not None else None)
    return row


def recipients(state, sb, campaign_id: str, *, phone: str = "", page: int = 1, size: int = 25) -> dict[str, Any]:
    """One page of a campaign's recipients (optionally those whose phone contains ``phone``)."""
    found = _find_campaign(state, sb, campaign_id)
    now = sb.now()
    phone = "".join(ch for ch in phone if ch.isdigit())
    start = (page - 1) * size
    if phone:
        matches = found.rows.find_in_first_cells(phone, MAX_MATCHES + 1)
        total, chosen = min(len(matches), MAX_MATCHES), matches[start:min(start + size, MAX_MATCHES)]
        capped = len(matches) > MAX_MATCHES
    else:
        total, chosen, capped = found.total, range(start, min(start + size, found.total)), False
    text = found.template_text
    items = []
    for index in chosen:
        message = found.message(index, state.timelines, now)
        params = message["parameters"]
        items.append({
            "row": index + 1, "id": f"{found.id}-{index + 1}", "phone": message["destination"],
            "reserved": message["destination"].startswith(RESERVED_PREFIX), "status": message["status"],
            "timeline": [{"stage": label, "at": message[key]} for key, label in TIMELINE if message[key]],
            "error": (message["error"] or {}).get("message"),
            "text": PLACEHOLDER.sub(lambda m: params.get(m.group(1), m.group(0)), text),
        })
    return {"items": items, "total": total, "page": page, "size": size, "pages": max(1, math.ceil(total / size)),
            "phone": phone, "capped": capped}


def recipient_statuses(state, sb, campaign_id: str, rows: list[int]) -> dict[str, str]:
    """Row number -> status for the rows a page shows (what its poll re-reads; cost: those rows)."""
    found = _find_campaign(state, sb, campaign_id)
    now = sb.now()
    return {str(row): found.status_of(row - 1, state.timelines, now) for row in rows if 1 <= row <= found.total}


# -- indigitall ----------------------------------------------------------------------------------
def _indigitall(state):
    return state.backends["indigitall"]


def tasks(state, sb) -> list[dict[str, Any]]:
    """Every indigitall task of the sandbox, newest first, in the API's shape."""
    backend = _indigitall(state)
    return [backend.render(sb, task) for task in backend.tasks.scan(sb.name, ALL_TASKS, newest_first=True)]


def _find_task(state, sb, task_id: str):
    task = _indigitall(state).get(sb, task_id)
    if task is None:
        raise NotFound(f"task {task_id}")
    return task


def task(state, sb, task_id: str) -> dict[str, Any]:
    return _indigitall(state).render(sb, _find_task(state, sb, task_id))


def task_messages(state, sb, task_id: str, *, page: int = 1, size: int = 25) -> dict[str, Any]:
    """One page of a task's messages (every row, sent or not) with the rendered layout."""
    found = _find_task(state, sb, task_id)
    layout, checker = _indigitall(state).compiled(found)
    now = sb.now()
    start = (page - 1) * size
    items = [{**found.message(index, state.timelines, now, layout, checker), "row": index + 1}
             for index in range(start, min(start + size, found.total))]
    return {"items": items, "total": found.total, "page": page, "size": size,
            "pages": max(1, math.ceil(found.total / size))}


def message_statuses(state, sb, task_id: str, rows: list[int]) -> dict[str, str]:
    """Row number (1-based) -> status, for the rows a task page shows."""
    found = _find_task(state, sb, task_id)
    now = sb.now()
    return {str(row): found.status_of(row - 1, state.timelines, now) for row in rows if 1 <= row <= found.total}


def slot_ledger(state, sb, task_id: str) -> dict[str, Any]:
    """The application's ledger over the 48 hours (the slicing window) from the task's start slot.

    Each slot: ``used`` by every task of the application, ``own`` (this task's share), ``free``.
    """
    found = _find_task(state, sb, task_id)
    settings = found.slicing
    first = int(found.start.timestamp()) // settings.slot_seconds
    count = max(1, math.ceil(settings.window_seconds / settings.slot_seconds))
    own = {allocation.slot: allocation.count for allocation in (found.plan.allocations if found.plan else ())}
    if found.canceled_at is not None:       # a canceled task gave back the capacity it had not used
        given_back = {allocation.slot: allocation.count for allocation in found.unsent_allocations()}
        own = {slot: number - given_back.get(slot, 0) for slot, number in own.items()}
    ledger = state.store.ledger(sb.name, ledger_name(found.application_id))
    slots = []
    for slot in range(first, first + count):
        used = min(ledger.get(slot, 0), settings.capacity)
        start, end = slot_bounds(slot, settings)
        slots.append({"slot": slot, "start": isoformat(start), "end": isoformat(end), "used": used,
                      "own": min(own.get(slot, 0), used), "free": settings.capacity - used})
    return {"applicationId": found.application_id, "capacity": settings.capacity, "slotSeconds": settings.slot_seconds,
            "sliced": found.sliced, "slots": slots, "windowStart": slots[0]["start"],
            "windowEnd": isoformat(from_timestamp((first + count) * settings.slot_seconds))}


# -- overview ------------------------------------------------------------------------------------
def overview(state, sb) -> dict[str, Any]:
    """The clock and, per provider, records and messages counted by status."""
    jelou_items, task_items = campaigns(state, sb), tasks(state, sb)
    jelou = {"records": _count_by(item["status"] for item in jelou_items),
             "messages": {name: sum(item["counts"][name] for item in jelou_items) for name in JELOU_STATUSES}}
    indigitall = {"records": _count_by(item["status"] for item in task_items),
                  "messages": {name: sum(item["messages"][name] for item in task_items) for name in INDIGITALL_STATUSES}}
    return {"sandbox": sb.name, "clock": clock(state, sb), "jelou": jelou, "indigitall": indigitall,
            "totals": {"campaigns": len(jelou_items), "tasks": len(task_items)}}


def _count_by(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        out[value] = out.get(value, 0) + 1
    return out
