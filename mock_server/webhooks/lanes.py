"""The sending side of the dispatcher: one lane per worker, the rate limit, attempts.

``webhooks.concurrency`` workers each serve one lane (a queue of :class:`Job`). All the events of
one message go to the same lane, so they are attempted in order. Starts are spaced to
``webhooks.rate`` per real second over all workers. A 2xx is delivered (and, for the seeded
``duplicate_share``, sent a second time); anything else is retried after ``backoff``,
``2 x backoff`` … real seconds until the delivery's attempt budget is spent, then it is dead.

A job is this process's turn at one delivery record (``records.py``): the record, in the store, is
the truth; the job carries what an attempt needs (body, subscription, lease). Each outcome is
written to the record at once; a retry goes back to the store, due at its time, for whichever
process's producer claims it. Work belongs to a sandbox *generation*: after a reset (or a drop)
of its sandbox, queued work of the old generation is skipped.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from dataclasses import dataclass, replace
from typing import Callable

from ..store.base import StaleGeneration
from .records import Deliveries, signed_headers
from .sender import Outcome, Sender
from .subscriptions import Subscription

log = logging.getLogger("mock_server.webhooks")


def fraction(seed: object, salt: str, key: str) -> float:
    """A number in [0, 1) drawn from the seed for ``key`` (duplicates, reordering)."""
    digest = hashlib.blake2b(f"{seed}:{salt}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2 ** 64


@dataclass(frozen=True)
class Job:
    """One attempt (or a seeded duplicate) this process is to make for a delivery record."""

    sandbox: str
    generation: tuple                 # this process's view of the sandbox (store generation, creation time)
    store_generation: int
    id: str                           # the delivery record's id
    lane: int
    subscription: Subscription | None     # None: it was deleted since the record was made
    body: bytes
    event_id: str
    attempts: int                     # attempts made so far
    budget: int                       # the attempt number after which a failure is final
    duplicate: bool = False

    @classmethod
    def of(cls, sandbox: str, generation: tuple, record, subscription: Subscription | None) -> "Job":
        """The next attempt at a delivery record (``records.py``) this process owns."""
        value = record.value
        return cls(sandbox, generation, generation[0], record.id, value["lane"], subscription, value["body"],
                   value["eventId"], value["attempts"], value["budget"])


class Lanes:
    """Workers, their lanes and the in-flight count the producer reads.

    :param deliveries: the store's delivery records.
    :param owner: this process's token: the records it owns carry it.
    :param now_iso: a sandbox's mock time, formatted (stamped on each attempt).
    :param policy: why a URL may not be called (CONTRACT §13), or None.
    :param real: the real time, epoch seconds (retries and leases; shared by processes).
    :param wake: wakes the producer (a retry was scheduled, or the lanes have room again).
    """

    def __init__(self, settings, seed, *, deliveries: Deliveries, owner: str, now_iso: Callable[[str], str],
                 policy: Callable[[str], str | None], real: Callable[[], float], wake: Callable[[], None],
                 connect=None) -> None:
        self.settings, self.seed, self.deliveries, self.owner = settings, seed, deliveries, owner
        self.now_iso, self.policy, self.real, self.wake = now_iso, policy, real, wake
        self.connect = connect            # connect-time host check for http.client (see Sender)
        self.count = int(settings["concurrency"])
        self.high_water = 4 * int(settings["window_events"])
        self.starved = False              # the producer stopped at the high-water mark
        self._queues = [queue.SimpleQueue() for _ in range(self.count)]
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._inflight = 0
        # sandbox -> record id -> [jobs queued for it, real time its lease ends]
        self._queued: dict[str, dict[str, list]] = {}
        self._finished: dict[str, int] = {}              # sandbox -> records finished since its last trim
        self._generations: dict[str, object] = {}
        self._next_start = 0.0

    # -- lifecycle ----------------------------------------------------------------------------
    def threads(self) -> list[threading.Thread]:
        self._stopping.clear()
        return [threading.Thread(target=self._work, args=(lane,), name=f"webhooks-worker-{lane}", daemon=True)
                for lane in range(self.count)]

    def stop(self) -> None:
        self._stopping.set()
        for lane in self._queues:
            lane.put(None)

    def drain(self) -> None:
        """After the workers stopped: forget every queued job (their records keep this process's
        leases, and are taken over, by any process, when those run out)."""
        with self._lock:
            self._queues = [queue.SimpleQueue() for _ in range(self.count)]
            self._queued.clear()
            self._inflight = 0
            self.starved = False

    # -- generations ----------------------------------------------------------------------------
    def generation(self, sandbox: str):
        return self._generations.get(sandbox)

    def sandboxes(self) -> list[str]:
        """The sandboxes this process has seen."""
        with self._lock:
            return list(self._generations)

    def follow(self, sandbox: str, generation) -> None:
        """The sandbox is new, or was reset (a different ``generation``): its queued work no longer
        counts. Atomic, so the producer and a request following the same reset agree."""
        with self._lock:
            if self._generations.get(sandbox) == generation:
                return
            self._generations[sandbox] = generation
            self._inflight -= sum(count for count, _ in self._queued.pop(sandbox, {}).values())
            self._finished.pop(sandbox, None)

    def forget(self, sandbox: str) -> None:
        """The sandbox was dropped."""
        with self._lock:
            self._generations.pop(sandbox, None)
            self._inflight -= sum(count for count, _ in self._queued.pop(sandbox, {}).values())
            self._finished.pop(sandbox, None)

    def current(self, job: Job) -> bool:
        """False for work queued before its sandbox was reset or dropped."""
        return job.generation is not None and self._generations.get(job.sandbox) == job.generation

    # -- queueing -------------------------------------------------------------------------------
    @property
    def inflight(self) -> int:
        return self._inflight

    def is_queued(self, sandbox: str, record_id: str) -> bool:
        """Whether this process has a job for the record (its producer does not claim it again)."""
        return record_id in self._queued.get(sandbox, {})

    def expiring(self, sandbox: str, before: float) -> list[str]:
        """The queued records whose lease ends before ``before`` (to renew)."""
        with self._lock:
            return [record_id for record_id, (_, lease_end) in self._queued.get(sandbox, {}).items()
                    if lease_end < before]

    def extended(self, sandbox: str, record_ids, lease_end: float) -> None:
        """Their leases were renewed until ``lease_end``."""
        with self._lock:
            table = self._queued.get(sandbox, {})
            for record_id in record_ids:
                if record_id in table:
                    table[record_id][1] = lease_end

    def lease_end(self, job: Job) -> float:
        entry = self._queued.get(job.sandbox, {}).get(job.id)
        return entry[1] if entry is not None else 0.0

    def finished(self, at_least: int) -> list[str]:
        """The sandboxes with at least ``at_least`` records finished since they were last returned
        (to trim: in steps, so a trim's cost is shared by many records)."""
        with self._lock:
            names = [name for name, count in self._finished.items() if count >= at_least]
            for name in names:
                del self._finished[name]
            return names

    def put(self, job: Job, lease_end: float) -> None:
        """Queue a job for a record this process owns until ``lease_end``."""
        if job.lane >= self.count:     # a record made by a process with more lanes
            job = replace(job, lane=job.lane % self.count)
        with self._lock:
            if not self.current(job):
                return
            self._inflight += 1
            entry = self._queued.setdefault(job.sandbox, {}).setdefault(job.id, [0, lease_end])
            entry[0] += 1
            entry[1] = max(entry[1], lease_end)
            self._queues[job.lane].put(job)

    # -- the workers ------------------------------------------------------------------------------
    def _work(self, lane: int) -> None:
        sender = Sender(float(self.settings["timeout"]), self.connect)
        try:
            while True:
                job = self._queues[lane].get()
                if job is None or self._stopping.is_set():
                    break
                if not self.current(job):
                    continue
                self._throttle()
                if self._stopping.is_set():
                    break
                try:
                    self._attempt(sender, job)
                except StaleGeneration:    # reset meanwhile: the record went with it
                    self._done(job)
                except Exception:          # the store is down, or a bug: the record keeps its lease,
                    log.exception("webhook delivery %s failed unexpectedly", job.id)   # then is taken over
                    self._done(job)
        finally:
            sender.close()

    def _throttle(self) -> None:
        with self._lock:              # spacing, not a moment: monotonic, immune to clock steps
            now = time.monotonic()
            start = max(self._next_start, now)
            self._next_start = start + 1.0 / float(self.settings["rate"])
        if start > now:
            self._stopping.wait(start - now)

    def _attempt(self, sender: Sender, job: Job) -> None:
        now = self.real()
        if not job.duplicate and self.lease_end(job) - now < float(self.settings["timeout"]) + 1.0:
            lease_end = now + float(self.settings["lease"])
            if not self.deliveries.renew(job.sandbox, job.store_generation, [job.id], self.owner, lease_end):
                self._done(job)            # another process took it over (or it was reset)
                return
            self.extended(job.sandbox, [job.id], lease_end)
        attempt = job.attempts if job.duplicate else job.attempts + 1
        outcome, refused = self._post(sender, job, attempt)
        entry = {"attempt": attempt, "at": self.now_iso(job.sandbox), "statusCode": outcome.status,
                 "latencyMs": round(outcome.latency_ms, 1), "error": outcome.error}
        if not self.current(job):
            return
        if job.duplicate:
            self.deliveries.note(job.sandbox, job.store_generation, job.id, {**entry, "duplicate": True})
            self._done(job)
            return
        retry_at = None
        if outcome.ok:
            status = "delivered"
        elif refused or attempt >= job.budget:
            status = "dead"
        else:
            first = job.budget - int(self.settings["max_attempts"]) + 1
            retry_at = self.real() + float(self.settings["backoff"]) * 2 ** (attempt - first)
            status = "retrying"
        record = self.deliveries.finish(job.sandbox, job.store_generation, job.id, self.owner, entry, status,
                                        self.real(), retry_at)
        if record is not None and status != "retrying":
            with self._lock:
                self._finished[job.sandbox] = self._finished.get(job.sandbox, 0) + 1
        share = float(self.settings["duplicate_share"])
        if record is not None and status == "delivered" and share and fraction(self.seed, "duplicate", job.id) < share:
            self._queues[job.lane].put(replace(job, attempts=attempt, duplicate=True))   # still in flight
            return
        self._done(job)
        if status == "retrying":
            self.wake()                # the producer claims the retry when it falls due

    def _post(self, sender: Sender, job: Job, attempt: int) -> tuple[Outcome, bool]:
        """Make the attempt; ``(outcome, refused)`` (refused: it can never succeed, dead at once).
        A failure of the mock itself is an attempt that failed, saying so (never a silent loop)."""
        sub = job.subscription
        if sub is None:
            return Outcome(None, "the subscription was deleted", 0.0), True
        try:
            refused = self.policy(sub.url)
            if refused:
                return Outcome(None, f"refused by the host policy: {refused}", 0.0), True
            return sender.post(sub.url, job.body, signed_headers(sub, job.body, job.event_id, attempt)), False
        except Exception as exc:           # a bug: recorded on the attempt, logged in full
            log.exception("webhook delivery %s: the attempt failed inside the mock", job.id)
            return Outcome(None, f"the mock failed to send it ({type(exc).__name__}: {exc}); please report it", 0.0), False

    def _done(self, job: Job) -> None:
        with self._lock:
            if self.current(job):
                table = self._queued.get(job.sandbox, {})
                entry = table.get(job.id)
                if entry is not None:
                    self._inflight -= 1
                    entry[0] -= 1
                    if entry[0] <= 0:
                        del table[job.id]
            wake = self.starved and self._inflight <= self.high_water // 2
            if wake:
                self.starved = False
        if wake:
            self.wake()
