"""Download a file named by URL within a scheme, host-policy, size and total-time budget.

``timeout`` is ONE deadline for everything: name resolution, connecting, every redirect hop,
the headers and the whole body (CONTRACT §13). A watchdog shuts the socket down when it passes,
so a server that drips one byte a second, never ends, or declares more bytes than it sends
cannot hold a request thread past the deadline. Redirects are followed here, not by a library,
so that each hop's resolved address is checked by the host policy (``netpolicy``) and the socket
connects to exactly the address that was checked. Credentials in the URL are sent as Basic auth
to the first host only and never appear in a message (``redact_url``).

The deadline and the end of a body can meet: a body whose end was received before the watchdog
cut the connection (the server closed it, or the declared length or the last chunk arrived) is
complete and is accepted, even when the deadline passes a moment later, before this thread looks;
a body the watchdog cut is never taken for a whole file. When the deadline passes after the server
has closed its side (the rest of the body is already in the receive buffer, this thread has just
not read it yet: a loaded machine), the watchdog leaves the socket alone and the body is accepted.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import re
import ssl
import string
from urllib.parse import quote, unquote, urljoin, urlsplit

from .netconnect import FetchError, Watchdog, connector, policy_connector  # noqa: F401 (re-exported)
from .netpolicy import HostPolicy, literal_address, redact_url

CHUNK = 256 * 1024
HUGE = 10 ** 30     # a declared length with more digits than this is reported as such
OPEN = HostPolicy(open=True)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HOST_PORT = re.compile(r"(\[[^\[\]]*\]|[^\[\]:]*)(:[0-9]*)?")
_REG_NAME_ASCII = frozenset(string.ascii_letters + string.digits + "-._~%!$&'()*+,;=")


def check_url(url: str) -> str | None:
    """Why ``url`` cannot be fetched (not http/https, no host, malformed), or None if it looks fine.

    Malformed: a control character anywhere (``urlsplit`` would silently drop a tab or line break
    and fetch another URL), a port that is not a number from 0 to 65535, a bracketed host that is
    not an IPv6 address or is followed by anything but ``:port``, a host with a space or a character
    a host name cannot hold (RFC 3986 reg-name; non-ASCII letters are fine, IDNA encodes them)."""
    if control := _CONTROL.search(url):
        return f"the URL contains the control character {control[0]!r} (position {control.start()}): percent-encode it"
    try:
        parsed = urlsplit(url)
        parsed.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:       # e.g. "Invalid IPv6 URL" for http://[::1/x.csv, a port out of range
        return f"the URL cannot be read: {exc}"
    if parsed.scheme.lower() not in ("http", "https"):
        return f"only http and https URLs can be fetched, not '{parsed.scheme or redact_url(url)}'"
    host_port = parsed.netloc.rpartition("@")[2]
    if not parsed.hostname:
        return "the URL has no host"
    if not _HOST_PORT.fullmatch(host_port):
        return f"the URL's host and port '{host_port}' are not valid (expected host, host:port or [IPv6]:port)"
    if host_port.startswith("["):
        if not isinstance(literal_address(parsed.hostname), ipaddress.IPv6Address):
            return f"the URL's host '[{parsed.hostname}]' is not an IPv6 address"
    elif bad := next((char for char in parsed.hostname if not (char in _REG_NAME_ASCII or (
            not char.isascii() and char.isprintable() and not char.isspace()))), None):
        return f"the URL's host '{parsed.hostname}' contains {bad!r}, which a host name cannot contain"
    return None



def fetch(url: str, *, timeout: float, max_bytes: int, policy: HostPolicy = OPEN, max_redirects: int = 5) -> bytes:
    """Return the body at ``url``; raise :class:`FetchError` (message without credentials) on any failure."""
    problem = check_url(url)
    if problem:
        raise FetchError(problem)
    with Watchdog(timeout) as dog:
        seen = set()
        first_host = urlsplit(url).hostname
        for _ in range(max_redirects + 1):
            if url in seen:
                raise FetchError(f"{redact_url(url)} redirects in a loop")
            seen.add(url)
            location = _one_hop(url, first_host, timeout, max_bytes, policy, dog)
            if isinstance(location, bytes):
                return location
            url = location
        raise FetchError(f"more than {max_redirects} redirects; the last one pointed to {redact_url(url)}")


def _one_hop(url: str, first_host: str | None, timeout: float, max_bytes: int, policy: HostPolicy,
             dog: Watchdog) -> bytes | str:
    """Fetch one URL: its body, or the absolute URL it redirects to."""
    shown = redact_url(url)
    problem = check_url(url)
    if problem:
        raise FetchError(f"a redirect pointed to {shown}, which cannot be fetched: {problem}")
    refusal = policy.check(url)
    if refusal:
        raise FetchError(f"refused by the host policy: {refusal}")
    parts = urlsplit(url)
    https = parts.scheme.lower() == "https"
    conn_class = http.client.HTTPSConnection if https else http.client.HTTPConnection
    kwargs = {"context": ssl.create_default_context()} if https else {}
    try:
        # the bare host and an explicit port: http.client strips an IPv6 literal's brackets only when it
        # parses a port itself, and reads a bare IPv6 address without a port as host:port
        conn = conn_class(parts.hostname, parts.port or (443 if https else 80), timeout=max(dog.remaining(), 0.001),
                          **kwargs)
    except (http.client.InvalidURL, ValueError) as exc:      # check_url should have caught it: never a 500
        raise FetchError(f"{shown} cannot be fetched: {exc}") from None
    conn._create_connection = connector(policy, dog)
    headers = {"User-Agent": "bulk-messaging-mock", "Accept-Encoding": "identity", "Connection": "close"}
    if parts.username is not None and parts.hostname == first_host:
        token = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(token).decode("ascii")
    received = 0
    try:
        conn.request("GET", _target(parts.path, parts.query), headers=headers)
        response = conn.getresponse()
        if 300 <= response.status < 400 and response.getheader("Location"):
            return urljoin(url, response.getheader("Location").strip())
        if response.status >= 300:
            raise FetchError(f"fetching {shown} answered HTTP {response.status}; check that the file is public")
        declared = _content_length(response.getheader("Content-Length", ""))
        if declared is not None and declared > max_bytes:
            size = f"{declared:,} bytes" if declared < HUGE else "declared with a Content-Length of over 30 digits"
            raise FetchError(f"the file at {shown} is {size}, more than the {max_bytes:,} bytes allowed")
        chunks = []
        # never more than one byte past the cap in one read: a read blocks until it is full (or the
        # end), so a 256 KiB read of a slow endless stream waited for 256 KiB before the cap was checked
        while chunk := response.read(min(CHUNK, max_bytes - received + 1)):
            received += len(chunk)
            if received > max_bytes:
                raise FetchError(f"the file at {shown} is larger than the {max_bytes:,} bytes allowed")
            chunks.append(chunk)
        # an end by length or last chunk is the server's own; an end by close may be the watchdog's cut
        framed = response.chunked or (declared is not None and received >= declared)
        if dog.finish() and not framed:
            raise _deadline(shown, timeout, received)
        if declared is not None and received < declared:
            raise _short(shown, received, declared)
        return b"".join(chunks)
    except FetchError:
        raise
    except http.client.IncompleteRead as exc:
        if dog.expired():
            raise _deadline(shown, timeout, received + len(exc.partial)) from None
        raise _short(shown, received + len(exc.partial), received + len(exc.partial) + (exc.expected or 0)) from None
    except ssl.SSLError as exc:
        raise FetchError(f"TLS failed for {shown}: {exc.reason or exc}") from None
    except (OSError, http.client.HTTPException, ValueError) as exc:     # ValueError: InvalidURL, bad header
        if dog.expired():
            raise _deadline(shown, timeout, received) from None
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else (type(exc).__name__ + (f": {exc}" if str(exc) else ""))
        raise FetchError(f"the server at {shown} broke off the download ({detail})") from None
    finally:
        conn.close()


def _content_length(value: str) -> int | None:
    """The declared length (capped: 30 digits is "larger than any limit", never a 4,300-digit int())."""
    value = value.strip()
    if not (value.isascii() and value.isdigit()):
        return None
    return int(value) if len(value) <= 30 else HUGE


def _target(path: str, query: str) -> str:
    """The request target, percent-encoding what http.client would refuse (spaces, non-ASCII, controls)."""
    target = quote(path or "/", safe="/%:@!$&'()*+,;=-._~")
    return target + (f"?{quote(query, safe='/?%:@!$&()*+,;=-._~')}" if query else "")


def _deadline(shown: str, timeout: float, received: int) -> FetchError:
    return FetchError(f"fetching {shown} took longer than {timeout:g} s (file_url_timeout, a total deadline for "
                      f"connecting, redirects and the whole body; {received:,} bytes received by then)")


def _short(shown: str, received: int, declared: int) -> FetchError:
    return FetchError(f"the server at {shown} closed the connection after {received:,} of the {declared:,} bytes "
                      "it declared (Content-Length): the file is incomplete")
