"""Failure testing (CONTRACT §8-9): fault rules, rate limits, latency, the request journal, the access log.

``init_app`` builds the app's :class:`~.pipeline.Instrument` from the settings (``rate_limits``,
``latency_profiles``, ``journal``, ``faults``, ``access_log``), installs the pipeline and mounts
``/_mock/faults`` and ``/_mock/requests``.
"""

from __future__ import annotations

from typing import Callable

from flask import Flask

from .accesslog import AccessLog
from .control import bp
from .pipeline import Instrument
from .ratelimits import load_latency_profiles, load_rate_limits
from .records import Records


def init_app(app: Flask, state, providers) -> Instrument:
    """:param providers: the registered :class:`~mock_server.providers.Provider` instances (the settings
    model has checked the lists parsed here).

    Call it after the app's own ``before_request`` hooks are registered: the pipeline's hook then
    runs once the request's sandbox is selected.
    """
    settings = state.settings
    fmt = settings.access_log                     # text | json | None, checked by the settings model
    instrument = Instrument(
        state,
        {provider.name: provider for provider in providers},
        Records(state.store, settings.journal, settings.faults, state.maps),
        load_rate_limits(settings.rate_limits, providers),
        load_latency_profiles(settings.latency_profiles, providers),
        AccessLog(fmt) if fmt else None,
    )
    app.extensions["mock.faults"] = instrument
    app.register_blueprint(bp)
    instrument.install(app)
    return instrument


def background_access_log(app: Flask) -> Callable[[], None]:
    """Write ``app``'s access log from a background thread (``mock-server``'s one-process server:
    see ``accesslog``); returns what writes the buffered lines and stops it, for the server's
    shutdown. Nothing to do when the log is off."""
    log = app.extensions["mock.faults"].access_log
    if log is None:
        return lambda: None
    log.start()
    return log.close


__all__ = ["init_app", "background_access_log", "Instrument"]
