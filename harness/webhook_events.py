"""One webhook event as a receiver got it (:class:`ReceivedEvent`: its path, headers, body, the
answer it got, its parsed JSON and whether its signature matched) and the signature check
(:func:`verify`: ``X-Jelou-Signature`` / ``X-Mock-Signature``, HMAC-SHA256 of the exact body)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

SIGNATURE_HEADERS = ("x-jelou-signature", "x-mock-signature")


@dataclass
class ReceivedEvent:
    path: str
    headers: dict[str, str]            # lower-case names
    body: bytes
    status: int                        # what the receiver answered
    received_at: float                 # time.monotonic() when it arrived
    signature_ok: bool | None = None   # None: no secret given, or no signature header
    data: Any = field(default=None)

    @property
    def event(self) -> str | None:
        return self.data.get("event") if isinstance(self.data, dict) else None

    @property
    def event_id(self) -> str | None:
        return self.headers.get("x-mock-event-id")

    @property
    def attempt(self) -> int:
        return int(self.headers.get("x-mock-attempt", "0"))

    @property
    def recipient(self) -> str | None:
        if not isinstance(self.data, dict):
            return None
        if "notification" in self.data:
            return self.data["notification"].get("destination")
        return (self.data.get("message") or {}).get("recipient")


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is ``sha256=<hex HMAC-SHA256 of body>`` under ``secret``."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256="):])
