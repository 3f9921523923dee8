"""What Jelou campaigns and indigitall tasks share: a batch of messages sent on a schedule.

A batch is a frozen record holding one outcome byte per recipient (``outcomes``, see
``delivery``); its subclass says when its messages are sent (:meth:`Batch.schedule`) and how many
were ever sent (``sent_limit``: a task canceled midway). From those two, everything about its
messages is a function of time: how many are in each stage, each message's stage and when it
reached it, when the next change happens, and which changes happened in a time window
(:func:`mock_server.transitions.transitions`). Each provider maps the generic stages of
``delivery`` onto its own status names.
"""

from __future__ import annotations


from itertools import islice
from typing import Iterable, Iterator, Mapping

from . import delivery
from .delivery import Schedule, Timelines

EMPTY = Schedule([])


class Batch:
    """Mixed into a provider's frozen record dataclass, which defines ``outcomes`` (bytes).

    Subclasses override :meth:`build_schedule` and, when messages can be canceled, ``sent_limit``.
    The schedule is built once per record value and cached on it (the value never changes).
    """

    outcomes: bytes
    sent_limit: int | None = None
    profile: str | None = None        # the traffic profile it was accepted with (None: ideal)

    def build_schedule(self) -> Schedule:
        return EMPTY

    def fates(self, timelines: Timelines) -> Timelines:
        """The table this batch's outcome bytes index: the app's (``ideal``) or its profile's."""
        return timelines.for_profile(self.profile)

    def error(self, index: int, timelines: Timelines, reason: str | None = None) -> dict:
        """A failed message's error object: a readable ``message`` (``reason``, else the profile's
        title) and the WhatsApp error ``code`` (CONTRACT §14)."""
        code, title = self.fates(timelines).error_of(self.outcomes[index])
        return {"message": reason if reason is not None else title, "code": code}

    @property
    def schedule(self) -> Schedule:
        cached = self.__dict__.get("_schedule")
        if cached is None:
            cached = self.build_schedule()
            self.__dict__["_schedule"] = cached    # a cache, not state: frozen dataclasses allow it
        return cached

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def to_send(self) -> int:
        """The messages this batch will send: all of them, or up to a cancellation's ``sent_limit``."""
        return self.total if self.sent_limit is None else min(self.sent_limit, self.total)

    def sent_by(self, now: float) -> int:
        """How many messages have been handed to the channel by ``now``."""
        sent = self.schedule.sent_by(now)
        return sent if self.sent_limit is None else min(sent, self.sent_limit)

    def has_started(self, now: float) -> bool:
        return self.sent_by(now) > 0

    def stage_counts(self, timelines: Timelines, now: float) -> dict[str, int]:
        """Generic stage -> messages in it (``queued`` and, after a cancellation, ``canceled``)."""
        return self.fates(timelines).count(self.outcomes, self.schedule, now, self.sent_limit)

    def stage_of(self, index: int, timelines: Timelines, now: float) -> tuple[str, dict[str, float]]:
        """Message ``index``'s generic stage at ``now`` and when it reached each stage so far."""
        if self.sent_limit is not None and index >= self.sent_limit:
            return delivery.CANCELED, {delivery.CANCELED: self.canceled_time()}
        if not self.schedule.segments:
            return delivery.QUEUED, {}
        return self.fates(timelines).stage(self.outcomes[index], self.schedule.send_time(index), now)

    def in_status(self, status: str, names: Mapping[str, str], count: int, timelines: Timelines, now: float,
                  skip: int, limit: int) -> list[int]:
        """Indexes of the messages whose status (the subclass's ``status_of``; ``names``: its
        provider's generic stage -> status) is ``status``, the ``skip``-th to the ``skip + limit``-th
        in file order. ``count``: how many are in it (from the cheap counts).

        Never a list of every row: the rows are walked lazily and the walk stops once the page is
        full or all ``count`` were found. A status only sent messages reach (not queued, not
        canceled) is looked for among the sent rows whose outcome code can reach it, found in C
        (``bytes.translate``/``find``), so a rare status costs its candidates, not the file."""
        stages = {stage for stage, name in names.items() if name == status}
        rows: Iterable[int] = range(self.total)
        if not stages & {delivery.QUEUED, delivery.CANCELED}:
            rows = _positions(self.outcomes, self.fates(timelines).codes_reaching(stages), self.sent_by(now))
        matching = (index for index in rows if self.status_of(index, timelines, now) == status)
        return list(islice(matching, skip, min(skip + limit, count)))

    def canceled_time(self) -> float | None:
        """When unsent messages became canceled (subclasses with cancellation override)."""
        return None

    def next_change(self, timelines: Timelines, after: float) -> float | None:
        """The first instant after ``after`` at which any message changes stage, or None."""
        limit = self.total if self.sent_limit is None else min(self.sent_limit, self.total)
        schedule = self.schedule
        if not schedule.segments or limit == 0:
            return None
        best: float | None = None
        for offset, codes in self.fates(timelines).groups():
            start = min(schedule.sent_by(after - offset), limit)
            while start < limit:
                first = min((found for code in codes if (found := self.outcomes.find(code, start, limit)) >= 0),
                            default=None)
                if first is None:
                    break
                moment = schedule.send_time(first) + offset
                if moment > after:
                    best = moment if best is None else min(best, moment)
                    break
                start = first + 1               # float rounding at the boundary: look further
        return best


def _positions(outcomes: bytes, codes: bytes, upper: int) -> Iterator[int]:
    """The indexes below ``upper`` whose outcome byte is one of ``codes``, in order (found in C)."""
    if not codes or upper <= 0:
        return
    table = bytearray(256)
    for code in codes:
        table[code] = 1
    marks = bytes(outcomes[:upper]).translate(bytes(table))
    position = marks.find(1)
    while position >= 0:
        yield position
        position = marks.find(1, position + 1)
