"""The access log off the request thread (``mock-server``): a stalled stdout never holds up an
answer, the buffer is bounded (lines beyond it are dropped and counted as lost), and a stop writes
every buffered line first."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from mock_server import create_app
from mock_server.faults import background_access_log
from support.jelou import JELOU
from support.servers import start_server


class StalledStream:
    """stdout that takes nothing until ``release`` is set (a paused terminal, a pipe nobody reads)."""

    def __init__(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()
        self.text = ""

    def write(self, text: str) -> None:
        self.entered.set()
        assert self.release.wait(60), "the test never released the stream"
        self.text += text

    def flush(self) -> None:
        pass


def answered_within(deadline: float, call):
    """``call()``'s result, or a failure if it takes longer than ``deadline`` seconds (never a hang)."""
    result: list = []
    worker = threading.Thread(target=lambda: result.append(call()), daemon=True)
    worker.start()
    worker.join(deadline)
    assert result, f"no answer within {deadline} s: the request waited for the access log"
    return result[0]


def test_a_stalled_stdout_never_holds_up_an_answer_and_the_buffer_is_bounded():
    app = create_app({"access_log": "text"})
    log = app.extensions["mock.faults"].access_log
    stream = log.stream = StalledStream()
    log.max_pending = 3
    close = background_access_log(app)
    client = app.test_client()
    try:
        get = lambda path: answered_within(30, lambda: client.get(path, headers=JELOU).status_code)   # noqa: E731
        assert get("/v1/campaigns/first") == 404
        assert stream.entered.wait(30), "the writer thread never wrote"        # it now holds the first line
        assert [get(f"/v1/campaigns/c{index}") for index in range(5)] == [404] * 5     # 3 kept, 2 dropped
        lost = answered_within(30, lambda: client.get("/_mock/requests").json["lost"])
        assert lost == {"journal": 0, "accessLog": 2}
    finally:
        stream.release.set()
        close()
    lines = stream.text.splitlines()
    assert [line.split(" ")[3] for line in lines] == ["/v1/campaigns/first", "/v1/campaigns/c0", "/v1/campaigns/c1",
                                                       "/v1/campaigns/c2"]
    assert all(line.split(" ")[4] == "404" for line in lines)


def test_lines_written_after_close_go_out_at_once():
    app = create_app({"access_log": "json"})
    log = app.extensions["mock.faults"].access_log
    written: list[str] = []
    log.stream = type("Stream", (), {"write": lambda self, text: written.append(text), "flush": lambda self: None})()
    background_access_log(app)()                  # started and stopped
    app.test_client().get("/_mock/health")
    assert len(written) == 1 and '"path":"/_mock/health"' in written[0]


@pytest.mark.slow
def test_sigterm_writes_every_buffered_line_before_the_server_stops():
    server, port = start_server()
    try:
        with requests.Session() as session:
            for index in range(40):
                assert session.get(f"http://127.0.0.1:{port}/v1/campaigns/n{index}", headers=JELOU,
                                   timeout=20).status_code == 404
        server.terminate()                         # at once: the last lines are still in the buffer
        out, err = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    paths = [line.split(" ")[3] for line in out.splitlines() if " GET /v1/campaigns/n" in line]
    assert paths == [f"/v1/campaigns/n{index}" for index in range(40)]
    assert server.returncode == 0 and err.rstrip().endswith("mock-server: stopped")
