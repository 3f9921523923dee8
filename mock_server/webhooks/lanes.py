"""The sending side of the dispatcher: workers, fair queues, the rate limit, attempts.

``webhooks.concurrency`` workers make the attempts. Queued :class:`Job` s wait per sandbox and per
*lane* (an ordering key): all the events of one message share a lane, and a lane of a sandbox has
at most one attempt under way, taken in order, so they are attempted in order. Workers take
sandboxes in turn (round robin), and one sandbox, like one receiver (scheme, host and port), has
at most ``webhooks.max_share`` of the workers at once (at least one): a slow receiver, or a busy
sandbox, never holds every worker, and other sandboxes' work is never queued behind its backlog.
Each attempt is bounded as a whole by ``webhooks.timeout`` (``sender.py``). Starts are spaced to
``webhooks.rate`` per real second over all workers. A 2xx is delivered (and, for the seeded
``duplicate_share``, sent a second time); anything else is retried after ``backoff``,
``2 x backoff`` … real seconds until the delivery's attempt budget is spent, then it is dead.

A job is this process's turn at one delivery record (``records.py``): the record, in the store, is
the truth; the job carries what an attempt needs (body, subscription, lease). Each outcome is
written to the record at once; a retry goes back to the store, due at its time, for whichever
process's producer claims it. Work belongs to a sandbox *generation*: after a reset (or a drop)
of its sandbox, queued work of the old generation is dropped and its attempts under way are cut
short. A job whose subscription was deleted meanwhile (on any process: the store says; a deletion
on another process is seen within :data:`KNOWN_FOR`) is not attempted: the delivery is dead, "the
subscription was deleted".

Outcomes are written by one *recorder* thread, every outcome waiting in one store step per
sandbox (``Deliveries.finish_many``): a worker goes on to its next attempt at once, and with a
shared store an attempt costs a fraction of a round trip instead of two. A job stays in flight
(its lease kept) until its outcome is written; a stop writes every outcome before it returns.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, replace
from typing import Callable
from urllib.parse import urlsplit

from ..store.base import StaleGeneration
from .records import Deliveries, signed_headers
from .sender import Deadlines, Outcome, Sender
from .subscriptions import Subscription

log = logging.getLogger("mock_server.webhooks")
KNOWN_FOR = 0.05                  # seconds a subscription found in the store is taken to exist
GATHER = 0.01                     # seconds the recorder lets a small batch of outcomes grow before writing it
GATHER_COUNT = 64                 # outcomes that make a batch big enough at once


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
    due_real: float | None = None     # real time it became due here: a retry's time, or when queued (metrics)

    @classmethod
    def of(cls, sandbox: str, generation: tuple, record, subscription: Subscription | None,
           due_real: float | None = None) -> "Job":
        """The next attempt at a delivery record (``records.py``) this process owns; ``due_real``:
        when it became due here (default: its retry time, or when it is queued)."""
        value = record.value
        retry_at = value["retryAt"]
        return cls(sandbox, generation, generation[0], record.id, value["lane"], subscription, value["body"],
                   value["eventId"], value["attempts"], value["budget"],
                   due_real=retry_at if retry_at is not None else due_real)


@dataclass(frozen=True)
class Finished:
    """An attempt made, its outcome waiting for the recorder (:meth:`Lanes._record_loop`)."""

    job: Job
    attempt: int                      # its number
    outcome: Outcome
    ended: float                      # real time it ended (epoch seconds): stamped with the mock time then
    status: str                       # what the record becomes: delivered, dead or retrying
    retry_at: float | None


def _entry(attempt: int, at: str, outcome: Outcome) -> dict:
    """An attempt as its record's history shows it."""
    entry = {"attempt": attempt, "at": at, "statusCode": outcome.status, "latencyMs": round(outcome.latency_ms, 1),
             "error": outcome.error}
    if outcome.excerpt is not None:          # at most EXCERPT characters per attempt (sender.py)
        entry["response"] = outcome.excerpt
    return entry


@dataclass
class Attempt:
    """Whose attempt is under way (the tag :class:`Deadlines` cancels by)."""

    sandbox: str
    generation: tuple
    subscription: str | None
    cancelled: str | None = None          # why it was cut short (set by a cancellation)


def receiver_of(job: Job) -> str:
    """The receiver a job is for (``scheme://host:port``), or "" when no request will be made."""
    if job.subscription is None:
        return ""
    try:
        parts = urlsplit(job.subscription.url)
        return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{parts.port}"
    except ValueError:
        return ""


class Lanes:
    """Workers, the queued jobs per sandbox and lane, and the in-flight count the producer reads.

    :param deliveries: the store's delivery records.
    :param owner: this process's token: the records it owns carry it.
    :param stamps: a sandbox's mock time at given real times, formatted (stamped on each attempt).
    :param policy: why a URL may not be called (CONTRACT §13), or None.
    :param real: the real time, epoch seconds (retries and leases; shared by processes).
    :param wake: wakes the producer (a retry was scheduled, or the lanes have room again).
    :param subscribed: whether a subscription still exists (a deleted one's jobs are not attempted).
    """

    def __init__(self, settings, seed, *, deliveries: Deliveries, owner: str,
                 stamps: Callable[[str, list[float]], list[str]],
                 policy: Callable[[str], str | None], real: Callable[[], float], wake: Callable[[], None],
                 connect=None, subscribed: Callable[[str, object], bool] = lambda sandbox, sub: True) -> None:
        self.settings, self.seed, self.deliveries, self.owner = settings, seed, deliveries, owner
        self.stamps, self.policy, self.real, self.wake = stamps, policy, real, wake
        self.subscribed = subscribed
        self.connect = connect            # connect-time host check for http.client (see Sender)
        self.count = int(settings.concurrency)
        self.share = max(1, math.floor(self.count * float(settings.max_share)))   # workers per sandbox / receiver
        self.high_water = 4 * int(settings.window_events)
        self.fair = int(settings.window_events)  # a sandbox may always queue this many, whatever the others do
        self.starved = False              # the producer stopped at the high-water mark
        self._lock = threading.Lock()
        self._ready_cond = threading.Condition(self._lock)     # a job was queued, or a worker finished one
        self._ready: dict[str, OrderedDict[int, deque]] = {}   # sandbox -> lane -> jobs, oldest first
        self._turn: OrderedDict[str, None] = OrderedDict()     # sandboxes with queued jobs, next first
        self._running: set[tuple[str, int]] = set()            # (sandbox, lane) with an attempt under way
        self._busy: Counter = Counter()                        # sandbox, and receiver -> workers on it
        self._counts: Counter = Counter()                      # sandbox -> jobs queued or under way
        self.deadlines = Deadlines()
        self.observe: Callable[[str, str, float | None], None] | None = None   # (sandbox, outcome, delay): metrics
        self._stopping = threading.Event()
        self._inflight = 0
        # sandbox -> record id -> [jobs queued for it, real time its lease ends]
        self._queued: dict[str, dict[str, list]] = {}
        self._finished: dict[str, int] = {}              # sandbox -> records finished since its last trim
        self._generations: dict[str, object] = {}
        self._next_start = 0.0
        # attempts made, waiting for the recorder to write them (one store step for many)
        self._outcomes: list[Finished] = []
        self._outcomes_cond = threading.Condition(threading.Lock())
        self._working = 0                                  # workers still running (the recorder outlives them)
        # (sandbox, subscription id) -> monotonic time until which it is known to exist
        self._known: dict[tuple[str, str], float] = {}
        self._forgotten = 0                                # deletions seen (a check that spans one caches nothing)

    # -- lifecycle ----------------------------------------------------------------------------
    def threads(self) -> list[threading.Thread]:
        self._stopping.clear()
        self.deadlines.start()
        self._working = self.count
        return [*(threading.Thread(target=self._work, args=(lane,), name=f"webhooks-worker-{lane}", daemon=True)
                  for lane in range(self.count)),
                threading.Thread(target=self._record_loop, name="webhooks-recorder", daemon=True)]

    def stop(self) -> None:
        self._stopping.set()
        with self._ready_cond:
            self._ready_cond.notify_all()

    def drain(self) -> None:
        """After the workers stopped: forget every queued job (their records keep this process's
        leases, and are taken over, by any process, when those run out)."""
        self.deadlines.stop()
        with self._lock:
            self._ready.clear()
            self._turn.clear()
            self._running.clear()
            self._busy.clear()
            self._counts.clear()
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
            previous = self._generations.get(sandbox)
            self._generations[sandbox] = generation
            self._drop_sandbox(sandbox)
        if previous is not None:
            self.cancel("its sandbox was reset", lambda tag: tag.sandbox == sandbox and tag.generation != generation)

    def forget(self, sandbox: str) -> None:
        """The sandbox was dropped."""
        with self._lock:
            self._generations.pop(sandbox, None)
            self._drop_sandbox(sandbox)
        self.cancel("its sandbox was dropped", lambda tag: tag.sandbox == sandbox)

    def _drop_sandbox(self, sandbox: str) -> None:
        """(Under the lock) forget the sandbox's queued work; its attempts under way release
        their workers when they end."""
        self._inflight -= sum(count for count, _ in self._queued.pop(sandbox, {}).values())
        self._ready.pop(sandbox, None)
        self._turn.pop(sandbox, None)
        self._counts.pop(sandbox, None)
        self._finished.pop(sandbox, None)
        self._forgotten += 1
        for key in [key for key in self._known if key[0] == sandbox]:
            self._known.pop(key, None)

    def unsubscribed(self, sandbox: str, subscription_ids) -> None:
        """Subscriptions were deleted: cut their attempts under way (their queued jobs are not
        attempted: each is checked against the store first)."""
        ids = set(subscription_ids)
        self._forgotten += 1
        for subscription_id in ids:
            self._known.pop((sandbox, subscription_id), None)
        self.cancel("its subscription was deleted", lambda tag: tag.sandbox == sandbox and tag.subscription in ids)

    def cancel(self, reason: str, matches: Callable[[Attempt], bool]) -> int:
        """Cut short the attempts under way that ``matches``; how many."""
        def chosen(tag) -> bool:
            if isinstance(tag, Attempt) and matches(tag):
                tag.cancelled = reason
                return True
            return False
        return self.deadlines.cancel(chosen)

    def current(self, job: Job) -> bool:
        """False for work queued before its sandbox was reset or dropped."""
        return job.generation is not None and self._generations.get(job.sandbox) == job.generation

    # -- queueing -------------------------------------------------------------------------------
    @property
    def inflight(self) -> int:
        return self._inflight

    def room(self, sandbox: str) -> int:
        """How many more jobs the sandbox may queue: up to the high-water mark over all sandboxes,
        but never less than :attr:`fair` of its own (a sandbox whose receiver is slow, or whose
        backlog is huge, never stops the others' events from being derived and queued)."""
        own = self._counts.get(sandbox, 0)
        room = self.high_water - self._inflight
        if own < self.fair:
            room = max(room, self.fair - own)
        return min(room, self.high_water - own)

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
        self.put_many([job], lease_end)

    def put_many(self, jobs: list[Job], lease_end: float) -> None:
        """:meth:`put` for a window's jobs at once (one lock, a few wakes: not one each)."""
        now = None
        for position, job in enumerate(jobs):
            if job.lane >= self.count or job.due_real is None:   # a record made by a process with more lanes
                now = self.real() if now is None else now
                jobs[position] = replace(job, lane=job.lane % self.count,
                                         due_real=now if job.due_real is None else job.due_real)
        with self._lock:
            queued = 0
            for job in jobs:
                if not self.current(job):
                    continue
                self._inflight += 1
                self._counts[job.sandbox] += 1
                entry = self._queued.setdefault(job.sandbox, {}).setdefault(job.id, [0, lease_end])
                entry[0] += 1
                entry[1] = max(entry[1], lease_end)
                self._queue(job, wake=False)
                queued += 1
            if queued:
                self._ready_cond.notify(min(queued, self.count))

    def _queue(self, job: Job, wake: bool = True) -> None:
        """(Under the lock) the job waits behind the earlier ones of its sandbox's lane."""
        self._ready.setdefault(job.sandbox, OrderedDict()).setdefault(job.lane, deque()).append(job)
        self._turn.setdefault(job.sandbox)
        if wake:
            self._ready_cond.notify()

    def _take(self, done: tuple[Job, str] | None = None) -> tuple[Job, str] | None:
        """The next job to attempt (and its receiver), waiting for one; None when stopping.
        ``done``: the attempt this worker just ended (its lane, sandbox and receiver are free again).

        Sandboxes take turns; within one, its lanes do. A lane with an attempt under way, a
        sandbox or a receiver that has :attr:`share` workers already, waits."""
        with self._ready_cond:
            if done is not None:
                self._release(*done)
            while not self._stopping.is_set():
                found = self._startable(take=True)
                if found is not None:
                    # An ended attempt frees one lane and one worker of a sandbox and of a receiver:
                    # this worker takes the next job, and another one is woken only if one more job
                    # can start now (waking one each time, to find nothing, cost a tenth of the
                    # dispatcher's time with one busy receiver: the workers beyond its share).
                    if done is not None and self._startable(take=False) is not None:
                        self._ready_cond.notify()
                    return found
                self._ready_cond.wait()
        return None

    def _startable(self, take: bool) -> tuple[Job, str] | None:
        """(Under the lock) the first job that may start now, taken off its queue if ``take``."""
        for sandbox in self._turn:
            if self._busy[sandbox] >= self.share:
                continue
            lanes = self._ready[sandbox]
            for lane, jobs in lanes.items():
                if (sandbox, lane) in self._running:
                    continue
                receiver = receiver_of(jobs[0])
                if receiver and self._busy[receiver] >= self.share:
                    continue
                if not take:
                    return jobs[0], receiver
                job = jobs.popleft()
                if jobs:
                    lanes.move_to_end(lane)
                else:
                    del lanes[lane]
                if lanes:
                    self._turn.move_to_end(sandbox)
                else:
                    del self._turn[sandbox], self._ready[sandbox]
                self._running.add((sandbox, lane))
                self._busy[sandbox] += 1
                if receiver:
                    self._busy[receiver] += 1
                return job, receiver
        return None

    def _release(self, job: Job, receiver: str) -> None:
        """(Under the lock) the attempt is over: its lane, sandbox and receiver may have a worker again."""
        self._running.discard((job.sandbox, job.lane))
        for key in (job.sandbox, receiver) if receiver else (job.sandbox,):
            self._busy[key] -= 1
            if self._busy[key] <= 0:
                del self._busy[key]

    # -- the workers ------------------------------------------------------------------------------
    def _work(self, lane: int) -> None:
        sender = Sender(float(self.settings.timeout), self.connect, self.deadlines)
        done = None                    # the attempt just made: _take frees its lane, sandbox and receiver
        try:
            while True:
                ended, done = done, None
                done = self._take(ended)
                if done is None:
                    break
                job = done[0]
                if not self.current(job):
                    continue
                try:
                    self._attempt(sender, job)
                except StaleGeneration:    # reset meanwhile: the record went with it
                    self._done(job)
                except Exception:          # the store is down, or a bug: the record keeps its lease,
                    log.exception("webhook delivery %s failed unexpectedly", job.id)   # then is taken over
                    self._done(job)
        except BaseException:
            if done is not None:
                with self._ready_cond:
                    self._release(*done)
                    self._ready_cond.notify()
            raise
        finally:
            sender.close()
            with self._outcomes_cond:
                self._working -= 1
                self._outcomes_cond.notify()

    def _observe(self, job: Job, outcome: str) -> None:
        if self.observe is not None:
            self.observe(job.sandbox, outcome, None if job.due_real is None else self.real() - job.due_real)

    def _throttle(self) -> None:
        with self._lock:              # spacing, not a moment: monotonic, immune to clock steps
            now = time.monotonic()
            start = max(self._next_start, now)
            self._next_start = start + 1.0 / float(self.settings.rate)
        if start > now:
            self._stopping.wait(start - now)

    def _attempt(self, sender: Sender, job: Job) -> None:
        now = self.real()
        if not job.duplicate and self.lease_end(job) - now < float(self.settings.timeout) + 1.0:
            lease_end = now + float(self.settings.lease)
            if not self.deliveries.renew(job.sandbox, job.store_generation, [job.id], self.owner, lease_end):
                self._done(job)            # another process took it over (or it was reset)
                return
            self.extended(job.sandbox, [job.id], lease_end)
        attempt = job.attempts if job.duplicate else job.attempts + 1
        gone = job.subscription is None or not self._exists(job.sandbox, job.subscription)
        if not gone:
            self._throttle()               # only requests are spaced to webhooks.rate
            if self._stopping.is_set():
                return                     # drain() forgets it; its lease runs out
        outcome, refused = self._post(sender, None if gone else job.subscription, job, attempt)
        ended = self.real()
        if not self.current(job):
            return
        if job.duplicate:
            self._observe(job, "duplicate")
            entry = _entry(attempt, self.stamps(job.sandbox, [ended])[0], outcome)
            self.deliveries.note(job.sandbox, job.store_generation, job.id, {**entry, "duplicate": True})
            self._done(job)
            return
        retry_at = None
        if outcome.ok:
            status = "delivered"
        elif refused or attempt >= job.budget:
            status = "dead"
        else:
            first = job.budget - int(self.settings.max_attempts) + 1
            retry_at = ended + float(self.settings.backoff) * 2 ** (attempt - first)
            status = "retrying"
        self._observe(job, status)
        with self._outcomes_cond:      # the recorder writes it (the job stays in flight until then)
            self._outcomes.append(Finished(job, attempt, outcome, ended, status, retry_at))
            if len(self._outcomes) in (1, GATHER_COUNT):     # not once per attempt: each wake costs the GIL
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
                if info is None:       # dropped or reset meanwhile: the records went with it (and
                    for item in items:                  # reading its clock would create it again)
                        self._recorded(item, False)
                    continue
                stamps = self.stamps(sandbox, [item.ended for item in items], info)   # its clock as just read
                records = self.deliveries.finish_many(
                    sandbox, generation, self.owner,
                    [(item.job.id, _entry(item.attempt, at, item.outcome), item.status, item.retry_at)
                     for item, at in zip(items, stamps)], self.real())
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
        if ours and status != "retrying":
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

    def _exists(self, sandbox: str, subscription: Subscription) -> bool:
        """Whether the subscription still exists: the store says, asked at most once per
        :data:`KNOWN_FOR` seconds per subscription (not once per attempt: with a shared store that
        was a round trip each). A deletion on this process is known at once (:meth:`unsubscribed`);
        one on another process stops this one's attempts within that time."""
        key, now = (sandbox, subscription.id), time.monotonic()
        if self._known.get(key, 0.0) > now:
            return True
        forgotten = self._forgotten
        if not self.subscribed(sandbox, subscription):
            return False
        if forgotten == self._forgotten:        # no deletion meanwhile that the answer may predate
            self._known[key] = now + KNOWN_FOR
        return True

    def _post(self, sender: Sender, sub, job: Job, attempt: int) -> tuple[Outcome, bool]:
        """Make the attempt; ``(outcome, refused)`` (refused: it can never succeed, dead at once).
        A failure of the mock itself is an attempt that failed, saying so (never a silent loop)."""
        if sub is None:
            return Outcome(None, "the subscription was deleted", 0.0), True
        try:
            refused = self.policy(sub.url)
            if refused:
                return Outcome(None, f"refused by the host policy: {refused}", 0.0), True
            tag = Attempt(job.sandbox, job.generation, sub.id)
            outcome = sender.post(sub.url, job.body, signed_headers(sub, job.body, job.event_id, attempt), tag)
            return outcome, tag.cancelled is not None and not outcome.ok    # cancelled: nothing to retry
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
                    self._counts[job.sandbox] -= 1
                    entry[0] -= 1
                    if entry[0] <= 0:
                        del table[job.id]
            wake = self.starved and self._inflight <= self.high_water // 2
            if wake:
                self.starved = False
        if wake:
            self.wake()
