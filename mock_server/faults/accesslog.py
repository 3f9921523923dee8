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
"""

from __future__ import annotations

import json
import re
import sys
import threading
from typing import IO, Any

from werkzeug.wsgi import get_path_info

from ..isotime import isoformat

FORMATS = ("text", "json")
_UNSAFE = re.compile(r"[\x00-\x20\\\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escape(value: Any) -> str:
    """``value`` as text safe for one space-separated log line (see the module docstring)."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", str(value))


class AccessLog:
    def __init__(self, fmt: str, stream: IO[str] | None = None) -> None:
        self.format = fmt
        self.stream = stream if stream is not None else sys.stdout
        self._lock = threading.Lock()

    def write(self, environ, exchange, duration_ms: float, record: dict) -> None:
        status = exchange.drop if exchange.drop in ("reset", "empty") else exchange.status
        fields = {"time": isoformat(exchange.received_real), "sandbox": exchange.sandbox, "method": environ.get("REQUEST_METHOD"),
                  "path": get_path_info(environ), "status": status, "durationMs": duration_ms,
                  "fault": exchange.rule["id"] if exchange.rule else None, **record}
        if exchange.drop == "truncate":
            fields["dropped"] = "truncate"
        if self.format == "json":
            line = json.dumps(fields, separators=(",", ":")).replace("\x7f", "\\u007f")
        else:
            record_id = record.get("campaignId") or record.get("taskId")
            line = " ".join(map(escape, (fields["time"], fields["sandbox"], fields["method"], fields["path"],
                                         "-" if status is None else status, f"{duration_ms:.1f}ms",
                                         f"fault={fields['fault'] or '-'}", f"record={record_id or '-'}")))
            if exchange.drop == "truncate":
                line += " dropped=truncate"
        with self._lock:
            try:
                self.stream.write(line + "\n")
                self.stream.flush()
            except (OSError, ValueError):        # stdout closed: the log is best effort
                pass
