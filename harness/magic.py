"""Reserved ("magic") recipients: phone numbers that pick a delivery outcome from data alone.

A magic number is ``999`` + a two-digit outcome code + more digits up to 12 digits in all,
e.g. ``999010000123`` (code ``01``).  No country uses the calling code 999, so a generated
"real" number never collides with one.  Both providers use the same table (CONTRACT.md §3).

The generator only ever writes codes from ``MAGIC_OUTCOMES``.  What the mock does with a
``999`` number whose code is not in the table is the mock's decision, not this module's.
"""
from __future__ import annotations

import random
import re

MAGIC_PREFIX = "999"
MAGIC_LENGTH = 12  # total digits of a generated magic number: 999 + code + 7 digits

# code -> short name.  Keep codes two digits; append new ones, never renumber.
MAGIC_OUTCOMES: dict[str, str] = {
    "01": "send_failed",
    "02": "channel_only",
    "03": "delivered_unread",
    "04": "read",
    "05": "replied",
    "06": "slow_delivery",
    "07": "channel_failed",
}

MAGIC_DESCRIPTIONS: dict[str, str] = {
    "01": "fails at send (invalid recipient)",
    "02": "reaches the channel but never the user",
    "03": "delivered to the user, never read",
    "04": "delivered and read",
    "05": "delivered, read and replied",
    "06": "delivered slowly",
    "07": "fails after reaching the channel",
}

MAGIC_CODES: tuple[str, ...] = tuple(sorted(MAGIC_OUTCOMES))

_MAGIC_RE = re.compile(r"^999([0-9]{2})[0-9]{3,10}$")


def magic_phone(code: str, rng: random.Random) -> str:
    """A magic number for ``code`` with the remaining digits drawn from ``rng``."""
    if code not in MAGIC_OUTCOMES:
        raise ValueError(f"unknown magic code {code!r}; known: {', '.join(MAGIC_CODES)}")
    rest = MAGIC_LENGTH - len(MAGIC_PREFIX) - 2
    return f"{MAGIC_PREFIX}{code}{rng.randrange(10**rest):0{rest}d}"


def magic_code(phone: str) -> str | None:
    """The outcome code of a magic number (only codes in the table), else None."""
    m = _MAGIC_RE.match(phone)
    if m and m.group(1) in MAGIC_OUTCOMES:
        return m.group(1)
    return None
