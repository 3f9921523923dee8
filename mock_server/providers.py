"""The provider contract, written once: what the app factory needs from a provider package.

A provider is a package with the same files (``routes``, ``schemas``, ``backend``, ``errors``)
and, in its ``__init__``, one :class:`Provider` instance named ``PROVIDER``. Registering it is
one line in ``mock_server/app.py`` (``PROVIDERS``). The factory then mounts its blueprint,
builds its backend over the app's services, renders every error under its paths in its own
envelope (the longest matching path prefix wins, whatever the registration order), and lets the
control plane inspect its messages.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, Iterator, Mapping, Protocol

from flask import Blueprint

from .errors import ProviderError
from .paging import Source
from .sandbox import Sandbox


class Backend(Protocol):
    """What the app and the control plane call on every provider's backend."""

    def settle(self, sb: Sandbox) -> None:
        """Apply the scheduled work due by the sandbox's now (called before each request)."""

    def inspect_count(self, sb: Sandbox, campaign: str | None, status: str | None) -> int:
        """How many sent messages ``/_mock/messages`` shows for these filters."""

    def inspect_sources(self, sb: Sandbox, campaign: str | None, status: str | None) -> Iterator[Source]:
        """Those messages as paginator sources, in the order they were sent."""

    def next_change(self, sb: Sandbox, campaign: str | None, after: float) -> float | None:
        """The first instant after ``after`` (mock epoch seconds) at which that answer can change
        by itself (a send, a delivery, a campaign start), or None if it cannot."""


class Provider(ABC):
    """One emulated provider. Subclasses set the class attributes and ``path_prefixes``."""

    name: str
    blueprint: Blueprint
    record_kinds: Mapping[str, str]      # store record kind -> plural shown in GET /_mock/sandboxes
    backend_class: Callable[[Any], Backend]          # built with the app's ``MockState``
    error_for_status: Callable[[int, str], ProviderError]

    def url_prefix(self, settings: Mapping[str, Any]) -> str:
        """Where the blueprint is mounted ("" for the root)."""
        return ""

    @abstractmethod
    def path_prefixes(self, settings: Mapping[str, Any]) -> tuple[str, ...]:
        """Paths answered in this provider's error envelope: each prefix and everything below it."""

    def http_error(self, status: int, message: str) -> ProviderError:
        """The provider's error for an HTTP failure (unknown route, 405, 413, bad sandbox ...)."""
        return type(self).error_for_status(status, message)

    def backend(self, state) -> Backend:
        """The provider's backend over the app's services (``MockState``)."""
        return type(self).backend_class(state)

