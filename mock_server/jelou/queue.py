"""Jelou's per-bot sending queue: a campaign starts when it falls due, after the campaigns its bot
started before it (its bot's *lane*), and under a messaging tier (CONTRACT §14) within its bot's
tier ledger. Each start is one atomic update of the campaign, its bot's lane and ledger."""

from __future__ import annotations

import dataclasses

from ..sandbox import Sandbox
from ..store import Record
from ..tiers import apply_tier, failing_at_send
from .campaigns import CAMPAIGNS, LANES, QUEUE, TIERS, Campaign, Lane

QUEUE_HEAD = 32              # queued campaigns a settle reads at once: the due ones and the next to fall due
_INF = float("inf")


class QueueMixin:
    """Mixed into :class:`~mock_server.jelou.backend.JelouBackend`; uses its ``campaigns``,
    ``store``, ``settings``, ``timelines`` and ``_next_due`` (the queue's next due time per sandbox)."""

    def settle(self, sb: Sandbox) -> None:
        """Start every campaign whose time has come, in order of due time, one bot at a time.

        Each start is one atomic update of the campaign and its bot's lane, so concurrent
        requests settling the same sandbox start each campaign once, in the same order.
        A request context (``sb.info``) whose sandbox version is the one the queue was last read
        at, with its lowest due time still ahead, needs no store operation at all.
        """
        moment = sb.now()
        info = sb.info
        if info is not None and not info.indexes.get(QUEUE.name):
            return                     # no campaign waits to start (as the request's touch found the sandbox)
        stamp = None if info is None else (info.created_real, info.generation, info.version)
        known = self._next_due.get(sb.name)
        if stamp is not None and known is not None and known[0] == stamp and moment < known[1]:
            return                     # nothing changed since the queue was read, and nothing fell due yet
        head, total = self.campaigns.page(sb.name, QUEUE, newest_first=False, limit=QUEUE_HEAD)
        due = [campaign for campaign in head if campaign.due_at <= moment]
        if len(due) == len(head) and total > len(due):          # more due than the head
            due = list(self.campaigns.scan(sb.name, QUEUE, high=moment, newest_first=False))
        if not due:
            if stamp is not None and total == len(head):   # when the next one may start, for this version
                if len(self._next_due) >= 4096:
                    self._next_due.clear()
                self._next_due[sb.name] = (stamp, min((campaign.due_at for campaign in head), default=_INF))
            return
        due.sort(key=lambda campaign: campaign.due_at)      # stable: creation order breaks ties
        delay = float(self.settings.start_delay)
        for campaign in due:
            self._start_on_lane(sb, campaign, moment, delay)

    def _start_if_due(self, sb: Sandbox, campaign: Campaign) -> Campaign:
        """Start the campaign a request just stored or rescheduled if it is due by the request's
        instant: what ``settle`` would do, for this one campaign (every campaign due earlier was
        started when the request began, by the same instant). The store stamps a new record with
        its own reading of the clock, which a running clock puts after the request's."""
        moment = max(sb.now(), campaign.created_us / 1_000_000)
        if campaign.cancelled or campaign.started_at is not None or campaign.due_at > moment:
            return campaign
        started = self._start_on_lane(sb, campaign, moment, float(self.settings.start_delay))
        return campaign if started is None else started

    def _start_on_lane(self, sb: Sandbox, campaign: Campaign, moment: float, delay: float) -> Campaign | None:
        """Start the campaign (if still due) and take its bot's lane: one atomic update of both."""
        def start(current: tuple[Record | None, ...]):
            record, lane, ledger = current
            if record is None:
                return None, None, None
            started = started_on_lane(CAMPAIGNS.load(record), None if lane is None else LANES.load(lane), moment, delay)
            if started is None:
                return None, None, None
            campaign, new_lane = started
            tiered = self._tiered(campaign, None if ledger is None else TIERS.load(ledger))
            if tiered is None:
                return CAMPAIGNS.new(campaign), LANES.new(new_lane), None
            campaign, new_ledger = tiered
            return (CAMPAIGNS.new(campaign), LANES.new(Lane(campaign.finishes_at + 1 / campaign.rate)),
                    TIERS.new(new_ledger))

        keys = (CAMPAIGNS.key(campaign.id), LANES.key(campaign.bot_id), TIERS.key(campaign.bot_id))
        record, _, _ = self.store.update_many(sb.name, keys, start)
        return None if record is None else CAMPAIGNS.load(record)

    def _tiered(self, campaign: Campaign, ledger: dict | None) -> tuple[Campaign, dict] | None:
        """The campaign with its bot's messaging tier applied (CONTRACT §14), and the bot's new
        tier ledger; None when its profile has no tier."""
        fates = campaign.fates(self.timelines)
        tier = getattr(fates, "profile", None) and fates.profile.tier
        if not tier or campaign.total == 0:
            return None
        outcomes = bytearray(campaign.outcomes)
        recipients = (cells[0] if cells else "" for cells in campaign.rows.iter_rows())
        admission = apply_tier(tier, ledger, recipients, campaign.schedule, outcomes, failing_at_send(fates),
                               campaign.rate)
        all_fail, fail_after = Campaign.failing_profile(bytes(outcomes), fates)
        held = None if admission.segments is None else tuple((s.first, s.count, s.start) for s in admission.segments)
        return dataclasses.replace(campaign, outcomes=bytes(outcomes), segments=held, all_fail=all_fail,
                                   fail_after=fail_after), admission.ledger


def started_on_lane(campaign: Campaign, lane: Lane | None, moment: float, delay: float) -> tuple[Campaign, Lane] | None:
    """The campaign started on its bot's lane at ``moment`` and the lane it leaves; None when it
    is not to start (cancelled, started already, or not due by ``moment``)."""
    if campaign.cancelled or campaign.started_at is not None or campaign.due_at > moment:
        return None
    started = max(campaign.due_at + delay, lane.end if lane is not None else float("-inf"))
    return dataclasses.replace(campaign, started_at=started), Lane(started + campaign.total / campaign.rate)
