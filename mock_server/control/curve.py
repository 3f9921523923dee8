"""``GET /_mock/messages/curve?campaign=ID|task=ID&step=PT1M`` (CONTRACT §14): how many messages of
one campaign or task stand in each status at each step of mock time (``mock_server.curves``)."""

from __future__ import annotations

from flask import request

from ..curves import CurveError, curve
from ..errors import ControlError
from ..isotime import bounded_seconds
from ..sandbox import current
from ..wire import answers
from .routes import _state, bp
from .schemas import CurveSchema


def find(state, sb, batch_id: str, provider: str | None = None):
    """``(provider name, batch, stage names, statuses)`` of a campaign or task, or None."""
    for name, backend in state.backends.items():
        if provider not in (None, name) or not hasattr(backend, "curve_source"):
            continue
        found = backend.curve_source(sb, batch_id)
        if found is not None:
            return (name, *found)
    return None


@bp.get("/messages/curve")
@answers(CurveSchema, description="The batch's statuses over mock time")
def messages_curve():
    state = _state()
    args = request.args
    batch_id = args.get("campaign") or args.get("task")
    if not batch_id:
        raise ControlError("campaign: give the campaign (or task) id: ?campaign=ID or ?task=ID")
    provider = args.get("provider")
    if provider is not None and provider not in state.backends:
        raise ControlError(f"unknown provider '{provider}'; use one of: {', '.join(state.backends)}")
    step = None
    if args.get("step") is not None:
        try:
            step = bounded_seconds(args["step"], "step", "P30D")
        except ValueError as exc:
            text = str(exc)
            raise ControlError(text if text.startswith("step") else f"step: {text}") from None
        if step <= 0:
            raise ControlError("step must be a positive duration such as PT1M")
    found = find(state, current(), batch_id, provider)
    if found is None:
        raise ControlError(f"no campaign or task '{batch_id[:80]}' in this sandbox", 404)
    name, batch, names, statuses = found
    try:
        shape = curve(batch, state.timelines, names, statuses, step)
    except CurveError as exc:
        raise ControlError(str(exc)) from None
    return {"provider": name, "campaign": str(batch.id), "total": batch.total, "step": shape["step"],
            "points": shape["points"]}
