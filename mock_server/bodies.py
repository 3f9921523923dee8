"""Reading request bodies the same way for every provider and the control plane.

Each function raises :class:`BodyError` with a sentence saying what is wrong; the caller renders it
in its own envelope (a 400 everywhere).

Multipart bodies are read in one pass over the body, instead of Werkzeug's form parser (which
spools files over 500 KiB to a temporary file and reads them back): a file part's bytes are cut out
of the body once. A body in the plain shape client libraries write is cut at its delimiters with
``bytes.find`` (:func:`_read_plain`); anything else goes to ``python-multipart``'s streaming parser,
which reads the plain shape into the same parts. A part with a ``filename`` parameter
is a file (even an empty name), any other a text field (UTF-8, undecodable bytes replaced, at most
``max_form_field_bytes``); the total stays bounded by ``MAX_CONTENT_LENGTH``. One legal form
python-multipart does not read, a part with no body at all (its headers directly followed by the
next boundary, as Werkzeug's test client writes an empty field or file), is detected (a part whose
data starts with the boundary, which a delimiter always precedes) and that body is read again by
Werkzeug's parser. Limits: ``max_form_parts`` parts and ``max_form_field_bytes`` per text field
(settings, read from the app's ``MAX_FORM_PARTS`` / ``MAX_FORM_MEMORY_SIZE``); beyond them the
body is refused naming the setting.

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

import functools
import io
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from flask import Request, current_app
from python_multipart.multipart import MultipartParseError, MultipartParser, parse_options_header
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import MultiPartParser as WerkzeugParser

MAX_INT_DIGITS = 4300       # sys.int_info.default_max_str_digits: Python's own limit
MAX_DEPTH = 64
NO_NAME = ('A multipart part has no name: every part needs a header like '
           'Content-Disposition: form-data; name="field".')
NO_PARTS = ("The multipart/form-data body could not be read: no parts were found "
            "(does the body use the boundary given in the Content-Type header?)")


class BodyError(ValueError):
    """The request body cannot be read; the message says why."""


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


@dataclass(frozen=True)
class FilePart:
    """A file part of a multipart body: its ``filename`` (may be empty) and its bytes."""

    filename: str
    data: bytes

    @functools.cached_property
    def newlines(self) -> int:
        """How many ``\\n`` bytes ``data`` holds, counted once per request: the journal's file
        summary and the CSV check both need it (a pass over the file each)."""
        return self.data.count(b"\n")


@dataclass
class Multipart:
    """A read multipart body: first values win in ``fields``/``files``; ``counts`` says how many
    parts carried each name (so the caller decides what a repeated name means)."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, FilePart] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def repeated(self) -> list[str]:
        return sorted(name for name, count in self.counts.items() if count > 1)


CACHE_KEY = "mock.multipart"


def multipart(request: Request) -> Multipart:
    """The parts of a multipart/form-data body, read in one streaming pass.

    The body can be read only once: the result (or the problem) is kept in the WSGI environ, so
    the request journal and the route read the same parts.
    """
    cached = request.environ.get(CACHE_KEY)
    if cached is None:
        try:
            cached = _read_multipart(request)
        except BodyError as exc:
            cached = exc
        request.environ[CACHE_KEY] = cached
    if isinstance(cached, BodyError):
        raise BodyError(str(cached))
    return cached


def _read_multipart(request: Request) -> Multipart:
    boundary = request.mimetype_params.get("boundary")
    if not boundary:
        raise BodyError("The multipart/form-data body has no boundary; let your HTTP client build the Content-Type header.")
    raw = _body(request)
    limits = (current_app.config["MAX_FORM_PARTS"], current_app.config["MAX_FORM_MEMORY_SIZE"])
    reader = _PartReader(limits, b"--" + boundary.encode("latin-1"))
    try:
        if _read_plain(raw, boundary.encode("latin-1"), reader):
            return _finished(reader)
        parser = MultipartParser(boundary.encode("latin-1"), reader.callbacks())
        parser.write(raw)
        parser.finalize()
    except (MultipartParseError, UnicodeEncodeError) as exc:
        if not reader.began:
            raise BodyError(NO_PARTS) from None
        raise BodyError(f"The multipart/form-data body could not be read: {exc}") from None
    if reader.open or reader.bodiless:
        reader = _werkzeug_read(raw, boundary, limits)
    return _finished(reader)


def _finished(reader: "_PartReader") -> Multipart:
    if reader.problem:
        raise BodyError(reader.problem)
    if not reader.body.counts:
        raise BodyError(NO_PARTS)
    return reader.body


_TOKEN = re.compile(rb"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_PLAIN_HEADERS = 8                   # python-multipart's own limit per part (DEFAULT_MAX_HEADER_COUNT)
_PLAIN_HEADER_BYTES = 4096           # below python-multipart's DEFAULT_MAX_HEADER_SIZE


def _read_plain(raw: bytes, boundary: bytes, reader: "_PartReader") -> bool:
    """Read a body of the plain shape every client library writes into ``reader``, cutting parts
    at the delimiters found with ``bytes.find`` (C speed, about a tenth of python-multipart's state
    machine on a 40 KB upload); False, with nothing read, for anything else (a preamble, transport
    padding, a part without headers or body, an epilogue, an unusual header line), which
    python-multipart then reads as before. It accepts only bodies python-multipart reads into the
    same parts, so the answers do not change.

    Shape: ``--B CRLF`` then parts, each ``header lines CRLF CRLF data``, separated by
    ``CRLF --B CRLF`` and closed by ``CRLF --B --`` (optionally followed by one CRLF)."""
    dash = b"--" + boundary
    if not raw.startswith(dash + b"\r\n"):
        return False
    delimiter = b"\r\n" + dash
    found: list[tuple[bytes, bytes]] = []
    position = len(dash) + 2
    while True:
        end = raw.find(delimiter, position)
        head_end = raw.find(b"\r\n\r\n", position, end)
        if end < 0 or head_end <= position or head_end - position > _PLAIN_HEADER_BYTES:
            return False
        disposition = None
        lines = raw[position:head_end].split(b"\r\n")
        if len(lines) > _PLAIN_HEADERS:
            return False
        for line in lines:
            name, colon, value = line.partition(b":")
            if not colon or not _TOKEN.fullmatch(name) or b"\r" in value or b"\n" in value:
                return False
            if name.lower() == b"content-disposition":
                disposition = value.lstrip(b" ")
        data = raw[head_end + 4:end]
        if data.startswith(dash):        # what python-multipart takes for a part without a body
            return False
        found.append((disposition or b"", data))
        after = end + len(delimiter)
        tail = raw[after:after + 2]
        if tail == b"--":
            if raw[after + 2:] not in (b"", b"\r\n"):
                return False
            break
        if tail != b"\r\n":
            return False
        position = after + 2
    for disposition, data in found:
        reader.take(disposition, data)
    return True


def _body(request: Request) -> bytes:
    """The whole body in one read when its length is known (five times faster than Werkzeug's
    chunked ``get_data`` on a 40 MB upload); ``MAX_CONTENT_LENGTH`` still applies (413)."""
    length = request.content_length
    if length is None:
        return request.get_data(cache=False)
    stream, parts, left = request.stream, [], length
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


@functools.lru_cache(maxsize=256)
def _disposition(value: bytes) -> tuple[bytes, dict[bytes, bytes]]:
    """``parse_options_header``, remembered: clients send the same few part headers every time
    (the answer is only read)."""
    return parse_options_header(value)


class _PartReader:
    """python-multipart callbacks that collect parts into a :class:`Multipart`."""

    def __init__(self, limits: tuple[int, int], dash_boundary: bytes = b"") -> None:
        self.max_parts, self.max_field = limits
        self.parts = 0
        self.body = Multipart()
        self.problem: str | None = None
        self.began = False           # at least one part started
        self.open = False            # a part begun and never ended
        self.bodiless = False        # a part with no body: python-multipart misreads what follows
        self._dash_boundary = dash_boundary
        self._header: list[bytes] = []
        self._value: list[bytes] = []
        self._disposition = b""
        self._chunks: list[bytes] = []
        self._size = 0

    def callbacks(self) -> dict:
        return {"on_part_begin": self._begin, "on_header_field": self._header_field,
                "on_header_value": self._header_value, "on_header_end": self._header_end,
                "on_part_data": self._data, "on_part_end": self._end}

    def _begin(self) -> None:
        self.parts += 1
        if self.parts > self.max_parts:
            self.problem = self.problem or too_many_parts(self.max_parts)
        self._disposition, self._chunks, self._size, self.open, self.began = b"", [], 0, True, True

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header.append(data[start:end])

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value.append(data[start:end])

    def _header_end(self) -> None:
        if b"".join(self._header).strip().lower() == b"content-disposition":
            self._disposition = b"".join(self._value)
        self._header, self._value = [], []

    def _data(self, data: bytes, start: int, end: int) -> None:
        self._chunks.append(data[start:end])
        self._size += end - start

    def take(self, disposition: bytes, data: bytes) -> None:
        """One whole part, as if the parser had called back for it."""
        self._begin()
        self._disposition, self._chunks, self._size = disposition, [data], len(data)
        self._end()

    def _end(self) -> None:
        self.open = False
        data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        if self._dash_boundary and data.startswith(self._dash_boundary):
            self.bodiless = True
            return
        kind, params = _disposition(self._disposition)
        name = params.get(b"name")
        if kind.lower() != b"form-data" or name is None:
            self.problem = self.problem or NO_NAME
            return
        key = name.decode("utf-8", "replace")
        body = self.body
        body.counts[key] = body.counts.get(key, 0) + 1
        self._chunks = []
        if body.counts[key] > 1:
            return
        if b"filename" in params:
            body.files[key] = FilePart(params[b"filename"].decode("utf-8", "replace"), data)
        elif self._size > self.max_field:
            self.problem = self.problem or field_too_large(self.max_field, key)
        else:
            body.fields[key] = data.decode("utf-8", "replace")


def too_many_parts(limit: int) -> str:
    return f"The multipart/form-data body has more than {limit:,} parts (setting max_form_parts)."


def field_too_large(limit: int, name: str | None = None) -> str:
    which = f"The form field '{name}'" if name is not None else "A multipart/form-data text field"
    return (f"{which} is larger than {limit:,} bytes (setting max_form_field_bytes); "
            "send large content as a file part.")


def _werkzeug_read(raw: bytes, boundary: str, limits: tuple[int, int]) -> _PartReader:
    """The same result from Werkzeug's parser (for the rare body python-multipart cannot read)."""
    reader = _PartReader(limits)
    try:
        form, files = WerkzeugParser(max_form_memory_size=limits[1], max_form_parts=limits[0]).parse(
            io.BytesIO(raw), boundary.encode("latin-1"), len(raw))
    except RequestEntityTooLarge:     # Werkzeug's one 413 for both limits: the part count tells which
        parts = raw.count(b"--" + boundary.encode("latin-1")) - 1
        reader.problem = too_many_parts(limits[0]) if parts > limits[0] else field_too_large(limits[1])
        return reader
    except ValueError as exc:
        reader.problem = f"The multipart/form-data body could not be read: {exc}"
        return reader
    if None in form or None in files:
        reader.problem = NO_NAME
        return reader
    body = reader.body
    for name, values in form.lists():
        body.counts[name] = body.counts.get(name, 0) + len(values)
        body.fields.setdefault(name, values[0])
    for name, parts in files.lists():
        body.counts[name] = body.counts.get(name, 0) + len(parts)
        if name not in body.fields:
            body.files.setdefault(name, FilePart(parts[0].filename or "", parts[0].read()))
        for part in parts:
            part.close()
    return reader
