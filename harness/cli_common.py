"""Options shared by the ``mock-harness`` subcommands that talk to a server.

The mock's demo credentials are the defaults here (and in the pytest plugin), never inside the
clients.  Each may also come from the environment, so a real provider's secrets need not be
typed on the command line: ``MOCK_BASE_URL``, ``JELOU_CLIENT_ID``, ``JELOU_CLIENT_SECRET``,
``INDIGITALL_SERVER_KEY``, ``INDIGITALL_PATH_PREFIX``.
"""
from __future__ import annotations

import os

import requests

from harness.indigitall_client import IndigitallClient
from harness.jelou_client import JelouClient

DEMO = {
    "MOCK_BASE_URL": "http://127.0.0.1:8080",
    "JELOU_CLIENT_ID": "demo-client-id",
    "JELOU_CLIENT_SECRET": "demo-client-secret",
    "INDIGITALL_SERVER_KEY": "demo-server-key",
    "INDIGITALL_PATH_PREFIX": "/v2",
}


def default(name: str) -> str:
    return os.environ.get(name) or DEMO[name]


def base_url(text: str) -> str:
    """``--base-url``: an http(s) URL; ``localhost:18080`` gets a suggestion instead of a requests error."""
    import argparse
    from urllib.parse import urlsplit

    lowered = text.lower()
    if not lowered.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an http(s) URL; did you mean http://{text.split('://', 1)[-1]} ?")
    try:
        host = urlsplit(text).hostname
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a valid URL ({exc})") from None
    if not host:
        raise argparse.ArgumentTypeError(f"{text!r} has no host; e.g. http://127.0.0.1:8080")
    return text.rstrip("/")


def add_server_options(parser, *, jelou: bool = True, indigitall: bool = True) -> None:
    group = parser.add_argument_group("server and credentials (defaults: the mock's demo tenant)")
    group.add_argument("--base-url", type=base_url, default=default("MOCK_BASE_URL"),
                       help="server to talk to (default %(default)s; env MOCK_BASE_URL)")
    if jelou:
        group.add_argument("--client-id", default=default("JELOU_CLIENT_ID"), help="Jelou clientId (env JELOU_CLIENT_ID)")
        group.add_argument("--client-secret", default=default("JELOU_CLIENT_SECRET"),
                           help="Jelou clientSecret (env JELOU_CLIENT_SECRET)")
    if indigitall:
        group.add_argument("--server-key", default=default("INDIGITALL_SERVER_KEY"),
                           help="indigitall server key (env INDIGITALL_SERVER_KEY)")
        group.add_argument("--path-prefix", default=default("INDIGITALL_PATH_PREFIX"),
                           help="indigitall path prefix (default %(default)s; env INDIGITALL_PATH_PREFIX)")


def jelou_client(args) -> JelouClient:
    return JelouClient(args.base_url, args.client_id, args.client_secret)


def indigitall_client(args) -> IndigitallClient:
    return IndigitallClient(args.base_url, args.server_key, path_prefix=args.path_prefix)


def connection_hint(base_url: str, exc: requests.RequestException) -> str:
    """What to tell a user whose request never got an answer."""
    if isinstance(exc, requests.ConnectionError):
        return (f"cannot connect to {base_url}: is the mock running? start it with `make run` "
                "(or pass --base-url)")
    if isinstance(exc, requests.Timeout):
        return f"{base_url} did not answer in time; is it overloaded? try again or raise --timeout"
    return f"request to {base_url} failed: {exc}"
