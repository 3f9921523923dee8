"""Reading request bodies the same way for every provider and the control plane.

Each function raises :class:`BodyError` with a sentence saying what is wrong; the caller renders it
in its own envelope (a 400 everywhere, a 422 entry where a provider reports fields that way).

JSON (a whole body, or a text field holding JSON such as Jelou's ``params`` or indigitall's
``layout``) is read by one decoder, :func:`loads`, which is strict where Python's ``json`` is lax:

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

from flask import Request
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

MAX_INT_DIGITS = 4300       # sys.int_info.default_max_str_digits: Python's own limit
MAX_DEPTH = 64


class BodyError(ValueError):
    """The request body (or a JSON field) cannot be read; the message says why (and where)."""


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


def multipart(request: Request) -> tuple[dict[str, str], dict[str, FileStorage], list[str]]:
    """``(text fields, file parts, names sent more than once)`` of a multipart/form-data body.

    First values win in the two dicts; the caller decides what a repeated name means.
    """
    if "boundary" not in request.mimetype_params:
        raise BodyError("The multipart/form-data body has no boundary; let your HTTP client build the Content-Type header.")
    try:
        form, files = request.form, request.files
    except ValueError as exc:
        raise BodyError(f"The multipart/form-data body could not be read: {exc}") from None
    if not form and not files and (request.content_length or 0) > 0:
        raise BodyError("The multipart/form-data body could not be read: no parts were found "
                        "(does the body use the boundary given in the Content-Type header?)")
    if None in form or None in files:
        raise BodyError('A multipart part has no name: every part needs a header like '
                        'Content-Disposition: form-data; name="field".')
    repeated = sorted({name for name in [*form.keys(), *files.keys()]
                       if len(form.getlist(name)) + len(files.getlist(name)) > 1})
    return {key: form.get(key) for key in form}, {key: files.get(key) for key in files}, repeated


class FormLimitExceeded(RequestEntityTooLarge):
    """A 413 naming the form limit that was hit (parts, text-field size), not the body size."""


class _DelimiterCounter:
    """A read-only stream that counts multipart delimiters as the parser reads (C-speed ``count``)."""

    def __init__(self, stream, boundary: bytes) -> None:
        self._read = stream.read
        self._delimiter = b"--" + boundary
        self._tail = b""
        self.delimiters = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._read(size)
        window = self._tail + chunk          # the tail is too short to hold a whole delimiter
        self.delimiters += window.count(self._delimiter)
        self._tail = window[-(len(self._delimiter) - 1):]
        return chunk


class FormParser(FormDataParser):
    """Werkzeug's parser, but its 413s say which limit was hit.

    Werkzeug raises the same ``RequestEntityTooLarge`` for too many parts and for an oversized
    text field; counting delimiters while it reads tells the two apart.
    """

    def _parse_multipart(self, stream, mimetype, content_length, options):
        try:
            counter = _DelimiterCounter(stream, options.get("boundary", "").encode("ascii"))
        except UnicodeEncodeError:
            return super()._parse_multipart(stream, mimetype, content_length, options)
        try:
            _, form, files = super()._parse_multipart(counter, mimetype, content_length, options)
        except RequestEntityTooLarge:
            parts = self.max_form_parts
            if parts is not None and counter.delimiters - 1 > parts:
                raise FormLimitExceeded(f"The multipart/form-data body has more than {parts:,} parts "
                                        "(setting max_form_parts).") from None
            raise FormLimitExceeded(f"A multipart/form-data text field is larger than {self.max_form_memory_size:,} "
                                    "bytes (setting max_form_field_bytes); send large content as a file part.") from None
        return stream, form, files


class MockRequest(Request):
    """The app's request class: form limits named in their 413s (see :class:`FormParser`)."""

    form_data_parser_class = FormParser
