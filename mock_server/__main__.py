"""``mock-server`` / ``python -m mock_server``: serve the mock (``mock_server.httpserver``).

One process (default): waitress, threads, the in-memory store. ``--workers N``: granian with N
processes, which must share a store (``--store redis://HOST:PORT/DB``). Flags override the
``server`` and ``store`` settings of ``--config``; the banner is printed once the port is bound.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from dataclasses import Field
from typing import Any, Callable, Mapping

from .netpolicy import HostPolicy
from .httpserver import ListenError, bind, log_line, serve_granian, serve_waitress, tune_gc
from .providers import join_words
from .sandbox import Sandbox
from .settings import Settings, SettingsError, load_file, registered
from .settings.model import check_value, walk
from .store import DEFAULT_SANDBOX, StoreError
from .version import package_version


def model_flags() -> list[tuple[str, Field]]:
    """``(setting path, field)`` of every setting a ``--flag`` overrides (``flag`` in its metadata)."""
    return [(path, spec) for path, spec in walk(Settings) if spec.metadata.get("flag")]


def _flag_type(path: str, spec: Field) -> Callable[[str], Any]:
    """The flag's parser: text to the setting's type, then the model's own check of that setting."""
    flag = "--" + spec.metadata["flag"]

    listed = _listed(spec)

    def parse(text: str) -> Any:
        value: Any = text
        if listed:                              # --net-allow a,b: a list setting, comma-separated
            value = [item.strip() for item in text.split(",") if item.strip()]
        elif isinstance(spec.default, int):
            try:
                value = int(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{flag} must be a whole number, not {text!r}") from None
        try:
            check_value(spec, value, path)
        except SettingsError as exc:
            raise argparse.ArgumentTypeError(exc.for_flag(flag)) from None
        return value
    return parse


def _listed(spec: Field) -> bool:
    """A list setting (``net.allow``): its flag takes comma-separated items."""
    return spec.default is dataclasses.MISSING and isinstance(spec.default_factory(), tuple)


def _flag_help(path: str, spec: Field) -> str:
    if _listed(spec):
        shown = spec.metadata.get("shown") or ", ".join(spec.default_factory()) or "none"
        return f"{spec.metadata['doc']}, comma-separated (setting {path}; default {shown})".replace("`", "")
    shown = spec.metadata.get("shown") or spec.default
    return f"{spec.metadata['doc']} (setting {path}; default {shown})".replace("`", "")


def parse_args(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> argparse.Namespace:
    titles = join_words([provider.title for provider in registered()])
    parser = argparse.ArgumentParser(prog="mock-server", description=f"Local mock of {titles} bulk-messaging APIs.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    parser.add_argument("--config", help="settings file, YAML or JSON (tenants, templates, applications, behaviour)")
    for path, spec in model_flags():            # overrides of settings: parsed here, checked by the model
        parser.add_argument("--" + spec.metadata["flag"], type=_flag_type(path, spec), help=_flag_help(path, spec),
                            metavar="HOST[,HOST...]" if _listed(spec) else None)
    parser.add_argument("--quiet", action="store_true", help="print neither the banner nor the access log")
    parser.add_argument("--log-format", choices=("text", "json"),
                        help="access log: one line per request on stdout, as text (default) or JSON")
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
            except argparse.ArgumentTypeError as exc:       # the flag's own check (--port, --store ...)
                parser.error(f"{name}={value!r}: {exc}")
            except (TypeError, ValueError):
                parser.error(f"{name}={value!r}: not a valid {getattr(action.type, '__name__', 'value')} for {long_flags[0]}")
        defaults[action.dest] = value
    return defaults


def build_config(args: argparse.Namespace) -> dict[str, Any]:
    """The config file's settings with the flags' overrides (``create_app`` checks the whole)."""
    config = load_file(args.config) if args.config else {}
    for path, spec in model_flags():
        value = getattr(args, spec.metadata["flag"].replace("-", "_"))
        if value is None:
            continue
        *sections, key = path.split(".")
        node = config
        for name in sections:                   # server.port: {"server": {"port": ...}} over the file's
            node[name] = node = dict(node.get(name) or {})
        node[key] = value
    config["access_log"] = None if args.quiet else (args.log_format or config.get("access_log") or "text")
    return config


def banner(app, base_url: str) -> str:
    state = app.extensions["mock"]
    settings = state.settings
    now = Sandbox.enter(state.store, DEFAULT_SANDBOX).now_dt()    # the default sandbox's first use starts its clock
    lines = [f"Bulk-messaging mock listening on {base_url}  (seed {settings.seed}, clock {now.isoformat()})", "", "Routes:"]
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        methods = ",".join(sorted(m for m in rule.methods if m not in ("HEAD", "OPTIONS")))
        lines.append(f"  {methods:<12} {rule.rule}")
    lines.append("")
    for provider in state.providers.values():
        lines.extend(provider.banner_lines(settings))
    lines.append("Control plane: /_mock/health, /_mock/reset, /_mock/clock, /_mock/messages, /_mock/sandboxes, /_mock/webhooks")
    lines.append("Sandboxes: header X-Mock-Sandbox: NAME, or the base path /sandboxes/NAME in front of any path")
    policy = HostPolicy.from_settings(settings)
    allow = ", ".join(settings.net.allow) or "nothing"
    lines.append("fileUrl hosts: any (the server listens on loopback only)" if policy.open else
                 f"fileUrl hosts: public ones, plus net.allow ({allow}): loopback and private addresses are refused")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from . import create_app
    from .serving import ElasticDispatcher

    try:
        config = build_config(args)
        app = create_app(config)
    except SettingsError as exc:
        print(f"mock-server: {exc}", file=sys.stderr)
        return 2
    state = app.extensions["mock"]
    try:
        Sandbox.enter(state.store, DEFAULT_SANDBOX)     # the default sandbox's first use starts its clock
    except StoreError as exc:          # a shared store unreachable, or holding another version's keys
        print(f"mock-server: {exc}", file=sys.stderr)
        return 1
    # inspection.max_waiters extra threads: long-polls wait on those, never on the API's workers
    server = dataclasses.replace(state.settings.server, threads=state.settings.server.threads + state.max_waiters)
    try:
        sock = bind(server.host, server.port)
    except ListenError as exc:
        print(f"mock-server: {exc}", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    host, port = sock.getsockname()[:2]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else (f"[{host}]" if ":" in host else host)
    if not args.quiet:
        print(banner(app, f"http://{shown}:{port}"), flush=True)
    if server.workers > 1:
        sock.close()                  # granian binds the port itself (the check above proved it free)
        return serve_granian({**config, "server": {**state.settings.server.as_dict(), "port": port}},
                             dataclasses.replace(server, port=port),
                             log_line)
    tune_gc()                     # this process serves from here on (never in create_app: embedders keep theirs)
    state.webhooks.start()        # delivers due webhook events in the background
    # the fault pipeline's pool: a request held by injected latency lends its worker back (serving.py)
    return serve_waitress(app, server, sock, log_line, dispatcher=ElasticDispatcher(server.threads))


if __name__ == "__main__":
    sys.exit(main())
