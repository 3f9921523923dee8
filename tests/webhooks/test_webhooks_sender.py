"""The event-loop sender (``sender.py``) against scripted receivers: each answer is written byte for
byte, so every framing the reader must handle is exercised (chunked, close-delimited, interim
answers), as are a dripping receiver cut by the whole-attempt deadline and a kept-alive connection
the receiver closed between two events (reopened once, not a failed attempt)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest

from mock_server.webhooks import sender as sender_module
from mock_server.webhooks.answers import BODY_LIMIT, Reader
from mock_server.webhooks.sender import BlockingSender

HEADERS = {"Content-Type": "application/json"}


class Scripted:
    """A loopback receiver that answers the n-th request with ``answers[n]`` (bytes, or a callable
    given the connection); ``close_after``: request numbers after which it closes the connection;
    ``tls``: a server-side SSL context (it then speaks HTTPS)."""

    def __init__(self, answers, close_after=(), tls=None) -> None:
        self.answers, self.close_after, self.tls = list(answers), set(close_after), tls
        self.requests: list[bytes] = []
        self.connections = 0
        self.closed = 0                  # connections the sender closed (or dropped)
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}/hook"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> "Scripted":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._server.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except socket.timeout:
                continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                conn.settimeout(10)
                conn = self.tls.wrap_socket(conn, server_side=True)
            self._exchange(conn)
        except OSError:              # the sender dropped the connection (its deadline, a body too long)
            pass
        finally:
            self.closed += 1

    def _exchange(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        buffer = b""
        with conn:
            while not self._stop.is_set():
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                self.requests.append(head + b"\r\n\r\n" + buffer[:length])
                buffer = buffer[length:]
                number = len(self.requests) - 1
                answer = self.answers[min(number, len(self.answers) - 1)]
                answer(conn) if callable(answer) else conn.sendall(answer)
                if number in self.close_after:
                    return


def _post(receiver: Scripted, count: int = 1, timeout: float = 10.0):
    sender = BlockingSender(timeout)
    try:
        return [sender.post(receiver.url, b'{"n": %d}' % n, HEADERS) for n in range(count)]
    finally:
        sender.close()


def test_a_chunked_answer_is_read_to_its_last_chunk_and_the_connection_kept():
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n"
    with Scripted([chunked, b"HTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\nno"]) as receiver:
        first, second = _post(receiver, 2)
    assert (first.status, first.error, first.excerpt) == (200, None, "hello world"), first
    assert (second.status, second.error, second.excerpt) == (500, "HTTP 500 Oops", "no"), second
    assert receiver.connections == 1                # the chunked body ended by its framing: reused


def test_interim_answers_are_skipped_and_the_final_one_counts():
    answer = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
              b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok")
    with Scripted([answer]) as receiver:
        outcomes = _post(receiver, 2)
    assert [(outcome.status, outcome.excerpt) for outcome in outcomes] == [(202, "ok"), (202, "ok")], outcomes
    assert receiver.connections == 1


def test_a_close_delimited_answer_ends_with_the_connection():
    with Scripted([b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it"], close_after={0, 1}) as receiver:
        outcomes = _post(receiver, 2)
    assert [(outcome.status, outcome.excerpt) for outcome in outcomes] == [(200, "all of it")] * 2, outcomes
    assert receiver.connections == 2                # never reused: its body ended with it


def test_a_receiver_closing_a_kept_alive_connection_between_events_is_not_a_failed_attempt():
    ok = b"HTTP/1.1 204 No Content\r\n\r\n"
    with Scripted([ok], close_after={0, 2}) as receiver:
        sender = BlockingSender(10.0)
        try:
            outcomes = []
            for n in range(4):
                outcomes.append(sender.post(receiver.url, b'{"n": %d}' % n, HEADERS))
                time.sleep(0.2)           # the close reaches the idle connection (or races the next request)
        finally:
            sender.close()
    assert [outcome.status for outcome in outcomes] == [204] * 4, outcomes
    assert len(receiver.requests) == 4 and receiver.connections == 3, (receiver.requests, receiver.connections)


def test_a_close_racing_the_next_request_reopens_the_connection_once():
    """The receiver closes right after reading the second request (its answer never comes): the
    request went on a reused connection and got no byte back, so it is sent again once."""
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    with Scripted([ok, b"", ok], close_after={1}) as receiver:
        outcomes = _post(receiver, 2)
    assert [outcome.status for outcome in outcomes] == [200, 200], outcomes
    assert len(receiver.requests) == 3 and receiver.connections == 2


def test_bytes_after_a_complete_answer_retire_its_connection():
    """An answer followed by bytes nobody asked for (a second answer): they are never read as the
    next request's answer, the connection is not reused."""
    doubled = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 500 Stale\r\nContent-Length: 0\r\n\r\n"
    with Scripted([doubled, b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"]) as receiver:
        outcomes = _post(receiver, 2)
    assert [outcome.status for outcome in outcomes] == [200, 201], outcomes
    assert receiver.connections == 2


def test_a_dripping_receiver_is_cut_at_the_deadline_of_the_whole_attempt():
    def drip(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(100):
            conn.sendall(b"x")
            time.sleep(0.1)
    with Scripted([drip]) as receiver:
        started = time.monotonic()
        [outcome] = _post(receiver, timeout=1.0)
        spent = time.monotonic() - started
    assert outcome.status is None and outcome.error.startswith(
        "answered HTTP 200 but its body did not end within 1 s (webhooks.timeout bounds the whole attempt)"), outcome
    assert spent < 6.0 and 900 <= outcome.latency_ms < 6000, (spent, outcome)


def test_each_attempt_is_cut_at_its_own_deadline_whatever_ended_before_it():
    """One deadline timer serves every attempt (they wait in the order they started): a hung
    attempt started 0.5 s after another, with a quick one between them, is cut at its own
    deadline (1 s after its start), not at the first one's, and none is cut early."""
    def hang(conn: socket.socket) -> None:
        time.sleep(4)

    async def run(hung_url: str, quick_url: str):
        sender = sender_module.Sender(1.0)
        try:
            first = asyncio.ensure_future(sender.post(hung_url, b"{}", HEADERS))
            await asyncio.sleep(0.25)
            quick = await sender.post(quick_url, b"{}", HEADERS)
            await asyncio.sleep(0.25)
            second = asyncio.ensure_future(sender.post(hung_url, b"{}", HEADERS))
            return await first, quick, await second
        finally:
            sender.close()

    with Scripted([hang]) as hung, Scripted([b"HTTP/1.1 204 No Content\r\n\r\n"]) as quick:
        first, answered, second = asyncio.run(run(hung.url, quick.url))
    assert answered.status == 204, answered
    for outcome in (first, second):
        assert outcome.error == "no answer within 1 s (webhooks.timeout bounds the whole attempt)", outcome
        assert 990 <= outcome.latency_ms < 3000, outcome


def test_a_body_longer_than_the_limit_is_read_to_the_limit_and_its_connection_dropped():
    big = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (BODY_LIMIT * 4) + b"y" * (BODY_LIMIT * 4)
    with Scripted([big, b"HTTP/1.1 204 No Content\r\n\r\n"]) as receiver:
        outcomes = _post(receiver, 2)
    assert [outcome.status for outcome in outcomes] == [200, 204], outcomes
    assert receiver.connections == 2


@pytest.mark.parametrize("answer, error", [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", "its Content-Length is"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "a chunk size is not hexadecimal"),
    (b"ICY 200 OK\r\n\r\n", "its status line is"),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "a header line is"),
    (b"HTTP/1.1 200 OK\nContent-Length: 0\n\n", "its head's lines end in LF alone"),
])
def test_an_answer_that_is_not_http_1_1_is_a_failed_attempt_naming_why(answer, error):
    with Scripted([answer]) as receiver:
        [outcome] = _post(receiver)
    assert outcome.status is None and outcome.error.startswith("the answer is not HTTP/1.1: " + error), outcome


def test_the_reader_takes_an_answer_byte_by_byte():
    answer = b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    reader = Reader()
    ends = [reader.feed(answer[position:position + 1]) for position in range(len(answer))]
    assert ends == [False] * (len(answer) - 1) + [True]
    assert (reader.status, bytes(reader.body), reader.complete, reader.keep) == (200, b"abc", True, True)


@pytest.mark.parametrize("chunks, expected", [
    ([b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"], (200, b"abc", True, True, b"")),
    ([b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200"], (204, b"", True, True, b"HTTP/1.1 200")),
    ([b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", b"cdeX"], (200, b"abcde", True, True, b"X")),
    ([b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc"], (200, b"abc", False, False, b"")),
])
def test_the_reader_takes_a_whole_head_in_one_read_as_it_takes_it_in_pieces(chunks, expected):
    """The reader's fast path (a whole head in the first read) ends, frames and keeps what follows
    as the byte-by-byte path does: an interim answer then the final one, bytes after an answer
    without a body (left in ``buffer``: its connection is never reused), a body in two reads."""
    whole, pieces = Reader(), Reader()
    for chunk in chunks:
        whole.feed(chunk)
    joined = b"".join(chunks)
    for position in range(len(joined)):
        if pieces.feed(joined[position:position + 1]):
            pieces.buffer += joined[position + 1:]
            break
    for reader in (whole, pieces):
        assert (reader.status, bytes(reader.body), reader.complete, reader.keep, bytes(reader.buffer)) == expected


def test_a_late_stop_of_an_ended_attempt_never_cuts_the_attempt_now_on_its_connection(monkeypatch):
    """A cancel() chose attempt A under way; its stop ran on the loop after A ended and its kept-alive
    connection went to B (another sandbox's): B is not cut (the receiver got B: a retry would be a
    duplicate)."""
    made = []
    original = sender_module._Attempt.__init__
    monkeypatch.setattr(sender_module._Attempt, "__init__", lambda self, *args: (original(self, *args), made.append(self))[0])

    def slow(conn: socket.socket) -> None:
        time.sleep(0.3)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    async def run(url: str):
        sender = sender_module.Sender(10.0)
        try:
            first = await sender.post(url, b"{}", HEADERS, tag="A")
            second = asyncio.ensure_future(sender.post(url, b"{}", HEADERS, tag="B"))   # on A's connection
            await asyncio.sleep(0.1)
            made[0].stop()                              # A's late stop
            return first, await second
        finally:
            sender.close()

    with Scripted([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", slow]) as receiver:
        first, second = asyncio.run(run(receiver.url))
    assert (first.status, second.status, second.error) == (200, 200, None), (first, second)
    assert receiver.connections == 1 and len(receiver.requests) == 2


def test_a_blackholed_receiver_never_holds_every_policy_checked_connect():
    """Connects through the host policy's blocking connector run in threads: attempts to a receiver
    whose connects hang take at most CONNECT_PER_RECEIVER of them (each given what remains of its
    attempt's time; the others wait, cut with their attempt), so another receiver's attempts still
    connect and succeed meanwhile."""
    release, lock = threading.Event(), threading.Lock()
    hanging, most, given = [0], [0], []

    def connect(address, timeout):
        host, port = address
        if host != "blackhole.test":
            return socket.create_connection(("127.0.0.1", port), timeout)
        with lock:
            hanging[0] += 1
            most[0] = max(most[0], hanging[0])
            given.append(timeout)
        try:
            release.wait(30)                        # a name lookup that hangs (its timeout does not bound it)
            raise TimeoutError("timed out")
        finally:
            with lock:
                hanging[0] -= 1

    async def run(port: int):
        sender = sender_module.Sender(4.0, connect)     # room for the healthy attempts on a loaded machine
        try:
            hung = [asyncio.ensure_future(sender.post(f"http://blackhole.test:{port}/", b"{}", HEADERS))
                    for _ in range(3 * sender_module.CONNECT_PER_RECEIVER)]
            await asyncio.sleep(0.2)
            healthy = [await sender.post(f"http://127.0.0.1:{port}/hook", b"{}", HEADERS) for _ in range(3)]
            return healthy, await asyncio.gather(*hung)
        finally:
            release.set()
            sender.close()

    with Scripted([b"HTTP/1.1 204 No Content\r\n\r\n"]) as receiver:
        port = int(receiver.url.split(":")[2].split("/")[0])
        healthy, hung = asyncio.run(run(port))
    assert [(outcome.status, outcome.error) for outcome in healthy] == [(204, None)] * 3, healthy
    assert {outcome.error for outcome in hung} == {"no answer within 4 s (webhooks.timeout bounds the whole attempt)"}
    assert 0 < most[0] <= sender_module.CONNECT_PER_RECEIVER and all(0 < timeout <= 4.0 for timeout in given), (most, given)


def test_a_kept_alive_connection_left_unused_for_idle_for_is_closed(monkeypatch):
    monkeypatch.setattr(sender_module, "IDLE_FOR", 0.3)

    async def run(receiver: Scripted):
        sender = sender_module.Sender(10.0)
        try:
            first = await sender.post(receiver.url, b"{}", HEADERS)
            deadline = time.monotonic() + 5         # (the receiver itself gives up on a silent connection after 10 s)
            while not receiver.closed and time.monotonic() < deadline:
                await asyncio.sleep(0.05)               # the loop runs: its sweep closes the unused connection
            return first, receiver.closed, await sender.post(receiver.url, b"{}", HEADERS)
        finally:
            sender.close()

    with Scripted([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"]) as receiver:
        first, closed, second = asyncio.run(run(receiver))
    assert (first.status, closed, second.status) == (200, 1, 200), (first, closed, second)
    assert receiver.connections == 2 and len(receiver.requests) == 2


def test_an_https_receiver_is_answered_through_tls_and_its_connection_kept(tmp_path):
    """The link is a buffered protocol: under TLS the loop's SSL layer hands it the decrypted
    bytes the same way (two attempts, one connection, the answers read whole)."""
    import shutil
    import ssl
    import subprocess

    from support.realredis import missing_binary

    if shutil.which("openssl") is None:
        missing_binary("openssl is not on PATH (it makes a self-signed certificate for the receiver)", "apt-get install openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    receiver = Scripted([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"], tls=server_side)
    client_side = ssl.create_default_context(cafile=str(cert))

    async def run(url: str):
        sender = sender_module.Sender(10.0)
        sender._connector._tls = client_side
        try:
            return [await sender.post(url, b'{"n": %d}' % n, HEADERS) for n in range(2)]
        finally:
            sender.close()

    with receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        outcomes = asyncio.run(run(f"https://localhost:{port}/hook"))
    assert [(outcome.status, outcome.excerpt) for outcome in outcomes] == [(200, "ok")] * 2, outcomes
    assert receiver.connections == 1 and len(receiver.requests) == 2


def test_attempts_started_as_others_are_cut_leave_one_deadline_timer():
    """An attempt cut at its deadline hands its lane to the next job at once (its outcome's
    callback starts the next attempt, inside the timer's own pass): the sender still keeps ONE
    deadline timer. It kept one more per such pass (each re-arming itself at every deadline while
    attempts were under way: timers without bound behind a blackholed receiver)."""
    listener = socket.create_server(("127.0.0.1", 0))      # never accepts, never answers
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    rounds = 6

    async def run():
        loop = asyncio.get_running_loop()
        sender = sender_module.Sender(0.2)
        prepared = sender.prepare(url, HEADERS)
        outcomes: list = []
        finished = loop.create_future()

        def done(outcome) -> None:
            outcomes.append(outcome)
            if len(outcomes) < rounds:
                sender.start(prepared, b"{}", b"", None, done)    # the next job, at once
            else:
                sender.start(prepared, b"{}", b"", None, lambda outcome: None)   # one left under way
                if not finished.done():
                    finished.set_result(None)

        sender.start(prepared, b"{}", b"", None, done)
        try:
            await asyncio.wait_for(asyncio.shield(finished), 30)
            live = [handle for handle in loop._scheduled if not handle.cancelled()
                    and getattr(handle._callback, "__func__", None) is sender_module.Sender._expire]
            return outcomes, len(live)
        finally:
            sender.close()

    try:
        outcomes, timers = asyncio.run(run())
    finally:
        listener.close()
    assert [outcome.error for outcome in outcomes] == [
        "no answer within 0.2 s (webhooks.timeout bounds the whole attempt)"] * rounds, outcomes
    assert timers == 1, timers


def test_a_content_length_of_thousands_of_digits_is_a_body_that_never_ends_not_a_delivery():
    """``Content-Length: 111…1`` (5,000 digits, more than ``int()`` reads): a 200 whose body
    never comes, cut at the deadline like any other. The reader raised ValueError after taking
    the status: the connection dropped, and the attempt was delivered (HTTP 200)."""
    with Scripted([b"HTTP/1.1 200 OK\r\nContent-Length: " + b"1" * 5000 + b"\r\n\r\n"]) as receiver:
        [outcome] = _post(receiver, timeout=1.0)
    assert outcome.status is None and not outcome.ok, outcome
    assert outcome.error.startswith("answered HTTP 200 but its body did not end within 1 s"), outcome


def test_a_failure_of_the_reader_is_a_failed_attempt_saying_so(monkeypatch, caplog):
    """A bug in reading an answer (any exception, after the status was read) ends the attempt
    as failed, naming the mock, logged in full: never a delivery, never a hang."""
    def broken(self, data):
        self.status = 200
        raise RuntimeError("boom")
    monkeypatch.setattr(Reader, "feed", broken)
    with Scripted([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]) as receiver:
        [outcome] = _post(receiver, timeout=5.0)
    assert (outcome.status, outcome.error) == (
        None, "the mock failed to read the answer (RuntimeError: boom); please report it"), outcome
    assert "reading its answer failed" in caplog.text
