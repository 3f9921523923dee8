"""The access log: one line per request on stdout (CONTRACT §9).

``text``: ``<real time> <sandbox> <method> <path> <status> <ms>ms fault=<rule|-> record=<id|->``
(``path`` without the ``/sandboxes/NAME`` prefix: the sandbox has its own column);
``json``: one object per line with the same facts. The query string, headers and bodies are never
printed, so no credential can reach the log. ``--quiet`` (setting ``access_log: null``) turns it off.

No logged value can break the one-line format or reach the terminal raw (CONTRACT §18): in the text
format every value goes through :func:`escape` (control characters C0, DEL and C1, the Unicode line
and paragraph separators, bidirectional overrides, and the space and backslash that would split a
column or fake an escape, become ``\\xNN`` / ``\\uNNNN``); the JSON format is ``json.dumps`` with
ASCII output, which escapes all of them but DEL, escaped here as ``\\u007f``. The path is the one the
client sent, percent-decoded and read as UTF-8 (like the journal's).

Off the request thread: under ``mock-server`` (one process, waitress) a request only formats its
line and appends it to a buffer; a background thread writes and flushes what gathered at most
every ``FLUSH_INTERVAL`` (0.1 s), and on shutdown (SIGTERM, Ctrl-C) every buffered line is written
before the process exits. The buffer is bounded (``MAX_PENDING`` lines): when stdout does not keep
up (a paused terminal, a full pipe nobody reads), new lines are *dropped*, never waited for, so a
stalled log never stalls an answer; each dropped line is counted as a lost access-log line of its
sandbox (``lost.accessLog`` in ``GET /_mock/requests``) and a warning says when dropping starts.
An app used otherwise (``create_app`` in tests, ``--workers N``) writes each line at once.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from typing import IO, Any, Callable

from werkzeug.wsgi import get_path_info

from ..isotime import isoformat

FORMATS = ("text", "json")
FLUSH_INTERVAL = 0.1         # seconds a line may wait in the buffer (background writing)
MAX_PENDING = 10_000         # lines the buffer holds; beyond, new lines are dropped and counted

log = logging.getLogger("mock_server.faults")
_UNSAFE = re.compile(r"[\x00-\x20\\\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escape(value: Any) -> str:
    """``value`` as text safe for one space-separated log line (see the module docstring)."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", str(value))


class AccessLog:
    """Formats one line per request and writes it to ``stream``.

    Written at once on the request's thread until :meth:`start` is called; from then on (the
    server ``mock-server`` runs does, see the module doc) lines go to a bounded buffer that a
    background thread writes and flushes, until :meth:`close`.
    """

    def __init__(self, fmt: str, stream: IO[str] | None = None) -> None:
        self.format = fmt
        self.stream = stream if stream is not None else sys.stdout
        self.interval = FLUSH_INTERVAL
        self.max_pending = MAX_PENDING
        self.on_lost: Callable[[str, int], None] = lambda sandbox, count: None   # (sandbox, lines)
        self._lock = threading.Lock()               # one writer on the stream at a time
        self._wake = threading.Condition(threading.Lock())     # guards what follows
        self._pending: list[tuple[str, str]] = []  # (sandbox, line) waiting for the writer thread
        self._thread: threading.Thread | None = None
        self._closing = False
        self._dropping = False

    def line(self, environ, exchange, duration_ms: float, record: dict) -> str:
        """The request's line, without its line break."""
        status = exchange.drop if exchange.drop in ("reset", "empty") else exchange.status
        fields = {"time": isoformat(exchange.received_real), "sandbox": exchange.sandbox, "method": environ.get("REQUEST_METHOD"),
                  "path": get_path_info(environ), "status": status, "durationMs": duration_ms,
                  "fault": exchange.rule["id"] if exchange.rule else None, **record}
        if exchange.drop == "truncate":
            fields["dropped"] = "truncate"
        if self.format == "json":
            return json.dumps(fields, separators=(",", ":")).replace("\x7f", "\\u007f")
        record_id = record.get("campaignId") or record.get("taskId")
        line = " ".join(map(escape, (fields["time"], fields["sandbox"], fields["method"], fields["path"],
                                     "-" if status is None else status, f"{duration_ms:.1f}ms",
                                     f"fault={fields['fault'] or '-'}", f"record={record_id or '-'}")))
        return line + " dropped=truncate" if exchange.drop == "truncate" else line

    def write(self, environ, exchange, duration_ms: float, record: dict) -> None:
        line = self.line(environ, exchange, duration_ms, record)
        with self._wake:
            queued = self._thread is not None and not self._closing
            if queued:
                full = len(self._pending) >= self.max_pending
                if not full:
                    self._pending.append((exchange.sandbox, line))
                    if len(self._pending) == 1:
                        self._wake.notify()          # at most once per batch: the writer gathers the rest
                else:
                    first_drop, self._dropping = not self._dropping, True
        if not queued:
            self._emit([(exchange.sandbox, line)])
        elif full:
            if first_drop:
                log.warning("access log: %d lines wait to be written (stdout is not keeping up); dropping new "
                            "lines (counted as lost in GET /_mock/requests) until it catches up", self.max_pending)
            self.on_lost(exchange.sandbox, 1)

    def start(self) -> None:
        """Write from a background thread from now on (see the class doc); :meth:`close` stops it."""
        with self._wake:
            if self._thread is None and not self._closing:
                self._thread = threading.Thread(target=self._run, name="mock-access-log", daemon=True)
                self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Write every buffered line and stop the background thread (waits at most ``timeout``
        seconds for a stream that does not take them); later lines are written at once."""
        with self._wake:
            self._closing = True
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closing:
                    self._wake.wait()
                if not self._closing:
                    self._wake.wait(self.interval)          # let a batch gather; close() ends it early
                batch, self._pending = self._pending, []
                self._dropping = False                      # a next overflow warns again
                done = self._closing and not batch
            if done:
                return
            try:
                self._emit(batch)
            except Exception:                    # counted like a line the request thread could not write
                log.exception("access log: could not write %d line(s); the answers stand", len(batch))
                for sandbox, _ in batch:
                    self.on_lost(sandbox, 1)

    def _emit(self, lines: list[tuple[str, str]]) -> None:
        with self._lock:
            try:
                self.stream.write("".join(line + "\n" for _, line in lines))
                self.stream.flush()
            except (OSError, ValueError):        # stdout closed: the log is best effort
                pass
