"""The parts of a multipart/form-data body, as collected: :class:`Multipart` (its text fields and
:class:`FilePart` files), built by :class:`PartReader` from python-multipart's callbacks or, for a
body in the plain shape client libraries write, cut at its delimiters with ``bytes.find``
(:func:`read_plain`). A part with a ``filename`` parameter is a file (even an empty name), any other
a text field (UTF-8, undecodable bytes replaced, at most ``max_form_field_bytes``); beyond
``max_form_parts`` parts or a text field's limit the reader keeps the sentence that refuses the body.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from python_multipart.multipart import parse_options_header

from .errors import NO_NAME, field_too_large, too_many_parts


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


_TOKEN = re.compile(rb"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_PLAIN_HEADERS = 8                   # python-multipart's own limit per part (DEFAULT_MAX_HEADER_COUNT)
_PLAIN_HEADER_BYTES = 4096           # below python-multipart's DEFAULT_MAX_HEADER_SIZE


def read_plain(raw: bytes, boundary: bytes, reader: PartReader) -> bool:
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


@functools.lru_cache(maxsize=256)
def _disposition(value: bytes) -> tuple[bytes, dict[bytes, bytes]]:
    """``parse_options_header``, remembered: clients send the same few part headers every time
    (the answer is only read)."""
    return parse_options_header(value)


class PartReader:
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

