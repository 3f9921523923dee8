"""The problems a CSV file can have, worded for every envelope (line, column, value, reason)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field

MAX_LISTED = 100
VALUE_CUT = 50
_FIELD_LIMIT = "field larger than field limit"
_LONE_CR = "new-line character seen in unquoted field"
_END_OF_DATA = "unexpected end of data"
# Any cell, line breaks inside quotes included (to find the column of an over-long cell).
_ANY_CELL = re.compile(rb'"(?:[^"]++|"")*+"?|[^,\r\n]*+')


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

    def describe(self, words: tuple[str, str, str] = ("line", "column", "value"), reason: str | None = None) -> str:
        """``line 2, column 'phone': reason (value '...')``; ``words`` and ``reason`` translate it."""
        line, column, value = words
        where = []
        if self.line is not None:
            where.append(f"{line} {self.line}")
        if self.column is not None:
            where.append(f"{column} '{self.column}'")
        prefix = ", ".join(where)
        text = self.reason if reason is None else reason
        shown = f" ({value} '{self.value}')" if self.value is not None else ""
        return f"{prefix}: {text}{shown}" if prefix else f"{text}{shown}"


class CsvRejected(Exception):
    """The file breaks a rule; ``issues`` lists at most 100 of the ``total`` problems."""

    def __init__(self, issues: list[CsvIssue], total: int | None = None) -> None:
        super().__init__(issues[0].describe() if issues else "invalid CSV")
        self.issues = issues[:MAX_LISTED]
        self.total = total if total is not None else len(issues)


@dataclass
class Collector:
    """Counts every issue, keeps the first ``MAX_LISTED``."""

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


def long_cell(line: int, column: str, cell: str, limit: int) -> CsvIssue:
    return CsvIssue(line, column, cut(cell), f"the cell has {len(cell):,} characters; at most "
                    f"{limit:,} are accepted (setting max_cell_chars)", "cell_too_long")


def nul_header(line: int) -> CsvIssue:
    return CsvIssue(line, None, None, "the header contains NUL bytes: the file looks UTF-16 encoded or binary "
                    "(save it as 'CSV UTF-8')", "encoding")


def explain_csv_error(exc: csv.Error, data: bytes, state: list, limit: int, header: list[str] | None,
                      line_num: int) -> CsvIssue:
    """The issue for an error of ``csv.reader`` in the record starting at ``state`` (offset, line)."""
    message = str(exc)
    if message.startswith(_FIELD_LIMIT):
        return _long_cell_at(data, state, limit, header)
    if message.startswith(_LONE_CR):
        return CsvIssue(state[1], None, None, "the file is not valid CSV: a line ends with a lone carriage return "
                        "(CR); save the file with LF or CRLF line endings", "syntax")
    if message.startswith(_END_OF_DATA):
        return CsvIssue(state[1], None, None, "the file is not valid CSV: a quoted cell starting on this line is "
                        "never closed (unexpected end of data)", "syntax")
    return CsvIssue(line_num or None, None, None, f"the file is not valid CSV: {message}", "syntax")


def _long_cell_at(data: bytes, state: list, limit: int, header: list[str] | None) -> CsvIssue:
    """The issue for the record ``csv`` stopped in (at ``state``) because a cell outgrew its limit.

    ``csv`` does not say which cell: the raw record is scanned once more to find it (error path only).
    """
    position, index = state[0], 0
    while position <= len(data):
        match = _ANY_CELL.match(data, position)
        raw = match.group()
        text = raw.decode("utf-8", "replace")
        if raw.startswith(b'"'):
            text = text[1:-1 if raw.endswith(b'"') and len(raw) > 1 else None].replace('""', '"')
        if len(text) > limit:
            column = header[index] if header and index < len(header) else f"#{index + 1}"
            return long_cell(state[1], column, text, limit)
        position, index = match.end() + 1, index + 1
        if data[match.end():match.end() + 1] != b",":
            break
    return CsvIssue(state[1], None, None, f"a cell is longer than the {limit:,} characters accepted "
                    "(setting max_cell_chars)", "cell_too_long")
