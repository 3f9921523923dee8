"""Jelou's pages in the inspection UI: its campaigns, one campaign's recipients (CONTRACT §11).

Registered through the provider contract (``Provider.ui_blueprint``, ``ui_nav``, ``ui_overview``);
the pages render in the UI's frame (``mock_server.ui.render_page``). Reads use the backend's own
records and renderers. Costs: the polling calls touch each campaign once (counts are
``bytearray.count`` calls, never a loop over recipients); only a phone search scans a campaign's
file, in C (``Rows.find_in_first_cells``), stopping at ``MAX_MATCHES`` hits.
"""

from __future__ import annotations

import math
import re
from typing import Any

from flask import Blueprint, request, url_for

from ..delivery import RESERVED_PREFIX
from ..isotime import from_timestamp, isoformat
from ..ui import NotFound, clock, here, missing, page_arg, render_page, rows_arg, summary
from ..curves import page_chart
from .campaigns import MESSAGE_STATUSES, STATUS_NAMES

bp = Blueprint("jelou_ui", __name__, url_prefix="/_mock/ui", template_folder="templates")

MAX_MATCHES = 10_000          # a phone search lists at most this many (refine it to see others)
PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")
TIMELINE = (("sentAt", "sent"), ("deliveryChannelAt", "delivered to channel"), ("deliveryUserAt", "delivered to user"),
            ("readAt", "read"), ("replyAt", "replied"), ("failedAt", "failed"))


# -- reads -----------------------------------------------------------------------------------------
def _backend(state):
    return state.backends["jelou"]


def _campaign_row(state, campaign, now: float) -> dict[str, Any]:
    counts = _status_counts(state, campaign, now)
    sent = campaign.sent_count(now)
    return {"id": campaign.id, "name": campaign.name, "elementName": campaign.element_name,
            "botId": campaign.bot_id, "status": campaign.status(now), "total": campaign.total, "sent": sent,
            "progress": round(100.0 * sent / campaign.total, 1) if campaign.total else 100.0,
            "counts": counts,
            "createdAt": isoformat(campaign.created_at), "fileName": campaign.file_name}


def campaigns(state, sb) -> list[dict[str, Any]]:
    """Every campaign of the sandbox, newest first, with live counters."""
    now = sb.now()
    return [_campaign_row(state, campaign, now) for campaign in _backend(state).scan(sb, newest_first=True)]


def _find_campaign(state, sb, campaign_id: str):
    campaign = _backend(state).get(sb, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id}")
    return campaign


def campaign(state, sb, campaign_id: str) -> dict[str, Any]:
    found = _find_campaign(state, sb, campaign_id)
    row = _campaign_row(state, found, sb.now())
    row.update(template=found.template_text, type=found.type, mediaUrl=found.media_url,
               scheduledAt=isoformat(from_timestamp(found.scheduled_at)) if found.scheduled_at is not None else None)
    return row


def recipients(state, sb, campaign_id: str, *, phone: str = "", status: str = "", page: int = 1,
               size: int = 25) -> dict[str, Any]:
    """One page of a campaign's recipients: those whose phone contains ``phone``, and/or in
    ``status`` (a Jelou status; ``ValueError`` names the argument for another word).

    Cost: a page without filters renders its rows; a status filter walks the rows lazily in file
    order and stops when the page is full (``Batch.in_status``: the rows up to the last one shown,
    only those whose outcome can reach that status for a status past sending; the total comes from
    the counts); a phone search scans the file in C, at most ``MAX_MATCHES``."""
    found = _find_campaign(state, sb, campaign_id)
    now = sb.now()
    phone = "".join(ch for ch in phone if ch.isdigit())
    status = status.strip().upper()
    if status and status not in MESSAGE_STATUSES:
        raise ValueError(f"status must be one of {', '.join(MESSAGE_STATUSES)}, not “{status}”")
    start = (page - 1) * size
    capped = False
    if phone:
        matches = found.rows.find_in_first_cells(phone, MAX_MATCHES + 1)
        capped = len(matches) > MAX_MATCHES
        matches = matches[:MAX_MATCHES]
        if status:              # at most MAX_MATCHES statuses to read
            matches = [index for index in matches if found.status_of(index, state.timelines, now) == status]
        total, chosen = len(matches), matches[start:start + size]
    elif status:
        total = _status_counts(state, found, now)[status]
        chosen = found.in_status(status, STATUS_NAMES, total, state.timelines, now, start, size)
    else:
        total, chosen = found.total, range(start, min(start + size, found.total))
    text = found.template_text
    items = []
    for index in chosen:
        message = found.message(index, state.timelines, now)
        params = message["parameters"]
        items.append({
            "row": index + 1, "id": f"{found.id}-{index + 1}", "phone": message["destination"],
            "reserved": message["destination"].startswith(RESERVED_PREFIX), "status": message["status"],
            "timeline": [{"stage": label, "at": message[key]} for key, label in TIMELINE if message[key]],
            "error": (message["error"] or {}).get("message"),
            "text": PLACEHOLDER.sub(lambda m: params.get(m.group(1), m.group(0)), text),
        })
    return {"items": items, "total": total, "page": page, "size": size, "pages": max(1, math.ceil(total / size)),
            "phone": phone, "status": status, "statuses": MESSAGE_STATUSES, "capped": capped}


def _status_counts(state, campaign, now: float) -> dict[str, int]:
    """Jelou status -> messages in it (before the start, every message is ``CREATED``)."""
    counts = campaign.message_counts(state.timelines, now) or {"CREATED": campaign.total}
    return {name: counts.get(name, 0) for name in MESSAGE_STATUSES}


def recipient_statuses(state, sb, campaign_id: str, rows: list[int]) -> dict[str, str]:
    """Row number -> status for the rows a page shows (what its poll re-reads; cost: those rows)."""
    found = _find_campaign(state, sb, campaign_id)
    now = sb.now()
    return {str(row): found.status_of(row - 1, state.timelines, now) for row in rows if 1 <= row <= found.total}


def overview(state, sb) -> dict[str, Any]:
    """Its overview card: campaigns and messages counted by status."""
    return summary(campaigns(state, sb), "counts", MESSAGE_STATUSES)


def search(state, sb, text: str, limit: int) -> list[dict[str, Any]]:
    """The UI search's Jelou part (``Provider.ui_search``): campaigns whose id or name contains
    ``text`` (any case), or with a recipient whose number contains its digits (a number of 3 or
    more digits), newest first, at most ``limit``. Cost: one pass over the sandbox's campaigns (as
    the list page) and, for a number, a search in C over each file that stops at its first hit;
    the walk stops at ``limit`` hits."""
    wanted = text.lower()
    number = _number(text)
    now = sb.now()
    hits: list[dict[str, Any]] = []
    for found in _backend(state).scan(sb, newest_first=True):
        why = ("id" if wanted in found.id.lower() else "name" if wanted in found.name.lower() else
               "a recipient's number" if number and found.rows.find_in_first_cells(number, 1) else None)
        if why is None:
            continue
        args = {"phone": number} if why.endswith("number") else {}
        hits.append({"title": found.name, "url": url_for("jelou_ui.campaign_page", campaign_id=found.id, **args),
                     "status": found.status(now), "detail": f"{found.id} · {found.total} recipients · matched by {why}"})
        if len(hits) >= limit:
            break
    return hits


def _number(text: str) -> str:
    """The digits of a phone number typed as one (``+593 99-123``), or "" for other text."""
    digits = "".join(ch for ch in text if ch.isdigit())
    return digits if len(digits) >= 3 and all(ch.isdigit() or ch in "+-() " for ch in text) else ""


# -- pages -----------------------------------------------------------------------------------------
@bp.get("/jelou")
def campaigns_page():
    return render_page("jelou/campaigns.html", campaigns=campaigns(*here()))


@bp.get("/jelou/<campaign_id>")
def campaign_page(campaign_id: str):
    error, status = None, request.args.get("status", "")
    try:
        found = campaign(*here(), campaign_id)
        try:
            page = recipients(*here(), campaign_id, phone=request.args.get("phone", ""), status=status, page=page_arg())
        except ValueError as exc:
            error = str(exc)
            page = recipients(*here(), campaign_id, phone=request.args.get("phone", ""), page=page_arg())
        curve = status_chart(*here(), campaign_id)
    except NotFound:
        return missing(f"Jelou campaign {campaign_id}")
    return render_page("jelou/campaign.html", 400 if error else 200, campaign=found, recipients=page, curve=curve,
                       error=error)


def status_chart(state, sb, campaign_id: str) -> dict[str, Any]:
    """The campaign's statuses over mock time (``GET /_mock/messages/curve``), as the page's SVG."""
    found = _find_campaign(state, sb, campaign_id)
    return {**page_chart(found, state.timelines, STATUS_NAMES, MESSAGE_STATUSES),
            "url": url_for("control.messages_curve", campaign=found.id)}


# -- polling (cheap JSON) --------------------------------------------------------------------------
@bp.get("/api/jelou")
def api_campaigns():
    return {"clock": clock(*here()), "campaigns": campaigns(*here())}


@bp.get("/api/jelou/<campaign_id>")
def api_campaign(campaign_id: str):
    try:
        return {"clock": clock(*here()), "campaign": campaign(*here(), campaign_id),
                "rows": recipient_statuses(*here(), campaign_id, rows_arg())}
    except NotFound:
        return {"error": {"status": 404, "message": f"no campaign {campaign_id}"}}, 404
