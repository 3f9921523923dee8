"""The queued work of a dispatcher: jobs per sandbox and lane, fair turns, leases, generations.

Queued :class:`Job` s wait per sandbox and per *lane* (an ordering key): all the events of one
message share a lane, and a lane of a sandbox has at most one attempt under way, taken in order,
so they are attempted in order. Sandboxes take turns (round robin), and one sandbox, like one
receiver (scheme, host and port), has at most ``webhooks.max_share`` of the workers at once (at
least one): a slow receiver, or a busy sandbox, never holds every worker, and other sandboxes'
work is never queued behind its backlog.

Work belongs to a sandbox *generation*: after a reset (or a drop) of its sandbox, queued work of
the old generation is dropped (:meth:`Queues.follow`, :meth:`Queues.forget`). Everything here is
under one lock: the producer queues, the workers take and release, the recorder ends jobs.
"""

from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from collections import Counter, OrderedDict, deque
from dataclasses import replace
from typing import Callable

from .jobs import Job, fraction, receiver_of  # noqa: F401  (re-exported: the recorder's, the lanes')


class Queues(ABC):
    """The queued jobs per sandbox and lane, and the in-flight count the producer reads.

    :param real: the real time, epoch seconds (retries and leases; shared by processes).
    :param wake: wakes the producer (a retry was scheduled, or the lanes have room again).
    """

    def __init__(self, settings, *, real: Callable[[], float], wake: Callable[[], None]) -> None:
        self.settings, self.real, self.wake = settings, real, wake
        self.count = int(settings.concurrency)
        self.share = max(1, math.floor(self.count * float(settings.max_share)))   # workers per sandbox / receiver
        self.high_water = 4 * int(settings.window_events)
        self.fair = int(settings.window_events)  # a sandbox may always queue this many, whatever the others do
        self.starved = False              # the producer stopped at the high-water mark
        self._lock = threading.Lock()
        self._ready: dict[str, OrderedDict[int, deque]] = {}   # sandbox -> lane -> jobs, oldest first
        self._turn: OrderedDict[str, None] = OrderedDict()     # sandboxes with queued jobs, next first
        self._running: set[tuple[str, int]] = set()            # (sandbox, lane) with an attempt under way
        self._busy: Counter = Counter()                        # sandbox, and receiver -> workers on it
        self._counts: Counter = Counter()                      # sandbox -> jobs queued or under way
        self._inflight = 0
        # sandbox -> record id -> [jobs queued for it, real time its lease ends]
        self._queued: dict[str, dict[str, list]] = {}
        self._finished: dict[str, int] = {}              # sandbox -> records finished since its last trim
        self._generations: dict[str, object] = {}
        # (sandbox, subscription id) -> monotonic time until which it is known to exist
        self._known: dict[tuple[str, str], float] = {}
        self._forgotten = 0                                # deletions seen (a check that spans one caches nothing)

    def clear(self) -> None:
        """Forget every queued job (their records keep this process's leases, and are taken
        over, by any process, when those run out)."""
        with self._lock:
            self._ready.clear()
            self._turn.clear()
            self._running.clear()
            self._busy.clear()
            self._counts.clear()
            self._queued.clear()
            self._inflight = 0
            self.starved = False

    @abstractmethod
    def cancel(self, reason: str, matches: Callable[[object], bool]) -> int:
        """Cut short the attempts under way that ``matches``; how many (the workers' side: ``Lanes``)."""

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
                self._kick()

    def _queue(self, job: Job, wake: bool = True) -> None:
        """(Under the lock) the job waits behind the earlier ones of its sandbox's lane."""
        self._ready.setdefault(job.sandbox, OrderedDict()).setdefault(job.lane, deque()).append(job)
        self._turn.setdefault(job.sandbox)
        if wake:
            self._kick()

    def _kick(self) -> None:
        """(Under the lock) jobs were queued: the workers look for one they may start."""

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
