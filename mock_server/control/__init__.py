"""The control plane (``/_mock``): health, reset, clock, message inspection and sandboxes."""

from __future__ import annotations

from flask import Flask

from . import curve, messages, profile, routes, sandboxes  # noqa: F401  (they add routes to routes.bp)


def init_app(app: Flask, state) -> None:
    messages.init_state(state)
    app.register_blueprint(routes.bp)


__all__ = ["init_app"]
