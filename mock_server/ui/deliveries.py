"""The UI's reads of webhook subscriptions and delivery attempts (CONTRACT §10).

Through the app's webhook dispatcher (``state.webhooks``), the same calls ``/_mock/webhooks`` and
``/_mock/webhooks/deliveries`` make. The counts (polled) cost one pass over the deliveries not yet
finished; the page of attempts is read when the page is loaded.
"""

from __future__ import annotations

import math
from typing import Any

from ..isotime import from_timestamp, isoformat

STATUSES = ("pending", "retrying", "delivered", "dead")


def counts(state, sb) -> dict[str, int]:
    return state.webhooks.log(sb.name).counts()


def webhooks(state, sb, *, status: str | None = None, page: int = 1, size: int = 50) -> dict[str, Any]:
    """The sandbox's subscriptions and one page of its delivery attempts, newest first."""
    dispatcher = state.webhooks
    status = status if status in STATUSES else None
    log = dispatcher.log(sb.name)
    chosen = list(log.select(status, None, None))[::-1]
    start = (page - 1) * size
    now_real = dispatcher.real_now()
    items = [delivery.to_dict(now_real, lambda moment: isoformat(from_timestamp(moment)))
             for delivery in chosen[start:start + size]]
    return {"subscriptions": [sub.public() for sub in dispatcher.registry.all(sb.name)], "items": items,
            "total": len(chosen), "counts": log.counts(), "dropped": dict(log.dropped), "status": status,
            "page": page, "size": size, "pages": max(1, math.ceil(len(chosen) / size))}
