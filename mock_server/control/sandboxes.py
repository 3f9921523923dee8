"""``GET /_mock/sandboxes`` and ``DELETE /_mock/sandboxes/NAME`` (CONTRACT §7).

The listing shows every sandbox with its clock, its record counts (campaigns, tasks), when it was
created and last used (real time), and the idle TTL after which an unused one is dropped.
"""

from __future__ import annotations

from ..clock import Clock
from ..errors import ControlError
from ..isotime import from_timestamp, isoformat
from ..sandbox import NAME_RULE
from ..store import valid_sandbox_name
from ..wire import answers
from .routes import _state, bp
from .schemas import DroppedSchema, SandboxListSchema


@bp.get("/sandboxes")
@answers(SandboxListSchema, description="The sandboxes")
def list_sandboxes():
    state = _state()
    state.expire_idle()
    items = []
    for info in state.store.sandboxes():
        now, frozen = Clock(state.store, info.name).state()
        items.append({
            "name": info.name,
            "clock": {"now": isoformat(now), "frozen": frozen},
            "records": state.record_counts(info.counts),
            "generation": info.generation,
            "createdAt": isoformat(from_timestamp(info.created_real)),
            "lastUsedAt": isoformat(from_timestamp(info.used_real)),
        })
    return {"sandboxes": items, "total": len(items), "idleTtl": state.settings.sandboxes.idle_ttl}


@bp.delete("/sandboxes/<path:name>")
@answers(DroppedSchema, description="Dropped")
def drop_sandbox(name: str):
    if not valid_sandbox_name(name):
        raise ControlError(f"invalid sandbox name {name[:80]!r}: use {NAME_RULE}")
    if not _state().store.drop(name):
        raise ControlError(f"no sandbox named '{name}'", 404)
    return {"status": "ok", "dropped": name}
