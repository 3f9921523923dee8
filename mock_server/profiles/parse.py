"""Parsing a traffic profile given as plain data (a config file's ``delivery.profiles``, ``POST
/_mock/profile``): every key optional, a missing one takes the ``ideal`` value; a bad one raises
:class:`~mock_server.profiles.values.ProfileError` naming the field."""

from __future__ import annotations

import json
import math
from typing import Any, Mapping

from ..isotime import bounded_seconds
from .values import (MAX_DELAY, MAX_FAILURES, MAX_MPS, OVERFLOWS, STAGES, TITLES, Delay, Failure, Profile,
                     ProfileError, Tier)


def _mapping(value: Any, field: str, keys: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ProfileError(field, "must be a JSON object")
    unknown = sorted(str(key) for key in value if key not in keys)
    if unknown:
        where = f"{field}.{unknown[0]}" if field else unknown[0]
        raise ProfileError(where, f"unknown key (known here: {', '.join(keys)})")
    return value


def _number(value: Any, field: str, low: float, high: float, *, integer: bool = False, low_open: bool = False) -> Any:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value) \
            or not (value > low if low_open else value >= low) or value > high:
        bound = f"above {low:g}" if low_open else f"from {low:g}"
        top = f"{int(high):,}" if high == int(high) else f"{high:g}"
        raise ProfileError(field, f"must be {'a whole number' if integer else 'a number'} {bound} to {top}, "
                                  f"not {json.dumps(value)}")
    return value


def _seconds(value: Any, field: str) -> float:
    try:
        return bounded_seconds(value, field, MAX_DELAY)
    except ValueError as exc:
        message = str(exc)
        raise ProfileError(field, message[len(field):].lstrip(" :") if message.startswith(field) else message) \
            from None


def _delay(value: Any, field: str) -> Delay:
    value = _mapping(value, field, ("fixed", "median", "p95"))
    if "fixed" in value:
        if len(value) > 1:
            raise ProfileError(field, 'give either "fixed" or "median" and "p95", not both')
        return Delay(_seconds(value["fixed"], f"{field}.fixed"))
    for key in ("median", "p95"):
        if key not in value:
            raise ProfileError(f"{field}.{key}", 'is required (or give {"fixed": DURATION})')
    median, p95 = _seconds(value["median"], f"{field}.median"), _seconds(value["p95"], f"{field}.p95")
    if p95 < median:
        raise ProfileError(f"{field}.p95", f"must be at least the median ({value['median']}), not {value['p95']}")
    if median == 0 and p95 > 0:
        raise ProfileError(f"{field}.median", "must be above zero for a log-normal delay (or use \"fixed\")")
    return Delay(median, p95)


def _failure(value: Any, field: str) -> Failure:
    value = _mapping(value, field, ("code", "title", "share", "at"))
    if "code" not in value:
        raise ProfileError(f"{field}.code", "is required (a WhatsApp error code, e.g. 131026)")
    code = _number(value["code"], f"{field}.code", 1, 999_999_999, integer=True)
    title = value.get("title", TITLES.get(code))
    if not isinstance(title, str) or not title.strip():
        raise ProfileError(f"{field}.title", f"is required for code {code} (a readable message)")
    if "share" not in value:
        raise ProfileError(f"{field}.share", "is required (from 0 to 1)")
    at = value.get("at", "send")
    if at not in ("send", "delivery"):
        raise ProfileError(f"{field}.at", f'must be "send" or "delivery", not {json.dumps(at)}')
    return Failure(code, title.strip(), float(_number(value["share"], f"{field}.share", 0, 1)), at)


def parse(data: Any, *, ideal: Profile | None, field: str = "") -> Profile:
    """A profile from plain data, missing keys taken from ``ideal`` (None: every key is required,
    as in a batch's stored text). Raise :class:`ProfileError` naming the first bad field."""
    def at(key: str) -> str:
        return f"{field}.{key}" if field else key

    data = _mapping(data, field, ("stages", "shares", "failures", "throughput", "tier"))
    base = ideal
    if base is None:
        missing = [key for key in ("stages", "shares", "failures", "throughput", "tier") if key not in data]
        if missing:
            raise ProfileError(at(missing[0]), "is required")
    stages = list(base.stages) if base is not None else [None] * 4
    if "stages" in data:
        given = _mapping(data["stages"], at("stages"), STAGES)
        for position, name in enumerate(STAGES):
            if name in given:
                stages[position] = _delay(given[name], at(f"stages.{name}"))
    if any(stage is None for stage in stages):
        raise ProfileError(at("stages"), "needs channel, user, read and reply")
    read_share = base.read_share if base is not None else None
    reply_share = base.reply_share if base is not None else None
    if "shares" in data:
        shares = _mapping(data["shares"], at("shares"), ("read", "reply"))
        if "read" in shares:
            read_share = float(_number(shares["read"], at("shares.read"), 0, 1))
        if "reply" in shares:
            reply_share = float(_number(shares["reply"], at("shares.reply"), 0, 1))
    if read_share is None or reply_share is None:
        raise ProfileError(at("shares"), "needs read and reply")
    failures = base.failures if base is not None else ()
    if "failures" in data:
        items = data["failures"]
        if not isinstance(items, (list, tuple)):
            raise ProfileError(at("failures"), "must be a list of {code, title, share, at}")
        if len(items) > MAX_FAILURES:
            raise ProfileError(at("failures"), f"at most {MAX_FAILURES} entries, not {len(items)}")
        failures = tuple(_failure(item, at(f"failures[{i}]")) for i, item in enumerate(items))
        total = sum(failure.share for failure in failures)
        if total > 1 + 1e-9:
            raise ProfileError(at("failures"), f"the shares add up to {total:g}; at most 1")
    mps = base.mps if base is not None else None
    if "throughput" in data:
        throughput = _mapping(data["throughput"], at("throughput"), ("mps",))
        if "mps" in throughput:
            value = throughput["mps"]
            mps = None if value is None else float(_number(value, at("throughput.mps"), 0, MAX_MPS, low_open=True))
    tier = base.tier if base is not None else None
    if "tier" in data:
        tier = _tier(data["tier"], at("tier"))
    return Profile(stages=tuple(stages), read_share=read_share, reply_share=reply_share, failures=failures,
                   mps=mps, tier=tier)


def _tier(value: Any, field: str) -> Tier | None:
    if value is None:
        return None
    value = _mapping(value, field, ("unique_recipients_24h", "overflow", "code"))
    if "unique_recipients_24h" not in value:
        raise ProfileError(f"{field}.unique_recipients_24h", "is required (or give \"tier\": null: no limit)")
    limit = _number(value["unique_recipients_24h"], f"{field}.unique_recipients_24h", 1, 10**9, integer=True)
    overflow = value.get("overflow", "fail")
    if overflow not in OVERFLOWS:
        raise ProfileError(f"{field}.overflow", f'must be "fail" or "queue", not {json.dumps(overflow)}')
    code = _number(value.get("code", 131048), f"{field}.code", 1, 999_999_999, integer=True)
    return Tier(limit, overflow, code)
