"""The recorder: one thread writes the attempts' outcomes to the store, many per store step.

Every outcome waiting is written in one store step per sandbox (``Deliveries.finish_many``): the
workers go on to their next attempts at once, and with a shared store an attempt costs a fraction
of a round trip instead of two. A job stays in flight (its lease kept) until its outcome is
written; a stop writes every outcome before it returns. A seeded duplicate's attempt is added to
its record's history (``Deliveries.note``), changing nothing else.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace

from ..store.base import StaleGeneration
from .queues import Job, fraction
from .sender import Outcome

log = logging.getLogger("mock_server.webhooks")
GATHER = 0.01                     # seconds the recorder lets a small batch of outcomes grow before writing it
GATHER_COUNT = 64                 # outcomes that make a batch big enough at once


@dataclass(frozen=True)
class Finished:
    """An attempt made, its outcome waiting for the recorder (:meth:`Recorder._record_loop`)."""

    job: Job
    attempt: int                      # its number
    outcome: Outcome
    ended: float                      # real time it ended (epoch seconds): stamped with the mock time then
    status: str                       # what the record becomes: delivered, dead or retrying; duplicate (a note)
    retry_at: float | None


def entry(attempt: int, at: str, outcome: Outcome) -> dict:
    """An attempt as its record's history shows it."""
    entry = {"attempt": attempt, "at": at, "statusCode": outcome.status, "latencyMs": round(outcome.latency_ms, 1),
             "error": outcome.error}
    if outcome.excerpt is not None:          # at most EXCERPT characters per attempt (sender.py)
        entry["response"] = outcome.excerpt
    return entry


class Recorder:
    """The recorder's side of :class:`lanes.Lanes` (a mixin over its :class:`queues.Queues`):
    :meth:`finish` hands an outcome over, the ``webhooks-recorder`` thread writes it."""

    def _recorder_init(self) -> None:
        self._outcomes: list[Finished] = []
        self._outcomes_cond = threading.Condition(threading.Lock())
        self._working = 0                  # worker threads still running (the recorder outlives them)

    def finish(self, item: Finished) -> None:
        """An attempt was made: the recorder writes it (its job stays in flight until then)."""
        with self._outcomes_cond:
            self._outcomes.append(item)
            if len(self._outcomes) in (1, GATHER_COUNT):     # not once per attempt: each wake costs the GIL
                self._outcomes_cond.notify()

    def _workers_gone(self) -> None:
        with self._outcomes_cond:
            self._working -= 1
            self._outcomes_cond.notify()

    # -- the recorder ---------------------------------------------------------------------------
    def _record_loop(self) -> None:
        """Write the attempts' outcomes to the store, all those waiting in one step per sandbox
        (a batch forms while the previous one is written, or for :data:`GATHER` seconds), until the workers are gone and every
        outcome is written: a stop never loses an attempt that was made."""
        while True:
            with self._outcomes_cond:
                while not self._outcomes and self._working > 0:
                    self._outcomes_cond.wait()
                if 0 < len(self._outcomes) < GATHER_COUNT and self._working > 0:
                    self._outcomes_cond.wait(GATHER)      # a few more join (a store step per outcome cost more)
                batch, self._outcomes = self._outcomes, []
            if not batch:
                return
            try:
                self._record(batch)
            except Exception:          # a bug: the records keep their leases, then are taken over
                log.exception("webhook dispatcher: recording %d attempts failed", len(batch))
                for item in batch:
                    self._done(item.job)

    def _record(self, batch: list["Finished"]) -> None:
        groups: dict[tuple[str, int], list[Finished]] = {}
        for item in batch:
            groups.setdefault((item.job.sandbox, item.job.store_generation), []).append(item)
        for (sandbox, generation), items in groups.items():
            try:
                info = self._still_there(sandbox, items[0].job)
                if info is None:       # dropped, reset or re-created meanwhile: the records went with it
                    for item in items:     # (a re-created sandbox replays the same seeded ids: never write there)
                        self._recorded(item, False)
                    continue
                stamps = self.stamps(sandbox, [item.ended for item in items], info)   # its clock as just read
                for item, at in zip(items, stamps):
                    if item.status == "duplicate":
                        self.deliveries.note(sandbox, generation, item.job.id,
                                             {**entry(item.attempt, at, item.outcome), "duplicate": True})
                attempts = [(item, at) for item, at in zip(items, stamps) if item.status != "duplicate"]
                written = iter(self.deliveries.finish_many(
                    sandbox, generation, self.owner,
                    [(item.job.id, entry(item.attempt, at, item.outcome), item.status, item.retry_at)
                     for item, at in attempts], self.real()))
                records = [None if item.status == "duplicate" else next(written) for item in items]
            except StaleGeneration:    # reset meanwhile: the records went with it
                records = [None] * len(items)
            except Exception:          # the store is down: the records keep their leases, then are taken over
                log.exception("webhook dispatcher: recording %d attempts of sandbox %s failed", len(items), sandbox)
                records = [None] * len(items)
            for item, record in zip(items, records):
                self._recorded(item, record is not None)

    def _still_there(self, sandbox: str, job: Job):
        """The job's sandbox (its :class:`SandboxInfo`) if it still exists as the job knew it, else
        None (a read that creates nothing: the producer only learns of a drop on its next round,
        and the recorder may come first)."""
        info = self.deliveries.store.info(sandbox)
        return info if info is not None and (info.generation, info.created_real) == job.generation else None

    def _recorded(self, item: "Finished", ours: bool) -> None:
        """An outcome was written (``ours``: the delivery was still this process's)."""
        job, status = item.job, item.status
        if ours and status in ("delivered", "dead"):
            with self._lock:
                self._finished[job.sandbox] = self._finished.get(job.sandbox, 0) + 1
        share = float(self.settings.duplicate_share)
        if ours and status == "delivered" and share and fraction(self.seed, "duplicate", job.id) < share:
            with self._lock:           # still in flight: queued again, in its lane
                if self.current(job):
                    self._queue(replace(job, attempts=item.attempt, duplicate=True))
                    return
        self._done(job)
        if status == "retrying":
            self.wake()                # the producer claims the retry when it falls due
