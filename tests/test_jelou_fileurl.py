"""POST /v1/hsm/file with ``fileUrl``: fetched with requests within scheme, size and time bounds."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import JELOU, ORDER_PARAMS, assert_422, campaign, order_csv

CSV = order_csv(4)


class FileServer:
    """A local HTTP server with a few fixed behaviours, started by the tests."""

    def __init__(self) -> None:
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split("?")[0]
                if path in ("/list.csv", "/list.CSV", "/export"):
                    self._send(200, CSV)
                elif path == "/huge.csv":
                    self._send(200, b"x" * 5000)
                elif path == "/huge-undeclared.csv":
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(order_csv(300))
                    self.close_connection = True
                elif path == "/slow.csv":
                    server.release.wait(10)     # holds until the test ends; the mock must give up first
                    self._send(200, CSV)
                elif path == "/bad-rows.csv":
                    self._send(200, b"phone_number,order_id,amount,delivery\n+593991111111,a,b,c\n")
                else:
                    self._send(404, b"not found")

            def _send(self, status, body):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def files():
    with FileServer() as server:
        yield server


@pytest.fixture
def app_config():
    return {"jelou": {"file_url_timeout": 0.5, "file_url_max_bytes": 4000}}


def send_url(client, url, **fields):
    body = {"campaignName": "from url", "elementName": "order_confirmation", "botId": "demo-bot",
            "params": ORDER_PARAMS, "fileUrl": url, **fields}
    return client.post("/v1/hsm/file", json=body, headers=JELOU)


def test_success(client, files):
    response = send_url(client, f"{files.base}/list.csv?token=abc")
    assert response.status_code == 200, response.json
    data = campaign(client, response.headers["X-Mock-Campaign-Id"])
    assert data["totalMessages"] == 4 and data["fileName"] == "list.csv"


def test_uppercase_extension(client, files):
    assert send_url(client, f"{files.base}/list.CSV").status_code == 200


def test_404_is_400(client, files):
    response = send_url(client, f"{files.base}/missing.csv")
    assert response.status_code == 400
    assert response.json["status"] == "failed"
    assert "answered HTTP 404" in response.json["message"][0]


def test_declared_too_large_is_400(client, files):
    response = send_url(client, f"{files.base}/huge.csv")
    assert response.status_code == 400
    assert "5,000 bytes, more than the 4,000 bytes allowed" in response.json["message"][0]


def test_streamed_too_large_is_400(client, files):
    response = send_url(client, f"{files.base}/huge-undeclared.csv")
    assert response.status_code == 400
    assert "larger than the 4,000 bytes allowed" in response.json["message"][0]


def test_slow_server_times_out_as_400(client, files):
    response = send_url(client, f"{files.base}/slow.csv")
    assert response.status_code == 400
    assert "took longer than 0.5 s" in response.json["message"][0]


def test_connection_refused_is_400(client):
    response = send_url(client, "http://127.0.0.1:9/list.csv")
    assert response.status_code == 400
    assert "could not connect" in response.json["message"][0]


@pytest.mark.parametrize("url", ["ftp://example.com/list.csv", "file:///etc/passwd.csv", "list.csv", "http:///list.csv"])
def test_non_http_urls_are_422_on_file_url(client, url):
    entries = assert_422(send_url(client, url), "fileUrl")
    assert "fileUrl:" in entries[0]["en"]


def test_url_path_must_end_in_csv(client, files):
    entries = assert_422(send_url(client, f"{files.base}/export"), "file")
    assert "Only files with the .csv extension" in entries[0]["en"]


def test_fetched_file_gets_the_same_csv_rules(client, files):
    entries = assert_422(send_url(client, f"{files.base}/bad-rows.csv"), "file")
    assert entries[0]["line"] == 2 and entries[0]["value"] == "+593991111111"


def test_field_errors_come_before_fetching(client, files):
    response = send_url(client, f"{files.base}/slow.csv", elementName="nope")
    assert_422(response, "elementName")


@pytest.mark.parametrize("url, fragment", [
    ("http://127.0.0.1 :9/ok.csv", "host '127.0.0.1 ' contains ' '"),     # was a 500 (http.client.InvalidURL)
    ("http://127.0.0.1\t:9/ok.csv", "control character '\\t'"),         # urlsplit would drop the tab silently
    ("http://[::1]x:9/ok.csv", "host and port '[::1]x:9' are not valid"),
    ("http://127.0.0.1:70000/ok.csv", "the URL cannot be read"),
])
def test_malformed_file_urls_are_422_on_file_url(client, url, fragment):
    entries = assert_422(send_url(client, url), "fileUrl")
    assert entries[0]["en"].startswith("fileUrl: ") and fragment in entries[0]["en"], entries
