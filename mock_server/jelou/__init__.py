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

    def path_prefixes(self, settings):
        return ("/v1",)

    def http_error(self, status, message):
        return http_error(status, message)

    def backend(self, state) -> JelouBackend:
        return JelouBackend(state)


PROVIDER = Jelou()
NAME = PROVIDER.name

__all__ = ["PROVIDER", "NAME"]
