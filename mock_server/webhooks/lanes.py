"""The sending side of the dispatcher: the attempts, on one event loop, and the rate limit.

``webhooks.concurrency`` attempts at most are under way at once, all on one asyncio loop thread
(``webhooks-worker-loop``; ``sender.py`` is its HTTP side): the queued jobs (``queues.py``: per
sandbox and lane, fair turns, ``max_share`` per sandbox and receiver) are started by plain
loop-side bookkeeping whenever an attempt ends or the producer queues more (one wake per window,
not per job). Each attempt is bounded as a whole by ``webhooks.timeout``. Starts are spaced to
``webhooks.rate`` per real second. A 2xx is delivered (and, for the seeded ``duplicate_share``,
sent a second time); anything else is retried after ``backoff``, ``2 x backoff`` … real seconds
until the delivery's attempt budget is spent, then it is dead.

A job is this process's turn at one delivery record (``records.py``): the record, in the store, is
the truth; the job carries what an attempt needs (body, subscription, lease). Outcomes are written
by the recorder thread (``recorder.py``); a retry goes back to the store, due at its time, for
whichever process's producer claims it. After a reset (or a drop) of its sandbox, queued work of
the old generation is dropped and its attempts under way are cut short. A job whose subscription
was deleted meanwhile (on any process: the store says; a deletion on another process is seen
within :data:`KNOWN_FOR`) is not attempted: the delivery is dead, "the subscription was deleted".

An attempt makes no store round trip but, at most once per :data:`KNOWN_FOR` per subscription,
the existence check (one at a time per subscription: concurrent attempts share it), and a lease
renewal when its lease is about to run out. Both run in a pool of :data:`STORE_THREADS` threads,
never on the loop thread: a slow store delays the attempts that wait for it, never another
attempt's deadline. An attempt that waited for its turn under ``webhooks.rate`` is checked again
after the wait (its sandbox reset, its subscription deleted meanwhile: it is not sent).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from ..store.base import StaleGeneration
from .queues import Job, Queues, fraction, receiver_of  # noqa: F401  (fraction: the dispatcher's)
from .headers import attempt_headers, fixed_headers
from .records import Deliveries
from .recorder import Finished, Recorder
from .sender import Outcome, Prepared, Sender, header_lines
from .subscriptions import Subscription

log = logging.getLogger("mock_server.webhooks")
KNOWN_FOR = 0.05                  # seconds a subscription found in the store is taken to exist
STORE_THREADS = 4                 # threads making the attempts' store calls (off the loop thread)


@dataclass
class Attempt:
    """Whose attempt is under way (the tag :meth:`Sender.cancel` cuts by)."""

    sandbox: str
    generation: tuple
    subscription: str | None
    cancelled: str | None = None          # why it was cut short (set by a cancellation)


class Lanes(Queues, Recorder):
    """The attempts of one dispatcher, over its queues (``queues.py``) and recorder (``recorder.py``).

    :param deliveries: the store's delivery records.
    :param owner: this process's token: the records it owns carry it.
    :param stamps: a sandbox's mock time at given real times, formatted (stamped on each attempt).
    :param policy: why a URL may not be called (CONTRACT §13), or None.
    :param real: the real time, epoch seconds (retries and leases; shared by processes).
    :param wake: wakes the producer (a retry was scheduled, or the lanes have room again).
    :param connect: a blocking connect-time host check (``fetch.policy_connector``), or None.
    :param subscribed: whether a subscription still exists (a deleted one's jobs are not attempted).
    """

    def __init__(self, settings, seed, *, deliveries: Deliveries, owner: str,
                 stamps: Callable[[str, list[float]], list[str]],
                 policy: Callable[[str], str | None], real: Callable[[], float], wake: Callable[[], None],
                 connect=None, subscribed: Callable[[str, object], bool] = lambda sandbox, sub: True) -> None:
        super().__init__(settings, real=real, wake=wake)
        self._recorder_init()
        self.seed, self.deliveries, self.owner = seed, deliveries, owner
        self.stamps, self.policy, self.subscribed = stamps, policy, subscribed
        self.connect = connect
        self.sender = Sender(float(settings.timeout), connect)
        self.observe: Callable[[str, str, float | None], None] | None = None   # (sandbox, outcome, delay): metrics
        self._stopping = threading.Event()
        self._next_start = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._kicked = False              # a look for startable jobs is scheduled on the loop
        self._active = 0                  # attempts under way (at most count)
        self._tasks: set[asyncio.Task] = set()
        self._done_event: asyncio.Event | None = None
        self._heads: dict[tuple[str, str], tuple[Subscription, Prepared]] = {}
        self._store_pool: ThreadPoolExecutor | None = None
        self._checking: dict[tuple[str, str], tuple] = {}   # existence checks under way: (task, deletions seen then)

    # -- lifecycle ----------------------------------------------------------------------------
    def threads(self) -> list[threading.Thread]:
        self._stopping.clear()
        self._working = 1
        self._kicked = False
        self._loop = asyncio.new_event_loop()
        self.sender = Sender(float(self.settings.timeout), self.connect)
        self._store_pool = ThreadPoolExecutor(STORE_THREADS, thread_name_prefix="webhooks-worker-store")
        self._checking = {}
        return [threading.Thread(target=self._run_loop, args=(self._loop,), name="webhooks-worker-loop", daemon=True),
                threading.Thread(target=self._record_loop, name="webhooks-recorder", daemon=True)]

    def stop(self) -> None:
        """No attempt starts any more; those under way end (each within ``webhooks.timeout``)."""
        self._stopping.set()
        self._call(self._pump)

    def drain(self) -> None:
        """After the loop stopped: forget every queued job (their records keep this process's
        leases, and are taken over, by any process, when those run out)."""
        self.clear()

    def _call(self, callback) -> None:
        """Run ``callback`` on the loop (from any thread; nothing when it is closed)."""
        loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(callback)
            except RuntimeError:          # closed: nothing is under way any more
                pass

    def _run_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        finally:
            try:
                self.sender.close()
                self._store_pool.shutdown(wait=False)
                loop.run_until_complete(asyncio.sleep(0))      # aborted connections let go
                loop.close()
            finally:
                self._workers_gone()

    async def _serve(self) -> None:
        self._done_event = asyncio.Event()
        self._pump()
        await self._done_event.wait()

    # -- the loop's bookkeeping ---------------------------------------------------------------------
    def _kick(self) -> None:
        """(Under the lock) jobs were queued: the loop looks for those it may start, once for many."""
        if not self._kicked:
            self._kicked = True
            self._call(self._pump)

    def _pump(self) -> None:
        """(On the loop) start every job that may start, up to ``count`` attempts under way."""
        self._kicked = False
        if self._stopping.is_set():
            if not self._active and self._done_event is not None:
                self._done_event.set()
            return
        started = []
        with self._lock:
            while self._active < self.count:
                found = self._startable(take=True)
                if found is None:
                    break
                self._active += 1
                started.append(found)
        loop = self._loop
        for job, receiver in started:
            task = loop.create_task(self._run(job, receiver))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, job: Job, receiver: str) -> None:
        try:
            if self.current(job):
                try:
                    await self._attempt(job)
                except StaleGeneration:    # reset meanwhile: the record went with it
                    self._done(job)
                except Exception:          # the store is down, or a bug: the record keeps its lease,
                    log.exception("webhook delivery %s failed unexpectedly", job.id)   # then is taken over
                    self._done(job)
        finally:
            with self._lock:
                self._release(job, receiver)
                self._active -= 1
            self._pump()

    def cancel(self, reason: str, matches: Callable[[Attempt], bool]) -> int:
        """Cut short the attempts under way that ``matches``; how many."""
        def chosen(tag) -> bool:
            if isinstance(tag, Attempt) and matches(tag):
                tag.cancelled = reason
                return True
            return False
        return self.sender.cancel(chosen)

    def unsubscribed(self, sandbox: str, subscription_ids) -> None:
        """Subscriptions were deleted: cut their attempts under way (their queued jobs are not
        attempted: each is checked against the store first)."""
        ids = set(subscription_ids)
        self._forgotten += 1
        for subscription_id in ids:
            self._known.pop((sandbox, subscription_id), None)
        self.cancel("its subscription was deleted", lambda tag: tag.sandbox == sandbox and tag.subscription in ids)

    # -- an attempt -------------------------------------------------------------------------------
    def _observe(self, job: Job, outcome: str) -> None:
        if self.observe is not None:
            self.observe(job.sandbox, outcome, None if job.due_real is None else self.real() - job.due_real)

    def _throttle(self) -> float:
        """Seconds to wait before the next request (spacing, not a moment: monotonic)."""
        now = time.monotonic()
        start = max(self._next_start, now)
        self._next_start = start + 1.0 / float(self.settings.rate)
        return start - now

    def _offload(self, call, *args) -> asyncio.Future:
        """A blocking store call, in the store threads (never on the loop thread)."""
        return self._loop.run_in_executor(self._store_pool, call, *args)

    async def _attempt(self, job: Job) -> None:
        now = self.real()
        if not job.duplicate and self.lease_end(job) - now < float(self.settings.timeout) + 1.0:
            lease_end = now + float(self.settings.lease)
            if not await self._offload(self.deliveries.renew, job.sandbox, job.store_generation, [job.id],
                                       self.owner, lease_end):
                self._done(job)            # another process took it over (or it was reset)
                return
            self.extended(job.sandbox, [job.id], lease_end)
        attempt = job.attempts if job.duplicate else job.attempts + 1
        gone = job.subscription is None or not await self._exists(job.sandbox, job.subscription)
        if not gone:
            wait = self._throttle()        # only requests are spaced to webhooks.rate
            if wait > 0:
                await asyncio.sleep(wait)
            if self._stopping.is_set():
                return                     # drain() forgets it; its lease runs out
            if wait > 0 and self.current(job):    # its subscription deleted while it waited?
                gone = not await self._exists(job.sandbox, job.subscription)
        if not self.current(job):
            return                         # reset while its store calls were under way
        outcome, refused = await self._post(None if gone else job.subscription, job, attempt)
        ended = self.real()
        if not self.current(job):
            return
        retry_at = None
        if job.duplicate:
            self._observe(job, "duplicate")
            status = "duplicate"
        elif outcome.ok:
            status = "delivered"
        elif refused or attempt >= job.budget:
            status = "dead"
        else:
            first = job.budget - int(self.settings.max_attempts) + 1
            retry_at = ended + float(self.settings.backoff) * 2 ** (attempt - first)
            status = "retrying"
        if not job.duplicate:
            self._observe(job, status)
        self.finish(Finished(job, attempt, outcome, ended, status, retry_at))

    async def _exists(self, sandbox: str, subscription: Subscription) -> bool:
        """Whether the subscription still exists: the store says, asked at most once per
        :data:`KNOWN_FOR` seconds per subscription (not once per attempt: with a shared store that
        was a round trip each), one question at a time (the attempts asking meanwhile share its
        answer). A deletion on this process is known at once (:meth:`unsubscribed`), one on another
        process stops this one's attempts within that time."""
        key = (sandbox, subscription.id)
        for _ in range(3):
            if self._known.get(key, 0.0) > time.monotonic():
                return True
            entry = self._checking.get(key)
            if entry is None:
                entry = self._checking[key] = (asyncio.ensure_future(self._ask(key, subscription)), self._forgotten)
                entry[0].add_done_callback(lambda _, key=key: self._checking.pop(key, None))
            checking, forgotten = entry
            if not await asyncio.shield(checking):
                return False
            if forgotten == self._forgotten:    # no deletion since it was asked: the answer holds
                return True
        return True

    async def _ask(self, key: tuple[str, str], subscription: Subscription) -> bool:
        now, forgotten = time.monotonic(), self._forgotten
        found = await self._offload(self.subscribed, key[0], subscription)
        if found and forgotten == self._forgotten:   # no deletion meanwhile that the answer may predate
            self._known[key] = now + KNOWN_FOR
        return found

    def _prepared(self, sandbox: str, sub: Subscription) -> Prepared:
        """The subscription's request head, built once (again when the subscription changed)."""
        key = (sandbox, sub.id)
        cached = self._heads.get(key)
        if cached is None or not (cached[0] is sub or cached[0] == sub):
            if len(self._heads) > 4096:
                self._heads.clear()
            cached = self._heads[key] = (sub, self.sender.prepare(sub.url, fixed_headers(sub)))
        return cached[1]

    async def _post(self, sub, job: Job, attempt: int) -> tuple[Outcome, bool]:
        """Make the attempt; ``(outcome, refused)`` (refused: it can never succeed, dead at once).
        A failure of the mock itself is an attempt that failed, saying so (never a silent loop)."""
        if sub is None:
            return Outcome(None, "the subscription was deleted", 0.0), True
        try:
            refused = self.policy(sub.url)
            if refused:
                return Outcome(None, f"refused by the host policy: {refused}", 0.0), True
            try:
                prepared = self._prepared(job.sandbox, sub)
            except ValueError as exc:      # a URL or header that cannot be sent: it never will be
                return Outcome(None, f"{type(exc).__name__}: {exc}", 0.0), False
            tag = Attempt(job.sandbox, job.generation, sub.id)
            headers = header_lines(attempt_headers(sub, job.body, job.event_id, attempt))
            outcome = await self.sender.send(prepared, job.body, headers, tag)
            return outcome, tag.cancelled is not None and not outcome.ok    # cancelled: nothing to retry
        except Exception as exc:           # a bug: recorded on the attempt, logged in full
            log.exception("webhook delivery %s: the attempt failed inside the mock", job.id)
            return Outcome(None, f"the mock failed to send it ({type(exc).__name__}: {exc}); please report it", 0.0), False
