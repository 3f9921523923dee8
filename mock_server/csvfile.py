"""Streaming CSV reading and validation shared by both providers.

The file is read once, line by line, with ``csv.reader``; nothing holds a list of rows. What is
kept is compact (:class:`Rows`): the original UTF-8 bytes plus one offset per record, so a
million-row upload costs its own size plus 8 bytes a row, and any row can be parsed again on
demand for inspection.

File-level problems (encoding, header, empty file, too many rows) stop the read. Row-level
problems (a row of the wrong width, a first-column value that fails the provider's pattern) are
collected with their 1-based line, column, value (cut to 50 characters) and reason: with
``invalid_rows="reject"`` they reject the file, with ``"skip"`` the rows are kept and marked
invalid so the provider can record them as failed messages. Blank lines are ignored.
"""

from __future__ import annotations

import bisect
import csv
import io
import re
from array import array
from dataclasses import dataclass, field

MAX_LISTED = 100
VALUE_CUT = 50
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class CsvIssue:
    """One problem found in a file, in the words every envelope needs."""

    line: int | None
    column: str | None
    value: str | None
    reason: str
    code: str

    def to_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "value": self.value, "reason": self.reason}

    def describe(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        prefix = ", ".join(where)
        shown = f" (value '{self.value}')" if self.value is not None else ""
        return f"{prefix}: {self.reason}{shown}" if prefix else f"{self.reason}{shown}"


class CsvRejected(Exception):
    """The file breaks a rule; ``issues`` lists at most 100 of the ``total`` problems."""

    def __init__(self, issues: list[CsvIssue], total: int | None = None) -> None:
        super().__init__(issues[0].describe() if issues else "invalid CSV")
        self.issues = issues[:MAX_LISTED]
        self.total = total if total is not None else len(issues)


@dataclass(frozen=True)
class CsvRules:
    """What a provider demands of a file.

    :param header_pattern: every header name must fully match it (None: only non-empty).
    :param first_column_pattern: every first-column value must fully match it (None: any).
    :param first_column_reason: the reason given when it does not.
    """

    max_rows: int = 1_000_000
    invalid_rows: str = "reject"
    header_pattern: re.Pattern | None = None
    header_reason: str = "header names must not be empty"
    first_column_pattern: re.Pattern | None = None
    first_column_reason: str = "invalid value"


class Rows:
    """The accepted records of one file, stored as the file's bytes plus record offsets."""

    __slots__ = ("_data", "_offsets", "_lines", "header", "invalid")

    def __init__(self, data: bytes, offsets: array, lines: array, header: list[str],
                 invalid: dict[int, str]) -> None:
        self._data = data
        self._offsets = offsets      # start of record i; the last entry is the end of the last record
        self._lines = lines          # 1-based file line where record i starts
        self.header = header
        self.invalid = invalid       # record index -> reason, for rows kept under invalid_rows=skip

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def row(self, index: int) -> list[str]:
        """Record ``index`` (0-based) as a list of cells."""
        raw = self._data[self._offsets[index]:self._offsets[index + 1]].decode("utf-8")
        cells = next(csv.reader(io.StringIO(raw)), [])
        return cells

    def iter_rows(self):
        """Every record in order, parsed by one ``csv.reader`` over the stored bytes (fast)."""
        if len(self) == 0:
            return
        start = self._offsets[0]
        stream = io.TextIOWrapper(io.BytesIO(self._data[start:]), encoding="utf-8", newline="")
        for cells in csv.reader(stream):
            if cells:
                yield cells

    def record(self, index: int) -> dict[str, str]:
        """Record ``index`` as ``{header: cell}`` (missing cells are empty strings)."""
        cells = self.row(index)
        return {name: cells[i] if i < len(cells) else "" for i, name in enumerate(self.header)}

    def first_cell(self, index: int) -> str:
        cells = self.row(index)
        return cells[0] if cells else ""

    def first_cells_starting(self, prefix: str) -> dict[int, str]:
        """``{index: first cell}`` of the records whose first cell starts with ``prefix``.

        Searches the raw bytes (C speed) for a record start followed by the prefix, so finding
        the few reserved recipients of a million-row file does not parse every row.
        """
        found: dict[int, str] = {}
        needle = prefix.encode("utf-8")
        for lead in (b"\n", b'\n"'):
            target = lead + needle
            position = self._data.find(target)
            while position >= 0:
                index = bisect.bisect_right(self._offsets, position + 1) - 1
                if 0 <= index < len(self) and self._offsets[index] == position + 1:
                    cell = self.first_cell(index)
                    if cell.startswith(prefix):
                        found[index] = cell
                position = self._data.find(target, position + 1)
        return found

    def line(self, index: int) -> int:
        return self._lines[index]

    @property
    def nbytes(self) -> int:
        return len(self._data) + self._offsets.itemsize * len(self._offsets) + self._lines.itemsize * len(self._lines)


@dataclass
class _Collector:
    issues: list[CsvIssue] = field(default_factory=list)
    total: int = 0

    def add(self, issue: CsvIssue) -> None:
        self.total += 1
        if len(self.issues) < MAX_LISTED:
            self.issues.append(issue)


def cut(value: str | None) -> str | None:
    if value is None:
        return None
    return value if len(value) <= VALUE_CUT else value[:VALUE_CUT]


def read_csv(data: bytes, rules: CsvRules) -> Rows:
    """Validate ``data`` against ``rules`` and return its rows; raise :class:`CsvRejected`."""
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
    try:
        header = _read_header(reader, rules, state)
        return _read_records(data, reader, header, rules, state)
    except csv.Error as exc:
        raise CsvRejected([CsvIssue(reader.line_num or None, None, None, f"the file is not valid CSV: {exc}", "syntax")]) from None


def _read_header(reader, rules: CsvRules, state: list) -> list[str]:
    for header in reader:
        if header:
            break
        state[2] = True
    else:
        raise CsvRejected([CsvIssue(None, None, None, "the file is empty: it needs a header row and at least one data row", "empty")])
    line = state[1]
    state[2] = True
    problems = _Collector()
    seen: dict[str, int] = {}
    for index, name in enumerate(header):
        column = f"#{index + 1}"
        if rules.header_pattern is not None and not rules.header_pattern.fullmatch(name):
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
    offsets, lines = array("Q"), array("I")
    add_offset, add_line = offsets.append, lines.append
    invalid: dict[int, str] = {}
    problems = _Collector()
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
