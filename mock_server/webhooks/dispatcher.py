"""The webhook dispatcher: derives due events from the schedule and POSTs them, off the request path.

One dispatcher per app, serving every sandbox, started explicitly (``mock-server`` starts it;
``start()``/``stop()``, or as a context manager) or lazily when a subscription exists; never at
import. It runs:
- a *producer* thread that makes a round over every sandbox with subscriptions when something
  may have changed, and never polls: when the store reports a change in one of them
  (``Store.changes``, watched by a *watcher* thread: a clock advance or unfreeze, a new record, a
  subscription, another process's writes), when this process's lanes ask (a retry scheduled, room
  again), and at the earliest instant it knows work falls due: the next wanted event of a running
  clock, the next due delivery record (a retry, a redelivery, a lease that runs out), the next
  lease renewal; at the latest every ``IDLE_ROUND`` seconds (a change notification lost with a
  connection). Rounds are at least ``TICK`` (50 ms) apart. Per sandbox it first claims the
  delivery records that are due (retries,
  redeliveries, work of a process whose lease ran out: ``records.py``), then takes the lease on
  the sandbox's cursor (``Store.lease``, for ``webhooks.lease`` seconds) *before* it derives the
  next window of mock time, so with a shared store the processes derive disjoint windows (one
  at a time, each delivering its own): it derives the window's events (at most
  ``webhooks.window_events``), records them in the store, hands them to the lanes, moves the
  cursor and lets the lease go. A process that dies holding it holds up the others for at most
  the lease: then another takes the lease and derives the same window again (the records it made
  are created once, ``records.py``). It stops
  while ``4 x window_events`` deliveries are in flight, so memory stays flat however many events
  fall due at once;
- ``webhooks.concurrency`` attempts at most at once, on one event loop thread (``lanes.py``,
  ``sender.py``), and a *recorder* thread that writes their outcomes (``recorder.py``). Jobs
  queue per lane (``queues.py``): all the events of one message go to the same lane, so a
  message's events arrive in order (a retried event arrives after the later events of its
  message, as with real providers). Starts are spaced to ``webhooks.rate`` per second.

Delivery records live in the store (``records.py``), so every process sees every attempt, and a
retry is made by whichever process claims it when it falls due. Retries use real time (1 s, 2 s,
4 s … from ``webhooks.backoff``) up to ``webhooks.max_attempts``, then the delivery is
dead-lettered; ``redeliver`` gives it a fresh budget. ``duplicate_share`` and ``reorder_window``
emulate at-least-once delivery, drawn from the seed per event id.

``policy(url)`` is the host policy hook (CONTRACT §13): it returns why a URL may not be called, or
None. A refused URL is dead-lettered at once, with the reason.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
from typing import Callable

from ..fetch import check_url
from ..isotime import from_timestamp, isoformat
from ..sandbox import Sandbox
from .events import Walker
from .lanes import Lanes
from .producer import CURSOR_LEASE, IDLE_ROUND, META, SEEN, TICK, Producer
from .records import Deliveries
from .subscriptions import Registry, from_settings
from .watcher import WATCH, Watcher

__all__ = ["CURSOR_LEASE", "IDLE_ROUND", "META", "SEEN", "TICK", "WATCH", "Dispatcher"]
_serials = itertools.count(1)


class Dispatcher(Producer, Watcher):
    """The producer (``producer.py``) and the watcher (``watcher.py``) over one app's state, with
    the lanes (``lanes.py``) that make the attempts and write their outcomes."""

    def __init__(self, state, *, policy: Callable[[str], str | None] = check_url,
                 real: Callable[[], float] | None = None, connect=None) -> None:
        self.state = state
        self.settings = state.settings.webhooks
        self.specs = {name: provider.webhooks for name, provider in state.providers.items() if provider.webhooks}
        self.registry = Registry(state.store, from_settings(state.settings, self.specs), self.specs, state.maps)
        self.walker = Walker(state.timelines, {name: spec.event_of for name, spec in self.specs.items()})
        self.deliveries = Deliveries(state.store, int(self.settings.max_records))
        self._real = real or state.store.time_source       # epoch seconds, shared by processes
        self._token = f"{socket.gethostname()}:{os.getpid()}:{next(_serials)}"   # this dispatcher, as a record owner
        self._claims = itertools.count(1)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._last_iso: tuple[float | None, str] = (None, "")
        self._renewals: dict[str, float] = {}          # sandbox -> real time of its next lease check
        self._watched: frozenset[str] = frozenset()    # sandboxes the last round served
        self._feed = None                              # the watcher's change feed, while open
        self._feed_lock = threading.Lock()
        self._upcoming: dict[str, float] = {}          # sandbox -> mock time of its next wanted event
        self._held: dict[str, float] = {}              # sandbox -> real time another process's cursor lease ends
        self.lanes = Lanes(self.settings, state.settings.seed, deliveries=self.deliveries, owner=self._token,
                           stamps=self._stamps, policy=self._verdict, real=self._real,
                           wake=self._wake.set, connect=connect, subscribed=self.registry.exists)
        self.lanes.observe = getattr(getattr(state, "metrics", None), "webhook_attempt", None)   # metrics
        self.policy = policy

    # -- the host policy --------------------------------------------------------------------------
    @property
    def policy(self) -> Callable[[str], str | None]:
        """Why a URL may not be called (CONTRACT §13), or None: a pure function of the URL (literal
        forms only; a host name's addresses are checked at connect time), so its verdicts are kept
        per URL until the policy is replaced."""
        return self._policy

    @policy.setter
    def policy(self, policy: Callable[[str], str | None]) -> None:
        self._policy, self._verdicts = policy, {}

    def _verdict(self, url: str) -> str | None:
        verdicts = self._verdicts
        if url not in verdicts:
            if len(verdicts) > 4096:
                verdicts.clear()
            verdicts[url] = self._policy(url)
        return verdicts[url]

    # -- lifecycle ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return bool(self._threads)

    def start(self) -> "Dispatcher":
        with self._lock:
            if self._threads:
                return self
            self._stopping.clear()
            self._threads = [threading.Thread(target=self._produce_loop, name="webhooks-producer", daemon=True),
                             threading.Thread(target=self._watch_loop, name="webhooks-watcher", daemon=True),
                             *self.lanes.threads()]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            threads, self._threads = self._threads, []
        if not threads:
            return
        self._stopping.set()
        self._wake.set()
        self.lanes.stop()
        for thread in threads:
            thread.join(timeout=10)
        self.lanes.drain()

    def ensure_started(self, sandbox: Sandbox) -> None:
        """Start when there is something to deliver to (a subscription exists)."""
        if not self._threads and self.registry.any_in(sandbox):
            self.start()

    def __enter__(self) -> "Dispatcher":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def wake(self) -> None:
        self._wake.set()

    def real_now(self) -> float:
        """The real time retries and leases are timed on (epoch seconds)."""
        return self._real()

    # -- records ------------------------------------------------------------------------------
    def cursor(self, sandbox: str) -> float | None:
        """How far (mock time) the sandbox's events have been derived."""
        value = self.state.store.get_value(sandbox, META, "cursor")
        return None if value is None else value["at"]

    def redeliver(self, sandbox: str, ids: list[str] | None, status: str | None) -> tuple[int, list[str]]:
        """Make finished deliveries due again now, with a fresh attempt budget; ``(count, unknown ids)``.
        Whichever process's producer comes first makes the attempts."""
        count, unknown = self.deliveries.redeliver(sandbox, ids, status, int(self.settings.max_attempts),
                                                   self._real())
        if count:
            self.start()
            self._wake.set()
        return count, unknown

    def unsubscribed(self, sandbox: str, subscription_ids) -> None:
        """Subscriptions were deleted: their attempts under way here are cut short (their queued
        jobs, on any process, are not attempted: each is checked against the store first)."""
        self.lanes.unsubscribed(sandbox, subscription_ids)

    def subscribed(self, sandbox: str, since: float) -> None:
        """A subscription was created at ``since``: events before it are not wanted, so the
        sandbox's cursor jumps there (never backwards) instead of walking the past."""
        self._sync(sandbox)
        self.state.store.update_value(sandbox, META, "cursor",
                                      lambda cur: None if cur is not None and cur["at"] >= since - 1e-6
                                      else {"at": since - 1e-6, "by": self._claim()})
        self.start()
        self._wake.set()

    def _claim(self) -> str:
        return f"{self._token}:{next(self._claims)}"

    def _stamps(self, sandbox: str, reals: list[float], info=None) -> list[str]:
        """The sandbox's mock time at each of these real times, formatted, from one reading of its
        clock (``info``: the clock as already read; the last formatting is kept: a frozen clock
        formats once)."""
        out = []
        source = self.state.sandbox(sandbox) if info is None else Sandbox(self.state.store, sandbox, info)
        for moment in source.clock.timestamps_at(reals):
            last = self._last_iso
            if last[0] != moment:
                last = self._last_iso = (moment, isoformat(from_timestamp(moment)))
            out.append(last[1])
        return out
