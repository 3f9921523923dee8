"""The application factory: the one place a mock app is built."""

from __future__ import annotations

import functools
import random
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from flask import Flask, g, request
from werkzeug.exceptions import BadRequest, Forbidden

from . import apidoc, browsers, control, faults, rows_codec, ui, webhooks
from . import indigitall, jelou
from .clock import Clock
from .delivery import Timelines
from .profiles import Catalogue, SandboxProfiles
from .errors import register_error_handlers
from .metrics import Metrics
from .providers import Backend, Provider
from .sandbox import ENV_ERROR, ENV_NAME, MapCache, Sandbox, SandboxSelector
from .settings import Settings, SettingsError, build_settings
from .settings.core import clock_start_us
from .transition_counts import TransitionCounts
from .store import DEFAULT_SANDBOX, SandboxLimit, Store, StoreError, codec, open_store

# The registered providers: a new provider is its package plus one entry here.
PROVIDERS: tuple[Provider, ...] = (jelou.PROVIDER, indigitall.PROVIDER)


def default_providers() -> tuple[Provider, ...]:
    """The providers an app serves unless ``create_app(providers=...)`` names others."""
    return PROVIDERS

# Control-plane paths that neither read nor change a sandbox (no settling, no touching).
_STATELESS = ("/_mock/health", "/_mock/sandboxes", "/_mock/metrics")
EXPIRY_INTERVAL = 60.0        # real seconds between two idle-sandbox sweeps


@dataclass
class MockState:
    """Everything one app owns: settings, the store, delivery timelines, providers and backends."""

    settings: Settings                  # typed (``settings.jelou.max_rows``); ``as_dict()``: plain
    store: Store
    timelines: Timelines
    providers: dict[str, Provider] = field(default_factory=dict)
    backends: dict[str, Backend] = field(default_factory=dict)
    waiters: Any = None                 # long-poll slots (control.messages)
    max_waiters: int = 0
    _next_expiry: float = 0.0
    webhooks: Any = None                # the webhook Dispatcher (mock_server.webhooks)
    profiles: Any = None                # each sandbox's traffic profile (mock_server.profiles.SandboxProfiles)
    metrics: Metrics = field(default_factory=Metrics)     # GET /_mock/metrics (mock_server.metrics)
    maps: MapCache = field(init=False)  # the maps every request reads, kept while their version holds
    # set when the server stops (SIGTERM): open long-polls answer at once with what they have
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.maps = MapCache(self.store)

    def rng(self, *parts: object) -> random.Random:
        """A generator seeded from the settings' seed and ``parts`` (e.g. a campaign id).

        Seeding per record keeps results the same whatever order concurrent requests arrive in.
        """
        return random.Random(":".join(str(part) for part in (self.settings.seed, *parts)))

    def sandbox(self, name: str = DEFAULT_SANDBOX) -> Sandbox:
        return Sandbox(self.store, name)

    @property
    def clock(self) -> Clock:
        """The ``default`` sandbox's clock (each sandbox has its own: ``sandbox(name).clock``)."""
        return self.sandbox().clock

    def settle(self, sb: Sandbox) -> None:
        """Apply every scheduled transition due by the sandbox's now (before each request, and
        wherever the clock moved): once per clock reading, however many callers ask."""
        moment = sb.now()
        if sb.settled_at == moment:
            return
        for backend in self.backends.values():
            backend.settle(sb)
        sb.settled_at = moment

    def expire_idle(self) -> list[str]:
        """Drop sandboxes idle for ``sandboxes.idle_ttl``; runs at most once a minute (real time)."""
        real = self.store.time_source()
        if real < self._next_expiry:
            return []
        self._next_expiry = real + EXPIRY_INTERVAL
        return self.store.expire_idle(self.settings.sandboxes.idle_ttl_seconds)

    def record_counts(self, counts: Mapping[str, int]) -> dict[str, int]:
        """A sandbox's record counts by the providers' plural names (campaigns, tasks)."""
        return {label: counts.get(kind, 0) for provider in self.providers.values()
                for kind, label in provider.record_kinds.items()}


def create_app(config: Mapping[str, Any] | None = None, *, store: Store | None = None,
               time_source: Callable[[], float] | None = None,
               providers: Sequence[Provider] | None = None) -> Flask:
    """Build a mock app.

    :param config: settings merged over the defaults (see ``mock_server.settings``).
    :param store: a ready store; by default the one the ``store`` settings name (``store.url``:
        ``memory``, or ``redis://HOST:PORT/DB`` shared by every process using it, keys under
        ``store.prefix``, at most ``sandboxes.max_count`` sandboxes). A ready store keeps the
        sandbox bound it was built with.
    :param time_source: the wall-clock function (seconds since the epoch) for the built store (tests).
    :param providers: the providers to serve (default: ``PROVIDERS``, the two real ones).
    """
    providers = tuple(PROVIDERS if providers is None else providers)
    settings = build_settings(config, providers)
    rows_codec.register_codecs()        # the core's stored type: an uploaded CSV (a store Blob)
    for provider in providers:          # before any store reads one of their records
        for cls, tag in provider.stored_types:
            codec.register_dataclass(cls, tag)
    if store is None:
        store = _build_store(settings, time_source)
    state = MockState(settings=settings, store=store, timelines=Timelines(settings.delivery),
                      metrics=Metrics(sandbox_label=settings.metrics.sandbox_label))
    state.profiles = SandboxProfiles(store, Catalogue(settings.delivery), state.maps)
    state.metrics.time_store(store)
    state.metrics.derive(TransitionCounts(state, sandbox_label=settings.metrics.sandbox_label))

    app = Flask(__name__)
    # Flask asks ``iscoroutinefunction`` of every hook and view on every request (6 times for an
    # upload); the mock's are plain functions, registered once: the answer is kept per function.
    app.ensure_sync = functools.lru_cache(maxsize=256)(app.ensure_sync)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.config["MAX_FORM_MEMORY_SIZE"] = settings.max_form_field_bytes
    app.config["MAX_FORM_PARTS"] = settings.max_form_parts
    app.json.sort_keys = False
    app.extensions["mock"] = state
    app.wsgi_app = SandboxSelector(app.wsgi_app)
    policy = browsers.browser_policy(settings.server)
    browsers.init_app(app, policy)     # first: refused requests touch nothing

    error_routes = []
    for provider in providers:
        app.register_blueprint(provider.blueprint, url_prefix=provider.url_prefix(settings) or None)
        state.providers[provider.name] = provider
        state.backends[provider.name] = provider.backend(state)
        error_routes += [(prefix, provider.http_error) for prefix in provider.path_prefixes(settings)]
    control.init_app(app, state)
    state.webhooks = webhooks.init_app(app, state)
    apidoc.init_app(app)
    ui.init_app(app, providers)
    register_error_handlers(app, error_routes)

    @app.before_request
    def select_sandbox() -> None:
        problem = request.environ.get(ENV_ERROR)
        if problem:
            raise BadRequest(problem)
        name = request.environ.get(ENV_NAME, DEFAULT_SANDBOX)
        if request.path in _STATELESS or request.path.startswith("/_mock/sandboxes/"):
            g.mock_sandbox = state.sandbox(name)
            return
        state.expire_idle()
        site = request.headers.get("Sec-Fetch-Site")
        if name != DEFAULT_SANDBOX and browsers.from_another_site(policy, origin=request.headers.get("Origin"),
                                                                 fetch_site=site) \
                and state.store.info(name) is None:         # never created by another site's page (CONTRACT §18)
            raise Forbidden(browsers.creation_refusal(name, fetch_site=site))
        try:
            sb = g.mock_sandbox = Sandbox.enter(state.store, name)     # the request context: one touch
        except SandboxLimit:            # full: drop the idle ones now rather than at the next sweep
            if not state.store.expire_idle(state.settings.sandboxes.idle_ttl_seconds):
                raise
            sb = g.mock_sandbox = Sandbox.enter(state.store, name)
        state.settle(sb)
        state.webhooks.ensure_started(sb)

    faults.init_app(app, state, providers)        # its hooks run once the sandbox is selected
    return app


def get_state(app: Flask) -> MockState:
    return app.extensions["mock"]


def _build_store(settings: Settings, time_source) -> Store:
    """The store named by ``store.url`` (the one place a store is chosen)."""
    kwargs = {"time_source": time_source} if time_source else {}
    try:
        return open_store(settings.store.url, prefix=settings.store.prefix, seed=settings.seed,
                          clock_start_us=clock_start_us(settings.clock.start), clock_frozen=bool(settings.clock.frozen),
                          max_sandboxes=settings.sandboxes.max_count, **kwargs)
    except StoreError as exc:
        raise SettingsError(f"store.url: {exc}") from None

