"""indigitall's side of the control plane: the messages of its tasks for ``/_mock/messages``.

Mixed into :class:`~mock_server.indigitall.backend.IndigitallBackend` (uses its ``get``, ``task``,
``compiled``, ``store`` and ``timelines``). Only sent messages appear: queued and canceled ones
were never sent.
"""

from __future__ import annotations

from itertools import islice
from typing import Iterator

from ..paging import Source
from ..sandbox import Sandbox
from .tasks import ALL, MESSAGE_STATUSES, STATUS_NAMES, Task

UNSENT = ("queued", "canceled")          # statuses of messages that were never sent: not inspected


class InspectionMixin:
    def curve_source(self, sb: Sandbox, batch_id: str):
        """``(task, generic stage -> status, every status)`` for ``/_mock/messages/curve``."""
        task = self.get(sb, batch_id)
        return None if task is None else (task, STATUS_NAMES, MESSAGE_STATUSES)

    def transition_batches(self, sb: Sandbox):
        """Every task and the status of each generic stage, for ``bulkmock_message_transitions_total``
        (``mock_server.transition_counts``)."""
        return self.tasks.scan(sb.name, ALL, newest_first=False), STATUS_NAMES

    def inspected_batches(self, sb: Sandbox, campaign_id: str | None) -> list[Task]:
        """Every task whose messages ``/_mock/messages`` may show, oldest first."""
        if campaign_id is not None:
            task = self.get(sb, campaign_id)
            return [task] if task is not None else []
        return list(self.tasks.scan(sb.name, ALL, newest_first=False))

    def next_change(self, sb: Sandbox, campaign_id: str | None, after: float) -> float | None:
        """When the messages of these tasks next change (a send or a stage), or None."""
        moments = (task.next_change(self.timelines, after) for task in self.inspected_batches(sb, campaign_id))
        return min((moment for moment in moments if moment is not None), default=None)

    def _inspected(self, sb: Sandbox, campaign_id: str | None, now: float) -> list[Task]:
        """Tasks that have sent at least one message, oldest first (the order they were sent in)."""
        return [task for task in self.inspected_batches(sb, campaign_id) if task.has_started(now)]

    def inspect_count(self, sb: Sandbox, campaign_id: str | None, status: str | None) -> int:
        """How many messages have been *sent* (queued and canceled ones were not)."""
        return sum(source.count for source in self.inspect_sources(sb, campaign_id, status))

    def inspect_sources(self, sb: Sandbox, campaign_id: str | None, status: str | None) -> Iterator[Source]:
        """Paginator sources: per started task, its sent messages (file order) with rendered layouts."""
        now = sb.now()
        wanted = status.lower() if status else None
        if wanted is not None and (wanted not in MESSAGE_STATUSES or wanted in UNSENT):
            return
        for task in self._inspected(sb, campaign_id, now):
            sent = task.sent_by(now)         # messages go out in file order: the first `sent` rows
            count = sent if wanted is None else task.message_counts(self.timelines, now)[wanted]
            yield Source(count, self._fetch(task, wanted, sent, now))

    def _fetch(self, task: Task, wanted: str | None, sent: int, now: float):
        layout, checker = self.compiled(task)
        timelines = self.timelines

        def fetch(skip: int, limit: int):
            if wanted is None:
                indexes = iter(range(skip, sent))
            else:
                indexes = islice((i for i in range(sent) if task.status_of(i, timelines, now) == wanted), skip, None)
            return (task.message(index, timelines, now, layout, checker) for index in islice(indexes, limit))
        return fetch
