"""An attempt, step by step, on the loop (the attempts' side of :class:`lanes.Lanes`).

A started job goes through plain calls, each ending in exactly one ``_end`` (its lane,
sandbox and receiver free again): :meth:`Attempts._begin` (a Task only when the store is to be
asked first: ``checks.py``), :meth:`Attempts._spaced` (its turn under ``webhooks.rate``: now, or
after a loop timer), :meth:`Attempts._send`, :meth:`Attempts._post` (the request, by
:meth:`Sender.start`, whose callback is :meth:`Attempts._answered`) and :meth:`Attempts._outcome`
(delivered, retrying with backoff, dead, or a seeded duplicate: handed to the recorder).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from .headers import attempt_headers, fixed_headers
from .queues import Job
from .recorder import Finished
from .sender import Outcome, Prepared, header_lines
from .subscriptions import Subscription

log = logging.getLogger("mock_server.webhooks")


@dataclass
class Attempt:
    """Whose attempt is under way (the tag :meth:`Sender.cancel` cuts by)."""

    sandbox: str
    generation: tuple
    subscription: str | None
    cancelled: str | None = None          # why it was cut short (set by a cancellation)


class Attempts:
    """A mixin of :class:`lanes.Lanes` (its queues, checks, sender, recorder and ``_end``)."""

    def _begin(self, job: Job, receiver: str) -> None:
        """(On the loop) it goes at once, unless the store is to be asked first (a Task, ``checks.py``)."""
        try:
            if not self.current(job):
                self._end(job, receiver)
            elif self._renewing(job, self.real()) or not self._known_now(job):
                self._spawn(self._checked(job, receiver, self._spaced, renew=True))
            else:
                self._spaced(job, receiver, job.subscription is None)
        except Exception as exc:
            self._failed(job, receiver, exc)

    def _spaced(self, job: Job, receiver: str, gone: bool) -> None:
        """Its turn under ``webhooks.rate`` (only requests are spaced): now, or after a loop timer."""
        if not gone:
            wait = self._throttle()
            if wait > 0:
                self._loop.call_later(wait, self._waited, job, receiver)
                return
            if self._stopping.is_set():
                self._end(job, receiver)       # drain() forgets it; its lease runs out
                return
        self._send(job, receiver, gone)

    def _waited(self, job: Job, receiver: str) -> None:
        """After its wait: its subscription may have been deleted meanwhile (asked again if not known)."""
        try:
            if self._stopping.is_set():
                self._end(job, receiver)
            elif self.current(job) and not self._known_now(job):
                self._spawn(self._checked(job, receiver, self._send, renew=False))
            else:
                self._send(job, receiver, False)
        except Exception as exc:
            self._failed(job, receiver, exc)

    def _send(self, job: Job, receiver: str, gone: bool) -> None:
        if not self.current(job):
            self._end(job, receiver)           # reset while its store calls were under way
            return
        number = job.attempts if job.duplicate else job.attempts + 1
        self._post(None if gone else job.subscription, job, receiver, number)

    def _post(self, sub, job: Job, receiver: str, number: int) -> None:
        """Make the attempt; its outcome goes to :meth:`_answered` (refused: it can never succeed,
        dead at once). A failure of the mock itself is an attempt that failed, saying so (never a
        silent loop)."""
        if sub is None:
            self._answered(job, receiver, number, Outcome(None, "the subscription was deleted", 0.0), True)
            return
        try:
            refused = self.policy(sub.url)
            if refused:
                self._answered(job, receiver, number, Outcome(None, f"refused by the host policy: {refused}", 0.0), True)
                return
            try:
                prepared = self._prepared(job.sandbox, sub)
            except ValueError as exc:      # a URL or header that cannot be sent: it never will be
                self._answered(job, receiver, number, Outcome(None, f"{type(exc).__name__}: {exc}", 0.0), False)
                return
            tag = Attempt(job.sandbox, job.generation, sub.id)
            headers = header_lines(attempt_headers(sub, job.body, job.event_id, number))
            self.sender.start(prepared, job.body, headers, tag,
                              lambda outcome: self._answered(job, receiver, number, outcome,
                                                             tag.cancelled is not None and not outcome.ok))
        except Exception as exc:           # a bug: recorded on the attempt, logged in full
            log.exception("webhook delivery %s: the attempt failed inside the mock", job.id)
            self._answered(job, receiver, number, Outcome(
                None, f"the mock failed to send it ({type(exc).__name__}: {exc}); please report it", 0.0), False)

    def _answered(self, job: Job, receiver: str, number: int, outcome: Outcome, refused: bool) -> None:
        """The attempt is over: its outcome goes to the recorder (``refused``: it can never
        succeed, or was cancelled: dead at once, nothing to retry)."""
        try:
            ended = self.real()
            if self.current(job):
                self._outcome(job, number, outcome, refused, ended)
        except Exception:
            log.exception("webhook delivery %s failed unexpectedly", job.id)
            self._done(job)
        self._end(job, receiver)

    def _outcome(self, job: Job, number: int, outcome: Outcome, refused: bool, ended: float) -> None:
        retry_at = None
        if job.duplicate:
            self._observe(job, "duplicate")
            status = "duplicate"
        elif outcome.ok:
            status = "delivered"
        elif refused or number >= job.budget:
            status = "dead"
        else:
            first = job.budget - int(self.settings.max_attempts) + 1
            retry_at = ended + float(self.settings.backoff) * 2 ** (number - first)
            status = "retrying"
        if not job.duplicate:
            self._observe(job, status)
        self.finish(Finished(job, number, outcome, ended, status, retry_at))

    def _observe(self, job: Job, outcome: str) -> None:
        if self.observe is not None:
            self.observe(job.sandbox, outcome, None if job.due_real is None else self.real() - job.due_real)

    def _throttle(self) -> float:
        """Seconds to wait before the next request (spacing, not a moment: monotonic)."""
        now = time.monotonic()
        start = max(self._next_start, now)
        self._next_start = start + 1.0 / float(self.settings.rate)
        return start - now

    def _prepared(self, sandbox: str, sub: Subscription) -> Prepared:
        """The subscription's request head, built once (again when the subscription changed)."""
        key = (sandbox, sub.id)
        cached = self._heads.get(key)
        if cached is None or not (cached[0] is sub or cached[0] == sub):
            if len(self._heads) > 4096:
                self._heads.clear()
            cached = self._heads[key] = (sub, self.sender.prepare(sub.url, fixed_headers(sub)))
        return cached[1]
