"""The one parser of integer (and seconds) query arguments, for the control plane, the UI and the providers.

Only ASCII text is a number here: ``str.isdigit()`` accepts ``"²"`` (then ``int()`` raises),
``int()`` accepts ``"١٢"`` (Arabic-Indic digits), ``"1_0"``, ``" 2"`` and ``"+2"``, and a 5,000-digit
value makes ``int()`` raise (Python's 4,300-digit limit). :func:`whole_number` reads
``-?[0-9]+`` and nothing else, and never converts more than :data:`MAX_DIGITS` significant digits:
a longer number is :data:`HUGE` (beyond every range), so it answers "out of range", not 500.

Every integer argument has a range; without a stated maximum it is :data:`MAX_SAFE` (JavaScript's
largest exact integer, what a Node.js client can send back unchanged). The control plane and the UI
answer a bad value with 400 in the control-plane envelope naming the argument and its range
(:func:`int_arg`); the providers read theirs with :class:`QueryInteger`, a marshmallow field, so
each keeps its own envelope and its messages for values out of range.
"""

from __future__ import annotations

import re

from flask import request
from marshmallow import fields

from .errors import ControlError

MAX_SAFE = 2**53 - 1
MAX_DIGITS = 30                      # significant digits converted; more is beyond any range we have
HUGE = 10**MAX_DIGITS
MAX_SHOWN = 40                       # characters of a bad value echoed in a message

_INTEGER = re.compile(r"(-?)0*([0-9]+)")              # [0-9]: ASCII only, unlike \d or str.isdigit()
_DECIMAL = re.compile(r"[0-9]{1,30}(?:\.[0-9]{1,30})?(?:e[-+]?[0-9]{1,3})?")   # also str(1e-05)


def whole_number(text: str) -> int | None:
    """``text`` as an integer when it is ``-?[0-9]+`` (ASCII digits only), else None.

    More than :data:`MAX_DIGITS` significant digits read as ``±HUGE``: out of every range.
    """
    match = _INTEGER.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    digits = match[2]
    magnitude = int(digits) if len(digits) <= MAX_DIGITS else HUGE
    return -magnitude if match[1] else magnitude


def shown(raw: str) -> str:
    """A client's value as a message quotes it: cut to :data:`MAX_SHOWN` characters."""
    return raw if len(raw) <= MAX_SHOWN else raw[:MAX_SHOWN] + f"… ({len(raw):,} characters)"


def int_value(name: str, raw: str, low: int, high: int = MAX_SAFE) -> int:
    """``raw`` as an integer from ``low`` to ``high``; else :class:`ControlError` naming ``name`` and the range."""
    value = whole_number(raw)
    if value is None or not low <= value <= high:
        raise ControlError(f"'{name}' must be between {low} and {high} (a whole number in digits 0-9), "
                           f"not '{shown(raw)}'")
    return value


def int_arg(name: str, default: int, low: int, high: int = MAX_SAFE) -> int:
    """The request's query argument ``name`` (absent or empty: ``default``), checked by :func:`int_value`."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    return int_value(name, raw, low, high)


def int_list_arg(name: str, low: int, high: int = MAX_SAFE, *, most: int = 100) -> list[int]:
    """``name=1,2,3``: at most ``most`` integers, each checked by :func:`int_value` (empty items skipped)."""
    parts = [part for part in request.args.get(name, "").split(",") if part]
    if len(parts) > most:
        raise ControlError(f"'{name}' lists at most {most} numbers, not {len(parts)}")
    return [int_value(name, part, low, high) for part in parts]


def seconds_arg(name: str, default: float, low: float, high: float) -> float:
    """A number of seconds (``10``, ``0.25``, ``1e-05``: ASCII only) from ``low`` to ``high``."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not _DECIMAL.fullmatch(raw) or not low <= float(raw) <= high:
        raise ControlError(f"'{name}' must be between {low:g} and {high:g} seconds (a decimal number in digits "
                           f"0-9), not '{shown(raw)}'")
    return float(raw)


class QueryInteger(fields.Integer):
    """A provider's integer query argument: :func:`whole_number`'s syntax, the field's own messages.

    Malformed text fails with the field's ``invalid`` message; a number with too many digits reads
    as ``HUGE``, so the field's ``Range`` validators answer it as they answer any value out of range.
    """

    def _format_num(self, value):
        if isinstance(value, str):
            number = whole_number(value)
            if number is None:
                raise ValueError(value)
            return number
        return super()._format_num(value)
