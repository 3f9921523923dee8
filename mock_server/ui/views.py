"""The UI's pages and the JSON endpoints they poll. Thin: every read goes through ``data``."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from . import data

bp = Blueprint("ui", __name__, url_prefix="/_mock/ui", template_folder="templates", static_folder="static")

CHART_WIDTH, CHART_HEIGHT, CHART_LEFT, CHART_BOTTOM = 1120, 220, 52, 28


def _state():
    return current_app.extensions["mock"]


def _page_arg(name: str = "page") -> int:
    raw = request.args.get(name, "1")
    return max(1, int(raw)) if raw.isdigit() and len(raw) < 10 else 1


def _render(template: str, status: int = 200, **context):
    state = _state()
    html = render_template(f"ui/{template}", clock=data.clock(state), sandbox=data.SANDBOX,
                           sandboxes=data.sandboxes(state), **context)
    return html, status, {"Cache-Control": "no-store"}


def _missing(what: str):
    return _render("missing.html", 404, what=what)


# -- pages ---------------------------------------------------------------------------------------
@bp.get("/")
def overview():
    return _render("overview.html", overview=data.overview(_state()), error=request.args.get("error"))


@bp.post("/clock")
def change_clock():
    """The clock form: ``advance`` (ISO 8601 duration) and/or ``frozen`` (``true``/``false``)."""
    frozen = request.form.get("frozen")
    back = request.form.get("back") or ""
    if not back.startswith("/_mock/ui/") or back == url_for("ui.change_clock"):
        back = url_for("ui.overview")
    try:
        data.change_clock(_state(), advance=request.form.get("advance") or None,
                          frozen=None if frozen is None else frozen == "true")
    except ValueError as exc:
        return _render("overview.html", 400, overview=data.overview(_state()), error=str(exc),
                       advance=request.form.get("advance", ""), back=back)
    return redirect(back, code=303)


@bp.get("/jelou")
def jelou_campaigns():
    return _render("campaigns.html", campaigns=data.campaigns(_state()))


@bp.get("/jelou/<campaign_id>")
def jelou_campaign(campaign_id: str):
    state = _state()
    try:
        found = data.campaign(state, campaign_id)
        page = data.recipients(state, campaign_id, phone=request.args.get("phone", ""), page=_page_arg())
    except data.NotFound:
        return _missing(f"Jelou campaign {campaign_id}")
    return _render("campaign.html", campaign=found, recipients=page)


@bp.get("/indigitall")
def indigitall_tasks():
    return _render("tasks.html", tasks=data.tasks(_state()))


@bp.get("/indigitall/<task_id>")
def indigitall_task(task_id: str):
    state = _state()
    try:
        found = data.task(state, task_id)
        ledger = data.slot_ledger(state, task_id)
        messages = data.task_messages(state, task_id, page=_page_arg())
    except data.NotFound:
        return _missing(f"indigitall task {task_id}")
    return _render("task.html", task=found, ledger=ledger, chart=chart(ledger), messages=messages)


# -- polling (cheap JSON) ----------------------------------------------------------------------------
@bp.get("/api/overview")
def api_overview():
    return data.overview(_state())


@bp.get("/api/jelou")
def api_campaigns():
    return {"clock": data.clock(_state()), "campaigns": data.campaigns(_state())}


def _rows_arg() -> list[int]:
    """``rows=1,2,3``: the row numbers a page shows (at most 100), for their live statuses."""
    parts = request.args.get("rows", "").split(",")
    return [int(part) for part in parts[:100] if part.isdigit() and len(part) < 10]


@bp.get("/api/jelou/<campaign_id>")
def api_campaign(campaign_id: str):
    try:
        return {"clock": data.clock(_state()), "campaign": data.campaign(_state(), campaign_id),
                "rows": data.recipient_statuses(_state(), campaign_id, _rows_arg())}
    except data.NotFound:
        return {"error": {"status": 404, "message": f"no campaign {campaign_id}"}}, 404


@bp.get("/api/indigitall")
def api_tasks():
    return {"clock": data.clock(_state()), "tasks": data.tasks(_state())}


@bp.get("/api/indigitall/<task_id>")
def api_task(task_id: str):
    try:
        return {"clock": data.clock(_state()), "task": data.task(_state(), task_id),
                "ledger": data.slot_ledger(_state(), task_id), "rows": data.message_statuses(_state(), task_id, _rows_arg())}
    except data.NotFound:
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
