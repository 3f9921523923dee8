"""``/_mock/webhooks``: subscriptions of every provider with webhooks, delivery records and redelivery (CONTRACT §10)."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from marshmallow import ValidationError
from werkzeug.exceptions import MethodNotAllowed

from .. import bodies
from ..errors import ControlError
from ..isotime import from_timestamp, isoformat
from ..queryargs import int_arg
from ..sandbox import current
from .records import STATUSES, public
from .subscriptions import control_subscription_schema, expand, first_message

bp = Blueprint("webhooks", __name__, url_prefix="/_mock/webhooks")
MAX_LIMIT = 1000
RESERVED = ("deliveries", "redeliver")    # paths under /_mock/webhooks that are not subscription ids


def _state():
    return current_app.extensions["mock"]


def _json_object(what: str) -> dict:
    try:
        body = bodies.json_body(request.get_data(cache=True))
    except bodies.BodyError as exc:
        raise ControlError(str(exc)) from None
    if not isinstance(body, dict):
        raise ControlError(f"send a JSON object with {what}")
    return body


@bp.post("")
def subscribe():
    """Create a subscription for a provider's owner (its ``WebhookSpec.owner_key``: ``botId`` ...)."""
    state = _state()
    specs = state.webhooks.specs
    owners = " or ".join(f'"{spec.owner_key}" ({name})' for name, spec in sorted(specs.items()))
    body = _json_object(f'"provider", "url", "events" and {owners}')
    try:
        loaded = control_subscription_schema(specs)().load(body)
    except ValidationError as exc:
        field, sentence = first_message(exc)
        raise ControlError(f"{field}: {sentence}") from None
    provider = loaded["provider"]
    spec = specs[provider]
    owner = str(loaded[spec.owner_key])
    problem = spec.owner_problem(state.settings, owner)
    if problem:
        raise ControlError(problem)
    sb = current()
    since = sb.now()
    subscription = state.webhooks.registry.add(
        sb.name, provider=provider, owner=owner, url=loaded["url"], events=expand(spec, loaded["events"]),
        source="control", auth=loaded["auth"], signing_secret=loaded["signing_secret"], since=since)
    state.webhooks.subscribed(sb.name, since)
    return state.webhooks.registry.public(subscription), 201


@bp.get("")
def subscriptions():
    registry = _state().webhooks.registry
    items = [registry.public(sub) for sub in registry.all(current().name)]
    return {"webhooks": items, "total": len(items)}


@bp.delete("/<subscription_id>")
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
def redeliver():
    """Deliver finished records again: ``{"ids": [...]}`` or ``{"status": "dead"|"delivered"}``."""
    body = _json_object('"ids" (delivery ids) or "status" ("dead" or "delivered")')
    ids, status = body.get("ids"), body.get("status")
    if (ids is None) == (status is None):
        raise ControlError('give either "ids" (a list of delivery ids) or "status" ("dead" or "delivered")')
    if ids is not None and (not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids)):
        raise ControlError('"ids" must be a non-empty list of delivery ids (the "id" of /_mock/webhooks/deliveries)')
    if status is not None and status not in ("dead", "delivered"):
        raise ControlError('"status" must be "dead" or "delivered"')
    count, unknown = _state().webhooks.redeliver(current().name, ids, status)
    if unknown:
        raise ControlError(f"no finished delivery with id(s): {', '.join(unknown[:20])}"
                           f"{' …' if len(unknown) > 20 else ''}; nothing was redelivered", 404)
    return {"redelivered": count}
