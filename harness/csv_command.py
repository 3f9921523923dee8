"""``mock-harness csv``: write a CSV file for Jelou or indigitall (see ``harness.csvgen``).

Output: the CSV goes to ``--out`` (a file, a directory -> the suggested file name inside it, or
``-`` for stdout, the default).  Everything else (progress bar, one-line summary) goes to stderr,
so stdout carries only CSV data.  The progress bar shows only when writing to a file and
stderr is a terminal; ``--quiet`` hides the bar and the summary.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys

from harness import defects
from harness.csvgen import generate, suggested_filename
from harness.errors import CommandError
from harness.fakes import LOCALES
from harness.presets import DEFAULT_PRESETS, PRESETS, PROVIDERS


def _non_negative(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number such as 1000, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1 (e.g. 0.05 for 5%), not {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (e.g. 0.05 for 5%), not {text}")
    return value


class LineProgress:
    """Progress for a stderr that is not a terminal (a log, CI): one line per tenth of a large file."""

    MIN_ROWS = 100_000

    def __init__(self, total: int, path: str) -> None:
        self.total, self.done, self.next_tenth = total, 0, 1
        print(f"mock-harness csv: writing {total:,} rows to {path} (stderr is not a terminal: "
              "progress every 10%)", file=sys.stderr, flush=True)

    def update(self, count: int) -> None:
        self.done += count
        while self.next_tenth <= 10 and self.done * 10 >= self.total * self.next_tenth:
            print(f"mock-harness csv: {self.done:,}/{self.total:,} rows ({self.next_tenth * 10}%)",
                  file=sys.stderr, flush=True)
            self.next_tenth += 1

    def close(self) -> None:
        pass


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "csv", help="write a seeded CSV file (valid, with magic recipients, or broken on purpose)",
        description="Write a seeded CSV file for the mock. Same options -> same bytes.")
    p.add_argument("provider", nargs="?", choices=PROVIDERS, help="jelou or indigitall")
    p.add_argument("--preset", help="e.g. order_confirmation or jelou:order_confirmation "
                   f"(default: {', '.join(DEFAULT_PRESETS.values())}); see --list-presets")
    p.add_argument("--rows", type=_non_negative, default=100, help="data rows (default 100)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--magic-rate", type=_rate, default=0.0, metavar="F",
                   help="share of rows with reserved 999 recipients (0..1)")
    p.add_argument("--invalid", action="append", default=[], choices=list(defects.KINDS),
                   metavar="KIND", help="break the file this way (repeatable); see --list-invalid")
    p.add_argument("--invalid-rate", type=_rate, default=0.0, metavar="F",
                   help="share of rows hit by row-level kinds (default: one row per kind)")
    p.add_argument("--out", default="-", metavar="PATH|-",
                   help="file, directory (uses the suggested name) or - for stdout (default)")
    p.add_argument("--locale", action="append", metavar="LOCALE",
                   help=f"phone/name locale, repeatable: {', '.join(LOCALES)} (default: all)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar, no summary")
    p.add_argument("--list-presets", action="store_true", help="list presets and exit")
    p.add_argument("--list-invalid", action="store_true", help="list invalid kinds and exit")
    p.set_defaults(run=run)
    return p


def list_presets(provider: str | None) -> None:
    for preset in PRESETS.values():
        if provider not in (None, preset.provider):
            continue
        default = " (default)" if DEFAULT_PRESETS[preset.provider] == preset.name else ""
        print(f"{preset.name}{default}: {','.join(preset.columns)}")
        print(f"    {preset.description}")
        if preset.provider == "jelou":
            fields = {"elementName": preset.template, "params": preset.params, **preset.extra_fields}
            print(f"    send with: {json.dumps(fields)}")
        else:
            print(f"    send with: the layout in harness.presets ({preset.name} .layout)")


def list_invalid() -> None:
    """Each kind with what the mock should do with it (found by generating a small file)."""
    print(f"{'KIND':<20} {'JELOU':<7} {'INDIGITALL':<10} WHAT IT DOES")
    for kind, description in defects.KINDS.items():
        verdicts = []
        for provider in PROVIDERS:
            report = generate(io.BytesIO(), provider, rows=10, invalid=[kind])
            verdicts.append("accept" if report.expect_accept else "reject")
        print(f"{kind:<20} {verdicts[0]:<7} {verdicts[1]:<10} {description}")


def _target_path(args) -> str | None:
    """The file to write, or None for stdout."""
    if args.out == "-":
        return None
    path = args.out
    if os.path.isdir(path):
        path = os.path.join(path, suggested_filename(
            args.provider, args.preset, args.rows, args.seed, args.invalid))
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise CommandError(f"directory {parent} does not exist; create it or choose another --out")
    return path


def run(args) -> int:
    if args.list_presets:
        list_presets(args.provider)
        return 0
    if args.list_invalid:
        list_invalid()
        return 0
    if args.provider is None:
        raise CommandError("name a provider: mock-harness csv {jelou,indigitall} "
                           "(--list-presets shows what each can generate)")
    try:
        path = _target_path(args)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    # A file is written as PATH.part and renamed at the end: no half-written file under PATH.
    stream = sys.stdout.buffer if path is None else open(path + ".part", "wb")
    bar = None
    if path is not None and not args.quiet and sys.stderr.isatty():
        from tqdm import tqdm
        bar = tqdm(total=args.rows, unit="row", unit_scale=True, file=sys.stderr, leave=False)
    elif path is not None and not args.quiet and args.rows >= LineProgress.MIN_ROWS:
        bar = LineProgress(args.rows, path)
    done = False
    try:
        report = generate(stream, args.provider, preset=args.preset, rows=args.rows,
                          seed=args.seed, magic_rate=args.magic_rate, invalid=args.invalid,
                          invalid_rate=args.invalid_rate, progress=bar.update if bar else None,
                          locales=args.locale)
        done = True
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    finally:
        if bar is not None:
            bar.close()
        if path is None:
            stream.flush()
        else:
            stream.close()
            if not done:
                os.remove(path + ".part")
    if path is not None:
        os.replace(path + ".part", path)
    if not args.quiet:
        print(report.summary(path or "stdout"), file=sys.stderr)
    return 0
