"""The sending side of the dispatcher: one lane per worker, the rate limit, attempts, retries.

``webhooks.concurrency`` workers each serve one lane (a queue). All the events of one message go
to the same lane, so they are attempted in order. Starts are spaced to ``webhooks.rate`` per
real second over all workers. A 2xx is delivered (and, for the seeded ``duplicate_share``, sent a
second time); anything else is retried after ``backoff``, ``2 x backoff`` … real seconds until
the delivery's attempt budget is spent, then it is dead. Work belongs to a sandbox *generation*:
after a reset (or a drop) of its sandbox, queued work of the old generation is skipped.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import queue
import threading
from typing import Callable

from .records import Delivery, DeliveryLog
from .sender import Outcome, Sender

log = logging.getLogger("mock_server.webhooks")
HISTORY = 50                      # attempts kept per delivery record


def fraction(seed: object, salt: str, key: str) -> float:
    """A number in [0, 1) drawn from the seed for ``key`` (duplicates, reordering)."""
    digest = hashlib.blake2b(f"{seed}:{salt}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2 ** 64


class Lanes:
    """Workers, their lanes and the retry queue, with the in-flight count the producer reads.

    :param records: the delivery log of a sandbox.
    :param now_iso: a sandbox's mock time, formatted (stamped on each attempt).
    :param policy: why a URL may not be called (CONTRACT §13), or None.
    :param wake: wakes the producer (a retry is queued, or the lanes have room again).
    """

    def __init__(self, settings, seed, *, records: Callable[[str], DeliveryLog], now_iso: Callable[[str], str],
                 policy: Callable[[str], str | None], monotonic: Callable[[], float], wake: Callable[[], None],
                 connect=None) -> None:
        self.settings, self.seed = settings, seed
        self.records, self.now_iso, self.policy, self.monotonic, self.wake = records, now_iso, policy, monotonic, wake
        self.connect = connect            # connect-time host check for http.client (see Sender)
        self.count = int(settings["concurrency"])
        self.high_water = 4 * int(settings["window_events"])
        self.starved = False              # the producer stopped at the high-water mark
        self._queues = [queue.SimpleQueue() for _ in range(self.count)]
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._retries: list[tuple[float, int, Delivery]] = []
        self._inflight = 0
        self._per_sandbox: dict[str, int] = {}
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

    # -- generations ----------------------------------------------------------------------------
    def generation(self, sandbox: str):
        return self._generations.get(sandbox)

    def renew(self, sandbox: str, generation) -> None:
        """The sandbox was reset (or is new): forget its queued work and retries."""
        with self._lock:
            self._generations[sandbox] = generation
            self._retries = [item for item in self._retries if item[2].sandbox != sandbox]
            heapq.heapify(self._retries)
            self._inflight -= self._per_sandbox.pop(sandbox, 0)

    def forget(self, sandbox: str) -> None:
        """The sandbox was dropped."""
        self.renew(sandbox, None)
        self._generations.pop(sandbox, None)

    def current(self, delivery: Delivery) -> bool:
        """False for work queued before its sandbox was reset or dropped."""
        return delivery.generation is not None and self._generations.get(delivery.sandbox) == delivery.generation

    # -- queueing -------------------------------------------------------------------------------
    @property
    def inflight(self) -> int:
        return self._inflight

    def put(self, delivery: Delivery) -> None:
        with self._lock:
            self._inflight += 1
            self._per_sandbox[delivery.sandbox] = self._per_sandbox.get(delivery.sandbox, 0) + 1
        self._queues[delivery.lane].put((delivery, False))

    def promote(self) -> None:
        """Queue the retries whose time has come."""
        now = self.monotonic()
        with self._lock:
            while self._retries and self._retries[0][0] <= now:
                delivery = heapq.heappop(self._retries)[2]
                self._queues[delivery.lane].put((delivery, False))

    def next_retry_in(self) -> float | None:
        with self._lock:
            return max(0.0, self._retries[0][0] - self.monotonic()) if self._retries else None

    # -- the workers ------------------------------------------------------------------------------
    def _work(self, lane: int) -> None:
        sender = Sender(float(self.settings["timeout"]), self.connect)
        try:
            while True:
                item = self._queues[lane].get()
                if item is None or self._stopping.is_set():
                    break
                delivery, duplicate = item
                if not self.current(delivery):
                    continue
                self._throttle()
                if self._stopping.is_set():
                    break
                try:
                    self._attempt(sender, delivery, duplicate)
                except Exception:          # a bug: never leave the delivery pending for ever
                    log.exception("webhook delivery %s failed unexpectedly", delivery.id)
                    self.records(delivery.sandbox).finish(delivery, "dead")
                    self._done(delivery)
        finally:
            sender.close()

    def _throttle(self) -> None:
        with self._lock:
            now = self.monotonic()
            start = max(self._next_start, now)
            self._next_start = start + 1.0 / float(self.settings["rate"])
        if start > now:
            self._stopping.wait(start - now)

    def _attempt(self, sender: Sender, delivery: Delivery, duplicate: bool) -> None:
        url = delivery.subscription.url
        attempt = delivery.attempt if duplicate else delivery.attempt + 1
        refused = self.policy(url)
        if refused:
            outcome = Outcome(None, f"refused by the host policy: {refused}", 0.0)
        else:
            outcome = sender.post(url, delivery.body, delivery.headers(attempt))
        entry = {"attempt": attempt, "at": self.now_iso(delivery.sandbox), "statusCode": outcome.status,
                 "latencyMs": round(outcome.latency_ms, 1), "error": outcome.error}
        if duplicate:
            entry["duplicate"] = True
        delivery.history.append(entry)
        del delivery.history[:-HISTORY]
        if not self.current(delivery):
            return
        if duplicate:
            self._done(delivery)
            return
        delivery.attempt = attempt
        records = self.records(delivery.sandbox)
        if outcome.ok:
            records.finish(delivery, "delivered")
            share = float(self.settings["duplicate_share"])
            if share and fraction(self.seed, "duplicate", delivery.id) < share:
                self._queues[delivery.lane].put((delivery, True))
            else:
                self._done(delivery)
        elif refused or attempt >= delivery.budget:
            records.finish(delivery, "dead")
            self._done(delivery)
        else:
            first = delivery.budget - int(self.settings["max_attempts"]) + 1
            delay = float(self.settings["backoff"]) * 2 ** (attempt - first)
            delivery.status = "retrying"
            delivery.next_retry = self.monotonic() + delay
            with self._lock:
                heapq.heappush(self._retries, (delivery.next_retry, delivery.seq, delivery))
            self.wake()

    def _done(self, delivery: Delivery) -> None:
        with self._lock:
            if self.current(delivery):
                self._inflight -= 1
                self._per_sandbox[delivery.sandbox] -= 1
            wake = self.starved and self._inflight <= self.high_water // 2
            if wake:
                self.starved = False
        if wake:
            self.wake()
