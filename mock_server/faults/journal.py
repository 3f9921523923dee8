"""The request journal's entries (CONTRACT §9): what a client sent and what it got, secrets masked.

- ``Authorization: Basic`` keeps the clientId (``Basic demo-client-id:***``); ``ServerKey`` keeps
  the last 4 characters (``ServerKey ***-key``); any other scheme keeps only its name. Cookies and
  proxy credentials are masked the same way. A URL's ``user:password@`` becomes ``***@`` wherever
  it appears (e.g. a ``fileUrl`` in a body); a query, form or JSON field named like a secret
  (``secret``, ``password``, ``token``, ``apiKey``, ``signature`` ...) becomes ``***``.
- The body: JSON as received (``{"json": ...}``), a form as ``{"form": {name: value}}`` with each
  file part as ``{"field", "name", "bytes", "rows", "sha256"}`` (``rows``: lines after the header
  line; the multipart body is read once, by ``bodies.multipart``, and shared with the route),
  anything else as ``{"contentType", "bytes"}``. A JSON or text body over 64 KiB is cut
  (``"truncated": true``).
- The response: status, headers and the body (JSON, or text), cut at 64 KiB the same way.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from flask import Request, Response
from werkzeug.exceptions import HTTPException

from .. import bodies
from ..auth import parse_basic, parse_scheme

BODY_LIMIT = 64 * 1024
SECRET_HEADERS = ("Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie")
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@\"']+@")
_SECRET_NAME = re.compile(r"(?i)secret|password|passwd|token|api_?key|server_?key|authorization|signature|^key$")


def mask_text(text: str) -> str:
    """Hide the ``user:password@`` part of every URL in ``text``."""
    return _URL_CREDENTIALS.sub(r"\1***@", text) if "@" in text else text


def mask_value(value: Any) -> Any:
    """``value`` with URL credentials hidden and every field named like a secret replaced by ``***``."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, list):
        return [mask_value(item) for item in value]
    if isinstance(value, dict):
        return {key: "***" if _SECRET_NAME.search(str(key)) else mask_value(item) for key, item in value.items()}
    return value


def mask_authorization(value: str) -> str:
    basic = parse_basic(value)
    if basic is not None:
        return f"Basic {basic[0]}:***"
    key = parse_scheme(value, "ServerKey")
    if key is not None:
        return f"ServerKey ***{key[-4:]}" if len(key) > 8 else "ServerKey ***"
    scheme = value.strip().partition(" ")[0]
    return f"{scheme} ***" if scheme else "***"


def masked_headers(headers, secret: tuple[str, ...] = ()) -> dict[str, str]:
    """``headers`` with credentials masked; ``secret``: more header names (lower case) shown as ``***``."""
    shown: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() in ("authorization", "proxy-authorization"):
            shown[name] = mask_authorization(value)
        elif name.lower() in ("cookie", "set-cookie", *secret):
            shown[name] = "***"
        else:
            shown[name] = mask_text(value)
    return shown


def _text_body(raw: bytes, content_type: str | None) -> dict:
    shown = raw[:BODY_LIMIT]
    body: dict[str, Any] = {}
    if content_type and "json" in content_type and len(raw) <= BODY_LIMIT:
        try:
            body["json"] = mask_value(json.loads(raw.decode("utf-8")))
            return body
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            pass
    body["text"] = mask_text(shown.decode("utf-8", errors="replace"))
    body["bytes"] = len(raw)
    if len(raw) > BODY_LIMIT:
        body["truncated"] = True
    return body


def file_summary(field: str, name: str, data: bytes, newlines: int | None = None) -> dict:
    """``{field, name, bytes, rows, sha256}`` of an uploaded part (``rows``: lines after the header);
    ``newlines``: ``data.count(b"\\n")`` when the caller has it (``bodies.FilePart.newlines``)."""
    lines = (data.count(b"\n") if newlines is None else newlines) + (1 if data and not data.endswith(b"\n") else 0)
    return {"field": field, "name": name, "bytes": len(data), "rows": max(0, lines - 1),
            "sha256": hashlib.sha256(data).hexdigest()}


def request_body(request: Request) -> dict | None:
    """The body summary of a Flask request (see the module doc); None when there is no body."""
    mimetype = request.mimetype
    length = request.content_length
    if not length and mimetype != "multipart/form-data" and not request.headers.get("Transfer-Encoding"):
        return None
    try:
        if mimetype == "multipart/form-data":
            parts = bodies.multipart(request)            # read once, kept for the route
            body: dict[str, Any] = {"form": _cut_form(mask_value(dict(parts.fields)))}
            files = [file_summary(field, part.filename, part.data, part.newlines) for field, part in parts.files.items()]
            if files:
                body["files"] = files
            return body
        if mimetype == "application/x-www-form-urlencoded":
            form = {key: (values[0] if len(values) == 1 else values) for key, values in request.form.lists()}
            return {"form": _cut_form(mask_value(form))}
        if "json" in mimetype or mimetype.startswith("text/"):
            return _text_body(request.get_data(cache=True), mimetype)
    except (HTTPException, ValueError, bodies.BodyError) as exc:
        return {"contentType": request.content_type, "bytes": length, "unreadable": str(exc)[:200]}
    return {"contentType": request.content_type, "bytes": length}


def _cut_form(form: dict) -> dict:
    if sum(len(str(value)) for value in form.values()) * 2 + 64 * len(form) <= BODY_LIMIT:
        return form                              # surely small: no need to measure it exactly
    if len(json.dumps(form, ensure_ascii=False)) <= BODY_LIMIT:
        return form
    kept, used = {}, 0
    for key, value in form.items():
        text = json.dumps(value, ensure_ascii=False)
        if used + len(text) > BODY_LIMIT:
            kept[key] = {"truncated": True, "chars": len(text)}
        else:
            kept[key] = value
            used += len(text)
    return kept


def response_summary(response: Response) -> dict:
    summary: dict[str, Any] = {"status": response.status_code, "headers": masked_headers(response.headers)}
    if response.is_streamed:
        summary["body"] = {"streamed": True}
        return summary
    raw = response.get_data()
    if raw:
        summary["body"] = _text_body(raw, response.mimetype)
    return summary
