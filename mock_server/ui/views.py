"""The UI's generic pages and the JSON endpoints they poll. Thin: every read goes through ``data``.

What is a provider's (its pages, overview card, record links, examples) comes from the registered
providers (``Provider.ui_*``); their pages use :func:`render_page`, :func:`here`, :func:`page_arg`,
:func:`rows_arg` and :func:`missing` from here.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from markupsafe import Markup, escape

from ..control.routes import reset_sandbox
from ..errors import ControlError
from ..faults.control import entry_filter
from ..queryargs import int_arg, int_list_arg
from ..sandbox import PREFIX, current, select
from ..store import DEFAULT_SANDBOX
from . import data, deliveries, instruments

bp = Blueprint("ui", __name__, url_prefix="/_mock/ui", template_folder="templates", static_folder="static")


def here():
    """The app's state and the request's sandbox: the first two arguments of every ``data`` call."""
    return current_app.extensions["mock"], current()


def _instrument():
    """The faults package's instrument (journal, fault rules), or None in a build without it."""
    return current_app.extensions.get("mock.faults")


def page_arg(name: str = "page") -> int:
    return int_arg(name, 1, 1)


def rows_arg() -> list[int]:
    """``rows=1,2,3``: the row numbers a page shows (at most 100), for their live statuses."""
    return int_list_arg("rows", 1)


@bp.app_template_filter("breakable")
def breakable(text) -> Markup:
    """``text`` escaped, with a ``<wbr>`` after each underscore: a badge such as DELIVERED_CHANNEL
    wraps there in a narrow cell (``.grid .badge`` in ui.css) instead of overlapping the next one."""
    return Markup("_<wbr>").join(escape(str(text)).split("_"))


def render_page(template: str, status: int = 200, **context):
    """A page in the UI's frame (``ui/base.html``: nav, sandbox switcher, clock); providers' pages too."""
    state, sb = here()
    nav = [link for provider in state.providers.values() for link in provider.ui_nav]
    html = render_template(template, clock=data.clock(state, sb), sandbox=sb.name, provider_nav=nav,
                           sandboxes=data.sandboxes(state), instrumented=_instrument() is not None, **context)
    return html, status, {"Cache-Control": "no-store"}


def _render(template: str, status: int = 200, **context):
    return render_page(f"ui/{template}", status, **context)


def missing(what: str):
    """The UI's 404 page: there is no ``what`` in this sandbox."""
    return _render("missing.html", 404, what=what)


def _example(state) -> dict[str, str] | None:
    """A request to try, for empty pages' hints: the first provider's ``ui_example``."""
    for provider in state.providers.values():
        if provider.ui_example:
            method, path = provider.ui_example
            return {"provider": provider.name, "method": method, "path": path}
    return None


# -- pages ---------------------------------------------------------------------------------------
@bp.get("/")
def overview():
    return _overview(200, error=request.args.get("error"), reset_done=request.args.get("done") == "reset")


def _overview(status: int, **context):
    state, sb = here()
    cards = [provider.ui_overview_template for provider in state.providers.values() if provider.ui_overview_template]
    return _render("overview.html", status, overview=data.overview(state, sb), cards=cards, **context)


@bp.post("/clock")
def change_clock():
    """The clock forms: ``advance`` (ISO 8601 duration), ``to`` (an ISO 8601 instant, or a
    duration) and/or ``frozen`` (``true``/``false``); a bad value is a 400 page saying why."""
    frozen = request.form.get("frozen")
    back = request.form.get("back") or ""
    if not back.startswith(url_for("ui.overview")) or back == url_for("ui.change_clock"):
        back = url_for("ui.overview")
    try:
        data.change_clock(*here(), to=request.form.get("to"), advance=request.form.get("advance"),
                          frozen=None if frozen is None else frozen == "true")
    except ValueError as exc:
        return _overview(400, error=str(exc), advance=request.form.get("advance", ""), to=request.form.get("to", ""),
                         back=back)
    return redirect(back, code=303)


@bp.get("/search")
def search():
    """The home page's search box: matching records of the sandbox, per provider (``data.search``)."""
    try:
        found = data.search(*here(), request.args.get("q", ""))
    except ValueError as exc:
        return _overview(400, error=str(exc), q=request.args.get("q", ""))
    return _render("search.html", found=found, q=found["text"])


@bp.route("/reset", methods=["GET", "POST"])
def reset():
    """Reset the sandbox, in two steps: GET asks for confirmation; POST (the confirmation form,
    ``confirm`` = the sandbox's name; ``clock=true`` also rewinds the clock) does what
    ``POST /_mock/reset`` does. The Origin check of ``browsers.py`` applies: a page on another
    origin cannot post it."""
    state, sb = here()
    if request.method == "GET":
        return _render("reset.html", counts=data.overview(state, sb)["totals"])
    if request.form.get("confirm") != sb.name:
        return _render("reset.html", 400, counts=data.overview(state, sb)["totals"],
                       error=f"confirm the reset of sandbox {sb.name!r}: the form's confirm field must name it")
    reset_sandbox(sb, rewind_clock=request.form.get("clock") == "true")
    return redirect(url_for("ui.overview", done="reset"), code=303)


@bp.get("/sandbox")
def switch_sandbox():
    """The switcher's form: go to the same UI under ``/sandboxes/NAME`` (``default``: no prefix)."""
    name = request.args.get("sandbox", DEFAULT_SANDBOX)
    chosen, problem = select(name, None)
    if problem:
        return _overview(400, error=problem)
    prefix = "" if chosen == DEFAULT_SANDBOX else PREFIX + chosen
    return redirect(f"{prefix}/_mock/ui/", code=303)


@bp.get("/webhooks")
def webhooks_page():
    state, sb = here()
    owner_keys = {provider.name: provider.webhooks.owner_key for provider in state.providers.values()
                  if provider.webhooks is not None}
    ways = [("", "POST /_mock/webhooks")] + [way for provider in state.providers.values()
                                              for way in provider.ui_webhook_ways]
    return _render("webhooks.html", hooks=deliveries.webhooks(state, sb, status=request.args.get("status"),
                                                               page=page_arg()),
                   owner_keys=owner_keys, ways=ways)


JOURNAL_FILTERS = ("provider", "method", "path", "status")


@bp.get("/requests")
def requests_page():
    """The journal, newest first. Filters (the form): provider, method, path (a part of it, or a
    glob with ``*``) and status (503, 5xx or dropped), those of ``/_mock/requests``; a provider's
    record argument (``Provider.ui_record``, e.g. ``?campaign=ID``) keeps the requests that
    created that record."""
    if _instrument() is None:
        return missing("request journal (the faults package is not in this build)")
    state, sb = here()
    links = _record_links(state)
    record = {key: request.args[link.arg] for key, link in links if request.args.get(link.arg)}
    chosen = {name: request.args.get(name, "").strip() for name in JOURNAL_FILTERS}
    error, wanted = None, None
    try:
        wanted = entry_filter({**chosen, "path": _path_pattern(chosen["path"])})
    except ControlError as exc:
        error = exc.message
    journal = instruments.journal(_instrument(), sb, page=page_arg(), record=record, wanted=wanted)
    for entry in journal["items"]:
        entry["link"] = next((_link(link, entry[key], link.label_with_id) for key, link in links if entry.get(key)),
                             None)
    shown = next(({**_link(link, record[key]), "id": record[key], "noun": link.noun, "arg": link.arg}
                  for key, link in links if key in record), None)
    kept = {name: value for name, value in chosen.items() if value}
    if shown:
        kept[shown["arg"]] = shown["id"]
    return _render("requests.html", 400 if error else 200, journal=journal, record=shown, example=_example(state),
                   filters=chosen, filtered=bool(kept), query=urlencode(kept) + "&" if kept else "", error=error,
                   providers=[(provider.name, provider.title) for provider in state.providers.values()])


def _path_pattern(text: str) -> str:
    """The path filter as ``/_mock/requests`` takes it: a part of the path (``hsm``), or a glob."""
    return text if not text or "*" in text else f"*{text}*"


def _record_links(state):
    """(journal key, ``RecordLink``) of every provider whose records the UI links."""
    return [(provider.journal_record[0], provider.ui_record) for provider in state.providers.values()
            if provider.ui_record is not None and provider.journal_record is not None]


def _link(link, record_id, with_id: bool = True) -> dict[str, str]:
    return {"url": url_for(link.endpoint, **{link.id_arg: record_id}),
            "text": f"{link.noun} {record_id}" if with_id else link.noun}


@bp.route("/faults", methods=["GET", "POST"])
def faults_page():
    """Fault rules: list, add (the rule as JSON, as ``POST /_mock/faults`` takes it), delete."""
    instrument = _instrument()
    if instrument is None:
        return missing("fault rules (the faults package is not in this build)")
    error, text = None, request.form.get("rule", "")
    if request.method == "POST":
        try:
            instruments.add_fault(instrument, current(), text)
            return redirect(url_for("ui.faults_page"), code=303)
        except ValueError as exc:
            error = str(exc)
    return _render("faults.html", 400 if error else 200, rules=instruments.fault_rules(instrument, current()),
                   error=error, rule_text=text, example=_example(here()[0]))


@bp.post("/faults/<rule_id>/delete")
def delete_fault(rule_id: str):
    instrument = _instrument()
    if instrument is None or not instruments.delete_fault(instrument, current(), rule_id):
        return missing(f"fault rule {rule_id}")
    return redirect(url_for("ui.faults_page"), code=303)


# -- polling (cheap JSON) ----------------------------------------------------------------------------
@bp.get("/api/overview")
def api_overview():
    return data.overview(*here())


@bp.get("/api/webhooks")
def api_webhooks():
    return {"clock": data.clock(*here()), "counts": deliveries.counts(*here())}


@bp.get("/api/requests")
def api_requests():
    instrument = _instrument()
    total = instruments.journal_size(instrument, current()) if instrument is not None else 0
    return {"clock": data.clock(*here()), "journal": {"total": total}}
