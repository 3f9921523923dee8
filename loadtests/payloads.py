"""Request bodies for the load test, built once per Locust process before any user starts.

Decisions
- CSVs come from ``harness.csvgen`` with a fixed seed, so every process (and every run) sends the
  same bytes. Sizes: ``small`` 10 rows, ``medium`` 1,000, ``large`` 10,000 (``SIZES``).
- Multipart bodies are encoded here too, once: a task only hands ready bytes to the client, so
  Locust spends its CPU on sending, not on encoding CSVs (it shares two cores with the server).
- Deliberately invalid requests are prepared the same way: a Jelou CSV with ``+`` before a phone
  (422 ``E0422``) and an indigitall layout naming columns the CSV lacks (400 ``MISSING_VARIABLES``).
- ``fileUrl`` sends need the CSV on an HTTP server: :class:`FileServer` serves ``files`` from
  memory on 127.0.0.1 (a free port) from a background thread (a greenlet once Locust has patched
  ``threading``). Only processes that run users start one.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from urllib3.filepost import encode_multipart_formdata

from harness.csvgen import generate
from harness.server import ServingThread
from harness.presets import INDIGITALL_TEMPLATE_LAYOUT

SEED = 20260105
SIZES = {"small": 10, "medium": 1_000, "large": 10_000}
JELOU_PRESET = "jelou:order_confirmation"
INDIGITALL_PRESET = "indigitall:text"


@dataclass(frozen=True)
class Upload:
    """One ready-to-send multipart request: ``body`` with its ``content_type``; ``rows`` it carries."""

    name: str
    rows: int
    filename: str
    csv: bytes
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Payloads:
    jelou: dict[str, Upload]          # SIZES keys + "invalid"
    indigitall: dict[str, Upload]     # SIZES keys + "invalid"
    jelou_fields: dict                # campaign fields of a JSON (fileUrl) send, without fileUrl
    files: dict[str, bytes]           # path on the file server -> bytes


def _csv(provider: str, preset: str, rows: int, invalid=()) -> tuple[bytes, object]:
    out = io.BytesIO()
    report = generate(out, provider, preset, rows, seed=SEED, invalid=invalid)
    return out.getvalue(), report


def _multipart(fields: dict[str, str], filename: str, data: bytes) -> tuple[bytes, str]:
    return encode_multipart_formdata({**fields, "file": (filename, data, "text/csv")})


def _jelou(name: str, rows: int, invalid=()) -> Upload:
    data, report = _csv("jelou", JELOU_PRESET, rows, invalid)
    fields = {"campaignName": f"load-{name}", "elementName": report.template, "botId": "demo-bot",
              "params": json.dumps(report.params)}
    body, content_type = _multipart(fields, report.filename, data)
    return Upload(name, rows, report.filename, data, body, content_type)


def _indigitall(name: str, rows: int, layout: str | None = None) -> Upload:
    data, report = _csv("indigitall", INDIGITALL_PRESET, rows)
    body, content_type = _multipart({"layout": layout or report.layout}, report.filename, data)
    return Upload(name, rows, report.filename, data, body, content_type)


def build() -> Payloads:
    """Every body the users send (about 0.1 s)."""
    jelou = {name: _jelou(name, rows) for name, rows in SIZES.items()}
    indigitall = {name: _indigitall(name, rows) for name, rows in SIZES.items()}
    jelou["invalid"] = _jelou("invalid", SIZES["small"], invalid=("phone-plus",))
    # The template layout needs templateName and ticketId, which the text preset's CSV lacks.
    indigitall["invalid"] = _indigitall("invalid", SIZES["small"], INDIGITALL_TEMPLATE_LAYOUT)
    _, report = _csv("jelou", JELOU_PRESET, 1)
    json_fields = {"campaignName": "load-fileurl", "elementName": report.template, "botId": "demo-bot",
                   "params": report.params}
    files = {f"/jelou-{name}.csv": jelou[name].csv for name in SIZES}
    return Payloads(jelou, indigitall, json_fields, files)


_CACHE: list[Payloads] = []


def get() -> Payloads:
    """The process's payloads, built on first call (call it from a start-up hook, not a task)."""
    if not _CACHE:
        _CACHE.append(build())
    return _CACHE[0]


class FileServer(ServingThread):
    """Serve ``files`` (path -> bytes) over HTTP on 127.0.0.1; ``url`` is its base URL."""

    def __init__(self, files: dict[str, bytes]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                data = files.get(self.path.split("?", 1)[0])
                if data is None:
                    self.send_error(404, "no such file on the load test's file server")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self.url = f"http://127.0.0.1:{server.server_port}"
        super().__init__(server, "loadtests-files")
