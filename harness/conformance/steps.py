"""The conformance scenario's building blocks (``scenario.py`` lists the steps): a ``Step`` (what
it sends, its documented status, what it keeps from the answer), the ``Request`` it builds from an
``Env`` (one side's clock, recipients and the ids its earlier answers gave) and the ``Setup`` of the
target account (no secrets)."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping


NOT_A_PHONE = "not-a-phone"


@dataclass(frozen=True)
class Setup:
    """What the scenario needs to know about the target account (no secrets; kept in saved files)."""

    jelou_bot: str = "demo-bot"
    jelou_template: str = "welcome_message"
    jelou_placeholders: int = 0
    indigitall_app: int = 100
    indigitall_template: str = "new_ticket"
    indigitall_prefix: str = "/v2"


@dataclass
class Env:
    """One side's view while building a request."""

    setup: Setup
    recipients: tuple[str, ...]
    now: datetime
    found: dict[str, str] = field(default_factory=dict)
    file_url: Callable[[str, bytes], str] | None = None


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    auth: str = "account"                      # account | invalid
    params: Mapping[str, Any] | None = None
    json: Any = None
    form: Mapping[str, str] | None = None
    file: tuple[str, bytes] | None = None      # (file name, bytes), sent as the part ``file``
    raw: tuple[str, bytes] | None = None       # (content type, body)
    csv: bytes | None = None                   # the CSV the provider reads (uploaded or served)


@dataclass(frozen=True)
class Step:
    name: str
    provider: str
    method: str
    path: str                                  # as shown: ids as {placeholders}
    sends: str                                 # what it sends, in words
    expect: int                                # the documented (or contract) status
    build: Callable[[Env], Request]
    sends_messages: bool = False
    needs: tuple[str, ...] = ()                # ids an earlier step must have found on both sides
    needs_file_url: bool = False
    keep: Callable[[Any], dict[str, str]] | None = None
    lifecycle: Mapping[str, frozenset] = field(default_factory=dict)


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")
