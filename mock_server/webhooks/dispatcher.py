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
import logging
import os
import socket
import threading
import time
from typing import Callable

from ..fetch import check_url
from ..isotime import from_timestamp, isoformat
from ..sandbox import Sandbox
from ..store.base import StaleGeneration
from .events import Walker, encode
from .lanes import Job, Lanes, fraction
from .records import Deliveries, delivery_id, new_value
from .subscriptions import Registry, from_settings

log = logging.getLogger("mock_server.webhooks")
META = "webhooks.cursor"          # store map per sandbox: "cursor" -> {"at": mock time, "by": claim token}
CURSOR_LEASE = "webhooks.cursor"  # store lease per sandbox: the process deriving its next window
SEEN = "webhooks.seen"            # store map per sandbox: batch -> claim token of its first walk
TICK = 0.05                       # real seconds at least between two rounds of the producer
IDLE_ROUND = 30.0                 # real seconds at most between two rounds (a lost change notification)
WATCH = 1.0                       # real seconds the watcher waits on the store before it checks for a stop
_serials = itertools.count(1)


class Dispatcher:
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

    # -- the producer ---------------------------------------------------------------------------
    def _produce_loop(self) -> None:
        while not self._stopping.is_set():
            began = self._real()
            self._wake.clear()                 # a wake during the round makes the next one at once
            try:
                wait = self.step()
            except Exception:          # a bug must not kill delivery for good: log it, go on
                log.exception("webhook dispatcher step failed")
                wait = 20 * TICK
            self._wake.wait(wait)
            spent = self._real() - began
            if spent < TICK:                   # a burst of changes: one round per TICK at most
                self._stopping.wait(TICK - spent)

    def _watch_loop(self) -> None:
        """Wake the producer when the store reports a change in a sandbox it serves, or in another
        one that has subscriptions now (created by another process). A sandbox it does not serve
        is looked at (``info``: a store round trip) once per ``WATCH`` at most, however often it
        changes: uploads to a sandbox without subscriptions cost no look each.

        After a change it looks again only a ``TICK`` later (the changes of the meantime wait in the
        feed, and the producer runs at most once a ``TICK`` anyway): under a stream of uploads it
        wakes 20 times a second, not once per write, each wake a thread switch the request that
        wrote pays for."""
        feed = None
        looked: dict[str, float] = {}      # a sandbox not served -> when it was last looked at
        pending: set[str] = set()          # not served, changed since it was looked at
        while not self._stopping.is_set():
            try:
                if feed is None:
                    with self._feed_lock:
                        feed = self._feed = self.state.store.changes(self._watching())
                changed = feed.wait(WATCH)
                if changed & self._watched:
                    self._wake.set()
                pending |= changed - self._watched
                if pending and self._look(pending, looked):
                    self._wake.set()
                if changed:
                    self._stopping.wait(TICK)
            except Exception:          # the store unreachable: the producer's rounds go on, try again
                log.debug("webhook watcher: no change feed", exc_info=True)
                if feed is not None:
                    with self._feed_lock:
                        self._feed = None
                    feed.close()
                    feed = None
                self._wake.set()
                self._stopping.wait(WATCH)
        if feed is not None:
            with self._feed_lock:
                self._feed = None
            feed.close()

    def _look(self, pending: set[str], looked: dict[str, float]) -> bool:
        """Whether one of the pending sandboxes whose last look is ``WATCH`` old may be served now
        (those are looked at and leave ``pending``; the others wait for their turn)."""
        now = time.monotonic()
        if len(looked) > 4096:
            looked.clear()
        due = [name for name in pending if now - looked.get(name, now - WATCH) >= WATCH]
        pending.difference_update(due)
        looked.update(dict.fromkeys(due, now))
        return any([self._may_serve(name) for name in due])

    def _watch(self, served: frozenset[str]) -> None:
        """The sandboxes whose commits of records the watcher's feed reports: those served (every
        sandbox when the settings subscribe all of them); other changes (a subscription made by
        another process, a clock move, a reset) it reports for every sandbox. Watched before the
        round reads them, so none of their commits is missed; a shared store publishes the
        commits of the sandboxes nobody watches to nobody (uploads to a sandbox without
        subscriptions cost no message to read)."""
        with self._feed_lock:
            self._watched = served
            if self._feed is not None:
                self._feed.watch(self._watching())

    def _watching(self) -> frozenset[str] | None:
        return None if self.registry.configured else self._watched

    def _may_serve(self, name: str) -> bool:
        """A sandbox the last round did not serve may have subscriptions now (another process
        made one); a dropped one (no info) is not re-created by looking."""
        info = self.state.store.info(name)
        return info is not None and self.registry.may_have(info)

    def step(self) -> float:
        """One round over every sandbox: follow resets, claim due records, trim, produce.

        Returns how long the producer may sleep if nothing changes: until the earliest instant it
        knows work falls due (``IDLE_ROUND`` at most).
        """
        names = [info.name for info in self.state.store.sandboxes()]
        for name in self.lanes.sandboxes():
            if name not in names:             # dropped (DELETE /_mock/sandboxes/NAME or idle expiry)
                self.lanes.forget(name)
        active = [name for name in names if self.registry.any(name)]
        lanes = self.lanes
        served = list(dict.fromkeys([*active, *(name for name in names if lanes.generation(name) is not None)]))
        self._watch(frozenset(served))
        for name in served:
            self._sync(name)                  # follows resets, also of sandboxes whose subscriptions went
            if self._stopping.is_set():
                break
            self._claim_due(name)
        for name in lanes.finished(max(1, self.deliveries.max_records // 50)):
            self.deliveries.trim(name)
        real = self._real()
        wake = IDLE_ROUND
        for name in active:                   # each sandbox as far as its own room goes (Lanes.room)
            if self._stopping.is_set():
                break
            if lanes.room(name) <= 0:
                continue                      # the lanes wake the producer when they have room
            sandbox = self.state.sandbox(name)
            self.state.settle(sandbox)
            self._upcoming.pop(name, None)
            self._held.pop(name, None)
            while lanes.room(name) > 0 and not self._stopping.is_set() and self._produce(sandbox):
                pass
            upcoming = self._upcoming.get(name)
            if upcoming is not None:          # a running clock reaches the next wanted event
                wake = min(wake, upcoming - sandbox.now())
            held = self._held.get(name)
            if held is not None:              # the holder's cursor move wakes this one; if it died, its lease's end
                wake = min(wake, held - real)
        for name in served:
            if name in self._renewals and lanes.generation(name) is not None:
                wake = min(wake, self._renewals[name] - real)
            due = self.deliveries.next_due(name, real) if lanes.generation(name) is not None else None
            if due is not None:
                wake = min(wake, due - real)
        lanes.starved = lanes.inflight >= lanes.high_water
        return max(TICK, wake)

    def _claim_due(self, name: str) -> None:
        """Keep the leases of this process's queued jobs, then queue the sandbox's records that are
        due (retries, redeliveries, leases of a dead process that ran out)."""
        lanes, generation = self.lanes, self.lanes.generation(name)
        if generation is None:
            return
        now, lease = self._real(), float(self.settings.lease)
        try:
            if now >= self._renewals.get(name, 0.0):           # a look at the queue every quarter lease
                self._renewals[name] = now + lease / 4
                expiring = lanes.expiring(name, now + lease / 2)
                if expiring:
                    lanes.extended(name, self.deliveries.renew(name, generation[0], expiring, self._token, now + lease),
                                   now + lease)
            room = lanes.room(name)
            if room <= 0:
                return
            taken = self.deliveries.claim_due(name, generation[0], self._token, now, now + lease, room,
                                              queued=lambda record_id: lanes.is_queued(name, record_id))
        except StaleGeneration:
            return
        subscriptions = {sub.id: sub for sub in self.registry.all(name)} if taken else {}
        lanes.put_many([Job.of(name, generation, record, subscriptions.get(record.value["subscription"]), now)
                        for record in taken], now + lease)

    def _sync(self, sandbox: str) -> None:
        """Follow a reset of the sandbox: drop what was queued for its old records, and start its
        cursor at its clock's now."""
        info = self.state.store.info(sandbox)
        if info is None:
            return
        # (generation, creation time): a dropped and re-created sandbox is new too
        self.lanes.follow(sandbox, (info.generation, info.created_real))
        now = self.state.sandbox(sandbox).now()
        self.state.store.update_value(sandbox, META, "cursor",
                                      lambda cur: {"at": now - 1e-6, "by": self._claim()} if cur is None else None)

    def _produce(self, sandbox: Sandbox) -> bool:
        """Take the lease on the sandbox's cursor, then derive, record and queue its next window of
        events, move the cursor and let the lease go; True while there is more to derive.

        With the lease held, no other process derives the window (it waits for the cursor to move,
        or for the lease to run out if this process dies); the cursor still moves by
        compare-and-set, and the records are created once whoever derives them, so a window
        derived again after a crash or a lease that ran out adds nothing twice.
        """
        store, name = self.state.store, sandbox.name
        now = sandbox.now()
        current = store.get_value(name, META, "cursor")
        if current is None or current["at"] >= now:
            return False
        lease = store.lease(name, CURSOR_LEASE, self._token, float(self.settings.lease))
        if lease.holder != self._token:
            self._held[name] = lease.until
            return False
        try:
            return self._derive(sandbox, now)
        finally:
            store.lease(name, CURSOR_LEASE, self._token, 0)

    def _derive(self, sandbox: Sandbox, now: float) -> bool:
        """(Holding the cursor's lease) :meth:`_produce`'s window.

        A batch the dispatcher has not seen before may already have events at or before the cursor
        (created at the very instant of the last window's end, e.g. a task sending at once under a
        frozen clock): its first walk also covers those (a "catch-up" window), recorded with the
        window's own.
        """
        store, name = self.state.store, sandbox.name
        current = store.get_value(name, META, "cursor")      # as the last holder left it
        if current is None or current["at"] >= now:
            return False
        cursor = current["at"]
        owners = self.registry.by_owner(name)
        if not owners:
            return False
        # only batches someone subscribed to, with transitions still to come: per round, the
        # cost is the number of batches, never the number of messages
        latest = self.walker.latest
        sources = [source for name in self.specs
                   for source in self.state.backends[name].webhook_sources(sandbox, owners, cursor, latest)]
        names = {key: frozenset().union(*(sub.events for sub in subs)) for key, subs in owners.items()}
        wanted = lambda source: names.get((source.provider, source.owner))  # noqa: E731
        events, end = self.walker.window(sources, cursor, now, int(self.settings.window_events), wanted)
        fresh = [source for source in sources
                 if store.get_value(name, SEEN, f"{source.provider}:{source.batch_id}") is None]
        catch_up = []
        for source in fresh:
            first = source.batch.schedule.first_send
            if first is not None and first <= cursor:
                # events before the owner's earliest subscription would all be filtered out
                since = [sub.since for sub in owners[(source.provider, source.owner)]]
                start = first - 1.0 if None in since else max(first - 1.0, min(since) - 1e-6)
                if start < cursor:
                    catch_up.extend(self.walker.events([source], start, cursor, wanted))
        # The records first (creating only missing ones), then the marks: a crash or a store error
        # in between leaves the window to be derived again, which adds nothing twice.
        self._enqueue(name, [*catch_up, *events], owners)
        for source in fresh:
            token = self._claim()
            store.update_value(name, SEEN, f"{source.provider}:{source.batch_id}",
                               lambda cur, token=token: token if cur is None else None)
        if not events and not catch_up and end >= now:
            # nothing to deliver up to now: the cursor stays (a write would wake every producer);
            # the next round walks from it again, and wakes when the next wanted event is due
            if not sandbox.clock.state()[1]:
                upcoming = self.walker.next_at(sources, now, now + IDLE_ROUND, wanted)
                if upcoming is not None:
                    self._upcoming[name] = upcoming
            return False
        claim = self._claim()
        won = store.update_value(name, META, "cursor", lambda cur: {"at": end, "by": claim} if cur == current else None)
        if won is None or won.get("by") != claim:
            return True                    # another worker moved the cursor meanwhile: go on from there
        return end < now

    def _enqueue(self, sandbox: str, events, owners) -> None:
        """Record the events' deliveries in the store (those not recorded yet) and queue them."""
        window = float(self.settings.reorder_window)
        if window:
            seed = self.state.settings.seed
            events = sorted(events, key=lambda event: event.at + window * fraction(seed, "reorder", event.id))
        generation = self.lanes.generation(sandbox)
        if generation is None:
            return
        lanes, attempts = self.lanes.count, int(self.settings.max_attempts)
        now_real = self._real()
        lease_end = now_real + float(self.settings.lease)
        items, subscriptions = [], {}
        for event in events:
            targets = [sub for sub in owners[(event.source.provider, event.source.owner)] if sub.wants(event.name, event.at)]
            if not targets:
                continue
            data = event.render()
            body, recipient = encode(data), self.specs[event.source.provider].recipient(data)
            lane = (event.source.number * 7919 + event.index) % lanes
            for sub in targets:
                record_id = delivery_id(event.id, sub.id)
                subscriptions[record_id] = sub
                items.append((record_id, new_value(event_id=event.id, event=event.name, subscription=sub,
                                                   recipient=recipient, due_at=event.at, body=body, lane=lane,
                                                   budget=attempts, owner=self._token, lease_end=lease_end)))
        try:
            created = self.deliveries.create(sandbox, generation[0], items)
        except StaleGeneration:
            return
        self.lanes.put_many([Job.of(sandbox, generation, record, subscriptions[record.id], now_real) for record in created],
                            lease_end)
