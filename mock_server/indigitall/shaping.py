"""indigitall under a traffic profile (CONTRACT §14): an application's *shaping* record, kept
beside its tasks, holds its busy intervals (one throughput shared by every task of the
application) and its messaging-tier ledger. A new task's sends are placed after the others' and
its tier applied in the step that stores it; a canceled task gives back what it never sent."""

from __future__ import annotations

from dataclasses import replace

from ..tiers import apply_tier, failing_at_send, give_back, latest, occupy, place, record, sent_part, sent_recipients
from .layout import Layout
from .tasks import Task


class ShapingMixin:
    """Mixed into :class:`~mock_server.indigitall.backend.IndigitallBackend`; uses its ``timelines``
    and ``compiled``."""

    def _shape(self, task: Task, layout: Layout, shaping: dict, now: float) -> tuple[Task, dict | None]:
        """Under a profile (CONTRACT §14), in the step that stores the task: its sends placed after
        the application's other sends (one throughput shared by every task of the application),
        then its application's messaging tier applied (held sends placed after the others' too);
        the application's new shaping record."""
        if task.canceled:
            return task, None
        owner, busy, ledger = str(task.id), shaping.get("busy", ()), shaping.get("tier", {})
        placed = place(busy, task.schedule.segments, now)
        task = replace(task, segments=tuple((s.first, s.count, s.start) for s in placed))
        fates = task.fates(self.timelines)
        if fates.profile.tier is not None and task.schedule.segments:
            outcomes = bytearray(task.outcomes)
            admission = apply_tier(fates.profile.tier, latest(ledger), self._recipients(task, layout), task.schedule,
                                   outcomes, failing_at_send(fates), task.rate, busy)
            ledger = record(ledger, owner, admission)
            held = task.segments if admission.segments is None else tuple(
                (s.first, s.count, s.start) for s in admission.segments)
            task = replace(task, outcomes=bytes(outcomes), segments=held)
        return task, {"busy": occupy(busy, owner, task.schedule.segments, now), "tier": ledger}

    def _given_back(self, task: Task, shaping: dict, now: float) -> dict:
        """The application's shaping record once canceled ``task`` gives back its unsent part: its
        busy intervals after its last send, and the recipients it never messaged (docs/profiles.md)."""
        owner, ledger = str(task.id), shaping.get("tier", {})
        limit = task.to_send
        if any(owner in sends for sends in ledger.values()):
            layout, _ = self.compiled(task)
            kept = sent_recipients(self._recipients(task, layout), task.schedule, task.outcomes,
                                   failing_at_send(task.fates(self.timelines)), limit)
            ledger = give_back(ledger, owner, kept)
        return {"busy": occupy(shaping.get("busy", ()), owner, sent_part(task.schedule, limit), now), "tier": ledger}

    @staticmethod
    def _recipients(task: Task, layout: Layout):
        """Each row's rendered ``contactCode``, in row order (what a tier counts)."""
        header = task.rows.header
        return (layout.render(dict(zip(header, cells))).get("contactCode") or "" for cells in task.rows.iter_rows())
