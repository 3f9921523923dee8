"""Traffic profiles (CONTRACT §14): what happens to recipients after a send, per sandbox.

A profile says how long each stage takes (``channel``, ``user``, ``read``, ``reply``: each after the
previous one, fixed or log-normal by its median and 95th percentile), which share of delivered
messages is read and of read ones replied to, which share fails with which WhatsApp error (at send,
or at delivery after reaching the channel), how fast a bot / application sends (``throughput.mps``)
and how many distinct recipients it may reach in any rolling 24 hours (``tier``).

Built-in profiles: ``ideal`` (the ``delivery.*`` settings: today's behaviour, the default),
``realistic`` and ``degraded`` (values and their sources: ``docs/profiles.md``). Settings
``delivery.profiles`` add or override profiles (not ``ideal``: change ``delivery.*`` for that) and
``delivery.profile`` names the default of new sandboxes. A profile given inline is ``custom``.

:func:`parse` validates a profile given as plain data (every key optional: a missing one takes
the ``ideal`` value) and raises :class:`ProfileError` naming the field; :class:`Profile` is the
resolved, frozen value, whose :meth:`Profile.to_json` text a campaign or task keeps (it keeps the
profile it was accepted with). How fates are drawn from a profile: ``mock_server.fates``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Mapping

from .isotime import bounded_seconds, format_seconds as format_duration

STAGES = ("channel", "user", "read", "reply")
MAX_DELAY = "P30D"              # the longest stage delay a profile may give
MAX_FAILURES = 8                # failure entries in one profile (each costs fate codes: mock_server.fates)
MAX_MPS = 1_000_000.0
OVERFLOWS = ("fail", "queue")
IDEAL, CUSTOM = "ideal", "custom"

# WhatsApp Cloud API error titles (research/webhooks-rate-limits-scaling.md §3.2): the default
# ``title`` of a failure entry that gives only a ``code``.
TITLES = {
    100: "Invalid parameter",
    131026: "Message undeliverable",
    131047: "Re-engagement message",
    131048: "Spam rate limit hit",
    131049: "This message was not delivered to maintain healthy ecosystem engagement",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    130429: "Rate limit hit",
}


class ProfileError(ValueError):
    """An invalid profile; ``field`` is the dotted path of the offending key (``stages.read.p95``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


@dataclass(frozen=True)
class Delay:
    """A stage's delay in seconds: fixed (``p95`` None) or log-normal with that median and p95."""

    median: float
    p95: float | None = None

    @property
    def fixed(self) -> bool:
        return self.p95 is None or self.p95 == self.median

    def to_plain(self) -> dict[str, str]:
        if self.p95 is None:
            return {"fixed": format_duration(self.median)}
        return {"median": format_duration(self.median), "p95": format_duration(self.p95)}


@dataclass(frozen=True)
class Failure:
    code: int
    title: str
    share: float
    at: str                     # "send" | "delivery"

    def to_plain(self) -> dict[str, Any]:
        return {"code": self.code, "title": self.title, "share": self.share, "at": self.at}


@dataclass(frozen=True)
class Tier:
    unique_recipients_24h: int
    overflow: str = "fail"
    code: int = 131048

    def to_plain(self) -> dict[str, Any]:
        return {"unique_recipients_24h": self.unique_recipients_24h, "overflow": self.overflow, "code": self.code}


@dataclass(frozen=True)
class Profile:
    """A resolved profile: every field set."""

    stages: tuple[Delay, Delay, Delay, Delay]      # channel, user, read, reply (each after the previous)
    read_share: float
    reply_share: float
    failures: tuple[Failure, ...] = ()
    mps: float | None = None                         # None: each provider's own sending-rate setting
    tier: Tier | None = None

    def stage(self, name: str) -> Delay:
        return self.stages[STAGES.index(name)]

    def to_plain(self) -> dict[str, Any]:
        return {
            "stages": {name: delay.to_plain() for name, delay in zip(STAGES, self.stages)},
            "shares": {"read": self.read_share, "reply": self.reply_share},
            "failures": [failure.to_plain() for failure in self.failures],
            "throughput": {"mps": self.mps},
            "tier": None if self.tier is None else self.tier.to_plain(),
        }

    def to_json(self) -> str:
        """The canonical text a batch keeps (the same profile always gives the same text)."""
        return json.dumps(self.to_plain(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "Profile":
        return parse(json.loads(text), ideal=None)


def ideal_profile(delivery) -> Profile:
    """Today's behaviour as a profile: fixed delays from the ``delivery.*`` settings, no failures,
    no replies from ordinary recipients, each provider's own rate, no tier."""
    ch, user = float(delivery.channel_after), float(delivery.user_after)
    read, reply = float(delivery.read_after), float(delivery.reply_after)
    return Profile(stages=(Delay(ch), Delay(user - ch), Delay(read - user), Delay(reply - read)),
                   read_share=round(float(delivery.read_share), 6), reply_share=0.0)


# Built-in profiles other than ideal, as plain data (what a config file would say). Sources of
# every value: docs/profiles.md.
BUILT_IN: dict[str, dict[str, Any]] = {
    "realistic": {
        "stages": {"channel": {"median": "PT1S", "p95": "PT5S"},
                   "user": {"median": "PT2S", "p95": "PT1M"},
                   "read": {"median": "PT10M", "p95": "PT6H"},
                   "reply": {"median": "PT30M", "p95": "PT12H"}},
        "shares": {"read": 0.6, "reply": 0.05},
        "failures": [{"code": 131026, "share": 0.02, "at": "send"},
                     {"code": 131049, "share": 0.01, "at": "delivery"}],
        "throughput": {"mps": 80},
        "tier": None,
    },
    "degraded": {
        "stages": {"channel": {"median": "PT5S", "p95": "PT2M"},
                   "user": {"median": "PT30S", "p95": "PT30M"},
                   "read": {"median": "PT1H", "p95": "PT24H"},
                   "reply": {"median": "PT2H", "p95": "P2D"}},
        "shares": {"read": 0.3, "reply": 0.02},
        "failures": [{"code": 131026, "share": 0.05, "at": "send"},
                     {"code": 131056, "share": 0.01, "at": "send"},
                     {"code": 131049, "share": 0.03, "at": "delivery"},
                     {"code": 131047, "share": 0.01, "at": "delivery"}],
        "throughput": {"mps": 20},
        "tier": {"unique_recipients_24h": 1000, "overflow": "fail", "code": 131048},
    },
}


# -- parsing --------------------------------------------------------------------------------------

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


class Catalogue:
    """The profiles an app knows: ``ideal`` from ``delivery.*``, the built-ins, ``delivery.profiles``."""

    def __init__(self, delivery) -> None:
        self.ideal = ideal_profile(delivery)
        self.profiles: dict[str, Profile] = {IDEAL: self.ideal}
        for name, data in BUILT_IN.items():
            self.profiles[name] = parse(data, ideal=self.ideal)
        for name, data in (delivery.profiles or {}).items():
            self.profiles[name] = parse(data, ideal=self.ideal, field=f"delivery.profiles.{name}")
        self.default = delivery.profile

    def names(self) -> list[str]:
        return list(self.profiles)

    def get(self, name: str) -> Profile | None:
        return self.profiles.get(name)


class SandboxProfiles:
    """Each sandbox's current profile, kept in the store (so ``POST /_mock/reset`` drops it)."""

    MAP, KEY = "profile", "current"

    def __init__(self, store, catalogue: Catalogue, maps=None) -> None:
        """:param maps: the app's ``sandbox.MapCache``: the profile is read again only when its map
        changed (a send reads it; without the cache that is a store round trip per send)."""
        self.store = store
        self.catalogue = catalogue
        self.maps = maps

    def of(self, sb) -> tuple[str, Profile]:
        """The sandbox's profile: ``(name, profile)``."""
        if self.maps is not None:
            found = dict(self.maps.items(sb, self.MAP)).get(self.KEY)
        else:
            found = self.store.get_value(sb.name, self.MAP, self.KEY)
        if found is None:
            name = self.catalogue.default
            return name, self.catalogue.profiles[name]
        return found["name"], Profile.from_json(found["profile"])

    def set(self, sb, name: str, profile: Profile) -> None:
        self.store.put(sb.name, self.MAP, self.KEY, {"name": name, "profile": profile.to_json()})

    def for_batch(self, sb) -> tuple[str | None, Profile]:
        """What a batch accepted now keeps: the profile's text (None for ``ideal``: the batch then
        follows the ``delivery.*`` settings exactly as before profiles existed) and the profile."""
        name, profile = self.of(sb)
        return (None if name == IDEAL else profile.to_json()), profile
