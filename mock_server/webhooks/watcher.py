"""The dispatcher's *watcher* thread (a mixin of :class:`~mock_server.webhooks.dispatcher.Dispatcher`):
it reads the store's change feed (``Store.changes``) and wakes the producer when a sandbox it
serves changed, or when another one may have subscriptions now (made by another process)."""

from __future__ import annotations

import logging
import time

from .producer import TICK

log = logging.getLogger("mock_server.webhooks")
WATCH = 1.0                       # real seconds the watcher waits on the store before it checks for a stop


class Watcher:
    """The watcher's side of the dispatcher; uses its ``state``, ``registry``, ``_wake``,
    ``_stopping``, ``_feed``, ``_feed_lock`` and ``_watched``."""

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
