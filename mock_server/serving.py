"""Serving an app with waitress, the HTTP server's own error answers included (server plumbing).

waitress answers some requests itself, before the app sees them: a body declared larger than
its cap (413, at once, without reading the body), request line plus headers over its cap (431),
a request line or header it cannot parse, such as a path with raw non-ASCII bytes (400). Out of
the box those answers are plain text. Here its error task renders them through the app instead
(:func:`mock_server.errors.render_error`), so they are JSON in the envelope of the provider that
owns the path, like every other answer.

The body cap is the app's ``max_request_bytes``: waitress refuses a larger declared body as soon
as the headers arrive, and a chunked body as soon as it grows past the cap.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer
from waitress.server import create_server as _waitress_server
from waitress.task import ErrorTask

from .errors import render_error


def create_server(app, **adjustments):
    """A waitress server for ``app`` (``adjustments`` as for ``waitress.create_server``); call ``run()``."""
    adjustments["max_request_body_size"] = app.config["MAX_CONTENT_LENGTH"] + 1     # waitress refuses >= this
    dispatchers: dict = {}
    server = _waitress_server(app, map=dispatchers, **adjustments)
    for dispatcher in list(dispatchers.values()):
        if isinstance(dispatcher, BaseWSGIServer):       # one per listening socket
            dispatcher.channel_class = _Channel
            dispatcher.mock_app = app        # its .application may be waitress's proxy-headers wrapper
    return server


def serve(app, **adjustments) -> None:
    """Like ``waitress.serve``: build the server and run it until interrupted."""
    create_server(app, **adjustments).run()


class _EnvelopeErrorTask(ErrorTask):
    """waitress's error answer, rendered by the app as JSON in the owning provider's envelope."""

    def execute(self):
        error = self.request.error
        server = self.channel.server
        body, headers = render_error(server.mock_app, request_path(self.request), error.code, describe(error, server.adj))
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend(headers)
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class _Channel(HTTPChannel):
    error_task_class = _EnvelopeErrorTask


def describe(error, adj) -> str:
    """A sentence for one of waitress's own errors."""
    if error.code == 413:
        return "The request body is larger than the mock accepts (setting max_request_bytes)"
    if error.code == 431:
        return (f"The request line and headers are larger than the {adj.max_request_header_size:,} bytes "
                "the server accepts")
    if error.code == 400 and error.body == "Bad URI":
        return "The request path is not valid: it must be ASCII (percent-encode other characters, e.g. %C3%A9)"
    if error.code == 400:
        return f"The request is not valid HTTP: {error.body}"
    return f"{error.reason}: {error.body}"


def request_path(request) -> str:
    """The path of a request waitress may have failed to parse, read from its raw first line.

    After a 431 waitress replaces the parsed request line with ``GET /``: the raw bytes it kept
    (``header_plus``) still start with the real one.
    """
    raw = (request.header_plus or getattr(request, "first_line", b"") or b"").lstrip()
    parts = raw.split(b"\r\n", 1)[0].split(b" ")
    if len(parts) < 2:
        return "/"
    target = parts[1]
    if b"://" in target[:12]:
        target = target.split(b"://", 1)[1]
        target = b"/" + target.split(b"/", 1)[1] if b"/" in target else b"/"
    path = target.split(b"?", 1)[0].split(b"#", 1)[0]
    return unquote_to_bytes(path).decode("utf-8", "replace") or "/"
