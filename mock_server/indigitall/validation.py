"""Upload-time checks of every row, rendering only the layout fields that need checking.

Rendering a whole layout for each of a million rows is too slow, and unnecessary: only five
fields can make a message invalid, and a field without placeholders is the same for every row
(``layout.structure_problems`` checks it once). So :class:`Checker` binds the checked strings that
hold placeholders to column positions, and :func:`scan` reads the file once more with one
``csv.reader``, computing per row only those strings:

- ``contactCode`` non-empty (and matching ``indigitall.contact_code_pattern`` when set);
- ``channelType`` in ``indigitall.channel_types``; ``sendType`` in ``indigitall.send_types``;
- ``content.body`` or ``content.template.name`` non-empty.

Broken rows are listed (``invalid_rows: reject``) or become failed messages (``skip``). Two more
things are learnt in the same pass, because they also come from rendered fields: recipients whose
``contactCode`` is reserved (``999`` + two digits, see ``delivery.RESERVED``) and rows naming a
template the application does not know, which fail **at send time**, not the request. Only the
indexes of those rows are kept (4 bytes each); their reasons are recomputed when inspected.
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass, field
from typing import Callable

from ..csvfile import MAX_LISTED, Rows, cut
from ..delivery import INVALID, RESERVED_PREFIX, reserved_outcome
from .layout import (BODY, CHANNEL, CONTACT, SEND_TYPE, TEMPLATE_NAME, Layout, Text, choice_reason,
                     contact_reason, dotted)

Render = Callable[[list[str]], str]
Test = Callable[[str], "str | None"]


class Checker:
    """Per-row checks of one layout against one CSV header."""

    def __init__(self, layout: Layout, header: list[str], channel_types: list[str], send_types: list[str],
                 contact_pattern: re.Pattern | None, templates: list[str]) -> None:
        self.checks: list[tuple[str, str, Render, Test]] = []   # (layout path, columns, render, test)
        self.templates = frozenset(templates)
        self.contact = self._add(layout, header, CONTACT, lambda value: contact_reason(value, contact_pattern))
        channels, sends = frozenset(channel_types), frozenset(send_types)
        self._add(layout, header, CHANNEL,
                  lambda value: None if value in channels else choice_reason(CHANNEL, value, channel_types))
        self._add(layout, header, SEND_TYPE,
                  lambda value: None if value in sends else choice_reason(SEND_TYPE, value, send_types))
        self._add(layout, header, BODY, lambda value: None if value else "content.body is empty", only_empty=True)
        self.template_name = self._add(layout, header, TEMPLATE_NAME,
                                       lambda value: None if value else "content.template.name is empty",
                                       only_empty=True)

    def _add(self, layout: Layout, header: list[str], path: tuple[str, ...], test: Test,
             only_empty: bool = False) -> Render | None:
        """Register ``path``'s check if its value varies per row; return its renderer (None: absent).

        ``only_empty``: the check only rejects an empty value, so a string with literal text
        around its placeholders needs no check.
        """
        value = layout.value_at(path)
        if isinstance(value, str):
            return lambda cells: value
        if not isinstance(value, Text):
            return None
        render = value.bind(header)
        if not (only_empty and value.literal_text):
            self.checks.append((dotted(path), ",".join(dict.fromkeys(value.names)), render, test))
        return render

    def problems(self, cells: list[str]) -> list[tuple[str, str, str, str]]:
        """``(layout path, columns, rendered value, reason)`` for every check the row fails."""
        found = []
        for path, columns, render, test in self.checks:
            value = render(cells)
            reason = test(value)
            if reason:
                found.append((path, columns, value, reason))
        return found

    def send_failure(self, cells: list[str]) -> str | None:
        """Why the message of a valid row fails when sent (an unknown template), or None."""
        if self.template_name is None:
            return None
        name = self.template_name(cells)
        if name in self.templates:
            return None
        return f"Template '{name}' does not exist in this application (known: {', '.join(sorted(self.templates)) or 'none'})"


@dataclass
class Scan:
    """What the pass found: listed problems (≤ 100), their total, rows with a special outcome."""

    issues: list[dict] = field(default_factory=list)
    total: int = 0
    indexes: array = field(default_factory=lambda: array("I"))
    codes: bytearray = field(default_factory=bytearray)

    def mark(self, index: int, code: int) -> None:
        self.indexes.append(index)
        self.codes.append(code)

    def apply(self, outcomes: bytearray) -> None:
        for index, code in zip(self.indexes, self.codes):
            outcomes[index] = code


def scan(checker: Checker, rows: Rows, skip: bool) -> Scan:
    """Check every row of a file already accepted by ``read_csv`` (one pass, ``Rows.iter_rows``)."""
    result = Scan()
    width = len(rows.header)
    checks = checker.checks
    contact = checker.contact
    template_name, templates = checker.template_name, checker.templates
    for index, cells in enumerate(rows.iter_rows()):
        if len(cells) != width:
            continue            # kept by invalid_rows=skip; already in rows.invalid
        if checks:
            problems = checker.problems(cells)
            if problems:
                result.total += len(problems)
                for path, columns, value, reason in problems:
                    if len(result.issues) < MAX_LISTED:
                        line = rows.line(index)
                        result.issues.append({"field": "file", "line": line, "column": columns, "value": cut(value),
                                              "reason": reason, "layoutPath": path, "message": f"line {line}: {reason}"})
                if skip:
                    result.mark(index, INVALID)
                continue
        if template_name is not None and template_name(cells) not in templates:
            result.mark(index, INVALID)
            continue
        if contact is not None:
            recipient = contact(cells)
            if recipient.startswith(RESERVED_PREFIX):
                code = reserved_outcome(recipient)
                if code is not None:
                    result.mark(index, code)
    return result
