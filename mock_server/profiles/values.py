"""Traffic profiles' values (``mock_server.profiles``): the resolved, frozen :class:`Profile` and
its parts (a stage's :class:`Delay`, a :class:`Failure`, a messaging :class:`Tier`), the bounds a
profile must keep, :class:`ProfileError`, and the profiles every app has (``ideal`` from the
``delivery.*`` settings, the ``BUILT_IN`` ones as plain data)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..isotime import format_seconds as format_duration

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
        from .parse import parse          # the parser builds profiles: imported when first used
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
