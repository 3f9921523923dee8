"""Which hosts the mock may connect to on a user's behalf (``fileUrl`` downloads, webhooks): CONTRACT §13.

Setting ``net.allow``: host names (``files.example.com``), globs (``*.example.com``) and
networks in CIDR form (``10.1.0.0/16``, ``fd00::/8``, ``127.0.0.1/32``).

- While the server listens only on loopback (``server.host`` 127.0.0.1, ::1 or localhost) every
  host is allowed: the mock is a local test tool and tests fetch from local servers.
- When it listens on any other address, a target whose address is not public (loopback, private,
  link-local incl. the 169.254.169.254 metadata service, unspecified ``0.0.0.0``/``::``, shared,
  reserved, multicast; IPv4-mapped IPv6 forms judged by their IPv4 address) is refused unless its
  address is in a listed network or its host name matches a listed name or glob. A listed name is
  trusted whatever it resolves to: the user named it.
- Literal IPv4 hosts are read the way the C library reads them, so ``2130706433``, ``0x7f.1`` and
  ``0177.0.0.1`` are 127.0.0.1. Host names are judged on their resolved addresses at connect time
  (``mock_server.fetch`` connects to the very address it checked: no DNS-rebinding gap).

Other outgoing connections (webhooks) use the same check at connect time through
``mock_server.fetch.policy_connector(policy, timeout)`` on their ``http.client`` connections.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Any, Mapping
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


def category(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public address (e.g. "a loopback address"), or None if it is public."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return category(ip.ipv4_mapped)
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
    def from_settings(cls, settings: Mapping[str, Any], listen_host: str | None = None) -> "HostPolicy":
        """The policy for ``settings["net"]["allow"]`` on a server listening on ``listen_host``
        (default: ``settings["server"]["host"]``)."""
        host = listen_host if listen_host is not None else settings["server"]["host"]
        return cls.build(settings["net"]["allow"], listens_on_loopback_only(host))

    @classmethod
    def build(cls, allow: list[str], open_: bool) -> "HostPolicy":
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
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            if any(ip.ipv4_mapped in network for network in self.networks):
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
