"""The ``layout`` of "Send messages from CSV": parsed once, rendered per CSV row.

Rules (CONTRACT §5 "Rendering"; research/indigitall.md §3):
- The layout is parsed as JSON once and must be an object. Placeholders ``{{name}}`` are replaced
  inside JSON **string values only**; keys, numbers, booleans and nulls are left as written. So a
  quote, a backslash, a newline or ``{{`` text in a cell can never break or inject JSON: the cell
  text becomes (part of) a string value, exactly as written in the cell.
- ``{{ name }}`` is accepted with the spaces trimmed; ``{{}}`` / ``{{  }}`` are not placeholders and
  stay as written. Names match CSV header names case-sensitively. A value that is exactly one
  placeholder becomes the cell text (still a string: ``"index": "0"`` stays ``"0"``); an empty cell
  gives ``""``. Substitution is single-pass: a cell holding ``{{other}}`` is not expanded again.
- Columns the layout does not use are ignored; variables with no column are a request error.

The message a row turns into is only rendered in full when it is inspected; at upload time only
the fields that need checking are rendered (see ``validation.py``).
"""

from __future__ import annotations

import re
from operator import itemgetter
from typing import Any, Callable, Mapping

from .. import bodies

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
MAX_DEPTH = bodies.MAX_DEPTH

# Layout paths whose rendered value the mock checks (see ``validation.Checker``).
CONTACT, CHANNEL, SEND_TYPE = ("contactCode",), ("channelType",), ("sendType",)
BODY, TEMPLATE_NAME = ("content", "body"), ("content", "template", "name")


class LayoutError(ValueError):
    """The layout text cannot be used; the message says why."""


class Text:
    """A layout string cut into literal pieces and variable names (``literals`` has one more item)."""

    __slots__ = ("literals", "names")

    def __init__(self, raw: str) -> None:
        self.literals: list[str] = []
        self.names: list[str] = []
        position = 0
        for match in PLACEHOLDER.finditer(raw):
            name = match.group(1).strip()
            if not name:
                continue            # "{{ }}" is not a placeholder: it stays in the next literal
            self.literals.append(raw[position:match.start()])
            self.names.append(name)
            position = match.end()
        self.literals.append(raw[position:])

    @property
    def is_plain(self) -> bool:
        return not self.names

    @property
    def literal_text(self) -> str:
        """The text with every placeholder removed (non-empty means the value is never empty)."""
        return "".join(self.literals)

    def render(self, values: Mapping[str, str]) -> str:
        if len(self.names) == 1 and not self.literals[0] and not self.literals[1]:
            return values.get(self.names[0], "")
        out = [self.literals[0]]
        for name, literal in zip(self.names, self.literals[1:]):
            out.append(values.get(name, ""))
            out.append(literal)
        return "".join(out)

    def bind(self, header: list[str]) -> Callable[[list[str]], str]:
        """A fast ``cells -> rendered text`` for rows of a file with ``header`` (every name present)."""
        index = {name: position for position, name in enumerate(header)}
        positions = [index[name] for name in self.names]
        literals = self.literals
        if not positions:
            text = literals[0]
            return lambda cells: text
        if len(positions) == 1 and not literals[0] and not literals[1]:
            return itemgetter(positions[0])
        pairs = list(zip(positions, literals[1:]))
        head = literals[0]

        def render(cells: list[str]) -> str:
            out = [head]
            for position, literal in pairs:
                out.append(cells[position])
                out.append(literal)
            return "".join(out)
        return render


class Layout:
    """A parsed layout: the JSON tree, its strings compiled, and the variables it uses."""

    def __init__(self, tree: dict) -> None:
        self.tree = tree
        self.variables: list[str] = []
        self._compiled = self._compile(tree)

    @classmethod
    def parse(cls, text: str) -> "Layout":
        try:
            tree = bodies.loads(text, "layout")
        except bodies.BodyError as exc:
            raise LayoutError(str(exc).rstrip(".")) from None
        if not isinstance(tree, dict):
            raise LayoutError(f"layout must be a JSON object, not {_kind(tree)}")
        return cls(tree)

    def _compile(self, node: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise LayoutError(f"layout is nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, str):
            text = Text(node)
            for name in text.names:
                if name not in self.variables:
                    self.variables.append(name)
            return node if text.is_plain else text
        if isinstance(node, dict):
            return {key: self._compile(value, depth + 1) for key, value in node.items()}
        if isinstance(node, list):
            return [self._compile(value, depth + 1) for value in node]
        return node

    def value_at(self, path: tuple[str, ...]) -> Any:
        """The compiled value at ``path`` (a ``Text`` when it has placeholders), or ``MISSING``."""
        node = self._compiled
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return MISSING
            node = node[key]
        return node

    def render(self, values: Mapping[str, str]) -> dict:
        """The message for one row: ``values`` maps header names to the row's cells."""
        return _render(self._compiled, values)


MISSING = object()


def _render(node: Any, values: Mapping[str, str]) -> Any:
    if isinstance(node, Text):
        return node.render(values)
    if isinstance(node, dict):
        return {key: _render(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_render(value, values) for value in node]
    return node


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, (str, Text)):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


def dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)


def structure_problems(layout: Layout, channel_types: list[str], send_types: list[str],
                       contact_pattern: re.Pattern | None) -> list[str]:
    """What is wrong with the layout whatever the CSV holds (fields missing or fixed to bad values).

    Fields holding placeholders are checked per row instead (``validation.Checker``).
    """
    problems: list[str] = []

    def string(path: tuple[str, ...], example: str) -> Any:
        value = layout.value_at(path)
        if value is MISSING:
            problems.append(f"layout.{dotted(path)} is required (for example \"{example}\")")
            return MISSING
        if not isinstance(value, (str, Text)):
            problems.append(f"layout.{dotted(path)} must be a string, not {_kind(value)}")
            return MISSING
        return value

    contact = string(CONTACT, "{{contactCode}}")
    if isinstance(contact, str):
        problems.extend(f"layout.contactCode: {reason}" for reason in
                        filter(None, [contact_reason(contact, contact_pattern)]))
    for path, allowed in ((CHANNEL, channel_types), (SEND_TYPE, send_types)):
        value = string(path, allowed[0] if allowed else "")
        if isinstance(value, str) and value not in allowed:
            problems.append(f"layout.{dotted(path)}: {choice_reason(path, value, allowed)}")
    content = layout.value_at(("content",))
    if content is MISSING or not isinstance(content, dict):
        what = "is required" if content is MISSING else f"must be an object, not {_kind(content)}"
        problems.append(f"layout.content {what} (with either \"body\" or \"template\")")
        return problems
    present = [key for key in ("body", "template") if key in content]
    if len(present) != 1:
        problems.append("layout.content must have exactly one of \"body\" or \"template\""
                        + (" (it has both)" if present else ""))
        return problems
    if present == ["body"]:
        body = string(BODY, "Hi there {{name}}!")
        if isinstance(body, str) and not body:
            problems.append("layout.content.body must not be empty")
        return problems
    if not isinstance(content["template"], dict):
        problems.append(f"layout.content.template must be an object, not {_kind(content['template'])}")
        return problems
    name = string(TEMPLATE_NAME, "{{templateName}}")
    if isinstance(name, str) and not name:
        problems.append("layout.content.template.name must not be empty")
    return problems


def contact_reason(value: str, pattern: re.Pattern | None) -> str | None:
    if not value:
        return "contactCode is empty"
    if pattern is not None and not pattern.fullmatch(value):
        return f"contactCode does not match the pattern {pattern.pattern} (setting indigitall.contact_code_pattern)"
    return None


def choice_reason(path: tuple[str, ...], value: str, allowed: list[str]) -> str:
    return f"{dotted(path)} '{value}' is not allowed (allowed: {', '.join(allowed)})"
