"""Jelou notifications (one per recipient of a started campaign) and control-plane inspection.

A notification id is ``<campaignId>-<row number>``, so any one can be found without an index.
Results are newest campaign first, then in file order. ``_metadata`` counts the messages of
every filter but ``status`` by ``sentStatus`` (so a dashboard can show the split of a campaign).
"""

from __future__ import annotations

import math
import re
from itertools import islice
from typing import Any, Iterator, Mapping

from ..isotime import Stamps
from ..paging import Source, paginate
from ..sandbox import Sandbox
from .campaigns import BY_BOT, MESSAGE_STATUSES, STATUS_NAMES, Campaign
from .errors import NotFound

TEMPLATE_PARAM = re.compile(r"\{\{(\d+)\}\}")
ROW_NUMBER = re.compile(r"[0-9]{1,18}")      # ASCII digits only: str.isdigit() also accepts "²"


class NotificationsMixin:
    """Mixed into :class:`JelouBackend`; uses its ``get``, ``scan``, ``bot_for`` and ``timelines``."""

    def notification(self, campaign: Campaign, index: int, now: float, stamps: Stamps | None = None) -> dict[str, Any]:
        """Recipient ``index``'s notification (``stamps``: see :meth:`Campaign.message`)."""
        stamps = Stamps() if stamps is None else stamps
        state = campaign.message(index, self.timelines, now, stamps, parameters=False)
        return notification_shape(campaign, f"{campaign.id}-{index + 1}", state,
                                  state["status"] in WAS_READ, stamps[campaign.started_at])

    def _started(self, sb: Sandbox, bot_id: str | None, query: dict, now: float) -> list[Campaign]:
        """Started campaigns matching the campaign-level filters, newest first."""
        chosen = []
        source = self.scan(sb) if bot_id is None else self.campaigns.scan(sb.name, BY_BOT[bot_id])
        for campaign in source:
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

    def list_notifications(self, sb: Sandbox, client: dict, bot_id: str, query: dict) -> dict[str, Any]:
        self.bot_for(client, bot_id)
        now = sb.now()
        page, limit = query["page"], query["limit"]
        if query.get("origin") and query["origin"] != "BULK":
            campaigns: list[Campaign] = []
        else:
            campaigns = self._started(sb, bot_id, query, now)
        metadata: dict[str, int] = {name: 0 for name in MESSAGE_STATUSES}
        for campaign in campaigns:
            for name, number in campaign.message_counts(self.timelines, now).items():
                metadata[name] += number
        wanted = query.get("status")
        if query.get("messageId"):
            results, total = self._by_message_id(sb, campaigns, query["messageId"], wanted, now)
        else:
            sources = self._sources(campaigns, wanted, query.get("destination"), now, self.notification)
            total, results = paginate(sources, (page - 1) * limit, limit)
        metadata["total"] = sum(metadata[name] for name in MESSAGE_STATUSES)
        return {
            "pagination": {"limit": limit, "page": page, "total": total, "offset": (page - 1) * limit,
                           "totalPages": math.ceil(total / limit)},
            "results": results,
            "_metadata": metadata,
        }

    def get_notification(self, sb: Sandbox, client: dict, bot_id: str, notification_id: str) -> dict[str, Any]:
        self.bot_for(client, bot_id)
        now = sb.now()
        found = self._locate(sb, notification_id)
        if found is None or found[0].bot_id != bot_id or not found[0].has_started(now):
            raise NotFound(f"Notification {notification_id} not found", 404)
        return self.notification(found[0], found[1], now)

    def _locate(self, sb: Sandbox, notification_id: str) -> tuple[Campaign, int] | None:
        campaign_id, _, number = notification_id.rpartition("-")
        campaign = self.get(sb, campaign_id) if campaign_id else None
        if campaign is None or not ROW_NUMBER.fullmatch(number) or not 1 <= int(number) <= campaign.total:
            return None
        return campaign, int(number) - 1

    def _by_message_id(self, sb, campaigns, message_id, wanted, now):
        found = self._locate(sb, message_id)
        if found is None or found[0].id not in {campaign.id for campaign in campaigns}:
            return [], 0
        item = self.notification(found[0], found[1], now)
        if wanted and item["sentStatus"] != wanted:
            return [], 0
        return [item], 1

    def _sources(self, campaigns, wanted: str | None, destination: str | None, now: float, render,
                 *, sent_only: bool = False) -> Iterator[Source]:
        """One paginator source per campaign: its matching messages, counted cheaply where possible."""
        timelines = self.timelines
        for campaign in campaigns:
            upper = campaign.sent_count(now) if sent_only else campaign.total
            if destination is not None:
                indexes = [i for i in campaign.rows.find(destination) if i < upper
                           and (wanted is None or campaign.status_of(i, timelines, now) == wanted)]
                yield Source(len(indexes), _render_list(campaign, indexes, now, render))
            elif wanted is None:
                yield Source(upper, _render_range(campaign, upper, now, render))
            else:
                count = campaign.message_counts(timelines, now, sent_only=sent_only).get(wanted, 0)
                yield Source(count, _render_status(campaign, wanted, upper, now, render, timelines))

    # -- control plane -------------------------------------------------------------------
    def inspect_count(self, sb: Sandbox, campaign_id: str | None, status: str | None) -> int:
        now = sb.now()
        total = 0
        for campaign in self._inspected(sb, campaign_id, now):
            if status is None:
                total += campaign.sent_count(now)
            else:
                counts = campaign.message_counts(self.timelines, now, sent_only=True)
                total += sum(n for name, n in counts.items() if name.lower() == status.lower())
        return total

    def inspect_sources(self, sb: Sandbox, campaign_id: str | None, status: str | None) -> Iterator[Source]:
        """Paginator sources of the messages sent so far (oldest campaign first, file order)."""
        now = sb.now()
        wanted = next((name for name in MESSAGE_STATUSES if status and name.lower() == status.lower()), None)
        if status and wanted is None:
            return iter(())
        return self._sources(self._inspected(sb, campaign_id, now), wanted, None, now, self._inspection_item,
                             sent_only=True)

    def curve_source(self, sb: Sandbox, batch_id: str):
        """``(campaign, generic stage -> status, every status)`` for ``/_mock/messages/curve``."""
        campaign = self.get(sb, batch_id)
        return None if campaign is None else (campaign, STATUS_NAMES, MESSAGE_STATUSES)

    def transition_batches(self, sb: Sandbox):
        """Every campaign (canceled ones too) and the status of each generic stage, for
        ``bulkmock_message_transitions_total`` (``mock_server.transition_counts``)."""
        return self.scan(sb, newest_first=False), STATUS_NAMES

    def inspected_batches(self, sb: Sandbox, campaign_id: str | None) -> list[Campaign]:
        """Every campaign whose messages ``/_mock/messages`` may show (for the next-change instant)."""
        if campaign_id is not None:
            campaign = self.get(sb, campaign_id)
            return [campaign] if campaign is not None else []
        return [campaign for campaign in self.scan(sb, newest_first=False) if not campaign.cancelled]

    def next_change(self, sb: Sandbox, campaign_id: str | None, after: float) -> float | None:
        """When the messages of these campaigns next change: a send, a stage, or a due start."""
        moments = []
        for campaign in self.inspected_batches(sb, campaign_id):
            if campaign.cancelled:
                continue
            if campaign.started_at is None:
                moments.append(max(campaign.due_at, after))
            else:
                moments.append(campaign.next_change(self.timelines, after))
        return min((moment for moment in moments if moment is not None), default=None)

    def _inspected(self, sb: Sandbox, campaign_id: str | None, now: float) -> list[Campaign]:
        """Started campaigns, oldest first (the order they were sent in)."""
        return [c for c in self.inspected_batches(sb, campaign_id) if c.has_started(now)]

    def _inspection_item(self, campaign: Campaign, index: int, now: float) -> dict[str, Any]:
        state = campaign.message(index, self.timelines, now)
        text = TEMPLATE_PARAM.sub(lambda m: state["parameters"].get(m.group(1), m.group(0)), campaign.template_text)
        return {
            "provider": "jelou",
            "id": f"{campaign.id}-{index + 1}",
            "campaign": campaign.id,
            "recipient": state["destination"],
            "status": state["status"],
            "timestamps": {key: state[key] for key in ("sentAt", "deliveryChannelAt", "deliveryUserAt", "readAt", "replyAt", "failedAt")},
            "error": state["error"],
            "content": {"botId": campaign.bot_id, "elementName": campaign.element_name, "type": campaign.type,
                        "parameters": state["parameters"], "mediaUrl": campaign.media_url, "text": text},
        }


WAS_READ = ("READ", "REPLY")


def notification_shape(campaign: Campaign, notification_id: str, state: Mapping[str, Any], was_read: bool,
                       created_at: str) -> dict[str, Any]:
    """A notification from its message's ``state`` (:meth:`Campaign.message`): the one place its
    fields are named, for the API's answers and (with ``Slot`` stand-ins) the webhook bodies'
    ``Template``."""
    return {
        "id": notification_id,
        "internalId": notification_id,
        "destination": state["destination"],
        "sentStatus": state["status"],
        "wasRead": was_read,
        "origin": "BULK",
        "campaignId": campaign.id,
        "elementName": campaign.element_name,
        "botId": campaign.bot_id,
        "createdAt": created_at,
        "sentDate": state["sentAt"],
        "deliveryChannelAt": state["deliveryChannelAt"],
        "deliveryUserAt": state["deliveryUserAt"],
        "readAt": state["readAt"],
        "replyAt": state["replyAt"],
        "failedAt": state["failedAt"],
        "error": state["error"],
    }


def _render_list(campaign, indexes, now, render):
    return lambda skip, limit: (render(campaign, index, now) for index in indexes[skip:skip + limit])


def _render_range(campaign, upper, now, render):
    return lambda skip, limit: (render(campaign, index, now) for index in range(skip, min(upper, skip + limit)))


def _render_status(campaign, wanted, upper, now, render, timelines):
    def fetch(skip: int, limit: int):
        matching = (index for index in range(upper) if campaign.status_of(index, timelines, now) == wanted)
        return (render(campaign, index, now) for index in islice(matching, skip, skip + limit))
    return fetch
