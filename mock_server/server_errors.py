"""The HTTP server's own error answers, rendered by the app (server plumbing for waitress).

waitress answers some requests itself, before the app sees them: a body declared larger than
its cap (413, at once, without reading the body), request line plus headers over its cap (431),
a request line or header it cannot parse, such as a path with raw non-ASCII bytes (400), a
transfer coding it does not implement (501). Out of the box those answers are plain text.
:func:`attach` gives a waitress server an error task that renders them through the app instead
(:func:`mock_server.errors.render_error`): JSON in the envelope of the provider that owns the
path, like every other answer.

:func:`attach` also sets the server's body cap to the app's ``max_request_bytes``, so a larger
declared body is refused as soon as its headers arrive (waitress refuses ``>= cap``), and a
chunked body as soon as it grows past it.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from waitress.parser import HTTPRequestParser, ParsingError
from waitress.server import BaseWSGIServer
from waitress.task import ErrorTask

from .errors import render_error
from .sandbox import PREFIX as SANDBOX_PREFIX


def attach(server, app):
    """Make every listening socket of the waitress ``server`` answer its own errors through ``app``."""
    dispatchers = getattr(server, "_map", None) or getattr(server, "map", None) or {}
    for dispatcher in list(dispatchers.values()):
        if not isinstance(dispatcher, BaseWSGIServer):       # the trigger, open channels
            continue
        dispatcher.mock_app = app          # its .application may be waitress's proxy-headers wrapper
        dispatcher.adj.max_request_body_size = app.config["MAX_CONTENT_LENGTH"] + 1
        channel = dispatcher.channel_class
        if not issubclass(channel, EnvelopeErrorsMixin):
            dispatcher.channel_class = type(f"Envelope{channel.__name__}", (EnvelopeErrorsMixin, channel), {})
    return server


class EnvelopeErrorTask(ErrorTask):
    """waitress's error answer, rendered by the app as JSON in the owning provider's envelope."""

    def execute(self):
        server = self.channel.server
        app = getattr(server, "mock_app", None)
        if app is None:                    # not attached: waitress's own plain-text answer
            return super().execute()
        error = self.request.error
        body, headers = render_error(app, request_path(self.request), error.code, describe(error, server.adj))
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend(headers)
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class SafeParser(HTTPRequestParser):
    """waitress's request parser, but a ``Content-Length`` of thousands of digits is a 400.

    waitress checks the value is digits, then ``int()`` raises (Python's 4,300-digit limit) and the
    connection is dropped without an answer.
    """

    def parse_header(self, header_plus):
        try:
            return super().parse_header(header_plus)
        except ValueError:
            raise ParsingError("Content-Length is invalid: it has more digits than any body size") from None


class EnvelopeErrorsMixin:
    """For a waitress channel class: errors answered by :class:`EnvelopeErrorTask`."""

    error_task_class = EnvelopeErrorTask
    parser_class = SafeParser


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
    (``header_plus``) still start with the real one. A sandbox prefix (``/sandboxes/NAME``) is
    skipped, as the app skips it.
    """
    raw = (request.header_plus or getattr(request, "first_line", b"") or b"").lstrip()
    parts = raw.split(b"\r\n", 1)[0].split(b" ")
    if len(parts) < 2:
        return "/"
    target = parts[1]
    if b"://" in target[:12]:
        target = target.split(b"://", 1)[1]
        target = b"/" + target.split(b"/", 1)[1] if b"/" in target else b"/"
    path = unquote_to_bytes(target.split(b"?", 1)[0].split(b"#", 1)[0]).decode("utf-8", "replace") or "/"
    if path.startswith(SANDBOX_PREFIX):          # /sandboxes/NAME/v1/...: the owner is found after it
        path = "/" + path[len(SANDBOX_PREFIX):].partition("/")[2]
    return path
