"""``/_mock`` health, reset and clock (CONTRACT §6, §7), kept apart from the emulated APIs.

Every endpoint works on the request's sandbox (header ``X-Mock-Sandbox`` or the
``/sandboxes/NAME`` prefix). Message inspection is in ``messages``, sandbox listing in ``sandboxes``.
Bodies and answers are the shapes of ``schemas`` (loaded and dumped by ``mock_server.wire``).
"""

from __future__ import annotations

from flask import Blueprint

from ..errors import ControlError
from ..isotime import isoformat
from ..sandbox import current
from ..wire import answers, takes
from .schemas import ClockChangeSchema, ClockSchema, HealthSchema, ResetBodySchema, ResetSchema

bp = Blueprint("control", __name__, url_prefix="/_mock")


def _state():
    from flask import current_app
    return current_app.extensions["mock"]


@bp.get("/health")
@answers(HealthSchema, description="ok")
def health():
    return {"status": "ok"}


@bp.get("/metrics")
def metrics():
    """Prometheus text exposition (CONTRACT §17; ``mock_server.metrics``): summed over the processes
    with ``--workers N``."""
    from ..metrics import CONTENT_TYPE
    return _state().metrics.exposition(), 200, {"Content-Type": CONTENT_TYPE}


@bp.post("/reset")
@answers(ResetSchema, description="Reset")
@takes(ResetBodySchema, required=False, load=True, allow_empty=True)
def reset(body: dict):
    """Reset the selected sandbox: drop its campaigns, tasks, messages, ledgers and the rest of
    its records; keep tenants and settings. ``{"clock": true}`` also returns its clock to the
    configured start (the one way a clock goes backwards)."""
    sb = current()
    reset_sandbox(sb, rewind_clock=body.get("clock", False))
    return {"status": "ok", "sandbox": sb.name, "now": isoformat(sb.clock.now())}


def reset_sandbox(sb, *, rewind_clock: bool = False) -> None:
    """``POST /_mock/reset`` on the request's sandbox (the UI's reset form calls it too)."""
    sb.reset(rewind_clock=rewind_clock)


@bp.get("/clock")
@answers(ClockSchema, description="Now")
def get_clock():
    now, frozen = current().clock.state()
    return {"now": isoformat(now), "frozen": frozen}


@bp.post("/clock")
@answers(ClockSchema, description="The clock after the change")
@takes(ClockChangeSchema, load=True)
def set_clock(body: dict):
    """Set (``now``), move (``advance``, ISO 8601 duration) and/or freeze (``frozen``) the clock."""
    sb = current()
    try:
        change_clock(_state(), sb, body)
    except ValueError as exc:            # ClockError included
        raise ControlError(str(exc)) from None
    now, frozen = sb.clock.state()
    return {"now": isoformat(now), "frozen": frozen}


def change_clock(state, sb, body: dict) -> None:
    """Apply a loaded ``ClockChangeSchema`` body to the sandbox's clock (freeze, then set or
    advance), settle what fell due and wake the webhook dispatcher; ``ValueError`` (``ClockError``)
    says why a change is refused. ``POST /_mock/clock`` and the UI's clock forms both call it."""
    clock = sb.clock
    if "frozen" in body:
        clock.freeze(body["frozen"])
    if "now" in body:
        clock.set(body["now"])
    if "advance" in body:
        clock.advance(body["advance"])
    state.settle(sb)
    state.webhooks.wake()               # deliver what fell due now, not at the dispatcher's next tick
