"""What keeps ``mock-harness conformance`` safe with real credentials (CONTRACT §15).

- ``Pacer``: at most ``rate`` requests per second to the target (default 2), on an injected
  monotonic clock and sleeper so tests never wait.
- ``Guard``: every request to the target passes here; it refuses (``Refused``) the request that
  would exceed ``--max-requests``, and any CSV holding a phone-like cell that is not one of the
  ``--recipient`` numbers.  The runner plans the same way; this is the last line, not the plan.
- ``Redactor``: credentials masked as the mock's journal masks them (``mock_server.faults.journal``:
  fields named like secrets, URL user:password, Authorization headers), plus every literal secret
  the user gave (and its base64), wherever it appears; recipients' numbers become ``<recipient-N>``.
  One exception to the journal's names: an enumeration key (``shape.ENUM_KEYS``, e.g. Jelou's
  ``error.key: VALIDATOR_ERROR``) keeps its value, since the comparison needs it.
- ``consent``: nothing goes to the target before ``--yes`` or a ``y`` typed on a terminal.
"""
from __future__ import annotations

import base64
import csv
import io
import re
import time
from typing import Any, Callable, Iterable, TextIO

from ..sibling import mock_server_module
from .shape import ENUM_KEYS

PHONE_LIKE = re.compile(r"^\+?[0-9][0-9 ().-]{6,}$")


class Refused(Exception):
    """A request the guard will not send to the target (the message says why)."""


class Pacer:
    """Space calls to ``wait`` at least ``1/rate`` seconds apart."""

    def __init__(self, rate: float = 2.0, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 1.0 / rate
        self.clock, self.sleep = clock, sleep
        self._last: float | None = None

    def wait(self) -> None:
        if self._last is not None:
            pause = self._last + self.interval - self.clock()
            if pause > 0:
                self.sleep(pause)
        self._last = self.clock()


def phone_like_cells(data: bytes) -> set[str]:
    """Every cell of a CSV that looks like a phone number (header row included)."""
    text = data.decode("utf-8-sig", errors="replace")
    return {cell.strip() for row in csv.reader(io.StringIO(text)) for cell in row if PHONE_LIKE.match(cell.strip())}


class Guard:
    """Count and check what goes to the target."""

    def __init__(self, max_requests: int, recipients: Iterable[str]) -> None:
        self.max_requests = max_requests
        self.recipients = frozenset(recipients)
        self.sent = 0

    @property
    def left(self) -> int:
        return self.max_requests - self.sent

    def admit(self, csv_data: bytes | None) -> None:
        """Raise ``Refused``, or count one request as sent."""
        if self.sent >= self.max_requests:
            raise Refused(f"--max-requests {self.max_requests} reached")
        if csv_data is not None:
            strangers = phone_like_cells(csv_data) - self.recipients
            if strangers:
                raise Refused(f"the CSV holds {len(strangers)} number(s) that are not --recipient")
        self.sent += 1


class Redactor:
    """Mask credentials (as the journal does) and recipients in anything written out."""

    def __init__(self, secrets: Iterable[str] = (), recipients: Iterable[str] = ()) -> None:
        self._journal = mock_server_module("faults.journal")
        literal = set()
        for secret in secrets:
            if secret:
                literal.add(secret)
                literal.add(base64.b64encode(secret.encode()).decode())
        # longest first, so "id:secret" is masked before "secret" would split it
        self._secrets = sorted((s for s in literal if len(s) >= 4), key=len, reverse=True)
        self._recipients = {phone: f"<recipient-{i}>" for i, phone in enumerate(recipients, 1)}

    def text(self, value: str) -> str:
        value = self._journal.mask_text(value)
        for secret in self._secrets:
            value = value.replace(secret, "***")
        for phone, alias in self._recipients.items():
            value = value.replace(phone, alias)
        return value

    def _secret_name(self, name: str) -> bool:
        """The journal's rule: a field named like a secret (``secret``, ``token``, ``key`` ...)."""
        return self._journal.mask_value({name: None}).get(name) == "***"

    def value(self, value: Any) -> Any:
        """A JSON value with secrets masked; an enumeration (Jelou's ``error.key``) is never a secret name."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {self.text(str(key)): "***" if str(key) not in ENUM_KEYS and self._secret_name(str(key))
                    else self.value(item) for key, item in value.items()}
        return value

    def headers(self, headers: dict) -> dict:
        return {name: self.text(text) for name, text in self._journal.masked_headers(headers).items()}


def consent(plan_requests: int, target: str, *, yes: bool, stdin: TextIO, stderr: TextIO) -> str | None:
    """None when the user agreed; else why nothing was sent (the caller exits 2)."""
    if yes or plan_requests == 0:
        return None
    if not stdin.isatty():
        return ("nothing sent: confirm with --yes (stdin is not a terminal, so the harness cannot ask); "
                "read the plan above first")
    stderr.write(f"Send up to {plan_requests} request(s) to {target}? [y/N] ")
    stderr.flush()
    answer = stdin.readline().strip().lower()
    if answer in ("y", "yes"):
        return None
    return "nothing sent: not confirmed"
