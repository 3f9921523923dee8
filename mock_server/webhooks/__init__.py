"""Delivery-status webhooks (CONTRACT §10): subscriptions, the dispatcher and ``/_mock/webhooks``."""

from __future__ import annotations

from flask import Flask

from ..settings import SettingsError
from .dispatcher import Dispatcher
from .routes import bp


def init_app(app: Flask, state) -> Dispatcher:
    """Build the app's dispatcher (not started) and mount ``/_mock/webhooks``."""
    try:
        dispatcher = Dispatcher(state)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    app.register_blueprint(bp)
    return dispatcher


__all__ = ["Dispatcher", "init_app"]
