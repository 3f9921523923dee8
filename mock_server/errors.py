"""Error plumbing shared by the providers: one exception type, rendered in one place.

Backends raise a :class:`ProviderError` subclass (each provider's ``errors.py`` defines its own
envelope); routes never build error bodies. Werkzeug's own errors (unknown route, wrong method,
body too large, unreadable body), an unreachable shared store (503 with ``Retry-After: 1``), a
sandbox over ``sandboxes.max_count`` (429, no ``Retry-After``: waiting does not free one) and
unexpected exceptions are rendered in the envelope of the provider the request path belongs to,
chosen by :func:`register_error_handlers`.
"""

from __future__ import annotations

import logging
from typing import Callable

from flask import Flask, Response, jsonify, request
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException, InternalServerError

from .store import SandboxLimit
from .store.base import StoreUnavailable

log = logging.getLogger("mock_server")


class ControlErrorDetailSchema(Schema):
    status = fields.Integer(required=True)
    message = fields.String(required=True)


class ControlErrorSchema(Schema):
    """``{"error": {"status", "message"}}``: every control-plane error."""

    error = fields.Nested(ControlErrorDetailSchema, required=True)


class ProviderError(Exception):
    """An answer in an error envelope.

    The base renders the control plane's envelope ``{"error": {"status", "message"}}``; each
    provider's subclass overrides ``body()`` with its own values and ``schema`` with the envelope's
    declaration, which writes the answer (as :func:`mock_server.wire.answers` does for success
    answers: in tests a body the schema would change fails loudly) and documents it.
    ``headers`` adds response headers.
    """

    status = 400
    headers: dict[str, str] = {}
    schema: type[Schema] = ControlErrorSchema

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "body" in cls.__dict__ and "schema" not in cls.__dict__ and cls.schema is ControlErrorSchema:
            raise TypeError(f"{cls.__name__} writes its own body(): declare its envelope as `schema` too")

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    def body(self) -> dict:
        return {"error": {"status": self.status, "message": self.message}}

    def response(self) -> Response:
        from .wire import dump        # wire raises ControlError: imported here, not at module level
        resp = jsonify(dump(self.schema, self.body()))
        resp.status_code = self.status
        for name, value in self.headers.items():
            resp.headers[name] = value
        return resp


class ControlError(ProviderError):
    """An error of the control plane (``/_mock``): ``{"error": {"status", "message"}}``."""


# A function turning an HTTP error (status, description) into the provider's ProviderError.
HttpErrorMapper = Callable[[int, str], ProviderError]


def register_error_handlers(app: Flask, routes: list[tuple[str, HttpErrorMapper]]) -> None:
    """Render every error in the envelope of the provider owning the path.

    :param routes: ``(path prefix, to_error(status, description))`` pairs; the longest prefix
        owning the path wins (order does not matter); paths no provider owns get the
        control-plane envelope.
    """
    def mapper_for(path: str) -> HttpErrorMapper:
        return owner(path, routes) or (lambda status, message: ControlError(message, status))

    app.extensions["mock.error_mapper"] = mapper_for

    @app.errorhandler(ProviderError)
    def provider_error(error: ProviderError):
        return error.response()

    @app.errorhandler(StoreUnavailable)
    def store_unavailable(error: StoreUnavailable):
        log.warning("store unavailable on %s %s: %s", request.method, request.path, error)
        message = "The mock's shared store (Redis) is unreachable; retry when it is back."
        rendered = mapper_for(request.path)(503, message).response()
        rendered.headers["Retry-After"] = "1"
        return rendered

    @app.errorhandler(SandboxLimit)
    def too_many_sandboxes(error: SandboxLimit):
        message = (f"Cannot create sandbox '{error.sandbox}': {error.limit} sandboxes exist, the most the setting "
                   "sandboxes.max_count allows at once. Drop unused ones (DELETE /_mock/sandboxes/NAME), let idle "
                   "ones expire (sandboxes.idle_ttl) or raise sandboxes.max_count.")
        return mapper_for(request.path)(429, message).response()

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        rendered = mapper_for(request.path)(status, _describe(error)).response()
        if status == 405 and error.valid_methods:
            rendered.headers["Allow"] = ", ".join(sorted(error.valid_methods))
        return rendered

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        message = f"internal error in the mock ({type(error).__name__}); this is a bug, please report it"
        return mapper_for(request.path)(InternalServerError.code, message).response()


def render_error(app: Flask, path: str, status: int, message: str) -> tuple[bytes, list[tuple[str, str]]]:
    """``(body, headers)`` of an error answered outside a request (the HTTP server's own errors),
    in the envelope of the provider owning ``path``."""
    with app.app_context():
        response = app.extensions["mock.error_mapper"](path)(status, message).response()
        return response.get_data(), [(name, value) for name, value in response.headers.items()
                                     if name.lower() != "content-length"]


def owner(path: str, routes: list[tuple[str, HttpErrorMapper]]) -> HttpErrorMapper | None:
    """The mapper of the longest prefix in ``routes`` owning ``path`` (whole segments), or None.

    Only two providers declaring the very same prefix fall back on order (the first wins).
    """
    best, best_length = None, -1
    for prefix, value in routes:
        if (path == prefix or path.startswith(prefix.rstrip("/") + "/")) and len(prefix) > best_length:
            best, best_length = value, len(prefix)
    return best


def _describe(error: HTTPException) -> str:
    status = error.code
    if status == 404:
        return f"Route {request.method}:{request.path} not found"
    if status == 405:
        allowed = ", ".join(sorted(error.valid_methods or ()))
        return f"Method {request.method} not allowed on {request.path} (allowed: {allowed})"
    if status == 413:
        return "The request body is larger than the mock accepts (setting max_request_bytes)"
    return error.description or error.name
