"""The host policy (mock_server/netpolicy.py): pure decisions, no connection is ever made here."""

from __future__ import annotations

import ipaddress
import re

import pytest

from mock_server import create_app
from mock_server.netpolicy import HostPolicy, category, literal_address, listens_on_loopback_only, redact_url
from mock_server.settings import SettingsError, build_settings

STRICT = HostPolicy.build([], open_=False)


@pytest.mark.parametrize("listen, loopback_only", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.10", False), ("mock.example.com", False),
])
def test_loopback_listening_opens_the_policy(listen, loopback_only):
    assert listens_on_loopback_only(listen) is loopback_only
    settings = build_settings({"server": {"host": listen}})
    assert HostPolicy.from_settings(settings).open is loopback_only


@pytest.mark.parametrize("url, reason", [
    ("http://127.0.0.1/x.csv", "127.0.0.1 is a loopback address"),
    ("http://localhost:8080/x.csv", "localhost (127.0.0.1) is a loopback address"),
    ("http://10.1.2.3/x.csv", "10.1.2.3 is a private address"),
    ("http://172.16.0.1/x.csv", "172.16.0.1 is a private address"),
    ("http://192.168.0.1/x.csv", "192.168.0.1 is a private address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address (cloud metadata"),
    ("http://0.0.0.0:80/x.csv", "0.0.0.0 is the unspecified address"),
    ("http://2130706433/x.csv", "2130706433 (127.0.0.1) is a loopback address"),
    ("http://0x7f.1/x.csv", "0x7f.1 (127.0.0.1) is a loopback address"),
    ("http://0177.0.0.1/x.csv", "0177.0.0.1 (127.0.0.1) is a loopback address"),
    ("http://017700000001/x.csv", "017700000001 (127.0.0.1) is a loopback address"),
    ("http://[::1]/x.csv", "::1 is a loopback address"),
    ("http://[fd00::1]/x.csv", "fd00::1 is a private address"),
    ("http://[fe80::1]/x.csv", "fe80::1 is a link-local address"),
    ("http://[::ffff:10.0.0.1]/x.csv", "is a private address"),
    ("http://100.64.0.1/x.csv", "100.64.0.1 is a reserved, non-public address"),
    ("http://224.0.0.1/x.csv", "224.0.0.1 is a multicast address"),
])
def test_strict_policy_refuses_non_public_literals(url, reason):
    refusal = STRICT.check(url)
    assert refusal is not None and reason in refusal and "net.allow" in refusal


@pytest.mark.parametrize("url", ["http://8.8.8.8/x.csv", "https://[2606:4700::1111]/x.csv",
                                 "https://files.example.com/x.csv", "http://example.com:8080/x.csv"])
def test_public_literals_and_names_pass_the_static_check(url):
    assert STRICT.check(url) is None


def test_open_policy_allows_everything():
    policy = HostPolicy.build([], open_=True)
    assert policy.check("http://127.0.0.1/x.csv") is None and policy.allowed("10.0.0.1")


def test_cidr_glob_and_name_entries():
    policy = HostPolicy.build(["10.1.0.0/16", "*.corp.example", "files.local", "fd00::/8", "127.0.0.1"], open_=False)
    assert policy.allowed("10.1.200.3") and not policy.allowed("10.2.0.1")
    assert policy.allowed("fd12::5") and not policy.allowed("fe80::1")
    assert policy.allowed("127.0.0.1") and not policy.allowed("127.0.0.2")
    assert policy.allowed("::ffff:10.1.0.9")                         # IPv4-mapped form of a listed address
    assert policy.check("http://a.b.corp.example/x.csv") is None     # a listed glob: trusted whatever it resolves to
    assert policy.refusal("10.9.9.9", "a.b.corp.example") is None
    assert policy.refusal("10.9.9.9", "evil.example") is not None
    assert policy.check("http://FILES.LOCAL./x.csv") is None
    assert policy.check("http://10.1.2.3/x.csv") is None
    assert "10.2.2.2 is a private address" in policy.check("http://10.2.2.2/x.csv")


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "", "  ", 42, "1.2.3.4/x"])
def test_bad_allow_entries_are_settings_errors(entry):
    with pytest.raises(SettingsError, match="net.allow"):
        create_app({"net": {"allow": [entry]}})


def test_malformed_urls_do_not_raise():
    assert STRICT.check("http://[::1/x.csv") == "the URL's host is not valid"
    assert STRICT.check("http:///x.csv") == "the URL has no host"


@pytest.mark.parametrize("url, shown", [
    ("http://user:pass@host/x.csv", "http://***@host/x.csv"),
    ("https://u%40x:p%3Aw@host:8443/a@b.csv?x=@", "https://***@host:8443/a@b.csv?x=@"),
    ("user:pass@host/x.csv", "***@host/x.csv"),
    ("http://host/x.csv?token=abc", "http://host/x.csv?token=abc"),
])
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_helpers():
    assert str(literal_address("[::1]")) == "::1" and literal_address("example.com") is None
    assert literal_address("1.2.3.4.5") is None
    assert category(literal_address("8.8.8.8")) is None


# IPv6 forms that embed an IPv4 address (CONTRACT §13). Decided here only: never connected to.
EMBEDDED = [
    ("::127.0.0.1", "a loopback address, as the IPv4-compatible form of 127.0.0.1"),
    ("::ffff:127.0.0.1", "a loopback address, as the IPv4-mapped form of 127.0.0.1"),
    ("::ffff:0:7f00:1", "a loopback address, as the IPv4-translated form of 127.0.0.1"),
    ("64:ff9b::7f00:1", "a loopback address, as the NAT64 form of 127.0.0.1"),
    ("64:ff9b::a9fe:a9fe", "a link-local address (cloud metadata services live there), as the NAT64 form of 169.254.169.254"),
    ("::ffff:0:a00:1", "a private address, as the IPv4-translated form of 10.0.0.1"),
    ("::c0a8:1", "a private address, as the IPv4-compatible form of 192.168.0.1"),
    ("2002:7f00:1::", "a loopback address, as the 6to4 form of 127.0.0.1"),
    ("2002:a00:1:5::1", "a private address, as the 6to4 form of 10.0.0.1"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "a loopback address, as the Teredo form of 127.0.0.1"),  # client obfuscated
    ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", "a Teredo tunnel address (2001::/32)"),                 # public client 8.8.8.8
    ("64:ff9b:1::7f00:1", "a local-use NAT64 address (64:ff9b:1::/48"),
    ("64:ff9b:1:ff:ff:ff:808:808", "a local-use NAT64 address (64:ff9b:1::/48"),
]


@pytest.mark.parametrize("address, reason", EMBEDDED)
def test_ipv6_forms_embedding_a_non_public_ipv4_are_refused(address, reason):
    assert f" is {reason}" in STRICT.check(f"http://[{address}]:8080/x.csv")
    shown = ipaddress.ip_address(address)                        # what connect time asks: (resolved, name)
    assert f"files.example.com ({shown}) is {reason}" in STRICT.refusal(address, "files.example.com")
    assert not STRICT.allowed(address)


@pytest.mark.parametrize("address", ["::ffff:8.8.8.8", "::8.8.8.8", "::ffff:0:808:808", "64:ff9b::808:808",
                                     "2002:808:808::1", "2606:4700::1111"])
def test_ipv6_forms_embedding_a_public_ipv4_are_public(address):
    assert category(literal_address(address)) is None and STRICT.allowed(address)


def test_a_listed_ipv4_network_covers_its_ipv6_forms_but_not_tunnels():
    policy = HostPolicy.build(["127.0.0.0/8"], open_=False)
    assert all(policy.allowed(form) for form in ("::ffff:127.0.0.1", "::127.0.0.1", "::ffff:0:7f00:1", "64:ff9b::7f00:1"))
    assert not policy.allowed("2002:7f00:1::") and not policy.allowed("2001:0:4136:e378:8000:63bf:80ff:fffe")
    assert not policy.allowed("::ffff:10.0.0.1")


@pytest.mark.parametrize("address", ["::127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::"])
def test_connect_time_checks_use_the_same_decision(monkeypatch, address):
    """A name resolving to an embedded loopback form is refused before any socket exists."""
    import socket

    from mock_server import netconnect as fetch_module

    def no_socket(*args, **kwargs):
        raise AssertionError("a socket was created for a refused address")

    resolved = [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, 80, 0, 0))]
    monkeypatch.setattr(fetch_module, "resolve", lambda host, port, dog: resolved)
    monkeypatch.setattr(fetch_module.socket, "socket", no_socket)
    connect = fetch_module.policy_connector(STRICT, 2)
    shown = re.escape(str(ipaddress.ip_address(address)))
    with pytest.raises(fetch_module.FetchError, match=rf"refused by the host policy: files\.example\.com \({shown}\) is a loopback"):
        connect(("files.example.com", 80))


def test_a_policy_connector_call_with_its_own_timeout_is_bounded_by_it(monkeypatch):
    """Webhook delivery gives each connect what remains of its attempt: the resolution and connect
    are bounded by that, not by the timeout the connector was built with."""
    import socket

    from mock_server import netconnect

    budgets = []

    def resolve(host, port, dog):
        budgets.append(dog.remaining())
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]   # refused: no socket made

    monkeypatch.setattr(netconnect, "resolve", resolve)
    connect = netconnect.policy_connector(STRICT, 30)
    for call in (lambda: connect(("hooks.example.com", 80), 0.5), lambda: connect(("hooks.example.com", 80))):
        with pytest.raises(netconnect.FetchError, match="refused by the host policy"):
            call()
    assert 0 < budgets[0] <= 0.5 and 29 < budgets[1] <= 30, budgets
