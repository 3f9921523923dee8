"""The settings table of ``docs/settings.md``, generated from the model (``python -m mock_server.settings --table``).

Each row is a field of the model: its dotted key, its default (``shown`` in its metadata, else
the default itself) and its description. ``--write docs/settings.md`` (the default page) replaces
the table between the markers; ``tests/core/test_core_settings.py`` fails when the page's table
differs from this one.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any, Iterator

from .core import model_for
from .model import Section

PAGE = "docs/settings.md"
BEGIN = "<!-- settings table: generated from the model by `python -m mock_server.settings --write docs/settings.md` -->"
END = "<!-- end of the generated settings table -->"


def shown(spec: dataclasses.Field) -> str:
    """A field's default as the table writes it."""
    if spec.metadata.get("shown"):
        return spec.metadata["shown"]
    value: Any = spec.default if spec.default is not dataclasses.MISSING else spec.default_factory()
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value is None or value == ():
        return "none" if value is None else "`[]`"
    if isinstance(value, str):
        return f"`{value}`"
    if isinstance(value, int):
        return f"{value:,}" if value >= 10_000 else str(value)
    if isinstance(value, float):
        return f"{value:g}"
    return f"`{value}`"


def rows(kind: type[Section], path: str = "") -> Iterator[tuple[str, str, str]]:
    """``(key, default, description)`` of every field below ``kind``, notes on list entries included."""
    for spec in dataclasses.fields(kind):
        where = f"{path}.{spec.name}" if path else spec.name
        nested = spec.metadata.get("section")
        if nested is not None:
            yield from rows(nested, where)
            continue
        yield where, shown(spec), spec.metadata["doc"]
        for key, default, doc in kind.table_notes:
            if key.startswith(spec.name + "["):
                yield f"{path}.{key}", default, doc


def table(providers=None) -> str:
    """The Markdown table of the settings of an app serving ``providers`` (default: the real ones)."""
    lines = ["| key | default | meaning |", "|---|---|---|"]
    lines += [f"| `{key}` | {default} | {doc} |" for key, default, doc in rows(model_for(providers))]
    return "\n".join(lines) + "\n"


def with_table(page: str, generated: str) -> str:
    """``page`` with the text between the markers replaced by ``generated``."""
    head, begin, rest = page.partition(BEGIN + "\n")
    old, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"the page has no settings table markers ({BEGIN} ... {END})")
    return head + begin + generated + end + tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mock_server.settings",
                                     description=f"Print or write the settings table of {PAGE}.")
    parser.add_argument("--table", action="store_true", help="print the table (Markdown)")
    parser.add_argument("--write", metavar="PAGE", help=f"replace the table between the markers in this file ({PAGE})")
    args = parser.parse_args(argv)
    if args.write:
        path = Path(args.write)
        path.write_text(with_table(path.read_text(encoding="utf-8"), table()), encoding="utf-8")
    if args.table or not args.write:
        sys.stdout.write(table())
    return 0
