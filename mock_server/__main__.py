"""``mock-server`` / ``python -m mock_server``: serve the mock with waitress (one process, threads).

One process keeps one in-memory store; waitress's threads serve requests concurrently.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from .settings import SettingsError, load_file


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mock-server", description="Local mock of Jelou and indigitall bulk-messaging APIs.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    parser.add_argument("--config", help="settings file, YAML or JSON (tenants, templates, applications, behaviour)")
    parser.add_argument("--seed", type=int, help="seed for every random draw (overrides the config's seed)")
    parser.add_argument("--threads", type=int, default=16, help="worker threads (default 16)")
    parser.add_argument("--quiet", action="store_true", help="print neither the banner nor the access log")
    parser.add_argument("--log-format", choices=("text", "json"),
                        help="access log: one line per request on stdout, as text (default) or JSON")
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace) -> dict[str, Any]:
    config = load_file(args.config) if args.config else {}
    if args.seed is not None:
        config["seed"] = args.seed
    config["access_log"] = None if args.quiet else (args.log_format or config.get("access_log") or "text")
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
    from . import create_app
    from .serving import serve

    try:
        app = create_app(build_config(args))
    except SettingsError as exc:
        print(f"mock-server: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    if not args.quiet:
        print(banner(app, f"http://{shown_host}:{args.port}"), flush=True)
    app.extensions["mock"].webhooks.start()    # delivers due webhook events in the background
    try:
        # inspection.max_waiters extra threads: long-polls wait on those, never on the API's workers
        serve(app, host=args.host, port=args.port, threads=args.threads + app.extensions["mock"].max_waiters,
              ident="mock-server", channel_timeout=300)
    except OSError as exc:
        print(f"mock-server: cannot listen on {args.host}:{args.port}: {exc.strerror}. "
              f"Is another server running there? Try --port {args.port + 1}.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
