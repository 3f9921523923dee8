"""Reserved ("magic") recipients: phone numbers that pick a delivery outcome from data alone.

The table lives in one place, ``mock_server.delivery.RESERVED`` (what the mock does with each
code); this module only reshapes it for the generator, so the harness can never drift from the
server.  A magic number is ``999`` + a two-digit outcome code + more digits, 12 digits in all
for generated ones (e.g. ``999010000123``, code ``01``).  No country uses the calling code 999,
so a generated "real" number never collides with one.  Both providers use the same table
(CONTRACT.md §3).

Public names (kept for callers written before the table moved to the server):
- ``MAGIC_OUTCOMES``: code -> short name in snake_case (``"01": "fails_at_send"``);
- ``MAGIC_DESCRIPTIONS``: code -> the README description;
- ``MAGIC_CODES``: the codes, sorted; ``MAGIC_PREFIX``; ``magic_phone``; ``magic_code``.
"""
from __future__ import annotations

import random
import re

from .sibling import mock_server_module

_delivery = mock_server_module("delivery")
RESERVED, RESERVED_PREFIX = _delivery.RESERVED, _delivery.RESERVED_PREFIX

MAGIC_PREFIX = RESERVED_PREFIX
MAGIC_LENGTH = 12  # total digits of a generated magic number: 999 + code + 7 digits

MAGIC_OUTCOMES: dict[str, str] = {
    code: name.replace(" ", "_") for code, (_, name, _) in sorted(RESERVED.items())}
MAGIC_DESCRIPTIONS: dict[str, str] = {
    code: description for code, (_, _, description) in sorted(RESERVED.items())}
MAGIC_CODES: tuple[str, ...] = tuple(sorted(MAGIC_OUTCOMES))

# 999 + code + 3..10 more digits: 8..15 digits, so a magic number passes Jelou's phone rule.
_MAGIC_RE = re.compile(rf"^{MAGIC_PREFIX}([0-9]{{2}})[0-9]{{3,10}}$")


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
