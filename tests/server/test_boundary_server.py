"""Issue 8 item 13 against a live ``mock-server`` (waitress): the HTTP server's own errors are JSON.

Requests waitress refuses before the app sees them (a body declared over the cap, headers over
256 KiB, a request line it cannot parse, a transfer coding it does not implement) are answered
in the envelope of the provider owning the path, the control plane's elsewhere; a body declared
just over the cap is refused as soon as its headers arrive.
"""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests

from support.live_server import free_port, mock_server

pytestmark = pytest.mark.slow

CAP = 100_000


@pytest.fixture(scope="module")
def port(tmp_path_factory):
    config = tmp_path_factory.mktemp("boundary") / "config.json"
    config.write_text(json.dumps({"max_request_bytes": CAP}))
    number = free_port()
    with mock_server("--config", str(config), "--threads", "4", port=number):
        yield number


def exchange(port: int, data: bytes, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes, float]:
    """Send ``data`` raw, read the answer until the server closes; ``(status, headers, body, seconds)``."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass                                   # the server answered and closed before taking it all
        received = b""
        try:
            while b"\r\n\r\n" not in received or not _complete(received):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        except ConnectionResetError:
            pass
    elapsed = time.monotonic() - started
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split(" ")[1]), headers, body, elapsed


def _complete(received: bytes) -> bool:
    head, _, body = received.partition(b"\r\n\r\n")
    for line in head.decode("latin-1").split("\r\n"):
        if line.lower().startswith("content-length:"):
            return len(body) >= int(line.split(":", 1)[1])
    return False


def _is_jelou(body: dict, status: int) -> bool:
    return body.get("status") == "failed" and isinstance(body.get("message"), list) and body["message"][0]


def _is_indigitall(body: dict, status: int) -> bool:
    return body.get("statusCode") == status and isinstance(body.get("message"), str) and "errorCode" in body


def _is_control(body: dict, status: int) -> bool:
    return body.get("error", {}).get("status") == status and body["error"]["message"]


ENVELOPES = {"/v1/hsm/file": _is_jelou, "/v2/chat/application/100/message/csv": _is_indigitall,
             "/_mock/clock": _is_control, "/elsewhere": _is_control}


def _json_answer(status, headers, body, expected_status, path) -> dict:
    assert status == expected_status, body[:300]
    assert headers["Content-Type"] == "application/json", headers
    parsed = json.loads(body)
    assert ENVELOPES[path](parsed, expected_status), parsed
    return parsed


@pytest.mark.parametrize("path", list(ENVELOPES))
def test_a_body_declared_over_the_cap_is_413_at_once_without_sending_it(port, path):
    request = (f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
               f"Content-Length: {CAP + 1}\r\n\r\n").encode()
    status, headers, body, seconds = exchange(port, request)
    parsed = _json_answer(status, headers, body, 413, path)
    assert "max_request_bytes" in json.dumps(parsed)
    assert seconds < 2                                     # no waiting for the 100 KB that never come


def test_a_chunked_body_growing_over_the_cap_is_413_json(port):
    chunk = b"a" * 40_000
    request = (b"POST /v2/chat/application/100/message/csv HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
               + (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 3 + b"0\r\n\r\n")
    _json_answer(*exchange(port, request)[:3], 413, "/v2/chat/application/100/message/csv")


def test_a_body_of_exactly_the_cap_reaches_the_app(port):
    body = b"[" + b" " * (CAP - 2) + b"]"
    request = (f"POST /_mock/clock HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    parsed = _json_answer(*exchange(port, request)[:3], 400, "/_mock/clock")
    assert "send a JSON object" in parsed["error"]["message"]        # the app's own answer, not a 413


def test_a_sandbox_prefix_does_not_hide_the_owner(port):
    request = (f"POST /sandboxes/ci-7/v1/hsm/file HTTP/1.1\r\nHost: localhost\r\nContent-Length: {CAP + 1}\r\n\r\n").encode()
    _json_answer(*exchange(port, request)[:3], 413, "/v1/hsm/file")


@pytest.mark.parametrize("path", list(ENVELOPES))
def test_headers_over_256_kib_are_431_json(port, path):
    request = f"GET {path} HTTP/1.1\r\nHost: localhost\r\n".encode() + b"X-Big: " + b"b" * 300_000 + b"\r\n\r\n"
    parsed = _json_answer(*exchange(port, request)[:3], 431, path)
    assert "262,144 bytes" in json.dumps(parsed)


@pytest.mark.parametrize("prefix,path", [("/v1/caf", "/v1/hsm/file"), ("/v2/chat/caf", "/v2/chat/application/100/message/csv"),
                                         ("/caf", "/elsewhere")])
def test_a_raw_non_ascii_path_is_400_json(port, prefix, path):
    request = prefix.encode() + "é".encode("utf-8")
    status, headers, body, _ = exchange(port, b"GET " + request + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
    parsed = _json_answer(status, headers, body, 400, path)
    assert "must be ASCII" in json.dumps(parsed)


def test_a_percent_encoded_non_ascii_path_is_an_ordinary_404(port):
    status, headers, body, _ = exchange(port, b"GET /v2/chat/caf%C3%A9 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    assert json.loads(body)["errorCode"] == "ROUTE_NOT_FOUND" and status == 404


@pytest.mark.parametrize("request_bytes,expected,path", [
    (b"POST /v1/hsm/file HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n", 400, "/v1/hsm/file"),
    ("POST /v1/hsm/file HTTP/1.1\r\nHost: localhost\r\nContent-Length: ²\r\n\r\n".encode(), 400, "/v1/hsm/file"),
    (b"POST /_mock/clock HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n", 400, "/_mock/clock"),
    (b"POST /v2/chat/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400,
     "/v2/chat/application/100/message/csv"),
    (b"POST /v1/hsm/file HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "/v1/hsm/file"),
    (b"GET /_mock/clock HTTP/1.1\r\nHost: localhost\r\nBad Header Line\r\n\r\n", 400, "/_mock/clock"),
    (b"NONSENSE\r\nHost: localhost\r\n\r\n", 400, "/elsewhere"),
])
def test_unparseable_requests_are_json(port, request_bytes, expected, path):
    _json_answer(*exchange(port, request_bytes)[:3], expected, path)


def test_health_still_answers_afterwards(port):
    assert requests.get(f"http://127.0.0.1:{port}/_mock/health", timeout=5).json() == {"status": "ok"}
