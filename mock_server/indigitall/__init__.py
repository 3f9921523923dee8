"""indigitall "Send messages from CSV", its tasks and per-application slicing."""

from __future__ import annotations

from ..providers import Provider
from .backend import IndigitallBackend
from .errors import http_error
from .routes import bp
from .tasks import KIND


class Indigitall(Provider):
    name = "indigitall"
    blueprint = bp
    record_kinds = {KIND: "tasks"}
    backend_class = IndigitallBackend
    error_for_status = staticmethod(http_error)

    def url_prefix(self, settings):
        return settings["indigitall"]["path_prefix"]

    def path_prefixes(self, settings):
        prefix = settings["indigitall"]["path_prefix"]
        return (prefix + "/chat", prefix)      # /chat wins even when the prefix is shared (e.g. /v1)


PROVIDER = Indigitall()

__all__ = ["PROVIDER"]
