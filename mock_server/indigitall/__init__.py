"""indigitall "Send messages from CSV", its tasks and per-application slicing."""

from __future__ import annotations

from .backend import IndigitallBackend
from .errors import http_error
from .routes import bp

NAME = "indigitall"


def init_app(app, state) -> IndigitallBackend:
    backend = IndigitallBackend(state)
    app.register_blueprint(bp, url_prefix=state.settings["indigitall"]["path_prefix"])
    return backend


def path_owner(settings):
    """Which request paths answer in indigitall's envelope: the prefix (``/v2``) and everything under it.

    A prefix inside Jelou's ``/v1`` namespace claims only its own ``{prefix}/chat`` routes.
    """
    prefix = settings["indigitall"]["path_prefix"]
    if prefix == "/v1" or prefix.startswith("/v1/"):
        prefix += "/chat"
    return lambda path: path == prefix or path.startswith(prefix + "/")


__all__ = ["NAME", "init_app", "path_owner", "http_error"]
