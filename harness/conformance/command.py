"""``mock-harness conformance``: compare the mock with the real provider (CONTRACT §15).

    mock-harness conformance --target https://api.jelou.ai --provider jelou \\
        --jelou-auth "$JELOU_CLIENT_ID:$JELOU_CLIENT_SECRET" --jelou-bot BOT --jelou-template NAME \\
        --recipient 593987654321 --save-target conformance/jelou.json --report report.json --html report.html
    mock-harness conformance --against-saved conformance/jelou.json          # in CI: no credentials

Exit codes: 0 every step same or skipped; 1 a step differs (or got no answer); 2 a usage error,
including "not confirmed" (nothing was sent).  Credentials may come from the environment
(``JELOU_CLIENT_ID`` + ``JELOU_CLIENT_SECRET``, ``INDIGITALL_SERVER_KEY``) instead of flags, so
they need not appear in the shell history or the process list.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from datetime import datetime, timezone
from typing import Callable, TextIO
from urllib.parse import urlsplit

import requests

from ..cli_common import DEMO, base_url
from ..errors import CommandError
from ..server import BackgroundServer
from . import report
from .runner import FileUrls, LiveTarget, file_url_reason, plan, run_live, run_saved
from .saved import SavedTarget, load_saved, saved_document, setup_from_saved
from .sides import SANDBOX, Side, mock_config
from .safety import Guard, Pacer, Redactor, consent
from .scenario import PROVIDERS, Setup, scenario

PHONE = re.compile(r"^[1-9][0-9]{7,14}$")
SAVED_RECIPIENT = "1555010{:04d}"     # the mock side's recipients when the target's are masked in a saved file


def _phone(text: str) -> str:
    if not PHONE.match(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a phone number as the providers take it: international code, no '+' or spaces, "
            "8 to 15 digits (e.g. 593987654321)")
    return text


def _whole(low: int, high: int | None, example: str):
    """An argparse type: a whole number in [low, high]."""
    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} must be a whole number such as {example}") from None
        if number < low or (high is not None and number > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{text!r} must be {bound}")
        return number
    return parse


def _auth(text: str) -> tuple[str, str]:
    client_id, sep, secret = text.partition(":")
    if not sep or not client_id or not secret:
        raise argparse.ArgumentTypeError("must be CLIENT_ID:CLIENT_SECRET (both non-empty)")
    return client_id, secret


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "conformance", help="compare the mock with the real provider (or with its saved answers)",
        description="Run one scripted scenario against a target (the real provider) and against the mock, "
                    "and compare status, JSON shape and enumeration values step by step. Prints the plan "
                    "first and sends nothing before --yes (or a y typed on a terminal).")
    where = parser.add_argument_group("what to compare")
    where.add_argument("--target", type=base_url, metavar="URL", help="the provider's base URL")
    where.add_argument("--against-saved", metavar="FILE", help="compare the mock with a --save-target file "
                       "instead of a live target (no credentials needed: for CI)")
    where.add_argument("--provider", choices=("jelou", "indigitall", "both"), default=None,
                       help="default both (with --against-saved: the file's)")
    where.add_argument("--mock-url", type=base_url, metavar="URL",
                       help="a running mock (its sandbox 'conformance' is reset first); default: in-process")
    account = parser.add_argument_group("the target account (secrets also from JELOU_CLIENT_ID + "
                                        "JELOU_CLIENT_SECRET, INDIGITALL_SERVER_KEY)")
    account.add_argument("--jelou-auth", type=_auth, metavar="ID:SECRET", help="Jelou clientId:clientSecret")
    account.add_argument("--jelou-bot", metavar="BOT", help="botId")
    account.add_argument("--jelou-template", metavar="NAME", help="an APPROVED text template (elementName)")
    account.add_argument("--jelou-placeholders", type=_whole(0, 100, "0 or 3"), default=0, metavar="N",
                         help="how many {{n}} placeholders that template has (default 0)")
    account.add_argument("--indigitall-key", metavar="KEY", help="indigitall server key")
    account.add_argument("--indigitall-app", type=_whole(1, None, "100"), metavar="ID", help="application id")
    account.add_argument("--indigitall-template", default="new_ticket", metavar="NAME",
                         help="a WhatsApp template of that application (default %(default)s)")
    account.add_argument("--indigitall-path-prefix", default=None, metavar="PREFIX",
                         help="path prefix of the CSV endpoint (default env INDIGITALL_PATH_PREFIX or /v2)")
    safety = parser.add_argument_group("safety")
    safety.add_argument("--recipient", type=_phone, action="append", default=[], metavar="PHONE",
                        help="a number the scenario may send to (repeatable); none: only steps that send nothing")
    safety.add_argument("--yes", action="store_true", help="send without asking (after printing the plan)")
    safety.add_argument("--max-requests", type=_whole(1, None, "40"), default=40, metavar="N",
                        help="at most N requests to the target (default %(default)s; at most 2 per second)")
    output = parser.add_argument_group("output")
    output.add_argument("--report", metavar="FILE.json", help="machine-readable report")
    output.add_argument("--html", metavar="FILE", help="side-by-side report for a browser")
    output.add_argument("--save-target", metavar="FILE", help="keep the target's answers (masked) for --against-saved")
    parser.set_defaults(run=run)
    return parser


def _writable(option: str, path: str | None) -> None:
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CommandError(f"{option} {path}: the folder {folder} does not exist")
    if os.path.isdir(path):
        raise CommandError(f"{option} {path} is a folder; give a file name")


def _providers(args, saved: dict | None) -> tuple[str, ...]:
    if saved is not None:
        available = tuple(name for name in saved.get("providers", []) if name in PROVIDERS)
        if args.provider in (None, "both"):
            return available
        if args.provider not in available:
            raise CommandError(f"--provider {args.provider}: {args.against_saved} holds only "
                               f"{', '.join(available) or 'no provider'}")
        return (args.provider,)
    return PROVIDERS if args.provider in (None, "both") else (args.provider,)


def _check_usage(args) -> None:
    if args.target and args.against_saved:
        raise CommandError("--target and --against-saved exclude each other: compare with a live target "
                           "or with a saved one")
    if not args.target and not args.against_saved:
        raise CommandError("give --target URL (the provider to compare with) or --against-saved FILE")
    for option, url in (("--target", args.target), ("--mock-url", args.mock_url)):
        if url and "@" in (urlsplit(url).netloc or ""):
            raise CommandError(f"{option} must not carry credentials (user:password@): give them with "
                               "--jelou-auth / --indigitall-key, or the environment")
    if args.against_saved:
        live_only = [("--save-target", args.save_target), ("--jelou-auth", args.jelou_auth),
                     ("--indigitall-key", args.indigitall_key), ("--recipient", args.recipient),
                     ("--yes", args.yes)]
        given = [name for name, value in live_only if value]
        if given:
            raise CommandError(f"{', '.join(given)}: only with --target (--against-saved sends nothing to "
                               "any provider and needs no credentials)")
    for option, path in (("--report", args.report), ("--html", args.html), ("--save-target", args.save_target)):
        _writable(option, path)


def _live_setup(args, providers) -> tuple[Setup, tuple[str, str] | None, str | None]:
    jelou_auth = args.jelou_auth
    if jelou_auth is None and os.environ.get("JELOU_CLIENT_ID") and os.environ.get("JELOU_CLIENT_SECRET"):
        jelou_auth = (os.environ["JELOU_CLIENT_ID"], os.environ["JELOU_CLIENT_SECRET"])
    key = args.indigitall_key or os.environ.get("INDIGITALL_SERVER_KEY") or None
    missing = []
    if "jelou" in providers:
        missing += [name for name, value in (("--jelou-auth (or JELOU_CLIENT_ID and JELOU_CLIENT_SECRET)", jelou_auth),
                                             ("--jelou-bot", args.jelou_bot),
                                             ("--jelou-template", args.jelou_template)) if not value]
    if "indigitall" in providers:
        missing += [name for name, value in (("--indigitall-key (or INDIGITALL_SERVER_KEY)", key),
                                             ("--indigitall-app", args.indigitall_app)) if not value]
    if missing:
        raise CommandError(f"the target account needs {', '.join(missing)} "
                           "(or choose one provider with --provider)")
    prefix = args.indigitall_path_prefix or os.environ.get("INDIGITALL_PATH_PREFIX") or DEMO["INDIGITALL_PATH_PREFIX"]
    setup = Setup(jelou_bot=args.jelou_bot or Setup.jelou_bot,
                  jelou_template=args.jelou_template or Setup.jelou_template,
                  jelou_placeholders=args.jelou_placeholders,
                  indigitall_app=args.indigitall_app or Setup.indigitall_app,
                  indigitall_template=args.indigitall_template, indigitall_prefix=prefix)
    return setup, jelou_auth, key


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def run(args, *, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = _utcnow, stdin: TextIO | None = None, stdout: TextIO | None = None,
        stderr: TextIO | None = None) -> int:
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    _check_usage(args)
    saved = None
    if args.against_saved:
        try:
            saved = load_saved(args.against_saved)
        except ValueError as exc:
            raise CommandError(f"--against-saved: {exc}") from None
    providers = _providers(args, saved)
    if saved is not None:
        setup, jelou_auth, key = setup_from_saved(saved), None, None
        recipients = tuple(SAVED_RECIPIENT.format(i) for i in range(1, int(saved.get("recipients") or 0) + 1))
    else:
        setup, jelou_auth, key = _live_setup(args, providers)
        recipients = tuple(dict.fromkeys(args.recipient))
    secrets = [":".join(jelou_auth) if jelou_auth else "", jelou_auth[1] if jelou_auth else "", key or ""]
    redactor = Redactor(secrets, recipients if saved is None else ())
    target_shown = redactor.text(args.target) if args.target else f"saved answers ({args.against_saved})"

    background = None
    files = FileUrls()
    try:
        if args.mock_url:
            mock_base = args.mock_url
        else:
            try:
                background = BackgroundServer(mock_config(setup)).start()
            except ValueError as exc:            # SettingsError: e.g. a path prefix the mock cannot take
                raise CommandError(f"the in-process mock cannot take this account's values: {exc}") from None
            mock_base = background.base_url
        mock = Side("mock", mock_base, jelou_auth=(DEMO["JELOU_CLIENT_ID"], DEMO["JELOU_CLIENT_SECRET"]),
                    indigitall_key=DEMO["INDIGITALL_SERVER_KEY"], headers={"X-Mock-Sandbox": SANDBOX},
                    now=now, mock_clock=True)
        _reset(mock)
        steps = scenario(providers)
        if saved is not None:
            planned = plan(steps, recipients=recipients, file_url_reason=file_url_reason(mock.host),
                           max_requests=None)
            report.print_plan(planned, out=stdout, target=target_shown, recipients=recipients, max_requests=None)
            outcomes = run_saved(planned, saved=SavedTarget(saved), mock=mock, setup=setup, recipients=recipients,
                                 files=files, redactor=redactor)
        else:
            target_side = Side("target", args.target, jelou_auth=jelou_auth, indigitall_key=key, now=now)
            planned = plan(steps, recipients=recipients, file_url_reason=file_url_reason(target_side.host, mock.host),
                           max_requests=args.max_requests)
            count = report.print_plan(planned, out=stdout, target=target_shown, recipients=recipients,
                                      max_requests=args.max_requests)
            refusal = consent(count, target_shown, yes=args.yes, stdin=stdin, stderr=stderr)
            if refusal:
                raise CommandError(refusal)
            target = LiveTarget(target_side, Guard(args.max_requests, recipients), Pacer(2.0, clock=clock, sleep=sleep))
            outcomes = run_live(planned, target=target, mock=mock, setup=setup, recipients=recipients,
                                files=files, redactor=redactor)
            target_side.close()
        mock.close()
    finally:
        files.close()
        if background is not None:
            background.stop()

    stdout.write("\n")
    report.print_table(outcomes, stdout)
    generated = now().isoformat()
    mode = "against saved answers" if saved is not None else "live target"
    if args.report:
        report.write_json(args.report, redactor.value(report.report_document(
            outcomes, target=target_shown, mode=mode, generated_at=generated)))
    if args.html:
        with open(args.html, "w", encoding="utf-8") as handle:
            handle.write(report.html_document(outcomes, target=target_shown, mode=mode, generated_at=generated,
                                              redactor=redactor))
    if args.save_target:
        report.write_json(args.save_target, saved_document(
            outcomes, target_url=args.target, providers=providers, setup=setup, recipients=len(recipients),
            saved_at=now(), redactor=redactor))
    return report.exit_code(outcomes)


def _reset(mock: Side) -> None:
    """Start from an empty sandbox ``conformance`` (a running mock's other sandboxes are untouched)."""
    try:
        with mock.session.post(mock.base_url + "/_mock/reset", headers=mock.headers, json={},
                               timeout=mock.timeout) as response:
            if response.status_code != 200:
                raise CommandError(f"the mock at {mock.base_url} refused POST /_mock/reset "
                                   f"({response.status_code}); is --mock-url a mock?")
    except requests.RequestException as exc:
        raise CommandError(f"cannot reach the mock at {mock.base_url} ({type(exc).__name__}); "
                           "start it with `make run` or leave out --mock-url") from None


def main(argv: list[str], **injected) -> int:
    """``mock-harness conformance ARGV`` with injectable clock, sleeper, now and streams (tests)."""
    from ..cli import build_parser

    args = build_parser().parse_args(["conformance", *argv])
    try:
        return run(args, **injected)
    except CommandError as exc:
        print(f"mock-harness conformance: error: {exc}", file=injected.get("stderr") or sys.stderr)
        return 2
