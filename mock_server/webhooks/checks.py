"""What an attempt may ask the store before it goes (the loop's side of :class:`lanes.Lanes`).

At most once per :data:`KNOWN_FOR` per subscription, whether it still exists (one question at a
time per subscription: the attempts asking meanwhile share its answer), and a renewal of the
job's lease when it is about to run out. Both run in a pool of :data:`STORE_THREADS` threads,
never on the loop thread: a slow store delays the attempts that wait for it, never another
attempt's deadline. An attempt that needs neither makes no Task (:meth:`Checks._known_now`).
"""

from __future__ import annotations

import asyncio
import time

from .queues import Job
from .subscriptions import Subscription

KNOWN_FOR = 0.05                  # seconds a subscription found in the store is taken to exist
STORE_THREADS = 4                 # threads making the attempts' store calls (off the loop thread)


class Checks:
    """A mixin of :class:`lanes.Lanes` (its queues' ``_known``, ``_forgotten``, ``lease_end``)."""

    def _offload(self, call, *args) -> asyncio.Future:
        """A blocking store call, in the store threads (never on the loop thread)."""
        return self._loop.run_in_executor(self._store_pool, call, *args)

    def _renewing(self, job: Job, now: float) -> bool:
        """Whether the job's lease is to be renewed before its attempt (it may not outlast it)."""
        return not job.duplicate and self.lease_end(job) - now < float(self.settings.timeout) + 1.0

    def _known_now(self, job: Job) -> bool:
        """Whether the job's subscription is known to exist (or there is none to ask about)."""
        sub = job.subscription
        return sub is None or self._known.get((job.sandbox, sub.id), 0.0) > time.monotonic()

    async def _checked(self, job: Job, receiver: str, then, renew: bool) -> None:
        """(A Task) renew the lease if ``renew`` and due, ask whether the subscription exists,
        then ``then(job, receiver, gone)``; a failure ends the job's turn (:meth:`_failed`)."""
        try:
            now = self.real()
            if renew and self._renewing(job, now):
                lease_end = now + float(self.settings.lease)
                if not await self._offload(self.deliveries.renew, job.sandbox, job.store_generation, [job.id],
                                           self.owner, lease_end):
                    self._done(job)            # another process took it over (or it was reset)
                    self._end(job, receiver)
                    return
                self.extended(job.sandbox, [job.id], lease_end)
            gone = job.subscription is None or not await self._exists(job.sandbox, job.subscription)
        except Exception as exc:
            self._failed(job, receiver, exc)
            return
        then(job, receiver, gone)

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
