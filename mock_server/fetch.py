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
import select
import socket
import ssl
import string
import threading
import time
from urllib.parse import quote, unquote, urljoin, urlsplit

from .netpolicy import HostPolicy, literal_address, redact_url

CHUNK = 256 * 1024
HUGE = 10 ** 30     # a declared length with more digits than this is reported as such
OPEN = HostPolicy(open=True)


class FetchError(Exception):
    """The URL could not be fetched; the message says what happened and what to check."""


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


class _Watchdog:
    """Shuts the current socket down when the deadline passes (unblocks any read or connect).

    ``fired``: the deadline has passed. ``cut``: the watchdog shut a socket down before ``finish()``
    (only then can an end of the body be the watchdog's doing rather than the server's).
    """

    def __init__(self, timeout: float) -> None:
        self.deadline = time.monotonic() + timeout
        self.fired = False
        self.cut = False
        self.finished = False
        self.sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(timeout, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> "_Watchdog":
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.fired = True
        return max(left, 0.0)

    def expired(self) -> bool:
        """Whether the deadline has passed (by the clock too: the timer thread can be late under load)."""
        return self.fired or self.remaining() == 0

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self.sock = sock
            if self.fired and sock is not None and _shutdown(sock):
                self.cut = True

    def finish(self) -> bool:
        """The body has ended: stop watching. Whether the watchdog had cut the connection before that."""
        with self._lock:
            self.finished = True
            return self.cut

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            if self.sock is not None and not self.finished and not _peer_closed(self.sock) and _shutdown(self.sock):
                self.cut = True


def _shutdown(sock: socket.socket) -> bool:
    """Shut ``sock`` down; False when it was already closed (its reader was done with it)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        return False
    return True


def _peer_closed(sock: socket.socket) -> bool:
    """Whether the server has closed its side of ``sock`` (all it sent is in the receive buffer).

    Linux reports it as POLLRDHUP; elsewhere this says False and the watchdog cuts as before."""
    flag = getattr(select, "POLLRDHUP", 0)
    fd = sock.fileno()
    if not flag or fd < 0:
        return False
    poller = select.poll()
    poller.register(fd, flag)
    return any(events & flag for _, events in poller.poll(0))


def _resolve(host: str, port: int, dog: _Watchdog) -> list[tuple]:
    """getaddrinfo bounded by the deadline (it runs in a daemon thread that may outlive us)."""
    result: list = []

    def work() -> None:
        try:
            result.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as exc:     # UnicodeError: a name IDNA cannot encode
            result.append(exc)

    worker = threading.Thread(target=work, daemon=True, name="fetch-resolve")
    worker.start()
    worker.join(dog.remaining())
    if not result:
        raise FetchError(f"resolving the host name {host} did not finish within the deadline")
    if isinstance(result[0], Exception):
        reason = getattr(result[0], "strerror", None) or result[0]
        raise FetchError(f"the host name {host} could not be resolved ({reason})")
    return result[0]


class _Budget:
    """A deadline without a watchdog, for connections whose reads a socket timeout bounds."""

    def __init__(self, timeout: float) -> None:
        self.deadline = time.monotonic() + timeout
        self.fired = False

    def remaining(self) -> float:
        return max(self.deadline - time.monotonic(), 0.0)

    def watch(self, sock: socket.socket | None) -> None:
        pass


def policy_connector(policy: HostPolicy, timeout: float):
    """A ``create_connection`` that resolves, checks every address with ``policy`` and connects to an
    allowed one within ``timeout`` (:class:`FetchError` otherwise). For ``http.client`` users such as
    webhook delivery: ``connection._create_connection = policy_connector(policy, timeout)``."""

    def create_connection(address, timeout_=None, source_address=None):
        sock = _connector(policy, _Budget(timeout))(address)
        sock.settimeout(timeout if timeout_ is None else timeout_)
        return sock

    return create_connection


def _connector(policy: HostPolicy, dog: _Watchdog | _Budget):
    """A ``create_connection`` for http.client that checks each resolved address, then connects to it."""

    def create_connection(address, timeout=None, source_address=None):
        host, port = address
        refusals, candidates = [], []
        for family, kind, proto, _, sockaddr in _resolve(host, port, dog):
            reason = policy.refusal(sockaddr[0].split("%", 1)[0], host)
            (refusals if reason else candidates).append(reason or (family, kind, proto, sockaddr))
        if not candidates:
            raise FetchError(f"refused by the host policy: {refusals[0]}")
        problems = []
        for family, kind, proto, sockaddr in candidates:
            sock = socket.socket(family, kind, proto)
            dog.watch(sock)
            sock.settimeout(max(dog.remaining(), 0.001))
            try:
                sock.connect(sockaddr)
                sock.settimeout(dog.remaining() + 1.0)    # reads are cut by the watchdog, which fires first
                return sock
            except socket.timeout:
                problems.append("connect timed out" if not dog.fired else "the deadline passed while connecting")
            except ConnectionRefusedError:
                problems.append("connection refused (is anything listening there?)")
            except OSError as exc:
                problems.append(exc.strerror or str(exc))
            sock.close()
            dog.watch(None)
        raise FetchError(f"could not connect to {host}:{port}: {'; '.join(dict.fromkeys(problems))}")

    return create_connection


def fetch(url: str, *, timeout: float, max_bytes: int, policy: HostPolicy = OPEN, max_redirects: int = 5) -> bytes:
    """Return the body at ``url``; raise :class:`FetchError` (message without credentials) on any failure."""
    problem = check_url(url)
    if problem:
        raise FetchError(problem)
    with _Watchdog(timeout) as dog:
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
             dog: _Watchdog) -> bytes | str:
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
    conn._create_connection = _connector(policy, dog)
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
        while chunk := response.read(CHUNK):
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
