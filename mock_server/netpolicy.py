"""Which hosts the mock may connect to on a user's behalf (``fileUrl`` downloads, webhooks): CONTRACT §13.

Setting ``net.allow``: host names (``files.example.com``), globs (``*.example.com``) and
networks in CIDR form (``10.1.0.0/16``, ``fd00::/8``, ``127.0.0.1/32``).

- While the server listens only on loopback (``server.host`` 127.0.0.1, ::1 or localhost) every
  host is allowed: the mock is a local test tool and tests fetch from local servers.
- When it listens on any other address, a target whose address is not public (loopback, private,
  link-local incl. the 169.254.169.254 metadata service, unspecified ``0.0.0.0``/``::``, shared,
  reserved, multicast) is refused unless its address is in a listed network or its host name
  matches a listed name or glob. A listed name is trusted whatever it resolves to: the user named it.
- An IPv6 address that stands for an IPv4 host is judged by that IPv4 address (and allowed when the
  IPv4 address is in a listed network): IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible
  ``::a.b.c.d``, IPv4-translated ``::ffff:0:a.b.c.d`` and NAT64 ``64:ff9b::a.b.c.d``. A tunnel
  address is refused when the IPv4 end it embeds is not public, and otherwise judged as the IPv6
  address it is: 6to4 ``2002:AABB:CCDD::/48`` (IPv4 AA.BB.CC.DD). Refused outright, whatever they
  embed: Teredo ``2001::/32`` (the client's address is stored obfuscated, bit-inverted, behind a NAT
  the mock has no business reaching; its refusal names the IPv4 client when that one is not public)
  and local-use NAT64 ``64:ff9b:1::/48`` (where the IPv4 address sits depends on the operator's
  prefix length).
- Literal IPv4 hosts are read the way the C library reads them, so ``2130706433``, ``0x7f.1`` and
  ``0177.0.0.1`` are 127.0.0.1. Host names are judged on their resolved addresses at connect time
  (``mock_server.fetch`` connects to the very address it checked: no DNS-rebinding gap).

Other outgoing connections (webhooks) use the same check at connect time through
``mock_server.netconnect.policy_connector(policy, timeout)`` on their ``http.client`` connections.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Sequence
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
_USERINFO = re.compile(r"^((?:[A-Za-z][A-Za-z0-9+.-]*:)?//)?[^/?#]*@")
_INET_ATON = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@``: for every answer, log line and record."""
    return _USERINFO.sub(lambda m: f"{m.group(1) or ''}***@", url, count=1)


def literal_address(host: str) -> IPAddress | None:
    """The address a literal host stands for (IPv6, dotted, decimal, octal or hex IPv4), else None."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if _INET_ATON.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


_IPV4_FORMS = ((ipaddress.IPv6Network("::/96"), "IPv4-compatible"),
               (ipaddress.IPv6Network("::ffff:0:0:0/96"), "IPv4-translated"),
               (ipaddress.IPv6Network("64:ff9b::/96"), "NAT64"))
_TUNNELS = ("6to4", "Teredo")
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")


def embedded_ipv4(ip: IPAddress) -> tuple[ipaddress.IPv4Address, str] | None:
    """The IPv4 address an IPv6 address stands for or tunnels to, and the form's name
    ("IPv4-mapped", "IPv4-compatible", "IPv4-translated", "NAT64", "6to4", "Teredo"), or None."""
    if not isinstance(ip, ipaddress.IPv6Address) or int(ip) <= 1:     # :: and ::1 are IPv6's own
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, "IPv4-mapped"
    if ip.sixtofour is not None:
        return ip.sixtofour, "6to4"
    if ip.teredo is not None:
        return ip.teredo[1], "Teredo"          # the client, its obfuscation undone by ipaddress
    for network, form in _IPV4_FORMS:
        if ip in network:
            return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF), form
    return None


def category(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public address (e.g. "a loopback address"), or None if it is public.

    IPv6 forms of an IPv4 address are judged by it (see the module docstring)."""
    embedded = embedded_ipv4(ip)
    if embedded is not None:
        ipv4, form = embedded
        kind = category(ipv4)
        if kind is not None:
            return f"{kind}, as the {form} form of {ipv4}"
        if form not in _TUNNELS:
            return None
        if form == "Teredo":
            return "a Teredo tunnel address (2001::/32), which leads to a host behind a NAT"
    if ip in _LOCAL_NAT64:
        return "a local-use NAT64 address (64:ff9b:1::/48: translation to IPv4 inside a private network)"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_unspecified:
        return "the unspecified address (this machine)"
    if ip.is_link_local:
        return "a link-local address (cloud metadata services live there)"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "a reserved, non-public address"
    return None


def listens_on_loopback_only(listen_host: str) -> bool:
    if listen_host.lower().rstrip(".") in _LOOPBACK_NAMES:
        return True
    ip = literal_address(listen_host)
    return ip is not None and ip.is_loopback


class PolicyError(ValueError):
    """A ``net.allow`` entry that is neither a host name, a glob nor a network."""


@dataclass(frozen=True)
class HostPolicy:
    """Decides whether the mock may connect to a host; build it with :meth:`from_settings`."""

    open: bool
    names: frozenset[str] = frozenset()
    globs: tuple[str, ...] = ()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def from_settings(cls, settings, listen_host: str | None = None) -> "HostPolicy":
        """The policy for ``settings.net.allow`` on a server listening on ``listen_host``
        (default: ``settings.server.host``)."""
        host = listen_host if listen_host is not None else settings.server.host
        return cls.build(settings.net.allow, listens_on_loopback_only(host))

    @classmethod
    def build(cls, allow: Sequence[str], open_: bool) -> "HostPolicy":
        names, globs, networks = set(), [], []
        for entry in allow:
            if not isinstance(entry, str) or not entry.strip():
                raise PolicyError(f"net.allow entries must be non-empty strings, not {entry!r}")
            entry = entry.strip().lower().rstrip(".")
            if "/" in entry or literal_address(entry) is not None:
                try:
                    networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                except ValueError as exc:
                    raise PolicyError(f"net.allow entry '{entry}' is not a valid network: {exc}") from None
            elif any(char in entry for char in "*?["):
                globs.append(entry)
            else:
                names.add(entry)
        return cls(open_, frozenset(names), tuple(globs), tuple(networks))

    def name_listed(self, host: str) -> bool:
        """True if ``host`` matches a listed name or glob (such a host is trusted whatever it resolves to)."""
        host = host.lower().rstrip(".")
        return host in self.names or any(fnmatch.fnmatchcase(host, pattern) for pattern in self.globs)

    def allowed(self, ip: IPAddress | str) -> bool:
        """May the mock connect to this address?"""
        return self.refusal(ip) is None

    def refusal(self, ip: IPAddress | str, host: str | None = None) -> str | None:
        """Why connecting to ``ip`` (reached through ``host``) is refused, or None if it is allowed."""
        if self.open or (host is not None and self.name_listed(host)):
            return None
        ip = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
        if any(ip in network for network in self.networks):
            return None
        embedded = embedded_ipv4(ip)
        if embedded is not None and embedded[1] not in _TUNNELS and any(embedded[0] in net for net in self.networks):
            return None
        kind = category(ip)
        if kind is None:
            return None
        shown = host if host is not None and host.strip("[]") != str(ip) else None
        target = f"{shown} ({ip})" if shown else str(ip)
        return (f"{target} is {kind}; the mock listens on a non-loopback address, so it only fetches from "
                "public hosts unless the host or network is listed in the setting net.allow")

    def check(self, url: str) -> str | None:
        """Why ``url`` is refused without resolving it (literal address forms), or None.

        A host name still has its resolved addresses checked at connect time (``fetch``)."""
        try:
            host = urlsplit(url).hostname
        except ValueError:
            return "the URL's host is not valid"
        if not host:
            return "the URL has no host"
        ip = literal_address(host)
        if ip is None:
            if self.open or self.name_listed(host) or host.rstrip(".") not in _LOOPBACK_NAMES:
                return None
            ip = ipaddress.ip_address("127.0.0.1")
        return self.refusal(ip, host)
