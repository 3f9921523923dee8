"""Reading request bodies the same way for every provider and the control plane.

Each function raises :class:`BodyError` with a sentence saying what is wrong; the caller renders it
in its own envelope (a 400 everywhere).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Request
from werkzeug.datastructures import FileStorage


class BodyError(ValueError):
    """The request body cannot be read; the message says why."""


def json_body(raw: bytes) -> Any:
    """The JSON value of ``raw`` (an empty body is ``None``)."""
    try:
        return json.loads(raw.decode("utf-8") or "null")
    except UnicodeDecodeError:
        raise BodyError("The body is not valid JSON: it is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise BodyError(f"The body is not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.") from None
    except RecursionError:
        raise BodyError("The body is not valid JSON: it is nested too deeply.") from None


def multipart(request: Request) -> tuple[dict[str, str], dict[str, FileStorage], list[str]]:
    """``(text fields, file parts, names sent more than once)`` of a multipart/form-data body.

    First values win in the two dicts; the caller decides what a repeated name means.
    """
    if "boundary" not in request.mimetype_params:
        raise BodyError("The multipart/form-data body has no boundary; let your HTTP client build the Content-Type header.")
    try:
        form, files = request.form, request.files
    except ValueError as exc:
        raise BodyError(f"The multipart/form-data body could not be read: {exc}") from None
    if not form and not files and (request.content_length or 0) > 0:
        raise BodyError("The multipart/form-data body could not be read: no parts were found "
                        "(does the body use the boundary given in the Content-Type header?)")
    if None in form or None in files:
        raise BodyError('A multipart part has no name: every part needs a header like '
                        'Content-Disposition: form-data; name="field".')
    repeated = sorted({name for name in [*form.keys(), *files.keys()]
                       if len(form.getlist(name)) + len(files.getlist(name)) > 1})
    return {key: form.get(key) for key in form}, {key: files.get(key) for key in files}, repeated
