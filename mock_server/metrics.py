"""Prometheus metrics (CONTRACT §17): ``GET /_mock/metrics``, with the ``prometheus_client`` library.

One :class:`Metrics` per app (``MockState.metrics``), on the app's own ``CollectorRegistry`` (two
apps in one process never mix their counts). Names are prefixed ``bulkmock_``:

- ``bulkmock_requests_total{provider,route,method,status}`` and
  ``bulkmock_request_duration_seconds{provider,route,method}`` (histogram): every request, from its
  arrival to the answer (``provider``: the provider owning the path, ``mock`` for the control
  plane, UI and docs; ``route``: Flask's route template, ``<unmatched>`` when no route matched;
  ``status``: the answer's code, or ``dropped`` when a fault rule dropped the connection);
- ``bulkmock_messages_accepted_total{provider}``: recipients of every campaign/task stored;
- ``bulkmock_fault_rules_fired_total{provider}``: requests a fault rule answered, delayed or dropped;
- ``bulkmock_webhook_attempts_total{outcome}`` (``delivered``, ``retrying``, ``dead``, ``duplicate``)
  and ``bulkmock_webhook_delivery_delay_seconds`` (histogram, real seconds from when the event was
  handed to the delivery lanes, once due, or from a retry's due time, to the attempt's answer);
- ``bulkmock_store_operation_duration_seconds{operation}`` (histogram): every store call the app
  makes (``create``, ``get``, ``append`` ...).

- ``bulkmock_message_transitions_total{provider,status}``: messages that have entered each status by
  their sandbox's clock, derived from the store at scrape time (:meth:`Metrics.derive`,
  ``mock_server.transition_counts``): no per-message state exists whose changes could be counted.

No ``sandbox`` label unless ``metrics.sandbox_label`` is true (it multiplies the series by the
sandboxes, which tests create by the thousand). Several processes (``mock-server --workers N``):
prometheus_client's multiprocess mode, in a temporary directory the server creates and removes
(:func:`multiprocess_directory`, :func:`use_directory`); any worker's scrape sums all of them.
A derived metric reads the shared store: the process answering the scrape gives it alone.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import tempfile
import time
from typing import Any, Callable, Iterable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.core import CounterMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"      # what prometheus_client's multiprocess mode reads
CONTENT_TYPE = CONTENT_TYPE_LATEST
UNMATCHED = "<unmatched>"
CONTROL = "mock"
# The store's operations (mock_server.store.base.Store), timed per call.
STORE_OPERATIONS = ("touch", "info", "sandboxes", "drop", "expire_idle", "reset", "clock", "update_clock", "create",
                    "get", "update", "update_many", "trim", "page", "scan", "ledger", "reserve", "release", "append",
                    "read_log", "clear_log", "incr", "counter", "put", "get_value", "update_value", "delete", "items",
                    "version")       # not `wait`: a long-poll blocks by design
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STORE_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0)
DELAY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
_TIMED = "_bulkmock_timed"


class Metrics:
    """The app's metrics (see the module doc)."""

    def __init__(self, *, sandbox_label: bool = False) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.sandbox_label = sandbox_label
        extra = ("sandbox",) if sandbox_label else ()
        new = functools.partial(_metric, self.registry)
        self.requests = new(Counter, "requests", "Requests answered", ("provider", "route", "method", "status") + extra)
        self.durations = new(Histogram, "request_duration_seconds", "Time from a request's arrival to its answer",
                             ("provider", "route", "method") + extra, buckets=REQUEST_BUCKETS)
        self.accepted = new(Counter, "messages_accepted", "Messages (recipients) of stored campaigns and tasks",
                            ("provider",) + extra)
        self.faults = new(Counter, "fault_rules_fired", "Requests a fault rule answered, delayed or dropped",
                          ("provider",) + extra)
        self.webhook_attempts = new(Counter, "webhook_attempts", "Webhook delivery attempts by outcome",
                                    ("outcome",) + extra)
        self.webhook_delay = new(Histogram, "webhook_delivery_delay_seconds",
                                 "Real seconds from an event being due to its delivery attempt's answer", extra,
                                 buckets=DELAY_BUCKETS)
        self.store = new(Histogram, "store_operation_duration_seconds", "Store operations", ("operation",),
                         buckets=STORE_BUCKETS)
        self._store_timers = {name: self.store.labels(name) for name in STORE_OPERATIONS}
        self._children: dict[tuple, tuple] = {}        # label values -> (counter, histogram): labels() is slow
        self.derived = CollectorRegistry(auto_describe=False)    # computed at scrape time, never summed

    def derive(self, source: Callable[[], Iterable[tuple[tuple[str, ...], float]]]) -> None:
        """``bulkmock_message_transitions_total``: ``source()`` gives each series' label values
        (``provider``, ``status``, and ``sandbox`` with the sandbox label) and its count, at scrape."""
        labels = ("provider", "status") + (("sandbox",) if self.sandbox_label else ())
        self.derived.register(_Derived("bulkmock_message_transitions", "Messages that entered each status, by "
                                       "their sandbox's clock (derived from the store at scrape)", labels, source))

    def _sandbox(self, sandbox: str) -> tuple[str, ...]:
        return (sandbox,) if self.sandbox_label else ()

    def request(self, provider: str, route: str, method: str, status: str, seconds: float, sandbox: str) -> None:
        key = (provider, route, method, status, sandbox if self.sandbox_label else None)
        children = self._children.get(key)
        if children is None:
            extra = self._sandbox(sandbox)
            children = self._children.setdefault(key, (self.requests.labels(provider, route, method, status, *extra),
                                                       self.durations.labels(provider, route, method, *extra)))
        children[0].inc()
        children[1].observe(seconds)

    def messages_accepted(self, provider: str, count: int, sandbox: str) -> None:
        self.accepted.labels(provider, *self._sandbox(sandbox)).inc(count)

    def fault_fired(self, provider: str, sandbox: str) -> None:
        self.faults.labels(provider, *self._sandbox(sandbox)).inc()

    def webhook_attempt(self, sandbox: str, outcome: str, delay: float | None) -> None:
        key = ("webhook", outcome, sandbox if self.sandbox_label else None)
        children = self._children.get(key)
        if children is None:
            extra = self._sandbox(sandbox)
            children = self._children.setdefault(key, (self.webhook_attempts.labels(outcome, *extra),
                                                       self.webhook_delay.labels(*extra) if extra else self.webhook_delay))
        children[0].inc()
        if delay is not None:
            children[1].observe(max(0.0, delay))

    def time_store(self, store: Any) -> None:
        """Time every operation of ``store`` (its bound methods are wrapped on the instance, so the
        store keeps its class and identity). A store already timed (shared by apps) is left alone, and
        so is a stand-in whose class does not define the operations (a counting proxy in a test)."""
        if getattr(store, _TIMED, False):
            return
        for name, timer in self._store_timers.items():
            if callable(getattr(type(store), name, None)):
                setattr(store, name, _timed(getattr(store, name), timer.observe))
        setattr(store, _TIMED, True)

    def exposition(self) -> bytes:
        """The text exposition: this app's registry, or every process's files in multiprocess mode."""
        if multiprocess_mode():
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry) + generate_latest(self.derived)
        return generate_latest(self.registry) + generate_latest(self.derived)


class _Derived:
    """A counter whose values a function computes at each scrape (a prometheus_client collector)."""

    def __init__(self, name: str, documentation: str, labels: tuple[str, ...],
                 source: Callable[[], Iterable[tuple[tuple[str, ...], float]]]) -> None:
        self.name, self.documentation, self.labels, self.source = name, documentation, labels, source

    def collect(self):
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        for values_, count in sorted(self.source()):
            family.add_metric(values_, count)
        yield family


def _metric(registry: CollectorRegistry, kind: type, name: str, documentation: str, labels: tuple[str, ...],
            **options: Any):
    return kind(f"bulkmock_{name}", documentation, labels, registry=registry, **options)


def _timed(method: Callable, observe: Callable[[float], None]) -> Callable:
    clock = time.perf_counter

    @functools.wraps(method)
    def timed(*args, **kwargs):
        started = clock()
        try:
            return method(*args, **kwargs)
        finally:
            observe(clock() - started)
    return timed


def multiprocess_mode() -> bool:
    """Whether metric values live in prometheus_client's multiprocess files (see :func:`use_directory`)."""
    return values.ValueClass is not values.MutexValue


def use_directory(path: str) -> None:
    """Make this process write its metric values under ``path`` (a worker of ``--workers N``), before
    its app is built. prometheus_client picks its value class once per process; this picks it again."""
    os.environ[DIRECTORY_VARIABLE] = path
    values.ValueClass = values.MultiProcessValue()


@contextlib.contextmanager
def multiprocess_directory() -> Iterator[str]:
    """A fresh directory for the workers' metric files, removed afterwards."""
    path = tempfile.mkdtemp(prefix="bulkmock-metrics-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
