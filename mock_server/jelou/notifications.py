"""Jelou notifications (one per recipient of a started campaign) and control-plane inspection.

A notification id is ``<campaignId>-<row number>``, so any one can be found without an index.
Results are newest campaign first, then in file order. ``_metadata`` counts the messages of
every filter but ``status`` by ``sentStatus`` (so a dashboard can show the split of a campaign).
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterator

from ..isotime import from_timestamp, isoformat
from .campaigns import MESSAGE_STATUSES, Campaign
from .errors import NotFound

TEMPLATE_PARAM = re.compile(r"\{\{(\d+)\}\}")
ROW_NUMBER = re.compile(r"[0-9]{1,18}")      # ASCII digits only: str.isdigit() also accepts "²"


class NotificationsMixin:
    """Mixed into :class:`JelouBackend`; uses its ``campaigns``, ``bot_for`` and ``state``."""

    def _notification(self, campaign: Campaign, index: int, now: float) -> dict[str, Any]:
        state = campaign.message(index, self.state.timelines, now)
        notification_id = f"{campaign.id}-{index + 1}"
        return {
            "id": notification_id,
            "internalId": notification_id,
            "destination": state["destination"],
            "sentStatus": state["status"],
            "wasRead": state["status"] in ("READ", "REPLY"),
            "origin": "BULK",
            "campaignId": campaign.id,
            "elementName": campaign.element_name,
            "botId": campaign.bot["id"],
            "createdAt": isoformat(from_timestamp(campaign.started_at)),
            "sentDate": state["sentAt"],
            "deliveryChannelAt": state["deliveryChannelAt"],
            "deliveryUserAt": state["deliveryUserAt"],
            "readAt": state["readAt"],
            "replyAt": state["replyAt"],
            "failedAt": state["failedAt"],
            "error": state["error"],
        }

    def _started(self, bot_id: str | None, query: dict, now: float) -> list[Campaign]:
        """Started campaigns matching the campaign-level filters, newest first."""
        chosen = []
        for campaign in reversed(list(self.campaigns.values())):
            if bot_id is not None and campaign.bot["id"] != bot_id:
                continue
            if not campaign.has_started(now):
                continue
            if query.get("campaignId") and campaign.id != query["campaignId"]:
                continue
            if query.get("elementName") and campaign.element_name != query["elementName"]:
                continue
            if query.get("from_") and campaign.started_at < query["from_"].timestamp():
                continue
            if query.get("to_") and campaign.started_at > query["to_"].timestamp():
                continue
            chosen.append(campaign)
        return chosen

    def list_notifications(self, client: dict, bot_id: str, query: dict) -> dict[str, Any]:
        self.bot_for(client, bot_id)
        now = self.state.clock.now().timestamp()
        page, limit = query["page"], query["limit"]
        if query.get("origin") and query["origin"] != "BULK":
            campaigns: list[Campaign] = []
        else:
            campaigns = self._started(bot_id, query, now)
        metadata: dict[str, int] = {name: 0 for name in MESSAGE_STATUSES}
        for campaign in campaigns:
            for name, number in campaign.message_counts(self.state.timelines, now).items():
                metadata[name] += number
        wanted = query.get("status")
        if query.get("messageId"):
            results, total = self._by_message_id(campaigns, query["messageId"], wanted, now)
        else:
            matches = self._iterate(campaigns, wanted, query.get("destination"), now)
            total, results = _page(matches, (page - 1) * limit, limit, self._notification, now, self.state.timelines)
        metadata["total"] = sum(metadata[name] for name in MESSAGE_STATUSES)
        return {
            "pagination": {"limit": limit, "page": page, "total": total, "offset": (page - 1) * limit,
                           "totalPages": math.ceil(total / limit)},
            "results": results,
            "_metadata": metadata,
        }

    def get_notification(self, client: dict, bot_id: str, notification_id: str) -> dict[str, Any]:
        self.bot_for(client, bot_id)
        now = self.state.clock.now().timestamp()
        found = self._locate(notification_id)
        if found is None or found[0].bot["id"] != bot_id or not found[0].has_started(now):
            raise NotFound(f"Notification {notification_id} not found", 404)
        return self._notification(found[0], found[1], now)

    def _locate(self, notification_id: str) -> tuple[Campaign, int] | None:
        campaign_id, _, number = notification_id.rpartition("-")
        campaign = self.campaigns.get(campaign_id)
        if campaign is None or not ROW_NUMBER.fullmatch(number) or not 1 <= int(number) <= campaign.total:
            return None
        return campaign, int(number) - 1

    def _by_message_id(self, campaigns, message_id, wanted, now):
        found = self._locate(message_id)
        if found is None or found[0] not in campaigns:
            return [], 0
        item = self._notification(found[0], found[1], now)
        if wanted and item["sentStatus"] != wanted:
            return [], 0
        return [item], 1

    def _iterate(self, campaigns, wanted: str | None, destination: str | None, now: float) -> Iterator:
        """``(campaign, index)`` of matching messages, with a fast count per campaign where possible."""
        for campaign in campaigns:
            if wanted is None and destination is None:
                yield campaign, None, campaign.total
                continue
            if destination is None:
                yield campaign, wanted, campaign.message_counts(self.state.timelines, now).get(wanted, 0)
                continue
            indexes = [i for i in range(campaign.total) if campaign.rows.first_cell(i) == destination]
            if wanted is not None:
                indexes = [i for i in indexes if campaign.status_of(i, self.state.timelines, now) == wanted]
            yield campaign, indexes, len(indexes)

    # -- control plane -------------------------------------------------------------------
    def inspect_count(self, campaign_id: str | None, status: str | None) -> int:
        now = self.state.clock.now().timestamp()
        total = 0
        for campaign in self._inspected(campaign_id, now):
            if status is None:
                total += campaign.sent_count(now)
            else:
                counts = campaign.message_counts(self.state.timelines, now, sent_only=True)
                total += sum(n for name, n in counts.items() if name.lower() == status.lower())
        return total

    def inspect_list(self, campaign_id: str | None, status: str | None, offset: int, limit: int) -> list[dict]:
        now = self.state.clock.now().timestamp()
        wanted = next((name for name in MESSAGE_STATUSES if status and name.lower() == status.lower()), None)
        if status and wanted is None:
            return []
        timelines = self.state.timelines
        matches = ((c, range(c.sent_count(now)) if wanted is None else (wanted, c.sent_count(now)),
                    c.sent_count(now) if wanted is None else c.message_counts(timelines, now, sent_only=True).get(wanted, 0))
                   for c in self._inspected(campaign_id, now))
        return _page(matches, offset, limit, self._inspection_item, now, timelines)[1]

    def _inspected(self, campaign_id: str | None, now: float) -> list[Campaign]:
        """Started campaigns, oldest first (the order they were sent in)."""
        if campaign_id is not None:
            campaign = self.campaigns.get(campaign_id)
            return [campaign] if campaign is not None and campaign.has_started(now) else []
        return [c for c in self.campaigns.values() if c.has_started(now)]

    def _inspection_item(self, campaign: Campaign, index: int, now: float) -> dict[str, Any]:
        state = campaign.message(index, self.state.timelines, now)
        text = TEMPLATE_PARAM.sub(lambda m: state["parameters"].get(m.group(1), m.group(0)), campaign.template.get("text", ""))
        return {
            "provider": "jelou",
            "id": f"{campaign.id}-{index + 1}",
            "campaign": campaign.id,
            "recipient": state["destination"],
            "status": state["status"],
            "timestamps": {key: state[key] for key in ("sentAt", "deliveryChannelAt", "deliveryUserAt", "readAt", "replyAt", "failedAt")},
            "error": state["error"],
            "content": {"botId": campaign.bot["id"], "elementName": campaign.element_name, "type": campaign.type,
                        "parameters": state["parameters"], "mediaUrl": campaign.media_url, "text": text},
        }


def _page(matches, offset: int, limit: int, render, now: float, timelines) -> tuple[int, list[dict]]:
    """Walk ``(campaign, selector, count)`` triples; return the total and one rendered page.

    ``selector`` is None (every message), a status name (messages in that status) or a list of
    indexes. Whole campaigns before the page are skipped by their count alone.
    """
    total, results = 0, []
    for campaign, selector, count in matches:
        if count and len(results) < limit and offset < total + count:
            skip = max(0, offset - total)
            for index in _indexes(campaign, selector, now, skip, timelines):
                results.append(render(campaign, index, now))
                if len(results) >= limit:
                    break
        total += count
    return total, results


def _indexes(campaign: Campaign, selector, now: float, skip: int, timelines) -> Iterator[int]:
    """Indexes picked by ``selector``: None (all), a sequence of indexes, a status name, or
    ``(status, upper)`` (that status among the first ``upper`` messages)."""
    if selector is None:
        yield from range(skip, campaign.total)
    elif isinstance(selector, (list, range)):
        yield from selector[skip:]
    else:
        status, upper = selector if isinstance(selector, tuple) else (selector, campaign.total)
        seen = 0
        for index in range(upper):
            if campaign.status_of(index, timelines, now) == status:
                if seen >= skip:
                    yield index
                seen += 1
