"""POST /v1/hsm/file with ``fileUrl``: fetched with requests within scheme, size and time bounds."""

from __future__ import annotations

import pytest

from support.fileserver import FileServer
from support.jelou import JELOU, ORDER_PARAMS, assert_422, campaign


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
