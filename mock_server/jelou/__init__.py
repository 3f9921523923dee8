"""Jelou "Send Bulk HSM" and its campaign and notification endpoints."""

from __future__ import annotations

from ..providers import Provider
from .backend import JelouBackend
from .campaigns import KIND
from .errors import http_error
from .routes import bp


class Jelou(Provider):
    name = "jelou"
    blueprint = bp
    record_kinds = {KIND: "campaigns"}
    backend_class = JelouBackend
    error_for_status = staticmethod(http_error)

    def path_prefixes(self, settings):
        return ("/v1",)


PROVIDER = Jelou()

__all__ = ["PROVIDER"]
