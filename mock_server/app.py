"""The application factory: the one place a mock app is built."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping

from flask import Flask

from . import control, indigitall, jelou
from .clock import Clock
from .delivery import Timelines
from .errors import register_error_handlers
from .isotime import parse_datetime
from .settings import SettingsError, build_settings
from .store import Store

PROVIDERS = (jelou, indigitall)


@dataclass
class MockState:
    """Everything one app owns: settings, clock, store, delivery timelines and the backends."""

    settings: dict[str, Any]
    clock: Clock
    store: Store
    timelines: Timelines
    backends: dict[str, Any] = field(default_factory=dict)

    def rng(self, *parts: object) -> random.Random:
        """A generator seeded from the settings' seed and ``parts`` (e.g. a campaign id).

        Seeding per record keeps results the same whatever order concurrent requests arrive in.
        """
        return random.Random(":".join(str(part) for part in (self.settings["seed"], *parts)))

    def settle(self) -> None:
        """Apply every scheduled transition due by now (called before each request)."""
        now = self.clock.now()
        for backend in self.backends.values():
            backend.settle(now)


def create_app(config: Mapping[str, Any] | None = None, *, clock: Clock | None = None,
               time_source: Callable[[], float] | None = None) -> Flask:
    """Build a mock app.

    :param config: settings merged over the defaults (see ``mock_server.settings``).
    :param clock: a ready clock (tests); otherwise one is built from ``config["clock"]``.
    :param time_source: the wall-clock function for a built clock (tests).
    """
    settings = build_settings(config)
    if clock is None:
        clock = _build_clock(settings["clock"], time_source)
    store = _build_store(settings)
    state = MockState(settings=settings, clock=clock, store=store, timelines=Timelines(settings["delivery"]))
    clock.on_change(store.notify)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings["max_request_bytes"]
    app.config["MAX_FORM_MEMORY_SIZE"] = 16 * 1024 * 1024
    app.json.sort_keys = False
    app.extensions["mock"] = state

    error_routes = []
    for provider in PROVIDERS:
        state.backends[provider.NAME] = provider.init_app(app, state)
        error_routes.append((provider.path_owner(settings), provider.http_error))
    control.init_app(app, state)
    register_error_handlers(app, error_routes[::-1])  # indigitall's prefix is configurable: try it first

    @app.before_request
    def settle_due_work() -> None:
        state.settle()

    return app


def get_state(app: Flask) -> MockState:
    return app.extensions["mock"]


def _build_store(settings: Mapping[str, Any]) -> Store:
    """The store named by ``store.url`` (the one place a store is chosen)."""
    if settings["store"]["url"] != "memory":
        raise SettingsError(f"store.url {settings['store']['url']!r}: this build has only the in-memory store "
                            "(store.url: memory)")
    return Store(seed=settings["seed"])


def _build_clock(section: Mapping[str, Any], time_source) -> Clock:
    start: datetime | None = None
    if section.get("start"):
        try:
            start = parse_datetime(str(section["start"]))
        except ValueError as exc:
            raise SettingsError(f"clock.start: {exc}") from None
    kwargs = {"source": time_source} if time_source else {}
    return Clock(start, frozen=bool(section.get("frozen")), **kwargs)
