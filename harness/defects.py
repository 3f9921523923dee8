"""The kinds of broken (or valid but tricky) CSV files, and what the mock should say about them.

Scopes
- file kinds change the whole file once: its header, encoding prefix, name or emptiness;
- row kinds change some data rows; ``RowDefects.apply`` is the only code that edits a row.

What the mock should do (``expected_problems``) follows CONTRACT.md §4/§5.  Header rules are
checked on the header actually written (``header_problems``), so combinations and corner cases
(``no-header`` with a first row that happens to look like a header) get the right answer.
Decisions:
- ``header-space`` / ``header-punctuation`` ADD a column (``customer name`` / ``customer-name!``,
  first names) instead of renaming one, so the bad name is the only defect.  indigitall does not
  restrict header characters, so there they are accepted.  ``header-duplicate`` adds a copy of
  the last column (same name, same values).
- ``missing-variable`` drops the last column the request needs (Jelou: a ``params`` column;
  indigitall: a layout variable other than the phone).
- indigitall ``contactCode`` only has to be non-empty (CONTRACT §5; the mock's setting
  ``indigitall.contact_code_pattern`` is unset by default), so phone-* kinds are ACCEPTED by
  indigitall: ``INDIGITALL_CHECKS_PHONE`` is read from the mock's defaults, not restated here.
"""
from __future__ import annotations

import random
import re
from typing import NamedTuple

from .sibling import mock_server_module

_MOCK_DEFAULTS = mock_server_module("settings").defaults()

HEADER_SPACE = "header-space"
HEADER_PUNCTUATION = "header-punctuation"
HEADER_DUPLICATE = "header-duplicate"
NO_HEADER = "no-header"
PHONE_PLUS = "phone-plus"
PHONE_SHORT = "phone-short"
PHONE_LONG = "phone-long"
PHONE_LETTERS = "phone-letters"
RAGGED_ROW = "ragged-row"
EMPTY_FILE = "empty-file"
HEADER_ONLY = "header-only"
LATIN1 = "latin1"
WRONG_EXTENSION = "wrong-extension"
MISSING_VARIABLE = "missing-variable"
TRICKY_CELLS = "tricky-cells"
BOM = "bom"

KINDS: dict[str, str] = {  # name -> description, in the order --list-invalid prints them
    HEADER_SPACE: "adds a column named 'customer name' (space in a header name)",
    HEADER_PUNCTUATION: "adds a column named 'customer-name!' (punctuation in a header name)",
    HEADER_DUPLICATE: "adds a second column with the last column's name and values",
    NO_HEADER: "leaves the header out: the first line is data",
    PHONE_PLUS: "puts '+' before the phone",
    PHONE_SHORT: "cuts the phone to 7 digits",
    PHONE_LONG: "extends the phone to 16 digits",
    PHONE_LETTERS: "replaces 3 digits of the phone with letters",
    RAGGED_ROW: "drops the last cell of a row or adds an extra one",
    EMPTY_FILE: "writes 0 bytes",
    HEADER_ONLY: "writes the header and no data rows",
    LATIN1: "writes a row in latin-1 with accented text (not valid UTF-8)",
    WRONG_EXTENSION: "valid content, but the suggested file name ends in .txt",
    MISSING_VARIABLE: "drops a column that params (Jelou) or the layout (indigitall) needs",
    TRICKY_CELLS: "VALID: quotes, newlines, commas, backslashes, emoji, {{name}} text in cells",
    BOM: "VALID: starts with a UTF-8 byte order mark",
}
ROW_KINDS = (PHONE_PLUS, PHONE_SHORT, PHONE_LONG, PHONE_LETTERS, RAGGED_ROW, LATIN1, TRICKY_CELLS)
PHONE_KINDS = (PHONE_PLUS, PHONE_SHORT, PHONE_LONG, PHONE_LETTERS)
HEADER_KINDS = (HEADER_SPACE, HEADER_PUNCTUATION, HEADER_DUPLICATE)
# The mock checks contactCode against a pattern only when the setting is given (default: None).
INDIGITALL_CHECKS_PHONE = _MOCK_DEFAULTS.indigitall.contact_code_pattern is not None

PHONE_RULE = "phone must match ^[1-9][0-9]{7,14}$ (international code, no '+')"
JELOU_HEADER = re.compile(r"[A-Za-z0-9_]+")  # used with fullmatch
EXTRA_COLUMNS = {HEADER_SPACE: "customer name", HEADER_PUNCTUATION: "customer-name!"}

# Each value must survive a CSV round trip and JSON rendering unchanged.
TRICKY_VALUES = (
    'She said "hi" and left',
    "two\nlines",
    "comma, inside",
    "back\\slash and \\n (not a newline)",
    "emoji 🎉 ñandú 中文 ✓",
    "{{name}} {{1}} {{contactCode}}",
    '{"json": "looking", "n": 1}',
    "=SUM(A1:A2);'quote'\ttab",
)
LATIN1_TEXTS = ("José", "Inés", "Begoña", "Martín", "Conceição", "Sofía", "Héctor", "Ángela")

_FIXED_REASONS = {
    RAGGED_ROW: "every row must have as many cells as the header",
    LATIN1: "the file must be UTF-8",
    EMPTY_FILE: "the file is empty",
    HEADER_ONLY: "at least one data row is needed",
}


class Defect(NamedTuple):
    """One applied kind: ``line`` is the 1-based physical line where the record starts."""

    kind: str
    line: int | None
    column: str | None = None
    value: str | None = None


def check_kinds(kinds) -> tuple[str, ...]:
    """Validate and normalise the requested kinds (unique, table order); a str is one kind."""
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown invalid kind(s) {', '.join(map(repr, unknown))}; "
                         f"valid: {', '.join(KINDS)}")
    chosen = tuple(k for k in KINDS if k in set(kinds))
    rows = [k for k in chosen if k in ROW_KINDS]
    if EMPTY_FILE in chosen and len(chosen) > 1:
        raise ValueError("empty-file writes 0 bytes; it cannot be combined with other kinds")
    if HEADER_ONLY in chosen and (rows or NO_HEADER in chosen):
        raise ValueError(f"header-only has no data rows; drop {', '.join(rows or [NO_HEADER])}")
    if NO_HEADER in chosen and any(k in chosen for k in HEADER_KINDS):
        raise ValueError("no-header leaves out the header; header-* kinds need one")
    return chosen


def header_problems(provider: str, required: list[str], header: list[str]) -> list[str]:
    """What the mock should object to in ``header`` (empty list: the header is fine)."""
    problems = []
    if provider == "jelou":
        bad = [h for h in header if not JELOU_HEADER.fullmatch(h)]
        if bad:
            problems.append(f"header names must match ^[A-Za-z0-9_]+$: {bad[:3]}")
    elif any(not h for h in header):
        problems.append("header names must not be empty")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        problems.append(f"header names must be unique: {dupes[:3]}")
    missing = [c for c in required if c not in header]
    if missing:
        what = "params columns" if provider == "jelou" else "layout variables"
        problems.append(f"{what} missing from the header: {missing}")
    return problems


def kind_problem(kind: str, provider: str) -> str | None:
    """Why the mock should reject a file because of ``kind`` alone (header kinds: None)."""
    if kind in PHONE_KINDS:
        return PHONE_RULE if provider == "jelou" or INDIGITALL_CHECKS_PHONE else None
    if kind == WRONG_EXTENSION:
        return "the file name must end in .csv" if provider == "jelou" else None
    return _FIXED_REASONS.get(kind)


def plan_rows(kinds, rows: int, rng: random.Random, first: int = 1) -> dict[int, str]:
    """Rows that always carry a row kind, whatever the rate: one per defect kind, and each of
    TRICKY_VALUES once for tricky-cells (as many as fit).  Positions come from ``rng``, >= first."""
    row_kinds = [k for k in kinds if k in ROW_KINDS]
    if not row_kinds:
        return {}
    available = max(0, rows - first + 1)
    defects = [k for k in row_kinds if k != TRICKY_CELLS]
    if available < len(defects):
        raise ValueError(f"{', '.join(defects)} need at least {len(defects) + first - 1} rows")
    wanted = list(defects)
    if TRICKY_CELLS in row_kinds:
        wanted += [TRICKY_CELLS] * max(1, min(len(TRICKY_VALUES), available - len(defects)))
    positions = rng.sample(range(first, rows + 1), min(len(wanted), available))
    return dict(zip(positions, wanted))


class RowDefects:
    """Applies row kinds to rows; the single place that edits row contents."""

    def __init__(self, header: list[str], phone_index: int, text_index: int | None,
                 rng: random.Random):
        self.header, self.phone_index, self.text_index, self.rng = header, phone_index, text_index, rng
        self.tricky_used = 0

    def apply(self, kind: str, row: list[str]) -> tuple[str | None, str]:
        """Edit ``row`` in place; return (column name, new value) for the report."""
        rng, pi = self.rng, self.phone_index
        if kind in PHONE_KINDS:
            phone = row[pi]
            if kind == PHONE_PLUS:
                phone = "+" + phone
            elif kind == PHONE_SHORT:
                phone = phone[:7]
            elif kind == PHONE_LONG:
                phone = (phone + f"{rng.randrange(10**16):016d}")[:16]
            else:
                phone = phone[:4] + "".join(rng.choice("ABCDEFGHJK") for _ in range(3)) + phone[7:]
            row[pi] = phone
            return self.header[pi], phone
        if kind == RAGGED_ROW:
            if len(row) > 1 and rng.random() < 0.5:
                row.pop()
                return self.header[len(row)], f"{len(row)} cells, header has {len(self.header)}"
            row.append("extra")
            return None, f"{len(row)} cells, header has {len(self.header)}"
        if kind == LATIN1:
            row[self.text_index] = rng.choice(LATIN1_TEXTS)
        elif kind == TRICKY_CELLS:
            row[self.text_index] = TRICKY_VALUES[self.tricky_used % len(TRICKY_VALUES)]
            self.tricky_used += 1
        else:
            raise ValueError(f"{kind} is not a row kind")
        return self.header[self.text_index], row[self.text_index]
