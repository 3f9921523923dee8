"""indigitall's pages in the inspection UI: its tasks, one task with its application's slot ledger
(CONTRACT §11).

Registered through the provider contract (``Provider.ui_blueprint``, ``ui_nav``, ``ui_overview``);
the pages render in the UI's frame (``mock_server.ui.render_page``). Reads use the backend's own
records and renderers (tasks in the API's shape).
"""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, request, url_for

from ..isotime import from_timestamp, isoformat
from ..ui import NotFound, clock, here, missing, page_arg, render_page, rows_arg, summary
from .slicing import slot_bounds
from ..curves import page_chart
from .tasks import ALL, MESSAGE_STATUSES, STATUS_NAMES, ledger_name

bp = Blueprint("indigitall_ui", __name__, url_prefix="/_mock/ui", template_folder="templates")

CHART_WIDTH, CHART_HEIGHT, CHART_LEFT, CHART_BOTTOM = 1120, 224, 52, 34


# -- reads -----------------------------------------------------------------------------------------
def _backend(state):
    return state.backends["indigitall"]


def tasks(state, sb) -> list[dict[str, Any]]:
    """Every task of the sandbox, newest first, in the API's shape."""
    backend = _backend(state)
    return [backend.render(sb, task) for task in backend.tasks.scan(sb.name, ALL, newest_first=True)]


def _find_task(state, sb, task_id: str):
    task = _backend(state).get(sb, task_id)
    if task is None:
        raise NotFound(f"task {task_id}")
    return task


def task(state, sb, task_id: str) -> dict[str, Any]:
    return _backend(state).render(sb, _find_task(state, sb, task_id))


def task_messages(state, sb, task_id: str, *, status: str = "", page: int = 1, size: int = 25) -> dict[str, Any]:
    """One page of a task's messages (every row, sent or not) with the rendered layout; only those
    in ``status`` when given (``ValueError`` names the argument for an unknown one). Cost: the rows
    shown; with a status, a lazy walk in file order that stops when the page is full
    (``Batch.in_status``), the total from the counts."""
    found = _find_task(state, sb, task_id)
    status = status.strip().lower()
    if status and status not in MESSAGE_STATUSES:
        raise ValueError(f"status must be one of {', '.join(MESSAGE_STATUSES)}, not “{status}”")
    layout, checker = _backend(state).compiled(found)
    now = sb.now()
    start = (page - 1) * size
    if status:
        total = found.message_counts(state.timelines, now)[status]
        chosen = found.in_status(status, STATUS_NAMES, total, state.timelines, now, start, size)
    else:
        total, chosen = found.total, range(start, min(start + size, found.total))
    items = [{**found.message(index, state.timelines, now, layout, checker), "row": index + 1} for index in chosen]
    return {"items": items, "total": total, "page": page, "size": size, "pages": max(1, math.ceil(total / size)),
            "status": status, "statuses": MESSAGE_STATUSES}


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


def overview(state, sb) -> dict[str, Any]:
    """Its overview card: tasks and messages counted by status."""
    return summary(tasks(state, sb), "messages", MESSAGE_STATUSES)


def search(state, sb, text: str, limit: int) -> list[dict[str, Any]]:
    """The UI search's indigitall part (``Provider.ui_search``): tasks whose id is ``text``, or
    whose file has a contact code containing it in its first column (3 or more characters), newest
    first, at most ``limit``. Cost: one pass over the sandbox's tasks (as the list page) and, for a
    contact, a search in C over each file that stops at its first hit; the walk stops at ``limit``."""
    code = text.strip()
    contact = code if len(code) >= 3 and not any(ch in code for ch in ',"') else ""
    now = sb.now()
    hits: list[dict[str, Any]] = []
    for found in _backend(state).tasks.scan(sb.name, ALL, newest_first=True):
        why = ("id" if code == str(found.id) else
               "a contact code" if contact and found.rows.find_in_first_cells(contact, 1) else None)
        if why is None:
            continue
        hits.append({"title": f"Task {found.id}", "url": url_for("indigitall_ui.task_page", task_id=found.id),
                     "status": found.status(now),
                     "detail": f"application {found.application_id} · {found.total} rows · matched by {why}"})
        if len(hits) >= limit:
            break
    return hits


# -- pages -----------------------------------------------------------------------------------------
@bp.get("/indigitall")
def tasks_page():
    return render_page("indigitall/tasks.html", tasks=tasks(*here()))


@bp.get("/indigitall/<task_id>")
def task_page(task_id: str):
    error = None
    try:
        found = task(*here(), task_id)
        ledger = slot_ledger(*here(), task_id)
        try:
            messages = task_messages(*here(), task_id, status=request.args.get("status", ""), page=page_arg())
        except ValueError as exc:
            error = str(exc)
            messages = task_messages(*here(), task_id, page=page_arg())
        curve = status_chart(*here(), task_id)
    except NotFound:
        return missing(f"indigitall task {task_id}")
    return render_page("indigitall/task.html", 400 if error else 200, task=found, ledger=ledger, chart=chart(ledger),
                       messages=messages, curve=curve, error=error)


def status_chart(state, sb, task_id: str) -> dict[str, Any]:
    """The task's statuses over mock time (``GET /_mock/messages/curve``), as the page's SVG."""
    found = _find_task(state, sb, task_id)
    return {**page_chart(found, state.timelines, STATUS_NAMES, MESSAGE_STATUSES),
            "url": url_for("control.messages_curve", task=found.id)}


# -- polling (cheap JSON) --------------------------------------------------------------------------
@bp.get("/api/indigitall")
def api_tasks():
    return {"clock": clock(*here()), "tasks": tasks(*here())}


@bp.get("/api/indigitall/<task_id>")
def api_task(task_id: str):
    try:
        return {"clock": clock(*here()), "task": task(*here(), task_id),
                "ledger": slot_ledger(*here(), task_id), "rows": message_statuses(*here(), task_id, rows_arg())}
    except NotFound:
        return {"error": {"status": 404, "message": f"no task {task_id}"}}, 404


# -- the slot chart ----------------------------------------------------------------------------------
def chart(ledger: dict) -> dict:
    """Bar geometry for the SVG: per slot, the other tasks' share, this task's share and the free part."""
    slots, capacity = ledger["slots"], ledger["capacity"]
    plot_width = CHART_WIDTH - CHART_LEFT - 8
    plot_height = CHART_HEIGHT - CHART_BOTTOM - 8
    step = plot_width / len(slots)
    scale = plot_height / capacity
    bars = []
    for position, slot in enumerate(slots):
        x = CHART_LEFT + position * step
        own_height = slot["own"] * scale
        other_height = (slot["used"] - slot["own"]) * scale
        base = 8 + plot_height
        bars.append({
            **slot, "x": round(x + 1, 1), "width": round(max(step - 2, 1), 1),
            "own_y": round(base - own_height, 1), "own_h": round(own_height, 1),
            "other_y": round(base - own_height - other_height, 1), "other_h": round(other_height, 1),
            "free_y": 8, "free_h": round(plot_height - own_height - other_height, 1),
            "label": slot["start"][11:16] if position % 6 == 0 else "",
            "day": slot["start"][5:10] if position % 6 == 0 else "",
        })
    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "left": CHART_LEFT, "top": 8, "bottom": 8 + plot_height,
            "bars": bars, "capacity": capacity, "mid": round(8 + plot_height / 2, 1), "half": capacity // 2}
