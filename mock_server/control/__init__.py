"""The control plane (``/_mock``): health, reset, clock, message inspection and sandboxes."""

from __future__ import annotations

from flask import Flask

from . import messages, routes, sandboxes  # noqa: F401  (messages and sandboxes add routes to routes.bp)


def init_app(app: Flask, state) -> None:
    messages.init_state(state)
    app.register_blueprint(routes.bp)


__all__ = ["init_app"]
