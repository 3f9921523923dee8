"""The one strict JSON decoder: a whole body (:func:`json_body`), or a text field holding JSON such as
Jelou's ``params`` or indigitall's ``layout`` (:func:`loads`). It is strict where Python's ``json``
is lax:

- a number the mock cannot hold is refused, naming where it is (``params[0].param: ...``):
  an integer of more than ``MAX_INT_DIGITS`` digits (Python refuses to convert those) or a
  number too large for a float (``1e400``, which Python reads as infinity);
- ``NaN``, ``Infinity`` and ``-Infinity`` are not JSON and are refused;
- nesting deeper than ``MAX_DEPTH`` levels is refused (a value that deep is never a real
  payload, and storing one would make rendering it later fail); nesting deep enough to exhaust
  Python's recursion is caught and refused as well.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .errors import BodyError

MAX_INT_DIGITS = 4300       # sys.int_info.default_max_str_digits: Python's own limit
MAX_DEPTH = 64


class _Unreadable:
    """Stands in for a number the decoder cannot hold, until :func:`loads` reports where it is."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _parse_int(text: str):
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        return _Unreadable(f"the number has {len(text.lstrip('-')):,} digits; "
                           f"the mock reads whole numbers of up to {MAX_INT_DIGITS:,} digits")
    return int(text)


def _parse_float(text: str):
    value = float(text)
    if math.isinf(value):
        shown = text if len(text) <= 20 else f"{text[:20]}..."
        return _Unreadable(f"the number {shown} is too large")
    return value


def _parse_constant(name: str):
    return _Unreadable(f"{name} is not a JSON value")


def loads(text: str, what: str | None = None) -> Any:
    """The JSON value of ``text``; raise :class:`BodyError` naming ``what`` and the place inside.

    :param what: the field holding the JSON (``"params"``), or None for a whole request body.
    """
    subject = what or "The body"
    try:
        value = json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
    except json.JSONDecodeError as exc:
        raise BodyError(f"{subject} is not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.") from None
    except RecursionError:
        raise BodyError(f"{subject} is not valid JSON: it is nested too deeply.") from None
    _check(value, what)
    return value


def _check(value: Any, what: str | None) -> None:
    """Walk ``value`` (iteratively: it may be deep) for unreadable numbers and excess depth."""
    stack: list[tuple[Any, str, int]] = [(value, what or "", 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, _Unreadable):
            shown = f"body{path}" if path.startswith("[") else path or "The body"
            raise BodyError(f"{shown}: {node.reason}.")
        if isinstance(node, (dict, list)):
            if depth >= MAX_DEPTH:
                raise BodyError(f"{what or 'The body'} is nested more than {MAX_DEPTH} levels deep.")
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in items:
                if isinstance(child, (dict, list, _Unreadable)):
                    name = key if len(str(key)) <= 50 else f"{str(key)[:50]}..."     # a key is echoed: keep it short
                    step = f"[{name}]" if isinstance(key, int) else (f".{name}" if path else str(name))
                    stack.append((child, path + step, depth + 1))


def json_body(raw: bytes) -> Any:
    """The JSON value of ``raw`` (an empty body is ``None``)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError("The body is not valid JSON: it is not UTF-8 text.") from None
    return loads(text or "null")
