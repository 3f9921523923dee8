"""``/_mock/webhooks``: subscriptions of every provider with webhooks, delivery records and redelivery (CONTRACT §10)."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from werkzeug.exceptions import MethodNotAllowed

from ..errors import ControlError
from ..isotime import from_timestamp, isoformat
from ..queryargs import int_arg
from ..sandbox import current
from ..wire import answers, takes
from .records import STATUSES, public
from .schemas import (DeliveryPageSchema, RedeliveredSchema, RedeliverSchema, UnsubscribedSchema, subscription,
                      subscription_body, subscription_list)
from .subscriptions import expand

bp = Blueprint("webhooks", __name__, url_prefix="/_mock/webhooks")
MAX_LIMIT = 1000
RESERVED = ("deliveries", "redeliver")    # paths under /_mock/webhooks that are not subscription ids


def _state():
    return current_app.extensions["mock"]


@bp.post("")
@answers(subscription, 201, "The subscription")
@takes(subscription_body, load=True)
def subscribe(body: dict):
    """Create a subscription for a provider's owner (its ``WebhookSpec.owner_key``: ``botId`` ...)."""
    state = _state()
    provider = body["provider"]
    spec = state.webhooks.specs[provider]
    owner = str(body[spec.owner_key])
    problem = spec.owner_problem(state.settings, owner)
    if problem:
        raise ControlError(problem)
    sb = current()
    since = sb.now()
    subscription = state.webhooks.registry.add(
        sb.name, provider=provider, owner=owner, url=body["url"], events=expand(spec, body["events"]),
        source="control", auth=body["auth"], signing_secret=body["signing_secret"], since=since)
    state.webhooks.subscribed(sb.name, since)
    return state.webhooks.registry.public(subscription), 201


@bp.get("")
@answers(subscription_list, description="Subscriptions")
def subscriptions():
    registry = _state().webhooks.registry
    items = [registry.public(sub) for sub in registry.all(current().name)]
    return {"webhooks": items, "total": len(items)}


@bp.delete("/<subscription_id>")
@answers(UnsubscribedSchema, description="Deleted")
def unsubscribe(subscription_id: str):
    if subscription_id in RESERVED:     # /deliveries, /redeliver: not subscription ids
        methods = current_app.url_map.bind("").allowed_methods(request.path)
        raise MethodNotAllowed(valid_methods=sorted(set(methods) - {"DELETE"}))
    registry, sandbox = _state().webhooks.registry, current().name
    found = registry.get(sandbox, subscription_id)
    if found is None:
        raise ControlError(f"no webhook subscription '{subscription_id}'", 404)
    if found.source == "settings":
        raise ControlError(f"subscription '{subscription_id}' comes from the settings "
                           f"({registry.specs[found.provider].configured_where}): change the config file instead", 409)
    registry.remove(sandbox, subscription_id)
    _state().webhooks.unsubscribed(sandbox, [subscription_id])
    return {"deleted": subscription_id}


@bp.get("/deliveries")
@answers(DeliveryPageSchema, description="One page")
def deliveries():
    """Delivery records, oldest first: ``status``, ``event``, ``recipient`` filters; ``offset``/``limit``."""
    state = _state()
    args = request.args
    status = args.get("status") or None
    if status is not None and status not in STATUSES:
        raise ControlError(f"status must be one of {', '.join(STATUSES)}, not '{status}'")
    offset = int_arg("offset", 0, 0)
    limit = int_arg("limit", 100, 1, MAX_LIMIT)
    records, sandbox = state.webhooks.deliveries, current().name
    chosen, total = records.select(sandbox, status=status, event=args.get("event") or None,
                                   recipient=args.get("recipient") or None, offset=offset, limit=limit)
    now_real = state.webhooks.real_now()
    iso = lambda moment: isoformat(from_timestamp(moment))  # noqa: E731
    return {"deliveries": [public(record, now_real, iso) for record in chosen], "total": total, "offset": offset,
            "limit": limit, "counts": records.counts(sandbox), "dropped": records.dropped(sandbox)}


@bp.post("/redeliver")
@answers(RedeliveredSchema, description="How many")
@takes(RedeliverSchema, load=True)
def redeliver(body: dict):
    """Deliver finished records again: ``{"ids": [...]}`` or ``{"status": "dead"|"delivered"}``."""
    count, unknown = _state().webhooks.redeliver(current().name, body.get("ids"), body.get("status"))
    if unknown:
        raise ControlError(f"no finished delivery with id(s): {', '.join(unknown[:20])}"
                           f"{' …' if len(unknown) > 20 else ''}; nothing was redelivered", 404)
    return {"redelivered": count}
