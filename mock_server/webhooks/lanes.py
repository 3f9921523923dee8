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

An attempt is a few calls on the loop, no Task (``attempts.py``; ``exchange.py`` is its HTTP
side): it goes at once unless it needs the store first (``checks.py``: its lease's renewal, or its subscription's
existence, read at most once per ``KNOWN_FOR``): that runs as a Task, its store call in a
thread, never on the loop thread. A wait for its turn under ``webhooks.rate`` is a loop timer;
after it, the attempt is checked again (its sandbox reset, its subscription deleted meanwhile:
it is not sent).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from ..store.base import StaleGeneration
from .attempts import Attempt, Attempts
from .checks import KNOWN_FOR, STORE_THREADS, Checks  # noqa: F401  (re-exported)
from .queues import Job, Queues, fraction, receiver_of  # noqa: F401  (fraction: the dispatcher's)
from .records import Deliveries
from .recorder import Recorder
from .sender import Prepared, Sender
from .subscriptions import Subscription

log = logging.getLogger("mock_server.webhooks")


class Lanes(Queues, Recorder, Checks, Attempts):
    """The attempts of one dispatcher, over its queues (``queues.py``), recorder (``recorder.py``),
    store checks (``checks.py``) and an attempt's steps (``attempts.py``).

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
        self._pumping = self._again = False   # a look under way; another asked for meanwhile (an attempt ended at once)
        self._active = 0                  # attempts under way (at most count)
        self._tasks: set[asyncio.Task] = set()    # attempts waiting for the store (checks.py)
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
        """(On the loop) start every job that may start, up to ``count`` attempts under way. An
        attempt that ends as it starts (nothing to send) calls it again: the look under way repeats."""
        self._kicked = False
        if self._pumping:
            self._again = True
            return
        self._pumping = True
        try:
            while True:
                self._again = False
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
                for job, receiver in started:
                    self._begin(job, receiver)
                if not self._again:
                    return
        finally:
            self._pumping = False

    def _end(self, job: Job, receiver: str) -> None:
        """(On the loop, once per started job) its attempt is over, or was never made."""
        with self._lock:
            self._release(job, receiver)
            self._active -= 1
        self._pump()

    def _failed(self, job: Job, receiver: str, exc: BaseException) -> None:
        """A step failed: reset meanwhile (the record went with it), or the store is down, or a bug
        (the record keeps its lease, then is taken over)."""
        if not isinstance(exc, StaleGeneration):
            log.error("webhook delivery %s failed unexpectedly", job.id, exc_info=exc)
        self._done(job)
        self._end(job, receiver)

    def _spawn(self, coroutine) -> None:
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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
