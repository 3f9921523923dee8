"""``mock-harness profile show|set NAME|FILE``: read or set a sandbox's traffic profile (CONTRACT §14).

``show`` prints the sandbox's profile as JSON (its name, every field resolved, the names ``set``
accepts). ``set NAME`` picks a known profile (``ideal``, ``realistic``, ``degraded`` or one of the
server's ``delivery.profiles``); ``set FILE`` sends the profile in a JSON or YAML file (every key
optional; its name becomes ``custom``). ``--sandbox NAME`` works on that sandbox instead of
``default``. An invalid profile prints the server's message (naming the field) and exits 2.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import requests

from .cli_common import add_server_options, connection_hint
from .control import ControlError, MockControl
from .errors import CommandError
from .sibling import mock_server_module


def add_parser(subparsers):
    p = subparsers.add_parser("profile", help="show or set a sandbox's traffic profile",
                              description="Show or set the traffic profile of a sandbox of the mock.")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = sub.add_parser("show", help="print the sandbox's profile (JSON)")
    put = sub.add_parser("set", help="use a known profile (NAME) or the one in a JSON/YAML FILE")
    put.add_argument("profile", metavar="NAME|FILE", help="a profile name (realistic, degraded, ideal, ...) or a file")
    for parser in (show, put):
        add_server_options(parser, jelou=False, indigitall=False)
        parser.add_argument("--sandbox", help="the sandbox (default: default)")
        parser.set_defaults(run=run)
    return p


def read_profile(text: str) -> str | dict:
    """A name, or the profile a JSON/YAML file holds (what ``profile show`` printed works too)."""
    path = Path(text)
    if path.suffix.lower() not in (".json", ".yaml", ".yml") and not path.exists():
        return text
    model = mock_server_module("settings.model")
    try:
        data = model.load_file(path)
    except model.SettingsError as exc:
        raise CommandError(str(exc)) from None
    if "profile" in data and set(data) <= {"name", "profile", "available"}:
        return data["profile"]
    return data


def run(args) -> int:
    base = args.base_url + (f"/sandboxes/{args.sandbox}" if args.sandbox else "")
    with MockControl(base) as control:
        try:
            answer = control.profile() if args.action == "show" else control.set_profile(read_profile(args.profile))
        except ControlError as exc:
            raise CommandError(str(exc.body.get("error", {}).get("message") if isinstance(exc.body, dict)
                                   else exc)) from None
        except requests.RequestException as exc:
            raise CommandError(connection_hint(args.base_url, exc)) from None
    json.dump(answer, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0
