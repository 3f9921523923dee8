"""A hostile-input corpus of CSV uploads: each case builds a file for either provider.

A case is a generator, not a stored file: it takes the provider's :class:`Shape` (its header and
how a valid row looks) and returns ``(bytes, filename)``, so both providers get the same attack
in their own column layout. ``expect`` says what a careful mock must do: ``"accept"`` (the file
is fine; what is read back must equal what a strict CSV reader sees) or ``"reject"`` (a 4xx whose
message contains ``hint``). ``per_provider`` overrides ``expect`` where the providers' documented
rules differ (Jelou wants a ``.csv`` name and a phone in the first column).
"""

from __future__ import annotations

import gzip
import io
import random
import zipfile
from dataclasses import dataclass, field
from typing import Callable

MAX_CELL = 131_072          # the default max_cell_chars of both providers
MAX_ROWS = 20               # the corpus runs with max_rows at 20, so "over the cap" stays small


@dataclass(frozen=True)
class Shape:
    """A provider's CSV layout: the header and a valid row carrying ``text`` in its free-text column."""

    name: str
    header: tuple[str, ...]
    row: Callable[[int, str], list[str]]

    def lines(self, rows: list[list[str]], *, newline: str = "\n") -> str:
        return newline.join([",".join(self.header), *(",".join(_quote(c) for c in cells) for cells in rows)]) + newline

    def file(self, texts: list[str], **kwargs) -> bytes:
        return self.lines([self.row(i, text) for i, text in enumerate(texts)], **kwargs).encode("utf-8")


def _quote(cell: str) -> str:
    if any(ch in cell for ch in ',"\r\n') or cell != cell.strip(" "):
        return '"' + cell.replace('"', '""') + '"'
    return cell


JELOU = Shape("jelou", ("phone_number", "order_id", "amount", "delivery"),
              lambda i, text: [f"5939{i:08d}", text, "1", "2"])
INDIGITALL = Shape("indigitall", ("contactCode", "channelType", "name"),
                   lambda i, text: [f"346{i:08d}", "cloud_api", text])
SHAPES = (JELOU, INDIGITALL)


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Shape], tuple[bytes, str] | bytes]
    expect: str = "reject"
    hint: str = ""
    per_provider: dict[str, tuple[str, str]] = field(default_factory=dict)

    def outcome(self, shape: Shape) -> tuple[str, str]:
        return self.per_provider.get(shape.name, (self.expect, self.hint))

    def make(self, shape: Shape) -> tuple[bytes, str]:
        built = self.build(shape)
        return built if isinstance(built, tuple) else (built, "recipients.csv")


def _header(shape: Shape) -> str:
    return ",".join(shape.header)


def _raw(shape: Shape, body: str) -> bytes:
    """The header, then ``body`` verbatim (rows already written with the provider's first cells)."""
    return (_header(shape) + "\n" + body).encode("utf-8")


def _row_with(shape: Shape, raw_text: str, i: int = 0) -> str:
    """A row whose free-text cell is written raw (no quoting), to build broken syntax."""
    cells = shape.row(i, "\x00PLACEHOLDER\x00")
    return ",".join(raw_text if c == "\x00PLACEHOLDER\x00" else c for c in cells)


def _seeded_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


UTF8_WEIRD = "emoji 😀 RTL \u202e zero\u200bwidth combining e\u0301 CJK 漢字 astral 𝄞"

CASES: list[Case] = [
    # -- accepted as they are ---------------------------------------------------------------
    Case("baseline", lambda s: s.file(["plain", "text"]), "accept"),
    Case("utf8-bom", lambda s: b"\xef\xbb\xbf" + s.file(["with bom"]), "accept"),
    Case("crlf", lambda s: s.file(["a", "b"], newline="\r\n"), "accept"),
    Case("unicode-text", lambda s: s.file([UTF8_WEIRD, "ñandú"]), "accept"),
    Case("unicode-line-separators", lambda s: s.file(["a\u2028b\u2029c\x85d\x0bv\x0cf\x1cg"]), "accept"),
    Case("quoted-newline", lambda s: s.file(["line one\nline two", "cr\r\ninside"]), "accept"),
    Case("escaped-quotes", lambda s: s.file(['say ""hi""', '"', '""""']), "accept"),
    Case("json-breaking", lambda s: s.file(['{"a":', "\\", '\\"', "</script>", "\u0000nul", "\ud7ff"]), "accept"),
    Case("formula-injection", lambda s: s.file(["=cmd|' /C calc'!A0", "+1+1", "@SUM(A1)", "-2"]), "accept"),
    Case("nul-in-cell", lambda s: s.file(["a\x00b"]), "accept"),
    Case("control-chars", lambda s: s.file(["".join(chr(c) for c in range(1, 32) if c not in (10, 13))]), "accept"),
    Case("cell-at-limit", lambda s: s.file(["x" * MAX_CELL]), "accept"),
    Case("multibyte-cell-at-limit", lambda s: s.file(["é" * MAX_CELL]), "accept"),
    Case("blank-lines-between", lambda s: _raw(s, _row_with(s, "a") + "\n\n\n" + _row_with(s, "b", 1) + "\n"), "accept"),
    Case("no-final-newline", lambda s: s.file(["last"]).rstrip(b"\n"), "accept"),
    Case("cap-rows-exactly", lambda s: s.file([f"r{i}" for i in range(MAX_ROWS)]), "accept"),
    Case("spaces-around", lambda s: s.file(["  padded  ", "\ttab"]), "accept"),
    Case("ctrl-z-cell", lambda s: s.file(["end\x1a"]), "accept"),
    # -- encodings ------------------------------------------------------------------------------
    Case("bom-only", lambda s: b"\xef\xbb\xbf", hint="empty"),
    Case("empty", lambda s: b"", hint="empty"),
    Case("newlines-only", lambda s: b"\n\r\n\n", hint="empty"),
    Case("header-only", lambda s: (_header(s) + "\n").encode(), hint="no data rows"),
    Case("bom-header-only", lambda s: b"\xef\xbb\xbf" + (_header(s) + "\n").encode(), hint="no data rows"),
    Case("utf16-le-bom", lambda s: s.lines([s.row(0, "x")]).encode("utf-16"), hint="UTF-8"),
    Case("utf16-be", lambda s: s.lines([s.row(0, "x")]).encode("utf-16-be"), hint="UTF-16"),
    Case("latin1", lambda s: s.lines([s.row(0, "café")]).encode("latin-1"), hint="UTF-8"),
    Case("cp1252-quotes", lambda s: s.lines([s.row(0, "\u201cquoted\u201d")]).encode("cp1252"), hint="UTF-8"),
    Case("cesu-surrogate", lambda s: _raw(s, _row_with(s, "\x01") + "\n").replace(b"\x01", b"\xed\xa0\x80"), hint="UTF-8"),
    Case("overlong-utf8", lambda s: _raw(s, _row_with(s, "\x01") + "\n").replace(b"\x01", b"\xc0\xaf"), hint="UTF-8"),
    Case("nul-bytes-only", lambda s: b"\x00" * 64, hint="NUL bytes"),
    Case("random-binary", lambda s: _seeded_bytes(4096, 8), hint=""),
    # -- syntax ---------------------------------------------------------------------------------
    Case("cr-only", lambda s: s.file(["a", "b"], newline="\r"), hint="carriage return"),
    Case("unterminated-quote-last", lambda s: _raw(s, _row_with(s, '"never closed')), hint="line 2"),
    Case("unterminated-quote-middle", lambda s: _raw(s, _row_with(s, '"open') + "\n" + _row_with(s, "b", 1) + "\n"),
         hint="line 2"),
    Case("quote-in-unquoted", lambda s: _raw(s, _row_with(s, 'a"b') + "\n"), "accept"),
    Case("garbage-after-quote", lambda s: _raw(s, _row_with(s, '"abc"def') + "\n"), hint="line 2"),
    Case("short-row", lambda s: _raw(s, ",".join(s.row(0, "x")[:-1]) + "\n"), hint="line 2"),
    Case("trailing-comma", lambda s: _raw(s, _row_with(s, "x") + ",\n"), hint="line 2"),
    Case("commas-only-line", lambda s: _raw(s, "," * 5000 + "\n"), hint="line 2"),
    Case("row-of-1000-cells", lambda s: _raw(s, _row_with(s, "x") + ",y" * 1000 + "\n"), hint="line 2"),
    Case("tab-separated", lambda s: ("\t".join(s.header) + "\n" + "\t".join(s.row(0, "x")) + "\n").encode()),
    Case("semicolon-separated", lambda s: (";".join(s.header) + "\n" + ";".join(s.row(0, "x")) + "\n").encode()),
    # -- header ---------------------------------------------------------------------------------
    Case("duplicate-header", lambda s: (_header(s) + "," + s.header[-1] + "\n" + _row_with(s, "x") + ",y\n").encode(),
         hint="duplicate"),
    Case("empty-header-name", lambda s: (_header(s) + ",\n" + _row_with(s, "x") + ",y\n").encode(), hint="line 1"),
    Case("header-10000-columns", lambda s: (_header(s) + "".join(f",c{i}" for i in range(10_000)) + "\n"
                                             + _row_with(s, "x") + ",v" * 10_000 + "\n").encode(), "accept"),
    # -- sizes ----------------------------------------------------------------------------------
    Case("cell-over-limit", lambda s: s.file(["x" * (MAX_CELL + 1)]), hint="line 2"),
    Case("quoted-cell-over-limit", lambda s: s.file(["x,\n" * (MAX_CELL // 3 + 1)]), hint="line 2"),
    Case("huge-cell-200k", lambda s: s.file(["ok", "y" * 200_000]), hint="line 3"),
    Case("huge-header-cell", lambda s: (_header(s) + "," + "h" * 200_000 + "\n" + _row_with(s, "x") + ",1\n").encode(),
         hint="line 1"),
    Case("over-cap-rows", lambda s: s.file([f"r{i}" for i in range(MAX_ROWS + 1)]), hint="more than"),
    # -- disguises ------------------------------------------------------------------------------
    Case("gzip-named-csv", lambda s: gzip.compress(s.file(["zipped"]), mtime=0), hint="UTF-8"),
    Case("zip-named-csv", lambda s: _zip(s.file(["zipped"])), hint=""),
    Case("csv-exe", lambda s: (s.file(["x"]), "recipients.csv.exe"), "accept",
         per_provider={"jelou": ("reject", ".csv")}),
    Case("uppercase-extension", lambda s: (s.file(["x"]), "RECIPIENTS.CSV"), "accept"),
    Case("no-extension", lambda s: (s.file(["x"]), "recipients"), "accept", per_provider={"jelou": ("reject", ".csv")}),
    Case("path-in-filename", lambda s: (s.file(["x"]), "../../etc/passwd.csv"), "accept"),
    Case("html-named-csv", lambda s: (b"<html><body>" + b"x" * 100 + b"</body></html>\n", "page.csv"), hint=""),
]


def _zip(content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("recipients.csv", date_time=(2026, 1, 1, 0, 0, 0)), content)
    return buffer.getvalue()
