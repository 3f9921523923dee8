"""Rate limits and latency profiles from the settings (CONTRACT §8).

``rate_limits: [{provider, per: credential|bot|application, limit, window}]``: a fixed window of
mock time (``window`` an ISO 8601 duration), aligned on the Unix epoch, counted per subject
(the request's credential, or one of the provider's ``rate_limit_subjects``, e.g. a Jelou botId).
A request over the limit is a 429 with ``Retry-After`` (whole seconds until the window ends) and
``X-RateLimit-Limit``/``-Remaining``/``-Reset`` (``Reset``: the window's end, Unix seconds of mock
time); it is not counted and changes nothing. Requests within the limit carry the same headers.
A request with no subject for a limit (e.g. a campaign read for ``per: bot``) is not counted by it.

``latency_profiles: [{provider, method, path, base, per_1000_rows}]``: every request those keys
select waits ``base`` plus ``per_1000_rows`` for each 1,000 rows of an uploaded CSV (real time).
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from marshmallow import ValidationError

from ..settings import SettingsError, registered
from .rules import METHODS, seconds, whole_seconds


@dataclass(frozen=True)
class RateLimit:
    index: int
    provider: str
    per: str
    limit: int
    window: float


@dataclass(frozen=True)
class LatencyProfile:
    provider: str | None
    method: str | None
    path: str | None
    base: float
    per_1000_rows: float

    def applies(self, provider: str, method: str, path: str) -> bool:
        return ((self.provider is None or self.provider == provider)
                and (self.method is None or self.method == method)
                and (self.path is None or self.path == path or fnmatch.fnmatchcase(path, self.path)))

    def seconds(self, rows: int) -> float:
        return self.base + self.per_1000_rows * rows / 1000.0


def _duration(entry: Mapping, key: str, where: str, default: str | None = None) -> float:
    try:
        return seconds(entry.get(key, default), f"{where}.{key}", "window" if key == "window" else "latency")
    except ValidationError as exc:
        raise SettingsError(f"{where}.{key}: {exc.messages[0]}") from None


def _entries(raw: Any, name: str, keys: tuple[str, ...]):
    """``(where, entry)`` for each mapping of the list setting ``name``, with only ``keys`` in it."""
    shape = "{" + ", ".join(keys) + "}"
    if not isinstance(raw, (list, tuple)):
        raise SettingsError(f"{name} must be a list of {shape}")
    for index, entry in enumerate(raw):
        where = f"{name}[{index}]"
        if not isinstance(entry, Mapping):
            raise SettingsError(f"{where} must be a mapping {shape}")
        unknown = sorted(set(entry) - set(keys))
        if unknown:
            raise SettingsError(f"{where}: unknown key(s) {', '.join(unknown)}")
        yield index, where, entry


def subjects_of(providers) -> tuple[str, ...]:
    """Every ``per`` a rate limit may name: ``credential``, then each provider's own subjects."""
    return tuple(dict.fromkeys(("credential", *(per for p in providers for per in p.rate_limit_subjects))))


def load_rate_limits(raw: Any, providers=None) -> list[RateLimit]:
    """:param providers: the app's :class:`~mock_server.providers.Provider` instances (default: the default ones)."""
    providers = {provider.name: provider for provider in registered(providers)}
    names, per_names = tuple(providers), subjects_of(providers.values())
    limits = []
    for index, where, entry in _entries(raw, "rate_limits", ("provider", "per", "limit", "window")):
        if entry.get("provider") not in names:
            raise SettingsError(f"{where}.provider must be one of: {', '.join(names)}")
        if entry.get("per") not in per_names:
            raise SettingsError(f"{where}.per must be one of: {', '.join(per_names)}")
        if entry["per"] != "credential" and entry["per"] not in providers[entry["provider"]].rate_limit_subjects:
            raise SettingsError(f"{where}.per: {entry['provider']} has no {entry['per']}s")
        limit = entry.get("limit")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise SettingsError(f"{where}.limit must be a whole number >= 1")
        window = _duration(entry, "window", where)
        if window <= 0:
            raise SettingsError(f"{where}.window must be a positive duration such as PT1M")
        limits.append(RateLimit(index, entry["provider"], entry["per"], limit, window))
    return limits


def load_latency_profiles(raw: Any, providers=None) -> list[LatencyProfile]:
    names = tuple(provider.name for provider in registered(providers))
    profiles = []
    keys = ("provider", "method", "path", "base", "per_1000_rows")
    for _, where, entry in _entries(raw, "latency_profiles", keys):
        if entry.get("provider") not in (None, *names):
            raise SettingsError(f"{where}.provider must be one of: {', '.join(names)}")
        method = entry.get("method")
        if method is not None and str(method).upper() not in METHODS:
            raise SettingsError(f"{where}.method must be one of: {', '.join(METHODS)}")
        path = entry.get("path")
        if path is not None and not (isinstance(path, str) and path.startswith("/")):
            raise SettingsError(f"{where}.path must start with '/'")
        profiles.append(LatencyProfile(entry.get("provider"), str(method).upper() if method else None, path,
                                       _duration(entry, "base", where, "PT0S"),
                                       _duration(entry, "per_1000_rows", where, "PT0S")))
    return profiles


@dataclass
class Verdict:
    """The outcome of the rate-limit check: the headers to add and, when refused, the wait."""

    headers: dict[str, str]
    retry_after: int | None = None
    limit: RateLimit | None = None


def check(limits: list[RateLimit], provider: str, subjects: Mapping[str, str | None], now: float,
          take: Callable[[list[tuple[str, int, float]]], tuple[list[int], int | None]]) -> Verdict:
    """Count the request against every limit that applies, or refuse it without counting.

    ``take(keys)`` counts one request under every ``(key, limit, window)`` all-or-nothing and
    returns the counts and the position of the first exceeded limit (None: within every limit).
    """
    applicable = []
    for limit in limits:
        subject = subjects.get(limit.per)
        if limit.provider == provider and subject is not None:
            number = math.floor(now / limit.window)
            applicable.append((limit, f"{limit.index}:{subject}:{number}", (number + 1) * limit.window))
    if not applicable:
        return Verdict({})
    counts, exceeded = take([(key, limit.limit, limit.window) for limit, key, _ in applicable])
    if exceeded is not None:
        limit, _, end = applicable[exceeded]
        return Verdict(_headers(limit.limit, 0, end), whole_seconds(end - now), limit)
    tightest = min(range(len(applicable)), key=lambda i: applicable[i][0].limit - counts[i])
    limit, _, end = applicable[tightest]
    return Verdict(_headers(limit.limit, limit.limit - counts[tightest], end))


def _headers(limit: int, remaining: int, reset: float) -> dict[str, str]:
    return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(math.ceil(reset))}
