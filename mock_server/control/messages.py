"""``GET /_mock/messages``: the messages the mock has sent, optionally long-polling (``wait_for``).

Each provider's backend offers ``inspect_count`` / ``inspect_sources`` (paginator sources of its
sent messages, oldest batch first) and ``next_change``; this module merges them (providers in
registration order) through the one paginator.

Long-polls (``wait_for=N&timeout=S``) never hold a store lock while waiting and never poll:
a waiter sleeps in ``store.wait`` until the sandbox changes (an upload, a clock move, a reset)
or until the next instant its answer can change by itself — computed from the send schedules
(``next_change``) when the clock runs in real time. At most ``inspection.max_waiters`` requests
wait at once (the server runs that many extra threads, so waiting never takes a worker the API
needs); a long-poll beyond that answers at once with the current state.  When the server stops
(SIGTERM: ``MockState.stopping``) every waiting long-poll answers within ``STOP_CHECK`` with what
it has, so the process exits at once instead of holding its shutdown grace (CONTRACT §16).
"""

from __future__ import annotations

import threading
import time

from flask import request

from ..clock import MAX_TIME
from ..errors import ControlError
from ..paging import paginate
from ..queryargs import int_arg, seconds_arg
from ..sandbox import current
from ..wire import answers
from .routes import _state, bp
from .schemas import MessagesSchema

MIN_NAP = 0.001          # real seconds: never wake more often than this
STOP_CHECK = 0.25        # real seconds: the longest a waiter sleeps before looking whether the server stops


def init_state(state) -> None:
    state.waiters = threading.BoundedSemaphore(max(1, state.settings.inspection.max_waiters))
    state.max_waiters = state.settings.inspection.max_waiters


@bp.get("/messages")
@answers(MessagesSchema, description="One page")
def messages():
    """The messages the mock has sent, filtered, optionally long-polling until ``wait_for`` match."""
    state = _state()
    sb = current()
    args = request.args
    provider = args.get("provider")
    if provider is not None and provider not in state.backends:
        raise ControlError(f"unknown provider '{provider}'; use one of: {', '.join(state.backends)}")
    campaign = args.get("campaign") or args.get("task") or None
    status = args.get("status") or None
    limits = state.settings.inspection
    offset = int_arg("offset", 0, 0)
    limit = int_arg("limit", limits.default_limit, 1, limits.max_limit)
    wait_for = int_arg("wait_for", 0, 0)
    most = float(limits.max_wait_seconds)
    timeout = seconds_arg("timeout", min(10.0, most), 0.0, most)
    backends = [state.backends[provider]] if provider else list(state.backends.values())

    def count() -> int:
        return sum(backend.inspect_count(sb, campaign, status) for backend in backends)

    def next_change(after: float) -> float | None:
        moments = [backend.next_change(sb, campaign, after) for backend in backends]
        return min((moment for moment in moments if moment is not None), default=None)

    if wait_for:
        wait(state, sb, count, next_change, wait_for, timeout)
    sources = (source for backend in backends for source in backend.inspect_sources(sb, campaign, status))
    total, page = paginate(sources, offset, limit)
    return {"messages": page, "total": total, "offset": offset, "limit": limit}


def wait(state, sb, count, next_change, wait_for: int, timeout: float, log: str | None = None) -> int:
    """Hold until ``count() >= wait_for`` or ``timeout`` real seconds pass; return the count.
    ``log``: what changes the count is that store log (the journal), not the sandbox's records."""
    store = sb.store
    version = store.version(sb.name) if log is None else store.read_log(sb.name, log, limit=0).last
    total = count()
    if total >= wait_for or timeout <= 0 or state.max_waiters == 0 or not state.waiters.acquire(blocking=False):
        return total
    try:
        deadline = time.monotonic() + timeout
        while total < wait_for and not state.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            nap = remaining
            sb.refresh()
            now, frozen = sb.clock.state()
            if not frozen and now < MAX_TIME:       # at the end of its range the clock stands still
                moment = now.timestamp()
                upcoming = next_change(moment)
                if upcoming is not None:       # mock time runs at real speed while not frozen
                    nap = min(nap, max(MIN_NAP, upcoming - moment + MIN_NAP))
            if log is None:
                _sleep(state, lambda after, seconds: store.wait(sb.name, after, seconds), version, nap)
                version = store.version(sb.name)
            else:
                version = _sleep(state, lambda after, seconds: store.wait_log(sb.name, log, after, seconds),
                                 version, nap)
            sb.refresh()                       # real time passed: read the clock again
            state.settle(sb)
            total = count()
    finally:
        state.waiters.release()
    return total


def _sleep(state, wake, version: int, nap: float) -> int:
    """``wake(version, seconds)`` (the store's wait for a change) for ``nap`` seconds, in slices of
    ``STOP_CHECK`` so that a stopping server (``state.stopping``) is noticed; ends early on a
    change. Returns the newest version seen."""
    until = time.monotonic() + nap
    while not state.stopping.is_set():
        left = until - time.monotonic()
        if left <= 0:
            break
        newer = wake(version, min(left, STOP_CHECK))
        if newer > version:
            return newer
    return version
