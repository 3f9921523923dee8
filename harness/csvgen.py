"""Stream seeded CSV files for the mock: valid, with magic recipients, or broken on purpose.

Decisions
- Output is bytes, written in chunks of ``CHUNK_ROWS`` rows as they are made: memory stays flat
  whatever ``rows`` is.  Cells are written by ``csv.writer`` (minimal quoting) with ``\\n`` line
  endings (``LINE_TERMINATOR``); the text is UTF-8 without BOM unless ``bom`` is asked for.
- Same arguments -> same bytes.  Randomness comes from separate ``random.Random`` streams seeded
  from ``seed``: data, magic recipients, defects and extra columns, so asking for defects or
  magic recipients does not change the other cells of the file.
- Magic recipients replace the phone of a row (``magic_rate`` = probability per row; codes drawn
  uniformly from ``MAGIC_OUTCOMES``).  Row defects are applied after that.
- Row kinds always hit at least one row each (tricky-cells: one row per tricky value) at
  positions drawn from the seed; ``invalid_rate`` > 0 adds more rows with that probability.
  With ``no-header`` row defects avoid row 1, which the mock reads as the header.
- ``empty-file`` and ``header-only`` write no data rows, whatever ``rows`` says.
- Report line numbers are 1-based *physical* lines where the record starts (header = line 1);
  they equal record numbers unless tricky-cells put newlines in earlier cells.  The report
  lists at most ``MAX_LISTED`` defects; ``defect_counts`` has the full counts.
"""
from __future__ import annotations

import csv
import io
import random
from dataclasses import asdict, dataclass, field
from typing import BinaryIO, Callable

from . import defects as d
from .fakes import build_pools, pick
from .magic import MAGIC_CODES, magic_phone
from .presets import get_preset

CHUNK_ROWS = 8192
MAX_LISTED = 10_000
LINE_TERMINATOR = "\n"
BOM_BYTES = b"\xef\xbb\xbf"


@dataclass
class GenerationReport:
    """What was written and what the mock is expected to do with it."""

    provider: str
    preset: str
    seed: int
    rows: int
    bytes: int
    filename: str
    header: list | None
    invalid: tuple
    expect_accept: bool
    problems: list
    defects: list = field(default_factory=list)
    defect_counts: dict = field(default_factory=dict)
    magic_counts: dict = field(default_factory=dict)
    template: str | None = None
    params: list = field(default_factory=list)
    layout: str | None = None
    extra_fields: dict = field(default_factory=dict)

    def lines(self, kind: str) -> list[int]:
        """The listed lines that carry ``kind``."""
        return [x.line for x in self.defects if x.kind == kind]

    def to_dict(self) -> dict:
        out = asdict(self)
        out["defects"] = [x._asdict() for x in self.defects]
        return out

    def summary(self, where: str) -> str:
        """One line: rows, destination, bytes, and what the mock should do."""
        text = f"wrote {self.rows:,} rows ({self.preset}, seed {self.seed}) to {where}: {self.bytes:,} bytes"
        if d.WRONG_EXTENSION in self.invalid and not where.endswith(self.filename):
            text += f"; upload it as {self.filename}"
        if self.magic_counts:
            text += f"; {sum(self.magic_counts.values()):,} magic recipients"
        if self.expect_accept:
            return text + ("; the mock should ACCEPT it" if self.invalid else "")
        return text + "; the mock should REJECT it: " + "; ".join(self.problems)


class _CountingWriter:
    def __init__(self, out: BinaryIO):
        self.out, self.bytes = out, 0

    def write(self, data: bytes) -> None:
        if data:
            self.out.write(data)
            self.bytes += len(data)


def _columns(preset, kinds, xrng: random.Random):
    """File-level column changes: (header, index dropped from each row or None, extra-cell makers).

    Extra cells are computed from the row after the drop; they are appended at the end, so the
    indices of the preset's own columns stay valid for the row editor."""
    header = list(preset.columns)
    drop = None
    if d.MISSING_VARIABLE in kinds:
        needed = [c for c in preset.required_columns if c != preset.phone_column]
        if not needed:
            raise ValueError(f"missing-variable: {preset.name} needs no column besides the phone; "
                             "use a preset with params/variables, e.g. jelou:order_confirmation")
        drop = header.index(needed[-1])
        del header[drop]
    last, extras = header[-1], []
    for kind in (d.HEADER_SPACE, d.HEADER_PUNCTUATION):
        if kind in kinds:
            header.append(d.EXTRA_COLUMNS[kind])
            extras.append(lambda base, loc: loc.first_name(xrng))
    if d.HEADER_DUPLICATE in kinds:
        header.append(last)
        extras.append(lambda base, loc: base[-1])
    return header, drop, extras


def suggested_filename(provider: str, preset: str | None = None, rows: int = 100, seed: int = 0,
                       invalid=()) -> str:
    """The file name ``generate`` reports for these arguments (``.txt`` for wrong-extension)."""
    kinds = d.check_kinds(invalid)
    if d.EMPTY_FILE in kinds or d.HEADER_ONLY in kinds:
        rows = 0
    base = f"{provider}-{get_preset(provider, preset).name.split(':', 1)[1]}-{rows}rows-seed{seed}"
    base += "".join(f"-{k}" for k in kinds if k != d.WRONG_EXTENSION)
    return base + (".txt" if d.WRONG_EXTENSION in kinds else ".csv")


def generate(out: BinaryIO, provider: str, preset: str | None = None, rows: int = 100,
             seed: int = 0, magic_rate: float = 0.0, invalid=(), invalid_rate: float = 0.0,
             progress: Callable[[int], object] | None = None, locales=None) -> GenerationReport:
    """Write one CSV file to ``out`` (binary) and describe it.

    ``progress(n)`` is called with the number of rows written since the last call.
    ``locales``: see ``fakes.resolve_locales`` (default: all six, mixed per row).
    Raises ValueError (message says what to do) before writing anything when the options
    cannot work together.
    """
    p = get_preset(provider, preset)
    kinds = d.check_kinds(invalid)
    if rows < 0 or not 0.0 <= magic_rate <= 1.0 or not 0.0 <= invalid_rate <= 1.0:
        raise ValueError("rows must be >= 0; magic_rate and invalid_rate must be within 0..1")
    if d.EMPTY_FILE in kinds or d.HEADER_ONLY in kinds:
        rows = 0
    rng, drng = random.Random(seed), random.Random(f"defects:{seed}")
    mrng, xrng = random.Random(f"magic:{seed}"), random.Random(f"extra:{seed}")
    header, drop, extras = _columns(p, kinds, xrng)
    kept = [c for c in p.columns if drop is None or c != p.columns[drop]]
    text_index = kept.index(p.text_column) if p.text_column in kept else None
    if text_index is None and (d.LATIN1 in kinds or d.TRICKY_CELLS in kinds):
        other = "jelou:promo_image" if provider == "jelou" else "indigitall:template"
        raise ValueError(f"latin1/tricky-cells need a free-text column, which {p.name} lacks "
                         f"(with these kinds); try --preset {other}")
    first = 2 if d.NO_HEADER in kinds else 1
    forced = d.plan_rows(kinds, rows, drng, first)
    pools = build_pools(seed, locales)

    sink = _CountingWriter(out)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=LINE_TERMINATOR)

    def flush(encoding: str = "utf-8") -> None:
        sink.write(buf.getvalue().encode(encoding, errors="replace"))
        buf.seek(0)
        buf.truncate()

    listed: list[d.Defect] = []
    counts: dict[str, int] = {}

    def note(kind, line, column=None, value=None):
        counts[kind] = counts.get(kind, 0) + 1
        if len(listed) < MAX_LISTED:
            listed.append(d.Defect(kind, line, column, value))

    if d.BOM in kinds:
        sink.write(BOM_BYTES)
        note(d.BOM, 1)
    if d.EMPTY_FILE in kinds:
        note(d.EMPTY_FILE, None)
    elif d.NO_HEADER in kinds:
        note(d.NO_HEADER, 1)
    else:
        writer.writerow(header)
        for kind in d.HEADER_KINDS:
            if kind in kinds:
                note(kind, 1, header[-1] if kind == d.HEADER_DUPLICATE else d.EXTRA_COLUMNS[kind])
        if d.MISSING_VARIABLE in kinds:
            note(d.MISSING_VARIABLE, 1, p.columns[drop])
        if d.HEADER_ONLY in kinds:
            note(d.HEADER_ONLY, 1)
    if d.WRONG_EXTENSION in kinds:
        note(d.WRONG_EXTENSION, None)

    line = 1 if d.NO_HEADER in kinds else 2  # where the next record starts
    row_kinds = [k for k in kinds if k in d.ROW_KINDS]
    rate = invalid_rate if row_kinds else 0.0
    editor = d.RowDefects(header, header.index(p.phone_column), text_index, drng)
    phone_base = p.columns.index(p.phone_column)
    reshape = drop is not None or bool(extras)
    magic_counts: dict[str, int] = {}
    first_row: list[str] = []
    make_row, writerow = p.make_row, writer.writerow
    for i in range(1, rows + 1):
        loc = pick(rng, pools)
        row = make_row(rng, loc)
        if magic_rate and mrng.random() < magic_rate:
            code = mrng.choice(MAGIC_CODES)
            row[phone_base] = magic_phone(code, mrng)
            magic_counts[code] = magic_counts.get(code, 0) + 1
        if reshape:
            if drop is not None:
                del row[drop]
            row += [extra(row, loc) for extra in extras]
        kind = forced.get(i)
        if kind is None and rate and i >= first and drng.random() < rate:
            kind = drng.choice(row_kinds)
        if kind is None:
            writerow(row)
            line += 1
        else:
            column, value = editor.apply(kind, row)
            note(kind, line, column, value)
            if kind == d.LATIN1:  # only this row leaves UTF-8; unmappable characters become '?'
                flush()
                writerow(row)
                flush("latin-1")
            else:
                writerow(row)
            line += 1 + (value.count("\n") if kind == d.TRICKY_CELLS else 0)
        if i == 1:
            first_row = list(row)
        if i % CHUNK_ROWS == 0:
            flush()
            if progress:
                progress(CHUNK_ROWS)
    flush()
    if progress and rows % CHUNK_ROWS:
        progress(rows % CHUNK_ROWS)

    problems = _expected_problems(p, kinds, header, first_row, rows, listed)
    return GenerationReport(
        provider=provider, preset=p.name, seed=seed, rows=rows, bytes=sink.bytes,
        filename=suggested_filename(provider, p.name, rows, seed, kinds),
        header=None if (d.NO_HEADER in kinds or d.EMPTY_FILE in kinds) else header,
        invalid=kinds, expect_accept=not problems, problems=problems, defects=listed,
        defect_counts=counts, magic_counts=dict(sorted(magic_counts.items())),
        template=p.template, params=[dict(x) for x in p.params], layout=p.layout,
        extra_fields=dict(p.extra_fields))


def _expected_problems(p, kinds, header, first_row, rows, listed) -> list[str]:
    """Why the mock should reject the file, one entry per reason (empty: it should accept)."""
    if d.EMPTY_FILE in kinds:
        return [d.kind_problem(d.EMPTY_FILE, p.provider)]
    problems = []
    no_header = d.NO_HEADER in kinds
    seen = first_row if no_header else header
    if no_header:
        problems += [f"no-header: the first line is read as the header, and {x}"
                     for x in d.header_problems(p.provider, p.required_columns, seen)]
    else:
        problems += [f"line 1: {x}" for x in d.header_problems(p.provider, p.required_columns, seen)]
    if rows - (1 if no_header else 0) < 1:
        problems.append("at least one data row is needed")
    for kind in kinds:
        reason = d.kind_problem(kind, p.provider)
        if reason and kind not in (d.HEADER_ONLY, d.EMPTY_FILE):
            where = [x.line for x in listed if x.kind == kind and x.line]
            problems.append(f"{kind}: {reason}" + (f" (first at line {where[0]})" if where else ""))
    return problems
