"""The UI's reads of webhook subscriptions and delivery attempts (CONTRACT §10).

Through the app's webhook dispatcher (``state.webhooks``), the same calls ``/_mock/webhooks`` and
``/_mock/webhooks/deliveries`` make: the delivery records are in the store, so the page shows the
attempts of every process. The counts (polled) are four index sizes; one page of attempts is read
when the page is loaded.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..isotime import from_timestamp, isoformat
from ..webhooks.headers import sent_headers, sent_payload
from ..webhooks.records import STATUSES, public


def counts(state, sb) -> dict[str, int]:
    return state.webhooks.deliveries.counts(sb.name)


def webhooks(state, sb, *, status: str | None = None, page: int = 1, size: int = 50) -> dict[str, Any]:
    """The sandbox's subscriptions and one page of its delivery attempts, newest first."""
    dispatcher = state.webhooks
    records = dispatcher.deliveries
    status = status if status in STATUSES else None
    chosen, total = records.select(sb.name, status=status, offset=(page - 1) * size, limit=size, newest_first=True)
    now_real = dispatcher.real_now()
    subscriptions = {sub.id: sub for sub in dispatcher.registry.all(sb.name)}
    items = [{**public(record, now_real, lambda moment: isoformat(from_timestamp(moment))),
              **_requests(record.value, subscriptions.get(record.value["subscription"]))} for record in chosen]
    return {"subscriptions": [dispatcher.registry.public(sub) for sub in dispatcher.registry.all(sb.name)], "items": items,
            "total": total, "counts": records.counts(sb.name), "dropped": records.dropped(sb.name), "status": status,
            "page": page, "size": size, "pages": max(1, math.ceil(total / size))}


def _requests(value: dict[str, Any], subscription) -> dict[str, Any]:
    """A delivery's payload (pretty JSON) and each attempt's request headers, re-derived from the
    record and its subscription (``headers.sent_headers``: nothing is stored per attempt)."""
    headers = {}
    for entry in value["history"]:
        sent = sent_headers(value, subscription, entry["attempt"])
        headers[entry["attempt"]] = None if sent is None else "\n".join(f"{name}: {text}" for name, text in sent.items())
    return {"payload": json.dumps(sent_payload(value), indent=2, ensure_ascii=False), "sentHeaders": headers}
