"""The access log: one line per request on stdout (CONTRACT §9).

``text``: ``<real time> <sandbox> <method> <path> <status> <ms>ms fault=<rule|-> record=<id|->``
(``path`` without the ``/sandboxes/NAME`` prefix: the sandbox has its own column);
``json``: one object per line with the same facts. The query string, headers and bodies are never
printed, so no credential can reach the log. ``--quiet`` (setting ``access_log: null``) turns it off.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import IO

from ..isotime import isoformat

FORMATS = ("text", "json")


class AccessLog:
    def __init__(self, fmt: str, stream: IO[str] | None = None) -> None:
        self.format = fmt
        self.stream = stream if stream is not None else sys.stdout
        self._lock = threading.Lock()

    def write(self, environ, exchange, duration_ms: float, record: dict) -> None:
        status = exchange.drop if exchange.drop in ("reset", "empty") else exchange.status
        fields = {"time": isoformat(exchange.received_real), "sandbox": exchange.sandbox, "method": environ.get("REQUEST_METHOD"),
                  "path": environ.get("PATH_INFO"), "status": status, "durationMs": duration_ms,
                  "fault": exchange.rule["id"] if exchange.rule else None, **record}
        if exchange.drop == "truncate":
            fields["dropped"] = "truncate"
        if self.format == "json":
            line = json.dumps(fields, separators=(",", ":"))
        else:
            record_id = record.get("campaignId") or record.get("taskId")
            line = (f"{fields['time']} {exchange.sandbox} {fields['method']} {fields['path']} {status if status is not None else '-'} "
                    f"{duration_ms:.1f}ms fault={fields['fault'] or '-'} record={record_id or '-'}")
            if exchange.drop == "truncate":
                line += " dropped=truncate"
        with self._lock:
            try:
                self.stream.write(line + "\n")
                self.stream.flush()
            except (OSError, ValueError):        # stdout closed: the log is best effort
                pass
