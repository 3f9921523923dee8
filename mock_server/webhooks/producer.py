"""The dispatcher's *producer* thread (a mixin of :class:`~mock_server.webhooks.dispatcher.Dispatcher`):
its rounds over the sandboxes (follow resets, claim due records, trim), and per sandbox the lease on
its cursor, the derivation of its next window of events, their records and their jobs (the
dispatcher's module docstring tells the whole story)."""

from __future__ import annotations

import logging

from ..sandbox import Sandbox
from ..store.base import StaleGeneration
from .events import encode
from .lanes import Job, fraction
from .records import delivery_id, new_value

log = logging.getLogger("mock_server.webhooks")
META = "webhooks.cursor"          # store map per sandbox: "cursor" -> {"at": mock time, "by": claim token}
CURSOR_LEASE = "webhooks.cursor"  # store lease per sandbox: the process deriving its next window
SEEN = "webhooks.seen"            # store map per sandbox: batch -> claim token of its first walk
TICK = 0.05                       # real seconds at least between two rounds of the producer
IDLE_ROUND = 30.0                 # real seconds at most between two rounds (a lost change notification)


class Producer:
    """The producer's side of the dispatcher; uses its ``state``, ``settings``, ``specs``,
    ``registry``, ``walker``, ``deliveries``, ``lanes`` and bookkeeping (``_upcoming``, ``_held``,
    ``_renewals``)."""

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
