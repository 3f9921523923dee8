"""fileUrl against a hostile local server: drips, never ends, lies about Content-Length, redirects
in loops and to refused hosts. Every case is a 400 within file_url_timeout + 2 s (CONTRACT §13).

Only loopback is ever contacted: private and metadata addresses are covered by the policy unit
tests (test_net_policy.py), which never connect.
"""

from __future__ import annotations

import base64
import http.client
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from support.jelou import JELOU, ORDER_PARAMS, campaign, order_csv
from support.realredis import missing_binary
from harness.server import ServingThread
from mock_server.fetch import FetchError, fetch
from mock_server.netpolicy import HostPolicy

TIMEOUT = 1.0
DRIP_LIMIT = 120.0      # seconds: a bound for the drip loops far beyond every deadline tested here
CSV = order_csv(4)
SECRET_CSV = b"phone_number,order_id,amount,delivery\nSECRET-TOKEN-123,a,b,c\n"


class HostileServer(ServingThread):
    """A loopback HTTP server whose paths misbehave; every loop stops when the test ends."""

    def __init__(self) -> None:
        self.stop_event = threading.Event()
        self.auth_seen: list[str | None] = []
        self.dripped: dict[str, int] = {}        # path: bytes a drip has written so far
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split("?")[0]
                server.auth_seen.append(self.headers.get("Authorization"))
                port = server.port
                redirects = {
                    "/loop-a.csv": "/loop-b.csv", "/loop-b.csv": "/loop-a.csv",
                    "/to-loopback.csv": f"http://127.0.0.1:{port}/list.csv",
                    "/to-decimal.csv": f"http://2130706433:{port}/list.csv",
                    "/to-zero.csv": f"http://0.0.0.0:{port}/list.csv",
                    "/to-ipv6-mapped.csv": f"http://[::ffff:127.0.0.1]:{port}/list.csv",
                    "/to-file.csv": "file:///etc/passwd",
                    "/to-list.csv": "/list.csv",
                    "/to-spaced-host.csv": f"http://127.0.0.1 :{port}/list.csv",
                }
                if path in redirects:
                    return self._redirect(redirects[path])
                if path.startswith("/chain/"):
                    return self._redirect(f"/chain/{int(path.split('/')[2]) + 1}")
                if path in ("/list.csv", "/secret.csv", "/a%20b.csv", "/%C3%B1.csv"):
                    return self._send(SECRET_CSV if path == "/secret.csv" else CSV)
                if path == "/drip-body.csv":        # declares 1,000 bytes, sends one every 0.1 s
                    self._head(200, {"Content-Length": "1000"})
                    return self._drip(b"9" * 1000, 0.1)
                if path == "/drip-headers.csv":     # the status line and headers, one byte every 0.1 s
                    return self._drip(b"HTTP/1.1 200 OK\r\n" + b"X-Padding: " + b"p" * 500 + b"\r\n\r\n", 0.1)
                if path == "/endless.csv":          # no length, 1 KiB every 10 ms until the client goes
                    self._head(200, {"Connection": "close"})
                    return self._drip(None, 0.01, size=1024)
                if path in ("/huge-length.csv", "/odd-length.csv"):
                    length = "9" * 5000 if path == "/huge-length.csv" else "\u00b2"
                    self._head(200, {"Content-Length": length, "Connection": "close"})
                    self.wfile.write(CSV)
                    self.close_connection = True
                    return None
                if path == "/lie-short.csv":        # declares 1,000 bytes, sends 50 and closes
                    self._head(200, {"Content-Length": "1000", "Connection": "close"})
                    self.wfile.write(CSV[:50])
                    self.close_connection = True
                    return None
                if path == "/close-delimited.csv":  # the whole file, no length: its end is the close
                    self._head(200, {"Connection": "close"})
                    self.wfile.write(CSV)
                    self.close_connection = True
                    return None
                if path in ("/csv-then-hang.csv", "/length-then-hang.csv"):    # the whole file, then hangs
                    self._head(200, {"Connection": "close"} if path == "/csv-then-hang.csv" else
                               {"Content-Length": str(len(CSV))})
                    self.wfile.write(CSV)
                    self.wfile.flush()
                    server.stop_event.wait(30)
                    return None
                if path == "/lie-hang.csv":         # declares 1,000 bytes, sends 50 and hangs
                    self._head(200, {"Content-Length": "1000"})
                    self.wfile.write(CSV[:50])
                    self.wfile.flush()
                    server.stop_event.wait(30)
                    return None
                return self._send(b"not found", 404)

            def _head(self, status, headers):
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.flush()

            def _send(self, body, status=200):
                self._head(status, {"Content-Length": str(len(body))})
                self.wfile.write(body)

            def _redirect(self, location):
                self._head(302, {"Location": location, "Content-Length": "0"})

            def _drip(self, data, pause, size=1):
                """Send ``data`` (None: endless filler) ``size`` bytes per ``pause``. An endless drip only
                ends when the client hangs up or the test stops the server (at most DRIP_LIMIT seconds),
                never by itself: a stream that ended near the deadline would be a complete download."""
                sent, give_up = 0, time.monotonic() + DRIP_LIMIT
                while not server.stop_event.is_set() and time.monotonic() < give_up and (data is None or sent < len(data)):
                    try:
                        self.wfile.write(data[sent:sent + size] if data is not None else b"x" * size)
                        self.wfile.flush()
                    except OSError:
                        break
                    sent += size
                    server.dripped[self.path] = sent
                    server.stop_event.wait(pause)
                self.close_connection = True

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        self.port = httpd.server_port
        self.base = f"http://127.0.0.1:{self.port}"
        super().__init__(httpd, "hostile-file-server")

    def stop(self) -> None:
        self.stop_event.set()
        super().stop()


@pytest.fixture
def hostile():
    with HostileServer() as server:
        yield server


@pytest.fixture
def app_config():
    return {"jelou": {"file_url_timeout": TIMEOUT, "file_url_max_bytes": 1_000_000}}


def send_url(client, url):
    body = {"campaignName": "from url", "elementName": "order_confirmation", "botId": "demo-bot",
            "params": ORDER_PARAMS, "fileUrl": url}
    started = time.monotonic()
    response = client.post("/v1/hsm/file", json=body, headers=JELOU)
    return response, time.monotonic() - started


def assert_400(response, elapsed, *fragments):
    assert response.status_code == 400, response.json
    assert response.json["status"] == "failed"
    text = response.json["message"][0]
    assert text.startswith("The file could not be downloaded from fileUrl: ")
    for fragment in fragments:
        assert fragment in text, text
    assert elapsed < TIMEOUT + 2, f"answered after {elapsed:.1f} s"
    return text


@pytest.mark.parametrize("path", ["/drip-body.csv", "/drip-headers.csv", "/endless.csv", "/lie-hang.csv"])
def test_slow_or_endless_servers_hit_the_total_deadline(client, hostile, path):
    response, elapsed = send_url(client, hostile.base + path)
    assert_400(response, elapsed, "took longer than 1 s", "total deadline")
    assert elapsed >= TIMEOUT * 0.9


def test_a_body_cut_by_the_deadline_is_never_a_file_even_when_it_looks_whole(client, hostile):
    """The server sent a whole CSV but never closed: without a close, a length or a last chunk,
    nothing says the file is complete, so it is not one."""
    response, elapsed = send_url(client, hostile.base + "/csv-then-hang.csv")
    assert_400(response, elapsed, "took longer than 1 s", f"{len(CSV):,} bytes received by then")


# -- the deadline meeting the end of the body: the timer fires at a chosen point, every time ---------

@pytest.fixture
def watchdogs(monkeypatch):
    """Every fetch watchdog created during the test, to fire it by hand."""
    import mock_server.fetch as fetch_module
    created = []

    class Recorded(fetch_module.Watchdog):
        def __enter__(self):
            created.append(self)
            return super().__enter__()

    monkeypatch.setattr(fetch_module, "Watchdog", Recorded)
    return created


def around_reads(monkeypatch, before=None, after=None):
    """Run ``before()`` / ``after(data)`` around each body read of the fetching thread."""
    original = http.client.HTTPResponse.read

    def read(self, amt=None):
        if before:
            before()
        data = original(self, amt)
        if after:
            after(data)
        return data

    monkeypatch.setattr(http.client.HTTPResponse, "read", read)


@pytest.mark.parametrize("path", ["/close-delimited.csv", "/length-then-hang.csv"])
def test_deadline_passing_right_after_the_body_ended_keeps_the_body(hostile, monkeypatch, watchdogs, path):
    """The end of the body was read (by close, or by the declared length while the server keeps the
    connection), then the timer fires before the fetch looks: the file is complete, not late."""
    around_reads(monkeypatch, after=lambda data: data or watchdogs[-1]._fire())
    assert fetch(hostile.base + path, timeout=30, max_bytes=10_000) == CSV
    assert watchdogs[-1].fired


def test_deadline_passing_while_a_closed_servers_body_waits_unread_keeps_the_body(hostile, monkeypatch, watchdogs):
    """The server sent everything and closed; the fetch thread has not read it yet when the timer
    fires (a loaded machine): the body was all there before the deadline, so it is accepted."""
    if not hasattr(select, "POLLRDHUP"):
        missing_binary("Linux's select.POLLRDHUP (the peer-closed check uses it)", "run this test on Linux")
    def close_seen_then_fire():
        dog = watchdogs[-1]
        if not dog.fired:
            poller = select.poll()
            poller.register(dog.sock.fileno(), select.POLLRDHUP)
            assert poller.poll(10_000), "the server did not close within 10 s"
            dog._fire()

    around_reads(monkeypatch, before=close_seen_then_fire)
    assert fetch(hostile.base + "/close-delimited.csv", timeout=30, max_bytes=10_000) == CSV
    assert watchdogs[-1].fired and not watchdogs[-1].cut


def test_deadline_passing_before_the_server_closed_is_the_deadline_even_with_the_file_received(
        hostile, monkeypatch, watchdogs):
    """The timer fires when the whole CSV has arrived but the server has not closed (it hangs): the
    watchdog cuts the connection, and what was received is not taken for the file."""
    around_reads(monkeypatch, before=lambda: watchdogs[-1].fired or watchdogs[-1]._fire())
    with pytest.raises(FetchError, match="took longer than 30 s"):
        fetch(hostile.base + "/csv-then-hang.csv", timeout=30, max_bytes=10_000)
    assert watchdogs[-1].cut


def test_endless_stream_over_the_size_cap_stops_at_the_cap(hostile):
    started = time.monotonic()
    with pytest.raises(FetchError, match="larger than the 20,000 bytes allowed"):
        fetch(hostile.base + "/endless.csv", timeout=10, max_bytes=20_000)
    dripped = hostile.dripped["/endless.csv"]
    assert time.monotonic() - started < 5
    # the reads stop at the cap: a first read of a whole 256 KiB chunk took 2.6 s of this drip
    # (1 KiB every 10 ms) before the cap was even looked at; here only a > 1 s stall would reach 128 KiB
    assert dripped < 128 * 1024, dripped


def test_content_length_lie_says_what_happened(client, hostile):
    response, elapsed = send_url(client, hostile.base + "/lie-short.csv")
    assert_400(response, elapsed, "closed the connection after 50 of the 1,000 bytes it declared")


def test_a_5000_digit_content_length_is_too_large_not_a_crash(client, hostile):
    response, elapsed = send_url(client, hostile.base + "/huge-length.csv")
    assert_400(response, elapsed, "declared with a Content-Length of over 30 digits, more than the 1,000,000 bytes allowed")


def test_a_non_ascii_content_length_is_ignored(client, hostile):
    response, _ = send_url(client, hostile.base + "/odd-length.csv")
    assert response.status_code == 200, response.json


def test_redirect_loop(client, hostile):
    response, elapsed = send_url(client, hostile.base + "/loop-a.csv")
    assert_400(response, elapsed, "/loop-a.csv redirects in a loop")


def test_redirect_chain_is_bounded(client, hostile):
    response, elapsed = send_url(client, hostile.base + "/chain/0")
    assert_400(response, elapsed, "more than 5 redirects", "/chain/6")


def test_redirect_to_another_scheme_is_refused(client, hostile):
    response, elapsed = send_url(client, hostile.base + "/to-file.csv")
    assert_400(response, elapsed, "a redirect pointed to file:///etc/passwd", "only http and https")


def test_redirects_are_followed_on_loopback(client, hostile):
    response, _ = send_url(client, hostile.base + "/to-list.csv")
    assert response.status_code == 200, response.json
    assert campaign(client, response.headers["X-Mock-Campaign-Id"])["totalMessages"] == 4


@pytest.mark.parametrize("name", ["a b.csv", "ñ.csv", "a%20b.csv"])
def test_unusual_paths_are_percent_encoded(client, hostile, name):
    response, _ = send_url(client, f"{hostile.base}/{name}")
    assert response.status_code == 200, response.json


@pytest.mark.parametrize("url, fragment", [
    ("http://bücher.invalid/x.csv", "the host name bücher.invalid could not be resolved"),
    ("http://" + "a" * 70 + ".invalid/x.csv", "could not be resolved"),
])
def test_unresolvable_names_are_400(client, url, fragment):
    response, elapsed = send_url(client, url)
    assert_400(response, elapsed, fragment)


def test_connect_refused_and_unresolvable_hosts_are_told_apart(client):
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as probe:
        closed_port = probe.server_port        # bound then closed: nothing listens there afterwards
    response, elapsed = send_url(client, f"http://127.0.0.1:{closed_port}/list.csv")
    assert_400(response, elapsed, f"could not connect to 127.0.0.1:{closed_port}: connection refused")
    response, elapsed = send_url(client, "http://no-such-host.invalid/list.csv")
    assert_400(response, elapsed, "the host name no-such-host.invalid could not be resolved")


def test_credentials_are_sent_once_and_never_echoed(client, hostile):
    url = f"http://alice:hunter2@127.0.0.1:{hostile.port}/list.csv"
    response, _ = send_url(client, url)
    assert response.status_code == 200, response.json
    assert hostile.auth_seen[-1] == "Basic " + base64.b64encode(b"alice:hunter2").decode()
    assert campaign(client, response.headers["X-Mock-Campaign-Id"])["fileName"] == "list.csv"
    listing = client.get("/v1/campaigns", headers=JELOU)
    assert "hunter2" not in listing.get_data(as_text=True)

    response, elapsed = send_url(client, f"http://alice:hunter2@127.0.0.1:{hostile.port}/missing.csv")
    text = assert_400(response, elapsed, "answered HTTP 404", "http://***@127.0.0.1")
    assert "hunter2" not in text and "alice" not in text


def test_stored_url_has_no_credentials(hostile):
    from support.jelou import START
    from mock_server import create_app
    legacy = create_app({"clock": {"start": START, "frozen": True}, "jelou": {"campaigns_shape": "legacy"}}).test_client()
    response, _ = send_url(legacy, f"http://alice:hunter2@127.0.0.1:{hostile.port}/list.csv?sig=1")
    assert response.status_code == 200, response.json
    stored = campaign(legacy, response.headers["X-Mock-Campaign-Id"])["storageUrl"]
    assert stored == f"http://***@127.0.0.1:{hostile.port}/list.csv?sig=1"


# -- the host policy when the server listens on a non-loopback address (no public bind needed) --------

PUBLIC_LISTEN = {"server": {"host": "0.0.0.0"}, "net": {"allow": ["localhost"]},
                 "jelou": {"file_url_timeout": TIMEOUT, "file_url_max_bytes": 1_000_000}}


@pytest.fixture
def public_client(app_config):
    from support.jelou import START
    from mock_server import create_app
    return create_app({"clock": {"start": START, "frozen": True}, **PUBLIC_LISTEN}).test_client()


def test_loopback_target_is_refused_before_any_request(public_client, hostile):
    response, elapsed = send_url(public_client, hostile.base + "/secret.csv")
    text = assert_400(response, elapsed, "refused by the host policy", "127.0.0.1 is a loopback address", "net.allow")
    assert "SECRET" not in response.get_data(as_text=True) and "SECRET" not in text
    assert hostile.auth_seen == []          # the server was never contacted


def test_a_listed_name_is_allowed(public_client, hostile):
    response, _ = send_url(public_client, f"http://localhost:{hostile.port}/list.csv")
    assert response.status_code == 200, response.json


@pytest.mark.parametrize("path, shown", [
    ("/to-loopback.csv", "127.0.0.1 is a loopback address"),
    ("/to-decimal.csv", "2130706433 (127.0.0.1) is a loopback address"),
    ("/to-zero.csv", "0.0.0.0 is the unspecified address"),
    ("/to-ipv6-mapped.csv", "::ffff:127.0.0.1 (::ffff:"),
])
def test_every_redirect_hop_is_checked(public_client, hostile, path, shown):
    response, elapsed = send_url(public_client, f"http://localhost:{hostile.port}{path}")
    assert_400(response, elapsed, "refused by the host policy", shown)
    assert len(hostile.auth_seen) == 1      # only the allowed first hop reached the server


def test_policy_is_applied_to_resolved_addresses_at_connect_time(hostile):
    """A name that is not listed is judged by the addresses it resolves to, at connect time."""
    from mock_server.netconnect import Watchdog, connector
    refused = HostPolicy.build([], open_=False)
    with Watchdog(2) as dog, pytest.raises(FetchError, match=r"refused by the host policy: localhost \((127\.0\.0\.1|::1)\) is a loopback"):
        connector(refused, dog)(("localhost", hostile.port))
    allowed = HostPolicy.build(["127.0.0.0/8", "::1/128"], open_=False)
    with Watchdog(2) as dog:
        sock = connector(allowed, dog)(("localhost", hostile.port))
        assert sock.getpeername()[0] == "127.0.0.1"
        sock.close()
    assert fetch(f"http://localhost:{hostile.port}/list.csv", timeout=2, max_bytes=10_000, policy=allowed) == CSV


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def test_an_ipv6_literal_url_with_a_port_is_fetched():
    """``http://[::1]:PORT/...``: the connection is built from the bare address (a bracketed one
    reached getaddrinfo as a name: "the host name [::1] could not be resolved")."""
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(CSV)))
            self.end_headers()
            self.wfile.write(CSV)

    try:
        server = _IPv6Server(("::1", 0), Handler)
    except OSError as exc:          # a machine without IPv6 loopback (CI=true: a failure, not a skip)
        missing_binary(f"cannot listen on [::1] ({exc.strerror})",
                       "enable IPv6 on the loopback interface: sysctl -w net.ipv6.conf.lo.disable_ipv6=0")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert fetch(f"http://[::1]:{server.server_address[1]}/list.csv", timeout=5, max_bytes=10_000) == CSV
    finally:
        server.shutdown()
        server.server_close()


def test_policy_connector_guards_plain_http_client_connections(hostile):
    """What webhook delivery plugs into http.client: the same connect-time check."""
    import http.client
    from mock_server.fetch import policy_connector
    refused = http.client.HTTPConnection("localhost", hostile.port, timeout=2)
    refused._create_connection = policy_connector(HostPolicy.build([], open_=False), 2)
    with pytest.raises(FetchError, match="refused by the host policy: localhost"):
        refused.request("POST", "/list.csv", body=b"{}")
    assert hostile.auth_seen == []
    allowed = http.client.HTTPConnection("127.0.0.1", hostile.port, timeout=2)
    allowed._create_connection = policy_connector(HostPolicy.build(["127.0.0.1/32"], open_=False), 2)
    allowed.request("GET", "/list.csv")
    assert allowed.getresponse().read() == CSV
    allowed.close()


@pytest.mark.parametrize("url, fragment", [
    ("http://127.0.0.1 :9/ok.csv", "the URL's host '127.0.0.1 ' contains ' ', which a host name cannot contain"),
    ("http://ex ample.com/x.csv", "the URL's host 'ex ample.com' contains ' '"),
    ("http://a\u3000b.example/x.csv", "contains '\\u3000'"),
    ("http://files<x>.example/x.csv", "contains '<'"),
    ("http://127.0.0.1\t:9/x.csv", "the URL contains the control character '\\t' (position 16)"),
    ("http://127.0.0.1:9/x\n.csv", "the control character '\\n'"),
    ("http://127.0.0.1:9/x.csv\x00", "the control character '\\x00'"),
    ("http://[::1]x:9/x.csv", "the URL's host and port '[::1]x:9' are not valid"),
    ("http://[::1]]/x.csv", "the URL's host and port '[::1]]' are not valid"),
    ("http://[v1.fe]/x.csv", "the URL's host '[v1.fe]' is not an IPv6 address"),
    ("http://[127.0.0.1]/x.csv", "the URL cannot be read"),
    ("http://[::1/x.csv", "the URL cannot be read: Invalid IPv6 URL"),
    ("http://127.0.0.1:99999/x.csv", "the URL cannot be read"),
    ("http://127.0.0.1:9:9/x.csv", "the URL cannot be read"),
    ("http://127.0.0.1:+9/x.csv", "the URL cannot be read"),
    ("http://user:secret@:9/x.csv", "the URL has no host"),
])
def test_malformed_urls_are_named_without_fetching(url, fragment):
    """Every way a URL can be malformed is a reason from check_url (a 422 on fileUrl), never an exception."""
    from mock_server.fetch import check_url
    problem = check_url(url)
    assert problem is not None and fragment in problem, problem
    assert "secret" not in problem
    with pytest.raises(FetchError, match="."):
        fetch(url, timeout=1, max_bytes=10, policy=HostPolicy(open=False))   # refused before any connection


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/a b.csv", "https://bücher.example/x.csv", "http://[::1]:8080/x.csv",
                                 "http://[fe80::1%25eth0]:8080/x.csv", "http://user:p%40ss@host.example/x.csv",
                                 "http://127.0.0.1:/x.csv", "HTTP://Files.Example.COM./x.csv?a=b c#frag"])
def test_well_formed_urls_pass_check_url(url):
    from mock_server.fetch import check_url
    assert check_url(url) is None


def test_a_redirect_to_a_malformed_url_is_400_not_500(client, hostile):
    response, elapsed = send_url(client, hostile.base + "/to-spaced-host.csv")
    assert_400(response, elapsed, f"a redirect pointed to http://127.0.0.1 :{hostile.port}/list.csv, which cannot be fetched",
               "contains ' '")
