"""``mock_server.server_errors``: attaching to waitress servers, and reading paths from raw requests."""

from __future__ import annotations

import json
import socket
import threading

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import create_server

from mock_server import create_app
from mock_server.server_errors import EnvelopeErrorsMixin, attach, request_path


class OtherChannel(HTTPChannel):
    """Stands for a channel class another part of the server setup brings (e.g. a read deadline)."""


def _server(app, **kwargs):
    return create_server(app, host="127.0.0.1", port=0, threads=1, **kwargs)


def test_attach_keeps_the_channel_class_it_finds_and_sets_the_cap():
    app = create_app({"max_request_bytes": 5000})
    server = _server(app)
    try:
        server.channel_class = OtherChannel
        attach(server, app)
        assert issubclass(server.channel_class, OtherChannel) and issubclass(server.channel_class, EnvelopeErrorsMixin)
        assert server.adj.max_request_body_size == 5001 and server.mock_app is app
        composed = server.channel_class
        attach(server, app)                                   # idempotent
        assert server.channel_class is composed
    finally:
        server.close()


def test_an_unattached_server_keeps_waitress_plain_text():
    app = create_app({})
    server = _server(app)
    server.channel_class = type("Plain", (EnvelopeErrorsMixin, HTTPChannel), {})   # task present, app not attached
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", server.effective_port), timeout=5) as sock:
            sock.sendall(b"GET /v1/caf\xc3\xa9 HTTP/1.1\r\nHost: localhost\r\n\r\n")
            answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 400") and b"text/plain" in answer
    finally:
        server.trigger.pull_trigger(server.close)
        server.task_dispatcher.shutdown()
        thread.join(timeout=5)


def _parsed(raw: bytes) -> HTTPRequestParser:
    app = create_app({})
    server = _server(app)
    try:
        parser = HTTPRequestParser(server.adj)
        parser.received(raw)
        return parser
    finally:
        server.close()


def test_request_path_reads_the_raw_first_line():
    assert request_path(_parsed(b"GET /v2/caf\xc3\xa9?x=1 HTTP/1.1\r\nHost: localhost\r\n\r\n")) == "/v2/café"
    assert request_path(_parsed(b"GET http://host:1/v1/a%20b#f HTTP/1.1\r\nHost: localhost\r\n\r\n")) == "/v1/a b"
    assert request_path(_parsed(b"NONSENSE\r\nHost: localhost\r\n\r\n")) == "/"
    assert request_path(_parsed(b"GET /sandboxes/ci-1/v2/chat/x HTTP/1.1\r\nHost: localhost\r\n\r\n")) == "/v2/chat/x"
    assert request_path(_parsed(b"GET /sandboxes/ci-1 HTTP/1.1\r\nHost: localhost\r\n\r\n")) == "/"


def test_render_error_uses_the_owning_envelope():
    from mock_server.errors import render_error
    app = create_app({})
    body, headers = render_error(app, "/v2/chat/x", 431, "too big")
    assert json.loads(body) == {"statusCode": 431, "message": "too big", "errorCode": "HEADERS_TOO_LARGE"}
    assert ("Content-Type", "application/json") in headers
    assert json.loads(render_error(app, "/v1", 413, "m")[0]) == {"message": ["m"], "status": "failed"}
    assert json.loads(render_error(app, "/x", 400, "m")[0]) == {"error": {"status": 400, "message": "m"}}
