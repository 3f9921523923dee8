"""The UI's pages and the JSON endpoints they poll. Thin: every read goes through ``data``."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from ..queryargs import int_arg, int_list_arg
from ..sandbox import PREFIX, current, select
from ..store import DEFAULT_SANDBOX
from . import data, deliveries, instruments

bp = Blueprint("ui", __name__, url_prefix="/_mock/ui", template_folder="templates", static_folder="static")

CHART_WIDTH, CHART_HEIGHT, CHART_LEFT, CHART_BOTTOM = 1120, 220, 52, 28


def _here():
    """The app's state and the request's sandbox: the first two arguments of every ``data`` call."""
    return current_app.extensions["mock"], current()


def _instrument():
    """The faults package's instrument (journal, fault rules), or None in a build without it."""
    return current_app.extensions.get("mock.faults")


def _page_arg(name: str = "page") -> int:
    return int_arg(name, 1, 1)


def render_page(template: str, status: int = 200, **context):
    """A page in the UI's frame (``ui/base.html``: nav, sandbox switcher, clock); providers' pages too."""
    state, sb = _here()
    nav = [link for provider in state.providers.values() for link in provider.ui_nav]
    html = render_template(template, clock=data.clock(state, sb), sandbox=sb.name, provider_nav=nav,
                           sandboxes=data.sandboxes(state), instrumented=_instrument() is not None, **context)
    return html, status, {"Cache-Control": "no-store"}


def _render(template: str, status: int = 200, **context):
    return render_page(f"ui/{template}", status, **context)


def _missing(what: str):
    return _render("missing.html", 404, what=what)


# -- pages ---------------------------------------------------------------------------------------
@bp.get("/")
def overview():
    return _render("overview.html", overview=data.overview(*_here()), error=request.args.get("error"))


@bp.post("/clock")
def change_clock():
    """The clock form: ``advance`` (ISO 8601 duration) and/or ``frozen`` (``true``/``false``)."""
    frozen = request.form.get("frozen")
    back = request.form.get("back") or ""
    if not back.startswith(url_for("ui.overview")) or back == url_for("ui.change_clock"):
        back = url_for("ui.overview")
    try:
        data.change_clock(*_here(), advance=request.form.get("advance") or None,
                          frozen=None if frozen is None else frozen == "true")
    except ValueError as exc:
        return _render("overview.html", 400, overview=data.overview(*_here()), error=str(exc),
                       advance=request.form.get("advance", ""), back=back)
    return redirect(back, code=303)


@bp.get("/sandbox")
def switch_sandbox():
    """The switcher's form: go to the same UI under ``/sandboxes/NAME`` (``default``: no prefix)."""
    name = request.args.get("sandbox", DEFAULT_SANDBOX)
    chosen, problem = select(name, None)
    if problem:
        return _render("overview.html", 400, overview=data.overview(*_here()), error=problem)
    prefix = "" if chosen == DEFAULT_SANDBOX else PREFIX + chosen
    return redirect(f"{prefix}/_mock/ui/", code=303)


@bp.get("/jelou")
def jelou_campaigns():
    return _render("campaigns.html", campaigns=data.campaigns(*_here()))


@bp.get("/jelou/<campaign_id>")
def jelou_campaign(campaign_id: str):
    try:
        found = data.campaign(*_here(), campaign_id)
        page = data.recipients(*_here(), campaign_id, phone=request.args.get("phone", ""), page=_page_arg())
    except data.NotFound:
        return _missing(f"Jelou campaign {campaign_id}")
    return _render("campaign.html", campaign=found, recipients=page)


@bp.get("/indigitall")
def indigitall_tasks():
    return _render("tasks.html", tasks=data.tasks(*_here()))


@bp.get("/indigitall/<task_id>")
def indigitall_task(task_id: str):
    try:
        found = data.task(*_here(), task_id)
        ledger = data.slot_ledger(*_here(), task_id)
        messages = data.task_messages(*_here(), task_id, page=_page_arg())
    except data.NotFound:
        return _missing(f"indigitall task {task_id}")
    return _render("task.html", task=found, ledger=ledger, chart=chart(ledger), messages=messages)


@bp.get("/webhooks")
def webhooks_page():
    state, sb = _here()
    return _render("webhooks.html", hooks=deliveries.webhooks(state, sb, status=request.args.get("status"),
                                                               page=_page_arg()))


@bp.get("/requests")
def requests_page():
    """The journal, newest first; ``campaign``/``task`` keep the requests that created that record."""
    if _instrument() is None:
        return _missing("request journal (the faults package is not in this build)")
    record = {key: request.args[arg] for key, arg in (("campaignId", "campaign"), ("taskId", "task"))
              if request.args.get(arg)}
    return _render("requests.html", journal=instruments.journal(_instrument(), current(), page=_page_arg(),
                                                                record=record), record=record)


@bp.route("/faults", methods=["GET", "POST"])
def faults_page():
    """Fault rules: list, add (the rule as JSON, as ``POST /_mock/faults`` takes it), delete."""
    instrument = _instrument()
    if instrument is None:
        return _missing("fault rules (the faults package is not in this build)")
    error, text = None, request.form.get("rule", "")
    if request.method == "POST":
        try:
            instruments.add_fault(instrument, current(), text)
            return redirect(url_for("ui.faults_page"), code=303)
        except ValueError as exc:
            error = str(exc)
    return _render("faults.html", 400 if error else 200, rules=instruments.fault_rules(instrument, current()),
                   error=error, rule_text=text)


@bp.post("/faults/<rule_id>/delete")
def delete_fault(rule_id: str):
    instrument = _instrument()
    if instrument is None or not instruments.delete_fault(instrument, current(), rule_id):
        return _missing(f"fault rule {rule_id}")
    return redirect(url_for("ui.faults_page"), code=303)


# -- polling (cheap JSON) ----------------------------------------------------------------------------
@bp.get("/api/overview")
def api_overview():
    return data.overview(*_here())


@bp.get("/api/webhooks")
def api_webhooks():
    return {"clock": data.clock(*_here()), "counts": deliveries.counts(*_here())}


@bp.get("/api/requests")
def api_requests():
    instrument = _instrument()
    total = instruments.journal_size(instrument, current()) if instrument is not None else 0
    return {"clock": data.clock(*_here()), "journal": {"total": total}}


@bp.get("/api/jelou")
def api_campaigns():
    return {"clock": data.clock(*_here()), "campaigns": data.campaigns(*_here())}


def _rows_arg() -> list[int]:
    """``rows=1,2,3``: the row numbers a page shows (at most 100), for their live statuses."""
    return int_list_arg("rows", 1)


@bp.get("/api/jelou/<campaign_id>")
def api_campaign(campaign_id: str):
    try:
        return {"clock": data.clock(*_here()), "campaign": data.campaign(*_here(), campaign_id),
                "rows": data.recipient_statuses(*_here(), campaign_id, _rows_arg())}
    except data.NotFound:
        return {"error": {"status": 404, "message": f"no campaign {campaign_id}"}}, 404


@bp.get("/api/indigitall")
def api_tasks():
    return {"clock": data.clock(*_here()), "tasks": data.tasks(*_here())}


@bp.get("/api/indigitall/<task_id>")
def api_task(task_id: str):
    try:
        return {"clock": data.clock(*_here()), "task": data.task(*_here(), task_id),
                "ledger": data.slot_ledger(*_here(), task_id), "rows": data.message_statuses(*_here(), task_id, _rows_arg())}
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
