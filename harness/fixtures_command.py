"""``mock-harness fixtures``: write, check or verify the committed fixtures (``harness.manifest``).

- ``mock-harness fixtures [--out fixtures]`` writes every file and ``manifest.json``;
- ``--check`` and ``--verify`` without ``--out`` read ``./fixtures`` when the working directory has
  one, else the committed ``fixtures/`` of the clone this harness runs from, so they work from
  any directory (a project of your own, a scratch directory);
- ``--check`` regenerates into a temporary directory and compares bytes with ``--out``: it lists
  every file that differs, is missing or is not generated any more, and exits 1 if there is one;
- ``--verify`` sends every manifest entry in ``--out`` to a running server (``--base-url``) and
  compares each answer with its ``expect``; exits 1 on any mismatch.  It does not reset the
  server: no entry depends on earlier state.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import requests

from . import manifest
from .cli_common import add_server_options, connection_hint, indigitall_client, jelou_client
from .errors import CommandError
from .manifest_run import check_answer, send_entry


def add_parser(subparsers):
    p = subparsers.add_parser(
        "fixtures", help="write, --check or --verify the committed sample files and their manifest",
        description="Write one small file per valid and invalid kind per provider, plus manifest.json "
                    "stating the request to send and the exact answer the mock must give.")
    p.add_argument("--out", metavar="DIR",
                   help="fixtures directory (default ./fixtures; --check and --verify fall back on the "
                        "clone's committed fixtures/ when there is no ./fixtures)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="regenerate in a temporary directory; fail if any byte differs from DIR")
    mode.add_argument("--verify", action="store_true",
                      help="send every manifest entry to --base-url and compare the answers")
    p.add_argument("--only", action="append", metavar="NAME", help="with --verify: only these entries (repeatable)")
    add_server_options(p)
    p.set_defaults(run=run)
    return p


def committed() -> Path:
    """The committed ``fixtures/`` of the clone this harness runs from (next to the ``harness`` package)."""
    return Path(__file__).resolve().parent.parent / "fixtures"


def directory(out: str | None, *, reading: bool) -> Path:
    """``--out``, or its default: ``./fixtures``; to read (``--check``, ``--verify``) from a directory
    without one, the clone's committed fixtures (`--check` from anywhere checks the same files)."""
    if out is not None:
        return Path(out)
    here = Path("fixtures")
    if reading and not here.is_dir() and committed().is_dir():
        return committed()
    return here


def _files(root: Path) -> set[str]:
    """Relative paths of the files the fixtures own under ``root``."""
    found = {manifest.MANIFEST} if (root / manifest.MANIFEST).is_file() else set()
    for provider in ("jelou", "indigitall"):
        if (root / provider).is_dir():
            found |= {p.relative_to(root).as_posix() for p in (root / provider).rglob("*") if p.is_file()}
    return found


def check(out: Path) -> int:
    if not out.is_dir():
        raise CommandError(f"{out} is not a directory; generate the fixtures with `mock-harness fixtures --out {out}`")
    with tempfile.TemporaryDirectory(prefix="mock-fixtures-") as tmp:
        written = set(manifest.write(tmp))
        committed = _files(out)
        changed = sorted(p for p in written & committed
                         if (Path(tmp) / p).read_bytes() != (out / p).read_bytes())
    missing, stale = sorted(written - committed), sorted(committed - written)
    for label, paths in (("differs", changed), ("missing", missing), ("not generated any more", stale)):
        for path in paths:
            print(f"{label}: {out / path}")
    if changed or missing or stale:
        print(f"fixtures in {out} are out of date: run `mock-harness fixtures --out {out}`, "
              "review the diff and commit it", file=sys.stderr)
        return 1
    print(f"fixtures in {out} are up to date ({len(written)} files)")
    return 0


def verify(args, out: Path) -> int:
    try:
        entries = manifest.load(out)
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from None
    if args.only:
        unknown = sorted(set(args.only) - {e["name"] for e in entries})
        if unknown:
            raise CommandError(f"no manifest entry named {', '.join(unknown)}; see {out / manifest.MANIFEST}")
        entries = [e for e in entries if e["name"] in args.only]
    failed = 0
    with jelou_client(args) as jelou, indigitall_client(args) as indigitall:
        for entry in entries:
            try:
                answer = send_entry(entry, out, jelou, indigitall)
            except requests.RequestException as exc:
                print(f"mock-harness fixtures: error: {connection_hint(args.base_url, exc)}", file=sys.stderr)
                return 1
            problems = check_answer(entry, answer)
            failed += bool(problems)
            print(f"{'ok  ' if not problems else 'FAIL'} {entry['name']}: {answer.status}"
                  + "".join(f"\n       {problem}" for problem in problems))
    print(f"{len(entries) - failed} of {len(entries)} entries got exactly their expected answer")
    return 1 if failed else 0


def run(args) -> int:
    out = directory(args.out, reading=args.check or args.verify)
    if args.check:
        return check(out)
    if args.verify:
        return verify(args, out)
    if args.only:
        raise CommandError("--only works with --verify")
    written = manifest.write(out)
    entries = manifest.load(out)
    print(f"wrote {len(written)} files ({len(entries)} manifest entries) to {out}")
    return 0
