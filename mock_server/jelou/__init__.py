"""Jelou "Send Bulk HSM" and its campaign and notification endpoints."""

from __future__ import annotations

from .backend import JelouBackend
from .errors import http_error
from .routes import bp

NAME = "jelou"


def init_app(app, state) -> JelouBackend:
    app.register_blueprint(bp)
    return JelouBackend(state)


def path_owner(settings):
    """Which request paths answer in Jelou's envelope: ``/v1`` and everything under it."""
    return lambda path: path == "/v1" or path.startswith("/v1/")


__all__ = ["NAME", "init_app", "path_owner", "http_error"]
