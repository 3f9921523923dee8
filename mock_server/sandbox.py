"""Sandboxes (CONTRACT §7): how a request names one, and the handle the backends work through.

A request selects its sandbox with the header ``X-Mock-Sandbox: NAME`` or the path prefix
``/sandboxes/NAME`` in front of any path; with neither it uses ``default``. The WSGI middleware
:class:`SandboxSelector` strips the prefix (moving it to ``SCRIPT_NAME``, so the app sees the
ordinary path and generated URLs keep the prefix) and records the choice in the WSGI environ;
``before_request`` turns a bad name or a header/prefix conflict into a 400 in the envelope of the
provider that owns the rest of the path.
"""

from __future__ import annotations

import threading
from copy import deepcopy
from datetime import datetime
from typing import Any

from flask import g

from .clock import Clock
from .store.base import DEFAULT_SANDBOX, SandboxInfo, Store, valid_sandbox_name

PREFIX = "/sandboxes/"
HEADER = "X-Mock-Sandbox"
ENV_NAME = "mock.sandbox"
ENV_ERROR = "mock.sandbox_error"
NAME_RULE = "1 to 64 characters among letters, digits, '_', '.' and '-' (not '.' or '..')"


class Sandbox:
    """One sandbox as the backends see it: its name, the store and its clock.

    Built by :meth:`enter` it is also the *request context*: the store is touched once (the
    sandbox is created on first use and its use recorded), and that one answer gives the clock
    reading every ``now()`` of the request returns, and the ``generation`` the request's writes
    are pinned to; ``settled_at`` is the instant up to which the scheduled work has been applied
    (``MockState.settle`` does it once per clock reading, not once per caller). ``info`` is the
    touch's answer (its ``version`` and map versions let a process keep what it read until they
    move: :class:`MapCache`, the Jelou settle). Built directly (background work, tools) it reads
    the store's clock at every ``now()`` and ``info`` is None.
    """

    __slots__ = ("name", "store", "clock", "generation", "settled_at", "info")

    def __init__(self, store: Store, name: str = DEFAULT_SANDBOX, info: SandboxInfo | None = None) -> None:
        self.name = name
        self.store = store
        self.info = info
        self.clock = Clock(store, name, pinned=None if info is None else info.clock)
        self.generation: int | None = None if info is None else info.generation
        self.settled_at: float | None = None

    @classmethod
    def enter(cls, store: Store, name: str) -> "Sandbox":
        """The context of one request in sandbox ``name``: one store operation (``touch``)."""
        return cls(store, name, store.touch(name))

    def refresh(self) -> None:
        """Read the clock again (a long-poll waiting across real time): the next ``now()`` asks the
        store (and the next settle applies what fell due by then); the touch's ``info`` no longer
        describes the sandbox, so what used it reads the store."""
        self.clock.unpin()
        self.info = None

    def reset(self, *, rewind_clock: bool = False) -> SandboxInfo:
        """Reset the sandbox (``Store.reset``); a request context then reads its new clock and
        generation from the answer."""
        info = self.store.reset(self.name, rewind_clock=rewind_clock)
        if self.generation is not None:
            self.clock.pin(info.clock)
            self.generation, self.settled_at, self.info = info.generation, None, info
        return info

    def now(self) -> float:
        """Mock time in epoch seconds."""
        return self.clock.timestamp()

    def now_dt(self) -> datetime:
        return self.clock.now()

    def __repr__(self) -> str:
        return f"<Sandbox {self.name}>"


class MapCache:
    """A process's copy of the small store maps every request reads (fault rules, webhook
    subscriptions), read again only when the map's version in the request's touch moved
    (``SandboxInfo.maps``; the store contract says equal ``(created_real, generation, version)``
    mean equal content). Without a request context (``sb.info`` None) it reads the store."""

    LIMIT = 4096                 # kept maps (sandboxes x maps); beyond it the copy starts afresh

    def __init__(self, store: Store) -> None:
        self.store = store
        self._kept: dict[tuple[str, str], tuple[tuple, list[tuple[str, Any]]]] = {}
        self._lock = threading.Lock()

    def items(self, sb: "Sandbox", name: str) -> list[tuple[str, Any]]:
        info = sb.info
        if info is None:
            return self.store.items(sb.name, name)
        stamp = (info.created_real, info.generation, info.maps.get(name, 0))
        kept = self._kept.get((sb.name, name))
        if kept is not None and kept[0] == stamp:
            return deepcopy(kept[1])            # callers may change what they get
        items = self.store.items(sb.name, name)   # read after the touch: as new as the stamp, or newer
        with self._lock:
            if len(self._kept) >= self.LIMIT:
                self._kept.clear()
            self._kept[(sb.name, name)] = (stamp, deepcopy(items))
        return items


class SandboxSelector:
    """WSGI middleware: read the sandbox from the prefix or the header (see the module docstring)."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "") or ""
        from_path = None
        if path.startswith(PREFIX) or path == PREFIX.rstrip("/"):
            name, slash, rest = path[len(PREFIX):].partition("/")
            from_path = name
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + PREFIX + name
            environ["PATH_INFO"] = slash + rest
        header = environ.get("HTTP_X_MOCK_SANDBOX")
        chosen, error = select(None if from_path is None else wsgi_text(from_path),
                               None if header is None else wsgi_text(header))
        environ[ENV_NAME] = chosen
        if error:
            environ[ENV_ERROR] = error
        return self.app(environ, start_response)


def select(from_path: str | None, header: str | None) -> tuple[str, str | None]:
    """``(sandbox name, error or None)`` for a prefix name and a header value (either may be None)."""
    for source, value in (("the path prefix /sandboxes/NAME", from_path), (f"the {HEADER} header", header)):
        if value is not None and not valid_sandbox_name(value):
            shown = value if len(value) <= 80 else value[:80] + "…"
            return DEFAULT_SANDBOX, f"invalid sandbox name {shown!r} in {source}: use {NAME_RULE}"
    if from_path is not None and header is not None and from_path != header:
        return DEFAULT_SANDBOX, (f"the path prefix names sandbox '{from_path}' but the {HEADER} header names "
                                 f"'{header}': name one sandbox")
    return from_path or header or DEFAULT_SANDBOX, None


def wsgi_text(value: str) -> str:
    """A WSGI environ string (the raw bytes read as latin-1, PEP 3333) as the text the client sent:
    UTF-8 when the bytes are UTF-8 (an error then quotes ``ñ``, not ``Ã±``), else latin-1 as read."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def current() -> Sandbox:
    """The sandbox of the request being served (set before each request by the app)."""
    return g.mock_sandbox
