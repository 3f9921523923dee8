"""One declaration per wire shape: route decorators that load a request body and dump an answer
with the same marshmallow schemas the OpenAPI document shows (``mock_server.apidoc``).

- :func:`answers` dumps what the view returns with the answer's schema (declared fields only, in
  their declared order) and records ``(status, schema, description)`` on the view;
- :func:`takes` records a request body (its media types and schema) on the view; with
  ``load=True`` it also reads the JSON body, loads it with the schema and hands the result to the
  view as ``body``, turning a bad one into the control plane's 400 naming the field
  (:func:`control_problem`). Provider routes load their own bodies (each in its own envelope) with
  the schema they declare here.

A schema is a class, or a function ``(settings, providers) -> class`` when the shape follows the
app (the Jelou campaign shape, the providers' owner fields); each app resolves it once
(``app.extensions["mock.wire"]``). With ``AppWire.check`` set (the tests set it), an app verifies
that every dump kept the view's answer intact: a key a schema forgot, a reordered or reformatted
value fails loudly (500) instead of vanishing from the wire.

Fields for answers whose values the domain code has already formatted: :class:`Instant` (an ISO
8601 text, documented as ``date-time``) and :class:`Real` (a number written as it is: ``1`` stays
``1``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Iterable

from flask import Response, current_app, request
from marshmallow import Schema, ValidationError, fields, validate

from . import bodies
from .errors import ControlError

WIRE = "mock.wire"                 # app.extensions key: the app's resolved schemas and the check flag
JSON = ("application/json",)


class Instant(fields.DateTime):
    """An ISO 8601 instant already formatted by the domain code (or None), written as it is."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class Real(fields.Float):
    """A JSON number written as it is (no int -> float coercion)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class KeysAsGiven(Schema):
    """Writes a mapping's keys in the mapping's own order: for a shape several producers build in
    their own order (``/_mock/messages``: each provider's message); the fields still choose the keys."""

    def _serialize(self, obj, *, many: bool = False):
        out = super()._serialize(obj, many=many)
        if many or not isinstance(obj, dict):
            return out
        return {**{key: out[key] for key in obj if key in out}, **out}


@dataclass
class Wire:
    """What a view declares: its request body (a schema per media type) and its answers (status -> (schema, description, headers))."""

    bodies: list[tuple[Any, tuple[str, ...], bool]] = field(default_factory=list)   # (schema ref, media types, required)
    answers: dict[int, tuple[Any, str, dict]] = field(default_factory=dict)


def wire_of(view) -> Wire:
    found = getattr(view, "wire", None)
    if found is None:
        found = view.wire = Wire()
    return found


class AppWire:
    """An app's schema instances; ``check`` (class-wide in tests): verify every dump (:func:`check_answers`)."""

    check = False

    def __init__(self) -> None:
        self.schemas: dict[Any, Schema] = {}


def _app_wire() -> AppWire:
    return current_app.extensions.setdefault(WIRE, AppWire())


def schema_class(ref, settings, providers) -> type[Schema]:
    """The schema class ``ref`` names for an app with ``settings`` serving ``providers``."""
    if isinstance(ref, type) and issubclass(ref, Schema):
        return ref
    return ref(settings, providers)


def instance(ref) -> Schema:
    """The current app's instance of ``ref`` (built once per app: building one deep-copies its fields)."""
    wire = _app_wire()
    found = wire.schemas.get(ref)
    if found is None:
        state = current_app.extensions["mock"]
        found = wire.schemas[ref] = schema_class(ref, state.settings, tuple(state.providers.values()))()
    return found


def answers(schema, status: int = 200, description: str = "", headers: dict | None = None):
    """Dump the view's answer (a dict, or ``(dict, status)``, or ``(dict, status, headers)``) with ``schema``."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            answer = view(*args, **kwargs)
            if isinstance(answer, Response):
                return answer
            body, rest = (answer[0], answer[1:]) if isinstance(answer, tuple) else (answer, ())
            if (rest[0] if rest else 200) == status:
                body = dump(schema, body)
            return (body, *rest) if rest else body

        wire_of(wrapper).answers[status] = (schema, description, dict(headers or {}))
        return wrapper
    return decorate


def dump(schema, body: Any) -> Any:
    """``body`` written by ``schema`` (the current app's instance); checked when the app asks for it."""
    dumped = instance(schema).dump(body)
    if _app_wire().check and json.dumps(dumped) != json.dumps(body):
        raise AssertionError(f"{request.method} {request.path}: the answer's schema changed it:\n"
                             f"{json.dumps(body)[:2000]}\n{json.dumps(dumped)[:2000]}")
    return dumped


def takes(schema, media_types: Iterable[str] = JSON, *, required: bool = True, load: bool = False,
          allow_empty: bool = False):
    """Declare the request body; ``load=True``: load the JSON body with ``schema`` into ``body``."""
    def decorate(view):
        if not load:
            wire_of(view).bodies.insert(0, (schema, tuple(media_types), required))
            return view

        @wraps(view)
        def wrapper(*args, **kwargs):
            return view(*args, body=load_json(schema, allow_empty=allow_empty), **kwargs)

        wire_of(wrapper).bodies.insert(0, (schema, tuple(media_types), required))
        return wrapper
    return decorate


def multipart_form(schema: type[Schema], *, file: fields.Field, name: str, exclude: Iterable[str] = (),
                   described: dict[str, str] | None = None) -> type[Schema]:
    """The ``multipart/form-data`` shape of a body declared once by ``schema``, for the API docs.

    Each of ``schema``'s fields (but ``exclude``) becomes a text part with the same name, required
    flag, choices (``OneOf``) and description (``described`` overrides it: a part carrying JSON text
    says so); ``file`` is the file part. The route loads the text parts with ``schema`` itself, so
    the two cannot drift: a field added to ``schema`` appears in the form.
    """
    described = described or {}
    parts: dict[str, fields.Field] = {}
    for key, declared in schema._declared_fields.items():
        if key in exclude:
            continue
        description = described.get(key, declared.metadata.get("description"))
        choices = [rule for rule in declared.validators if isinstance(rule, validate.OneOf)]
        parts[key] = fields.String(required=declared.required, validate=choices,
                                   metadata={"description": description} if description else {})
    parts["file"] = file
    return Schema.from_dict(parts, name=name)


def load_json(schema, *, allow_empty: bool = False) -> dict:
    """The request's JSON body loaded with ``schema``; :class:`ControlError` naming the problem."""
    raw = request.get_data(cache=True)
    if allow_empty and not raw.strip():
        return {}
    try:
        body = bodies.json_body(raw)
    except bodies.BodyError as exc:
        raise ControlError(str(exc)) from None
    loader = instance(schema)
    try:
        return loader.load(body)
    except ValidationError as exc:
        raise ControlError(control_problem(exc, loader)) from None


def control_problem(error: ValidationError, schema: Schema) -> str:
    """One sentence for the control plane's 400: the body as a whole, the unknown fields, or the
    first bad field (``field: sentence`` unless the field's own message already quotes it)."""
    messages = error.normalized_messages()
    whole = messages.get("_schema")
    if whole:
        return str(whole[0])
    unknown = sorted(key for key, detail in messages.items() if detail == [schema.error_messages["unknown"]])
    if unknown:
        return getattr(schema, "unknown_message", "unknown field(s): {names}").format(names=", ".join(unknown))
    name, detail = next(iter(messages.items()))
    while isinstance(detail, dict):
        key, detail = next(iter(detail.items()))
        name = f"{name}[{key}]" if isinstance(key, int) else f"{name}.{key}"
    text = str(detail[0] if isinstance(detail, list) else detail)
    return text if f'"{name}"' in text else f"{name}: {text}"
