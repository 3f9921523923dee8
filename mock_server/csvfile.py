"""Streaming CSV reading and validation shared by both providers.

The file is read once, line by line, with ``csv.reader``; nothing holds a list of rows. What is
kept is compact (:class:`Rows`): the original UTF-8 bytes plus one offset per record, so a
million-row upload costs its own size plus 8 bytes a row, and any row can be parsed again on
demand for inspection.

Fast path (``_read_fast``, tried first): one compiled *bytes* regex, possessive so it keeps no
backtracking stack, proves in C that every record sits on one line, has exactly the header's
width and a first cell matching the provider's pattern, and one ``decode`` proves the file is
UTF-8. It only ever accepts; anything it cannot prove (a bad row, quoted line breaks, blank lines,
a lone CR, a quote inside an unquoted cell, too many rows, a pattern it cannot embed safely) falls
through to the streaming reader, which finds and words every issue. Its rows are one per line,
so their offsets are the line starts, computed on first use (most stored rows are never read back).

File-level problems (encoding, header, empty file, too many rows) stop the read. Row-level
problems (a row of the wrong width, a first-column value that fails the provider's pattern) are
collected with their 1-based line, column, value (cut to 50 characters) and reason: with
``invalid_rows="reject"`` they reject the file, with ``"skip"`` the rows are kept and marked
invalid so the provider can record them as failed messages. Blank lines are ignored.

Cell size: no cell (header names included) may hold more than ``max_cell_chars`` characters
(a provider setting, default 131,072: Python's ``csv`` default); a longer one rejects the file
with its line and column, so what is stored can always be read back. Python's ``csv`` module has
one *process-wide* field limit (``csv.field_size_limit``): the reader never lowers it, and raises
it only when a setting asks for more than it allows (so embedding the mock never makes another
reader in the process stricter). The mock's own limit is checked by the mock, not by that knob.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import threading
from array import array
from dataclasses import dataclass

from .csvissues import (MAX_LISTED, VALUE_CUT, Collector, CsvIssue, CsvRejected, cut, explain_csv_error, long_cell,
                        nul_header)
from .rows import Rows

__all__ = ["BOM", "MAX_LISTED", "VALUE_CUT", "CsvIssue", "CsvRejected", "CsvRules", "Rows", "cut", "read_csv"]

BOM = b"\xef\xbb\xbf"
DEFAULT_MAX_CELL_CHARS = 131_072
_LIMIT_LOCK = threading.Lock()


@dataclass(frozen=True)
class CsvRules:
    """What a provider demands of a file.

    :param header_pattern: every header name must fully match it (None: only non-empty).
    :param first_column_pattern: every first-column value must fully match it (None: any).
    :param first_column_reason: the reason given when it does not.
    :param max_cell_chars: the longest cell (header names included), in characters.
    """

    max_rows: int = 1_000_000
    max_cell_chars: int = DEFAULT_MAX_CELL_CHARS
    invalid_rows: str = "reject"
    header_pattern: re.Pattern | None = None
    header_reason: str = "header names must not be empty"
    first_column_pattern: re.Pattern | None = None
    first_column_reason: str = "invalid value"


# A first-column pattern made only of these pieces cannot match ',', '"', CR or LF, so inside the
# fast path's regex it sees exactly the cell csv.reader sees.
_SAFE_PATTERN = re.compile(r"(?:\[(?:[A-Za-z0-9_](?:-[A-Za-z0-9_])?)+\]|[A-Za-z0-9_]|\\d|\{\d+(?:,\d*)?\}|[?*+])*")
# Quoted without line breaks or escaped quotes, or unquoted without quotes; at most %d bytes (so
# at most that many characters) inside. A file with "" escapes goes to the streaming reader.
# The classes are spelt as the bytes they allow, not as [^...]: ``re`` then tests each byte against
# its bitmap without a negation step, a fifth fewer instructions for the whole match (callgrind).
_QUOTED_BYTE = rb'[\x00-\x09\x0b\x0c\x0e-\x21\x23-\xff]'            # [^"\r\n]
_UNQUOTED_BYTE = rb'[\x00-\x09\x0b\x0c\x0e-\x21\x23-\x2b\x2d-\xff]'  # [^,"\r\n]
_CELL = b'(?:"' + _QUOTED_BYTE + b'{0,%d}+"|' + _UNQUOTED_BYTE + b'{0,%d}+)'


@functools.lru_cache(maxsize=64)
def _body_regex(width: int, first: str | None, max_bytes: int) -> re.Pattern:
    """Records of exactly ``width`` cells, one per line, the first cell matching ``first``."""
    cell = _CELL % (max_bytes, max_bytes)
    head = b"(?:" + first.encode("ascii") + b")" if first is not None else cell
    record = (b"(?=[^\r\n])" if width == 1 else b"") + head      # a blank line is no record
    record += (b"," + cell) * (width - 1) if width <= 8 else b"(?:," + cell + b"){%d}+" % (width - 1)
    return re.compile(b"(?:" + record + rb"\r?\n)*+(?:" + record + b")?")


def _read_fast(data: bytes, rules: CsvRules, newlines: int | None = None) -> Rows | None:
    """The rows of a file proved valid at C speed, or None: let the streaming reader decide."""
    pattern = rules.first_column_pattern
    if pattern is not None and (pattern.flags & ~re.UNICODE or not _SAFE_PATTERN.fullmatch(pattern.pattern)):
        return None
    start = len(BOM) if data.startswith(BOM) else 0
    end = data.find(b"\n", start)
    head = data[start:end].removesuffix(b"\r") if end >= 0 else b""
    if not head or b"\r" in head or b'"' in head or end + 1 >= len(data):
        return None
    try:
        if not data.isascii():
            data.decode("utf-8")
        header = _read_header(csv.reader([head.decode("utf-8")]), rules, [start, 1, True])
    except (UnicodeDecodeError, CsvRejected, csv.Error):
        return None
    regex = _body_regex(len(header), pattern.pattern if pattern is not None else None, rules.max_cell_chars)
    if regex.fullmatch(data, end + 1) is None:
        return None
    after_header = data.count(b"\n", end + 1) if newlines is None else newlines - data.count(b"\n", 0, end + 1)
    count = after_header + (0 if data.endswith(b"\n") else 1)
    if count > rules.max_rows:
        return None
    return Rows.one_per_line(data, end + 1, count, header)


def _raise_csv_limit(wanted: int) -> None:
    """Raise ``csv``'s process-wide field limit to ``wanted`` if lower; never lower it (see above)."""
    if csv.field_size_limit() < wanted:
        with _LIMIT_LOCK:          # two apps raising at once must leave the larger value
            if csv.field_size_limit() < wanted:
                csv.field_size_limit(wanted)


def read_csv(data: bytes, rules: CsvRules, *, newlines: int | None = None) -> Rows:
    """Validate ``data`` against ``rules`` and return its rows; raise :class:`CsvRejected`.

    :param newlines: ``data.count(b"\\n")`` when the caller has it already (an uploaded part's
        ``bodies.FilePart.newlines``, which the journal's summary counted): not counted again."""
    _raise_csv_limit(rules.max_cell_chars)
    fast = _read_fast(data, rules, newlines)
    if fast is not None:
        return fast
    start = len(BOM) if data.startswith(BOM) else 0
    if not data[start:].strip():
        raise CsvRejected([CsvIssue(None, None, None, "the file is empty: it needs a header row and at least one data row", "empty")])
    # [offset, line] of the first line of the record being read; the flag asks the line
    # generator to note the next line it hands out (csv.reader never reads ahead).
    state = [start, 1, True]

    def lines():
        offset, number = start, 0
        for raw in io.BytesIO(data[start:] if start else data):
            number += 1
            if state[2]:
                state[0], state[1], state[2] = offset, number, False
            offset += len(raw)
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad = raw[exc.start:exc.start + 1].hex()
                raise CsvRejected([CsvIssue(number, None, None,
                                            f"the file must be UTF-8 encoded: byte 0x{bad} at character {exc.start + 1} "
                                            "is not UTF-8 (save it as 'CSV UTF-8')", "encoding")]) from None

    reader = csv.reader(lines(), strict=True)
    header: list[str] | None = None
    try:
        header = _read_header(reader, rules, state)
        return _read_records(data, reader, header, rules, state)
    except csv.Error as exc:
        raise CsvRejected([explain_csv_error(exc, data, state, rules.max_cell_chars, header, reader.line_num)]) from None


def _read_header(reader, rules: CsvRules, state: list) -> list[str]:
    for header in reader:
        if header:
            break
        state[2] = True
    else:
        raise CsvRejected([CsvIssue(None, None, None, "the file is empty: it needs a header row and at least one data row", "empty")])
    line = state[1]
    state[2] = True
    if any("\x00" in name for name in header):
        raise CsvRejected([nul_header(line)])
    problems = Collector()
    seen: dict[str, int] = {}
    for index, name in enumerate(header):
        column = f"#{index + 1}"
        if len(name) > rules.max_cell_chars:
            problems.add(long_cell(line, column, name, rules.max_cell_chars))
        elif rules.header_pattern is not None and not rules.header_pattern.fullmatch(name):
            problems.add(CsvIssue(line, column, cut(name), rules.header_reason, "header"))
        elif not name.strip():
            problems.add(CsvIssue(line, column, name, "header names must not be empty", "header"))
        if name in seen:
            problems.add(CsvIssue(line, column, cut(name), f"duplicate header name (also column #{seen[name] + 1})", "header_duplicate"))
        seen.setdefault(name, index)
    if problems.total:
        raise CsvRejected(problems.issues, problems.total)
    return header


def _read_records(data: bytes, reader, header: list[str], rules: CsvRules, state: list) -> Rows:
    width = len(header)
    first_name = header[0]
    pattern = rules.first_column_pattern.fullmatch if rules.first_column_pattern is not None else None
    skip = rules.invalid_rows == "skip"
    max_rows = rules.max_rows
    max_cell = rules.max_cell_chars
    check_cells = max_cell < csv.field_size_limit()     # otherwise csv itself stops at the limit
    offsets, lines = array("Q"), array("I")
    add_offset, add_line = offsets.append, lines.append
    invalid: dict[int, str] = {}
    problems = Collector()
    count = 0
    for cells in reader:
        record_start, record_line = state[0], state[1]
        state[2] = True
        if not cells:
            continue
        if count >= max_rows:
            raise CsvRejected([CsvIssue(record_line, None, None,
                                        f"the file has more than {max_rows:,} data rows; split it into smaller files",
                                        "too_many_rows")])
        add_offset(record_start)
        add_line(record_line)
        count += 1
        if check_cells and max(map(len, cells)) > max_cell:
            at = next(i for i, cell in enumerate(cells) if len(cell) > max_cell)
            issue = long_cell(record_line, header[at] if at < width else f"#{at + 1}", cells[at], max_cell)
            raise CsvRejected([issue])
        if len(cells) != width:
            issue = CsvIssue(record_line, None, cut(",".join(cells)),
                             f"the row has {len(cells)} cells but the header has {width}", "row_width")
        elif pattern is not None and not pattern(cells[0]):
            issue = CsvIssue(record_line, first_name, cut(cells[0]), rules.first_column_reason, "first_column")
        else:
            continue
        problems.add(issue)
        if skip:
            invalid[count - 1] = issue.describe()
    if not count:
        raise CsvRejected([CsvIssue(None, None, None,
                                    "the file has a header but no data rows: add at least one recipient", "no_rows")])
    if problems.total and not skip:
        raise CsvRejected(problems.issues, problems.total)
    offsets.append(len(data))
    return Rows(data, offsets, lines, header, invalid)
