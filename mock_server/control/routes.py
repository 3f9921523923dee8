"""``/_mock`` endpoints (CONTRACT §6), kept apart from the emulated provider APIs.

Each provider backend offers the same two inspection calls, ``inspect_count(campaign, status)``
and ``inspect_list(campaign, status, offset, limit)``; this module merges them (Jelou first,
then indigitall) and pages through the result with ``offset``/``limit``.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Flask, request

from .. import bodies
from ..clock import ClockError
from ..errors import ControlError
from ..isotime import isoformat, parse_datetime, parse_duration

bp = Blueprint("control", __name__, url_prefix="/_mock")


def init_app(app: Flask, state) -> None:
    app.register_blueprint(bp)


def _state():
    from flask import current_app
    return current_app.extensions["mock"]


@bp.get("/health")
def health():
    return {"status": "ok"}


@bp.post("/reset")
def reset():
    """Drop campaigns, tasks, messages and slot ledgers; keep tenants, settings and the clock."""
    state = _state()
    state.store.reset()
    return {"status": "ok", "now": isoformat(state.clock.now())}


@bp.get("/clock")
def get_clock():
    clock = _state().clock
    return {"now": isoformat(clock.now()), "frozen": clock.frozen}


@bp.post("/clock")
def set_clock():
    """Set (``now``), move (``advance``, ISO 8601 duration) and/or freeze (``frozen``) the clock."""
    state = _state()
    try:
        body = bodies.json_body(request.get_data(cache=True))
    except bodies.BodyError as exc:
        raise ControlError(str(exc)) from None
    if not isinstance(body, dict) or not body.keys() & {"now", "advance", "frozen"}:
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
            state.clock.freeze(body["frozen"])
        if "now" in body:
            state.clock.set(parse_datetime(str(body["now"])))
        if "advance" in body:
            duration = parse_duration(str(body["advance"]))
            if duration.is_zero:
                raise ControlError('"advance" must be a positive duration such as PT1H')
            state.clock.advance(duration)
    except ClockError as exc:
        raise ControlError(str(exc)) from None
    except ValueError as exc:
        raise ControlError(str(exc)) from None
    state.settle()
    return {"now": isoformat(state.clock.now()), "frozen": state.clock.frozen}


@bp.get("/messages")
def messages():
    """The messages the mock has sent, filtered, optionally long-polling until ``wait_for`` match."""
    state = _state()
    args = request.args
    provider = args.get("provider")
    if provider is not None and provider not in state.backends:
        raise ControlError(f"unknown provider '{provider}'; use one of: {', '.join(state.backends)}")
    campaign = args.get("campaign") or args.get("task") or None
    status = args.get("status") or None
    limits = state.settings["inspection"]
    offset = _int_arg("offset", 0, 0)
    limit = _int_arg("limit", limits["default_limit"], 1, limits["max_limit"])
    wait_for = _int_arg("wait_for", 0, 0)
    most = float(limits["max_wait_seconds"])
    timeout = _float_arg("timeout", min(10.0, most), 0.0, most)
    backends = [state.backends[provider]] if provider else list(state.backends.values())

    def count() -> int:
        state.settle()
        return sum(backend.inspect_count(campaign, status) for backend in backends)

    total = _wait(state, count, wait_for, timeout) if wait_for else count()
    return {"messages": _page(backends, campaign, status, offset, limit), "total": total,
            "offset": offset, "limit": limit}


def _wait(state, count, wait_for: int, timeout: float) -> int:
    """Hold until ``count() >= wait_for`` or ``timeout`` real seconds pass.

    Wakes on every store change and clock move; while the clock runs in real time, stages also
    change by themselves, so it re-checks every 50 ms as well.
    """
    deadline = time.monotonic() + timeout
    with state.store.changed:
        total = count()
        while total < wait_for:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            state.store.changed.wait(remaining if state.clock.frozen else min(remaining, 0.05))
            total = count()
    return total


def _page(backends, campaign, status, offset: int, limit: int) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for backend in backends:
        if len(result) >= limit:
            break
        available = backend.inspect_count(campaign, status)
        if offset >= available:
            offset -= available
            continue
        result.extend(backend.inspect_list(campaign, status, offset, limit - len(result)))
        offset = 0
    return result


def _int_arg(name: str, default: int, low: int, high: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ControlError(f"'{name}' must be a whole number, not '{raw}'") from None
    if value < low or (high is not None and value > high):
        raise ControlError(f"'{name}' must be between {low} and {high}" if high is not None else f"'{name}' must be >= {low}")
    return value


def _float_arg(name: str, default: float, low: float, high: float) -> float:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ControlError(f"'{name}' must be a number of seconds, not '{raw}'") from None
    if not low <= value <= high:
        raise ControlError(f"'{name}' must be between {low:g} and {high:g} seconds")
    return value
