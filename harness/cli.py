"""``mock-harness``: command-line tools around the mock (console script ``harness.cli:main``).

Subcommands are registered in ``COMMANDS``: one function per subcommand that receives the
argparse sub-parsers object, adds its parser with ``subparsers.add_parser(name, ...)`` and
sets ``run=<function(args) -> int>`` with ``set_defaults``.  To add one, write that function
in your own module and append it to ``COMMANDS``.  A ``run`` function may raise
``harness.errors.CommandError`` for user mistakes; ``main`` prints it and returns 2.
"""
from __future__ import annotations

import argparse
import os
import sys

from . import csv_command, fixtures_command, profile_command, send_command, webhooks_command
from .conformance import command as conformance_command
from .errors import CommandError, MissingExtraError
from .sibling import mock_server_module

COMMANDS = [
    csv_command.add_parser,  # mock-harness csv ...
    fixtures_command.add_parser,  # mock-harness fixtures [--check | --verify]
    send_command.add_parser,  # mock-harness send {jelou,indigitall} ...
    webhooks_command.add_parser,  # mock-harness webhooks listen ...
    conformance_command.add_parser,  # mock-harness conformance --target URL | --against-saved FILE
    profile_command.add_parser,  # mock-harness profile show | set NAME|FILE
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mock-harness", description="Test harness for the bulk-messaging mock.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {mock_server_module('version').package_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the subcommand, return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(run(args) or 0)
    except CommandError as exc:
        print(f"mock-harness {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except MissingExtraError as exc:
        print(f"mock-harness {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `mock-harness csv jelou --rows 1000000 | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
