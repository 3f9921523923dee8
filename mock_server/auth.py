"""Authorization-header helpers shared by the providers (parsing only; each provider decides).

Secrets are compared with ``hmac.compare_digest`` and every known credential is compared, so
the time an answer takes does not tell which part of a credential was right.
"""

from __future__ import annotations

import base64
import hmac
from typing import Iterable, TypeVar

T = TypeVar("T")


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """``Basic base64(id:secret)`` -> ``(id, secret)``, or None when missing or malformed."""
    token = parse_scheme(header, "Basic")
    if not token:
        return None
    try:
        decoded = base64.b64decode(token, validate=True).decode("utf-8")
    except ValueError:      # binascii.Error, UnicodeDecodeError, or a token with non-ASCII characters
        return None
    user, sep, secret = decoded.partition(":")
    return (user, secret) if sep else None


def parse_scheme(header: str | None, scheme: str) -> str | None:
    """``<scheme> <token>`` -> ``token`` (scheme matched case-insensitively), else None."""
    if not header:
        return None
    name, _, token = header.strip().partition(" ")
    if name.lower() != scheme.lower():
        return None
    token = token.strip()
    return token or None


def same(given: str, expected: str) -> bool:
    """Constant-time string equality."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def find_match(candidates: Iterable[T], checks) -> T | None:
    """The candidate for which every ``(given, attribute)`` check matches, comparing all of them.

    ``checks(candidate)`` returns the booleans for one candidate; every candidate is checked
    even after a match so the timing does not depend on the position of the right one.
    """
    found = None
    for candidate in candidates:
        if all(checks(candidate)) and found is None:
            found = candidate
    return found
