"""``mock-server`` / ``python -m mock_server``: serve the mock with waitress (one process, threads).

One process keeps one in-memory store; waitress's threads serve requests concurrently.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from typing import Any, Mapping

from .settings import SettingsError, load_file


def parse_args(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mock-server", description="Local mock of Jelou and indigitall bulk-messaging APIs.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    parser.add_argument("--config", help="settings file, YAML or JSON (tenants, templates, applications, behaviour)")
    parser.add_argument("--seed", type=int, help="seed for every random draw (overrides the config's seed)")
    parser.add_argument("--threads", type=int, default=16, help="worker threads (default 16)")
    parser.add_argument("--quiet", action="store_true", help="do not print the banner")
    parser.epilog = ENVIRONMENT_HELP
    parser.set_defaults(**environment_defaults(parser, os.environ if environ is None else environ))
    return parser.parse_args(argv)


ENV_PREFIX = "MOCK_"
ENVIRONMENT_HELP = ("Every --flag can also be set by the environment variable MOCK_<FLAG> (MOCK_PORT=9000, "
                    "MOCK_CONFIG=/config/mock.yaml, MOCK_QUIET=1); a flag on the command line wins.")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def environment_defaults(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> dict[str, Any]:
    """``MOCK_<FLAG>`` values as parser defaults, for every ``--flag`` (``--foo-bar`` -> ``MOCK_FOO_BAR``).

    This is how the container image is configured.  Values go through the flag's own type, so a
    bad ``MOCK_PORT`` is the same usage error as a bad ``--port``; a switch takes 1/true/yes/on
    or 0/false/no/off/empty.
    """
    defaults: dict[str, Any] = {}
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            continue
        long_flags = [flag for flag in action.option_strings if flag.startswith("--")]
        if not long_flags:
            continue
        name = ENV_PREFIX + long_flags[0][2:].upper().replace("-", "_")
        if name not in environ:
            continue
        value = environ[name]
        if action.nargs == 0:  # a switch such as --quiet
            if value.strip().lower() not in _TRUE + _FALSE:
                parser.error(f"{name}={value!r}: expected one of {', '.join(_TRUE + _FALSE[1:])}")
            value = value.strip().lower() in _TRUE
        elif action.type is not None:
            try:
                value = action.type(value)
            except (TypeError, ValueError):
                parser.error(f"{name}={value!r}: not a valid {getattr(action.type, '__name__', 'value')} for {long_flags[0]}")
        defaults[action.dest] = value
    return defaults


def exit_on_sigterm() -> None:
    """Stop at once on SIGTERM (``docker stop``): as a container's PID 1 the default action would be ignored."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))


def build_config(args: argparse.Namespace) -> dict[str, Any]:
    config = load_file(args.config) if args.config else {}
    if args.seed is not None:
        config["seed"] = args.seed
    return config


def banner(app, base_url: str) -> str:
    state = app.extensions["mock"]
    settings = state.settings
    lines = [f"Bulk-messaging mock listening on {base_url}  (seed {settings['seed']}, clock {state.clock.now().isoformat()})", "", "Routes:"]
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        methods = ",".join(sorted(m for m in rule.methods if m not in ("HEAD", "OPTIONS")))
        lines.append(f"  {methods:<12} {rule.rule}")
    lines.append("")
    lines.append("Jelou (Authorization: Basic base64(clientId:clientSecret)):")
    for client in settings["jelou"]["clients"]:
        lines.append(f"  clientId {client['client_id']}  clientSecret {client['client_secret']}  company {client['company_id']}")
    lines.append("  bots: " + ", ".join(bot["id"] for bot in settings["jelou"]["bots"]))
    lines.append(f"indigitall (Authorization: ServerKey <key>), path prefix {settings['indigitall']['path_prefix']}:")
    for key in settings["indigitall"]["server_keys"]:
        lines.append(f"  ServerKey {key['key']}  applications {', '.join(map(str, key['applications']))}")
    lines.append("Control plane: /_mock/health, /_mock/reset, /_mock/clock, /_mock/messages, /_mock/sandboxes, /_mock/webhooks")
    lines.append("Sandboxes: header X-Mock-Sandbox: NAME, or the base path /sandboxes/NAME in front of any path")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from waitress import serve

    from . import create_app

    try:
        app = create_app(build_config(args))
    except SettingsError as exc:
        print(f"mock-server: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    if not args.quiet:
        print(banner(app, f"http://{shown_host}:{args.port}"), flush=True)
    exit_on_sigterm()
    app.extensions["mock"].webhooks.start()    # delivers due webhook events in the background
    try:
        # inspection.max_waiters extra threads: long-polls wait on those, never on the API's workers
        serve(app, host=args.host, port=args.port, threads=args.threads + app.extensions["mock"].max_waiters,
              ident="mock-server",
              max_request_body_size=app.config["MAX_CONTENT_LENGTH"] + 1024 * 1024, channel_timeout=300)
    except OSError as exc:
        print(f"mock-server: cannot listen on {args.host}:{args.port}: {exc.strerror}. "
              f"Is another server running there? Try --port {args.port + 1}.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
