"""A webhook receiver for tests, the command line and load runs (asyncio, in a background thread).

``WebhookReceiver`` accepts the mock's webhook POSTs on a local port, answers them (2xx by
default; ``fail_next(n)`` answers the next ``n`` with an error, ``delay`` answers slowly) and keeps
what arrived. With ``secret`` it checks ``X-Jelou-Signature`` / ``X-Mock-Signature`` (HMAC-SHA256
of the exact body) and marks each event: a signature that does not match counts in ``badSignatures``,
an event without one (Jelou's legacy subscription API has no signing secret, so its events are
never signed) in ``unsigned``. With ``keep=False`` it only counts (constant memory: the
mode for load runs). ``GET /_stats`` answers the counters as JSON (one line), so a Locust run or a shell can
watch a receiver running in another process.

It speaks just enough HTTP/1.1 for webhooks: requests with a ``Content-Length`` body, kept-alive
connections; a chunked body is answered 411.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from typing import Any, Callable

from .webhook_events import SIGNATURE_HEADERS, ReceivedEvent, verify  # noqa: F401 (re-exported)

REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request", 404: "Not Found",
           411: "Length Required", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable"}


class WebhookReceiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, secret: str | None = None, status: int = 204,
                 delay: float = 0.0, keep: bool = True, on_event: Callable[[ReceivedEvent], None] | None = None,
                 advertise: str | None = None) -> None:
        """Listen on ``host`` (``port`` 0: a free one); ``url`` names ``advertise`` (default ``host``):
        the name a mock elsewhere (a container) reaches this receiver by."""
        self.host, self.port, self.advertise = host, port, advertise or host
        self.secret, self.status, self.delay, self.keep, self.on_event = secret, status, delay, keep, on_event
        self._events: list[ReceivedEvent] = []
        self._changed = threading.Condition()
        self._failures: list[int] = []
        self.counts: Counter[str] = Counter()
        self.total = 0
        self.bad_signatures = 0                              # signed, but not with ``secret``
        self.unsigned = 0                                    # no signature header while ``secret`` is set
        self._ids: set[str] = set()
        self.duplicates = 0
        self._started_at: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._writers: set[asyncio.StreamWriter] = set()     # connections not closed yet
        self._tasks: set[asyncio.Task] = set()               # a strong reference to each connection's task
        self._stopping = False

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> "WebhookReceiver":
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(asyncio.start_server(self._accept, self.host, self.port))
                self.port = self._server.sockets[0].getsockname()[1]
            except OSError as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._shutdown())
            loop.close()

        self._thread = threading.Thread(target=run, name="webhook-receiver", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        self._started_at = time.monotonic()
        return self

    async def _shutdown(self) -> None:
        """Close the listener and every connection; leave no task pending and no socket open.

        Every task of the loop is cancelled and awaited, in rounds until none is left: connections
        waiting for a request, answering, closing (waiting for ``wait_closed``) or accepted and not
        started yet. Connections are dropped (``abort``), not flushed to a peer that may not read."""
        self._stopping = True
        self._server.close()
        current = asyncio.current_task()
        for _ in range(20):     # a round ends every task it saw; new ones can only come from accepts in flight
            tasks = asyncio.all_tasks() - {current}
            if not tasks:
                break
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=1)
        for writer in list(self._writers):      # the connections of tasks cancelled before they started
            writer.transport.abort()
        await asyncio.sleep(0)                  # the aborted transports close their sockets
        await self._server.wait_closed()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> "WebhookReceiver":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host = f"[{self.advertise}]" if ":" in self.advertise else self.advertise     # an IPv6 literal
        return f"http://{host}:{self.port}"

    # -- behaviour ----------------------------------------------------------------------------------
    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer the next ``count`` requests with ``status``."""
        with self._changed:
            self._failures.extend([status] * count)

    # -- what arrived -------------------------------------------------------------------------------
    @property
    def events(self) -> list[ReceivedEvent]:
        with self._changed:
            return list(self._events)

    def accepted(self) -> list[ReceivedEvent]:
        """Events answered 2xx, each event id once (what an idempotent client would process)."""
        seen, out = set(), []
        for item in self.events:
            if 200 <= item.status < 300 and item.event_id not in seen:
                seen.add(item.event_id)
                out.append(item)
        return out

    def wait_for(self, predicate: Callable[[list[ReceivedEvent]], bool] | int, timeout: float = 10.0) -> list[ReceivedEvent]:
        """Block until ``predicate(events)`` holds (an int: that many accepted events); return the events.

        Raises ``TimeoutError`` naming what arrived when ``timeout`` real seconds pass first.
        """
        check = (lambda events: len(self.accepted()) >= predicate) if isinstance(predicate, int) else predicate
        deadline = time.monotonic() + timeout
        with self._changed:
            while not check(list(self._events)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"webhook receiver: condition not met within {timeout:g} s; "
                                       f"{len(self._events)} request(s) arrived: {dict(self.counts)}")
                self._changed.wait(min(remaining, 0.1))
            return list(self._events)

    def wait_quiet(self, quiet: float = 0.5, timeout: float = 10.0) -> list[ReceivedEvent]:
        """Block until nothing has arrived for ``quiet`` seconds (at most ``timeout``); return the events.

        For "and nothing more comes" checks (duplicates, events that must not be sent)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            seen = self.total
            while True:
                quiet_until = time.monotonic() + quiet
                while time.monotonic() < quiet_until and self.total == seen:
                    self._changed.wait(max(0.0, quiet_until - time.monotonic()))
                if self.total == seen or time.monotonic() >= deadline:
                    return list(self._events)
                seen = self.total

    def stats(self) -> dict[str, Any]:
        elapsed = time.monotonic() - self._started_at if self._started_at else 0.0
        return {"total": self.total, "byEvent": dict(self.counts), "duplicates": self.duplicates,
                "badSignatures": self.bad_signatures, "unsigned": self.unsigned, "seconds": round(elapsed, 3)}

    # -- HTTP ---------------------------------------------------------------------------------------
    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A new connection: served by its own task, or dropped when the receiver is stopping."""
        if self._stopping:
            writer.transport.abort()
            return
        self._writers.add(writer)
        task = asyncio.get_running_loop().create_task(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    break
                lines = head.decode("latin-1").split("\r\n")
                method, _, rest = lines[0].partition(" ")
                path = rest.rpartition(" ")[0] or rest
                headers = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                if "chunked" in headers.get("transfer-encoding", "").lower():
                    await self._answer(writer, 411, close=True)
                    break
                body = await reader.readexactly(int(headers.get("content-length") or 0))
                closing = headers.get("connection", "").lower() == "close"
                if method == "GET" and path == "/_stats":
                    await self._answer(writer, 200, json.dumps(self.stats()).encode() + b"\n", close=closing)
                else:
                    status = self._record(path, headers, body)
                    if self.delay:
                        await asyncio.sleep(self.delay)
                    await self._answer(writer, status, close=closing)
                if closing:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if self._stopping:
                writer.transport.abort()
            else:
                writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, asyncio.CancelledError):
                pass
            self._writers.discard(writer)

    async def _answer(self, writer, status: int, body: bytes = b"", close: bool = False) -> None:
        head = f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\nContent-Length: {len(body)}\r\n"
        if body:
            head += "Content-Type: application/json\r\n"
        if close:
            head += "Connection: close\r\n"
        writer.write(head.encode("latin-1") + b"\r\n" + body)
        await writer.drain()

    def _record(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self._changed:
            status = self._failures.pop(0) if self._failures else self.status
        signature = next((headers[name] for name in SIGNATURE_HEADERS if name in headers), None)
        signature_ok = None if self.secret is None or signature is None else verify(self.secret, body, signature)
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        item = ReceivedEvent(path, headers, body if self.keep else b"", status, time.monotonic(), signature_ok, data)
        with self._changed:
            self.total += 1
            if self.secret is not None and signature is None:
                self.unsigned += 1
            elif signature_ok is False:
                self.bad_signatures += 1
            if 200 <= status < 300:
                event_id = headers.get("x-mock-event-id", "")
                if self.keep:
                    if event_id in self._ids:
                        self.duplicates += 1
                    self._ids.add(event_id)
                self.counts[(data or {}).get("event", "?") if isinstance(data, dict) else "?"] += 1
            if self.keep:
                self._events.append(item)
            self._changed.notify_all()
        if self.on_event is not None:
            self.on_event(item)
        return status
