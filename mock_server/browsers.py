"""Web pages must not drive the mock (CONTRACT §18 "Browsers", "Host header", "Headers").

The mock has no login and listens on loopback, so any page the developer opens could otherwise
reach it: a form post or a ``no-cors`` fetch (cross-site request forgery), or a page whose own
host name an attacker re-points at 127.0.0.1 (DNS rebinding). One ``before_request`` hook,
registered before every other, applies two rules to each request; an ``after_request`` hook adds
the security headers of the pages.

- **Host**: while the server listens only on loopback (``server.host``), a request whose ``Host``
  is not ``localhost`` (or a ``*.localhost`` name, which browsers resolve to loopback themselves),
  a loopback address (any port) or a name in ``server.allowed_hosts`` is refused: 421 in JSON (the
  envelope of the provider owning the path). Every path is checked, the emulated APIs too. Listening
  on another address, any Host is accepted unless ``server.allowed_hosts`` is set (then the same
  rule applies; ``"*"`` in it accepts any). A request without ``Host`` (HTTP/1.0; no browser
  sends one) passes.
- **Origin**: a POST, PUT, PATCH or DELETE to ``/_mock/...`` (under a ``/sandboxes/NAME`` prefix
  too) is refused with 403 in the control-plane envelope when its ``Origin`` is not the mock's own
  (scheme, host and port of the request's ``Host``; ``Origin: null`` included) or when it carries
  ``Sec-Fetch-Site: cross-site`` or ``same-site``. ``same-site`` is foreign too: a page on another
  port of localhost, or on a sibling host name, is another origin, and any local dev server could
  serve one. An origin listed in ``server.allowed_origins`` is accepted whatever ``Sec-Fetch-Site``
  says. Scripts (curl, requests, the harness, the pytest plugin) send neither header and pass; the
  UI's own forms send the mock's own origin and pass.
- **New sandboxes**: a request a page on another site made (``Sec-Fetch-Site: cross-site`` or
  ``same-site``, its ``Origin`` not listed) never creates a sandbox but ``default``: 403 in the
  envelope of the path's owner. Any GET creates its sandbox (CONTRACT §7), so without this an ``<img>`` per name,
  or a popup its opener re-navigates, fills ``sandboxes.max_count`` and every test run that needs
  a new sandbox gets 429 until they expire. Other sites' requests in existing sandboxes are served.
- **Headers**: everything under ``/_mock/ui/`` and ``/_mock/docs/`` is sent with a
  ``Content-Security-Policy`` allowing only the mock's own scripts, styles and connections (no
  inline script: the pages have none; ``frame-ancestors 'none'``; the docs page also allows the one
  ``<style>`` of Swagger UI's logo, by its hash), ``X-Frame-Options: DENY`` and
  ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Flask, Response, request
from werkzeug.exceptions import MisdirectedRequest

from .errors import ControlError
from .netpolicy import literal_address, listens_on_loopback_only
from .sandbox import wsgi_text

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CONTROL_PLANE = "/_mock"
DEFAULT_PORTS = {"http": 80, "https": 443}
# The one <style> element Swagger UI draws (in its logo's SVG), allowed by its hash on the docs page.
SWAGGER_LOGO_STYLE = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='"


def content_security_policy(*style_hashes: str) -> str:
    """The pages' policy: only the mock's own scripts, styles, images and connections; no framing."""
    styles = " ".join(("'self'", *style_hashes))
    return ("default-src 'none'; script-src 'self'; " f"style-src {styles}; img-src 'self' data:; "
            "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


PAGE_POLICIES = (("/_mock/ui", content_security_policy()), ("/_mock/docs", content_security_policy(SWAGGER_LOGO_STYLE)))
PAGE_HEADERS = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}

Origin = tuple[str, str, int]          # (scheme, host, port), the way browsers compare origins


@dataclass(frozen=True)
class BrowserPolicy:
    """What :func:`guard` accepts; build it with :func:`browser_policy`."""

    check_host: bool                   # False: any Host (non-loopback listen address, no allowed_hosts)
    hosts: frozenset[str] = frozenset()
    origins: frozenset[Origin] = frozenset()


def browser_policy(server) -> BrowserPolicy:
    """The policy of the ``server`` settings (lists of strings, checked by the settings model); a
    ``ValueError`` naming the setting for a bad entry."""
    names = frozenset(_host_entry(entry) for entry in server.allowed_hosts)
    listed = frozenset(_origin_entry(entry) for entry in server.allowed_origins)
    check = listens_on_loopback_only(str(server.host)) or bool(names)
    return BrowserPolicy(check_host=check and "*" not in names, hosts=names, origins=listed)


def _host_entry(entry: str) -> str:
    name = entry.strip().lower().rstrip(".")
    if name != "*" and ("/" in name or "@" in name or any(char.isspace() for char in name)
                        or (":" in name and literal_address(name) is None)):
        raise ValueError(f"server.allowed_hosts entries are host names or addresses without a port "
                         f"(e.g. mock.internal), not {entry!r}")
    return name.strip("[]")


def _origin_entry(entry: str) -> Origin:
    origin = parse_origin(entry.strip())
    if origin is None or urlsplit(entry.strip()).path not in ("", "/"):
        raise ValueError(f"server.allowed_origins entries are origins such as http://localhost:3000 "
                         f"(scheme, host and port only), not {entry!r}")
    return origin


def parse_origin(text: str) -> Origin | None:
    """``(scheme, host, port)`` of an http(s) origin or URL, or None (``null``, malformed, other schemes)."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.rstrip("."), port if port is not None else DEFAULT_PORTS[scheme]


def host_name(host: str) -> str:
    """The name part of a ``Host`` header value (no port, no IPv6 brackets), lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def is_loopback_host(name: str) -> bool:
    """``localhost``, a ``*.localhost`` name or a loopback address (IPv4-mapped IPv6 forms included)."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    ip = literal_address(name)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip is not None and ip.is_loopback


def host_refusal(policy: BrowserPolicy, host: str | None) -> str | None:
    """Why a request with this ``Host`` header is refused (421), or None."""
    if not policy.check_host or host is None:
        return None
    name = host_name(host)
    if is_loopback_host(name) or name in policy.hosts:
        return None
    shown = host if len(host) <= 100 else host[:100] + "…"
    return (f"this mock does not answer for the host {shown!r} (the Host header): it accepts localhost, loopback "
            "addresses and the names in the setting server.allowed_hosts. A page reaching it under another name "
            "may be a DNS-rebinding attack; add the name to server.allowed_hosts if you use it on purpose")


def origin_refusal(policy: BrowserPolicy, method: str, path: str, *, origin: str | None, fetch_site: str | None,
                   own: Origin | None) -> str | None:
    """Why a request is refused as cross-origin (403), or None (see the module docstring)."""
    if not origin_checked(method, path):
        return None
    sent = parse_origin(origin) if origin is not None else None
    if sent is not None and sent in policy.origins:
        return None
    site = (fetch_site or "").strip().lower()
    if site in ("cross-site", "same-site"):
        why = f"Sec-Fetch-Site: {site}"
    elif origin is not None and (sent is None or sent != own):
        why = f"Origin: {origin[:100]}"
    else:
        return None
    return (f"refused {method} {path} from a web page on another origin ({why}); the mock's control plane "
            "only takes changes from its own pages and from scripts. List a trusted origin in the setting "
            "server.allowed_origins")


def origin_checked(method: str, path: str) -> bool:
    """Can the request be refused as cross-origin at all: a change to the control plane?"""
    return method in STATE_CHANGING and (path == CONTROL_PLANE or path.startswith(CONTROL_PLANE + "/"))


def from_another_site(policy: BrowserPolicy, *, origin: str | None, fetch_site: str | None) -> bool:
    """Did a page on another site (another port of localhost included) send this request? Not when
    its ``Origin`` is listed in ``server.allowed_origins``."""
    if (fetch_site or "").strip().lower() not in ("cross-site", "same-site"):
        return False
    return origin is None or parse_origin(origin) not in policy.origins


def creation_refusal(name: str, *, fetch_site: str | None) -> str:
    """Why a request from another site's page may not create sandbox ``name`` (403)."""
    return (f"sandbox '{name}' does not exist, and a request from a web page on another site (Sec-Fetch-Site: "
            f"{(fetch_site or '').strip().lower()}) may not create one; create it from a script or the mock's own "
            "pages, or list the page's origin in the setting server.allowed_origins")


def init_app(app: Flask, policy: BrowserPolicy) -> None:
    """Install the checks; call before any other ``before_request`` hook is registered."""

    @app.before_request
    def guard() -> None:
        host = request.environ.get("HTTP_HOST")
        problem = host_refusal(policy, None if host is None else wsgi_text(host))
        if problem:
            raise MisdirectedRequest(problem)
        method, path = request.method, request.path
        if not origin_checked(method, path):        # the rest needs no Origin work (the own origin: a host parse)
            return
        problem = origin_refusal(policy, method, path, origin=request.headers.get("Origin"),
                                 fetch_site=request.headers.get("Sec-Fetch-Site"),
                                 own=parse_origin(f"{request.scheme}://{request.host}"))
        if problem:
            raise ControlError(problem, 403)

    @app.after_request
    def page_headers(response: Response) -> Response:
        path = request.path
        for prefix, policy_text in PAGE_POLICIES:
            if path == prefix or path.startswith(prefix + "/"):
                response.headers.setdefault("Content-Security-Policy", policy_text)
                for name, value in PAGE_HEADERS.items():
                    response.headers.setdefault(name, value)
        return response
