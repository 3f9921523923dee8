"""What ``mock-harness conformance`` compares in two answers, and what it never compares (CONTRACT §15).

An answer is reduced to its *shape* and its *enumerations*:
- every key path (``$.data.results[].id``) with the set of JSON types seen there (``null``,
  ``boolean``, ``number``, ``string``, ``array``, ``object``); an array is the union of its
  elements (``[]``), so element order, duplicates and the number of elements do not matter;
- the values found under an *enumeration key* (``ENUM_KEYS``: statuses, error codes and keys),
  as a set per path.
Everything else (ids, times, counts, free text such as ``message``) is compared by type only.

Rules that keep data from passing for drift
- A path is compared only where both sides have its parent as a container with content: the
  elements of an array one side has empty, or the keys of a value one side has as ``null``,
  prove nothing (the difference of the parent's type, if any, is reported once, at the parent).
- *Lifecycle* paths (given per step, e.g. a campaign's ``status``) hold a value that depends on
  when the record was read (``PENDING`` now, ``COMPLETED`` a minute later): there each side's
  values must belong to a known vocabulary instead of being equal.
- Nullability is data, not shape: ``null`` on one side and a value on the other (a time not
  reached yet, no error) is not a difference; ``string|null`` against ``string`` is the same.
  A value of another type is (``number`` against ``string``), and so is a key one side lacks.
- A body that is not JSON has the single type ``text``; an empty body the type ``empty``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

ROOT = "$"
ABSENT = "(absent)"
STATUS_PATH = "HTTP status"
ENUM_KEYS = frozenset({
    "status", "statusMessage", "sentStatus", "code", "key", "errorCode", "statusCode",
    "origin", "slicingCondition", "channelType", "sendType",
})
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Text(str):
    """A body that is not JSON (kept as text)."""


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "text" if isinstance(value, Text) else "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def child(path: str, key: str) -> str:
    """The path of ``key`` inside the object at ``path``."""
    return f"{path}.{key}" if _PLAIN_KEY.match(key) else f"{path}[{json.dumps(key)}]"


@dataclass
class Shape:
    """The comparable essence of one answer body."""

    types: dict[str, set[str]] = field(default_factory=dict)
    values: dict[str, set[Any]] = field(default_factory=dict)
    containers: set[str] = field(default_factory=set)     # objects and non-empty arrays seen
    parents: dict[str, str] = field(default_factory=dict)


def shape_of(body: Any, *, empty: bool = False) -> Shape:
    """The shape of a parsed JSON body (``empty``: the answer had no body at all)."""
    result = Shape()
    if empty:
        result.types[ROOT] = {"empty"}
        return result
    _walk(body, ROOT, None, None, result)
    return result


def _walk(value: Any, path: str, parent: str | None, key: str | None, out: Shape) -> None:
    out.types.setdefault(path, set()).add(json_type(value))
    if parent is not None:
        out.parents[path] = parent
    if isinstance(value, dict):
        out.containers.add(path)
        for name, item in value.items():
            _walk(item, child(path, str(name)), path, str(name), out)
    elif isinstance(value, list):
        if value:
            out.containers.add(path)
        for item in value:
            _walk(item, path + "[]", path, key, out)
    elif key in ENUM_KEYS and not isinstance(value, Text):
        out.values.setdefault(path, set()).add(value)


def _show_types(types: set[str] | None) -> str:
    return "|".join(sorted(types)) if types else ABSENT


def _show_values(values: set[Any]) -> str:
    return ", ".join(sorted(json.dumps(value) for value in values))


def _comparable(path: str, *shapes: Shape) -> bool:
    """True when every side has ``path``'s parent (and its ancestors) as a container with content."""
    for one in shapes:
        parent = one.parents.get(path)
        if parent is None:
            continue
        if parent not in one.containers or not _comparable(parent, one):
            return False
    return True


def _parent_guess(path: str, shapes: tuple[Shape, ...]) -> None:
    """A path one side lacks takes its parent from the side that has it."""
    known = next((one.parents[path] for one in shapes if path in one.parents), None)
    if known is not None:
        for one in shapes:
            one.parents.setdefault(path, known)


def compare(target: Shape, mock: Shape, lifecycle: Mapping[str, frozenset] | None = None) -> list[dict]:
    """Differences ``[{"path", "target", "mock"}]`` between two shapes; empty when they conform."""
    lifecycle = lifecycle or {}
    differences: list[dict] = []
    sides = (target, mock)
    for path in sorted(set(target.types) | set(mock.types)):
        _parent_guess(path, sides)
        if not _comparable(path, *sides):
            continue
        mine, theirs = target.types.get(path), mock.types.get(path)
        if mine and theirs and (mine == {"null"} or theirs == {"null"}):
            continue
        if mine and theirs and mine - {"null"} == theirs - {"null"}:
            continue
        if mine != theirs:
            differences.append({"path": path, "target": _show_types(mine), "mock": _show_types(theirs)})
    for path in sorted(set(target.values) | set(mock.values)):
        if path not in target.values or path not in mock.values or not _comparable(path, *sides):
            continue            # absent on one side: the type difference says so
        mine, theirs = target.values[path], mock.values[path]
        if path in lifecycle:
            vocabulary = lifecycle[path]
            odd_target, odd_mock = mine - vocabulary, theirs - vocabulary
            if odd_target or odd_mock:
                differences.append({
                    "path": path,
                    "target": _show_values(mine) + (f" (unknown: {_show_values(odd_target)})" if odd_target else ""),
                    "mock": _show_values(theirs) + (f" (unknown: {_show_values(odd_mock)})" if odd_mock else "")})
        elif mine != theirs:
            differences.append({"path": path, "target": _show_values(mine), "mock": _show_values(theirs)})
    return differences


def compare_answers(target_status: int, target_shape: Shape, mock_status: int, mock_shape: Shape,
                    lifecycle: Mapping[str, frozenset] | None = None) -> list[dict]:
    """The HTTP status first, then the bodies."""
    differences = []
    if target_status != mock_status:
        differences.append({"path": STATUS_PATH, "target": str(target_status), "mock": str(mock_status)})
    return differences + compare(target_shape, mock_shape, lifecycle)
