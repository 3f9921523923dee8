"""``/_mock`` health, reset and clock (CONTRACT §6, §7), kept apart from the emulated APIs.

Every endpoint works on the request's sandbox (header ``X-Mock-Sandbox`` or the
``/sandboxes/NAME`` prefix). Message inspection is in ``messages``, sandbox listing in ``sandboxes``.
"""

from __future__ import annotations

from flask import Blueprint, request

from .. import bodies
from ..errors import ControlError
from ..isotime import isoformat, parse_datetime, parse_duration
from ..sandbox import current

bp = Blueprint("control", __name__, url_prefix="/_mock")


def _state():
    from flask import current_app
    return current_app.extensions["mock"]


@bp.get("/health")
def health():
    return {"status": "ok"}


@bp.post("/reset")
def reset():
    """Reset the selected sandbox: drop its campaigns, tasks, messages, ledgers and the rest of
    its records; keep tenants and settings. ``{"clock": true}`` also returns its clock to the
    configured start (the one way a clock goes backwards)."""
    sb = current()
    body = _json_object(allow_empty=True)
    unknown = sorted(body.keys() - {"clock"})
    if unknown:
        raise ControlError(f"unknown reset field(s): {', '.join(unknown)}; the only one is \"clock\" (true/false)")
    if not isinstance(body.get("clock", False), bool):
        raise ControlError('"clock" must be true (also rewind the clock to its configured start) or false')
    sb.reset(rewind_clock=body.get("clock", False))
    return {"status": "ok", "sandbox": sb.name, "now": isoformat(sb.clock.now())}


@bp.get("/clock")
def get_clock():
    now, frozen = current().clock.state()
    return {"now": isoformat(now), "frozen": frozen}


@bp.post("/clock")
def set_clock():
    """Set (``now``), move (``advance``, ISO 8601 duration) and/or freeze (``frozen``) the clock."""
    state = _state()
    sb = current()
    clock = sb.clock
    body = _json_object()
    if not body.keys() & {"now", "advance", "frozen"}:
        raise ControlError('send a JSON object with "now" (ISO date-time), "advance" (ISO 8601 duration, e.g. "PT2H") '
                           'and/or "frozen" (true/false)')
    unknown = sorted(body.keys() - {"now", "advance", "frozen"})
    if unknown:
        raise ControlError(f"unknown clock field(s): {', '.join(unknown)}; use now, advance or frozen")
    if "now" in body and "advance" in body:
        raise ControlError('"now" and "advance" cannot be combined: give one of them')
    try:
        if "frozen" in body:
            if not isinstance(body["frozen"], bool):
                raise ControlError('"frozen" must be true or false')
            clock.freeze(body["frozen"])
        if "now" in body:
            clock.set(parse_datetime(str(body["now"])))
        if "advance" in body:
            duration = parse_duration(str(body["advance"]))
            if duration.is_zero:
                raise ControlError('"advance" must be a positive duration such as PT1H')
            clock.advance(duration)
    except ValueError as exc:            # ClockError included
        raise ControlError(str(exc)) from None
    state.settle(sb)
    state.webhooks.wake()               # deliver what fell due now, not at the dispatcher's next tick
    now, frozen = clock.state()
    return {"now": isoformat(now), "frozen": frozen}


def _json_object(*, allow_empty: bool = False) -> dict:
    raw = request.get_data(cache=True)
    if allow_empty and not raw.strip():
        return {}
    try:
        body = bodies.json_body(raw)
    except bodies.BodyError as exc:
        raise ControlError(str(exc)) from None
    if not isinstance(body, dict):
        if allow_empty:
            raise ControlError('send a JSON object, e.g. {"clock": true}, or no body')
        raise ControlError('send a JSON object with "now" (ISO date-time), "advance" (ISO 8601 duration, e.g. "PT2H") '
                           'and/or "frozen" (true/false)')
    return body
