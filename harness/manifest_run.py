"""Send manifest entries to a mock (or a provider) and compare each answer with its ``expect``.

How an answer is read (the same rules the tests and ``mock-harness fixtures --verify`` use):
- Jelou 422: ``field`` is the key of ``validationError`` (there must be exactly one), ``line``
  is ``validationError[field][0]["line"]``, the reason is looked for in that entry's ``en``
  text, ``error_code`` is ``error.code`` (``E0422``).
- indigitall 400: ``errors`` must all name the one expected ``field``; ``line`` and the
  reason come from the first entry (``line``, ``message``); ``error_code`` is ``errorCode``.
- Other errors (401/403/404...): no field and no line; the reason is looked for in
  ``message`` (Jelou: ``message[0]``); the error code is Jelou's ``error.code`` / ``errorCode``.
- Success: only the status is compared (and, against the mock, Jelou's campaign id header).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .client_base import Answer
from .indigitall_client import IndigitallClient
from .jelou_client import JelouClient


def send_entry(entry: dict, root: str | Path, jelou: JelouClient, indigitall: IndigitallClient) -> Answer:
    """Send one entry's file with its request; never raises for an error status."""
    path = Path(root) / entry["file"]
    request = dict(entry["request"])
    filename = request.pop("filename")
    if entry["provider"] == "jelou":
        return jelou.post_file(request, path, filename, check=False)
    application = request.pop("applicationId")
    return indigitall.post_csv(application, request, path, filename, check=False)


def observed(provider: str, answer: Answer) -> dict[str, Any]:
    """``{"fields", "field", "line", "text", "error_code"}`` read from an error answer."""
    body = answer.body if isinstance(answer.body, dict) else {}
    seen: dict[str, Any] = {"fields": [], "field": None, "line": None, "text": "", "error_code": None}
    if provider == "jelou":
        error = body.get("error")
        seen["error_code"] = error.get("code") if isinstance(error, dict) else None
        problems = body.get("validationError") or {}
        if problems:
            seen["fields"] = list(problems)
            seen["field"] = field = next(iter(problems))
            first = (problems[field] or [{}])[0]
            seen["line"], seen["text"] = first.get("line"), first.get("en", "")
        else:
            message = body.get("message")
            seen["text"] = message[0] if isinstance(message, list) and message else str(message or answer.body)
        return seen
    seen["error_code"] = body.get("errorCode")
    errors = body.get("errors") or []
    if errors:
        seen["fields"] = list(dict.fromkeys(error.get("field") for error in errors))
        seen["field"] = errors[0].get("field")
        seen["line"], seen["text"] = errors[0].get("line"), errors[0].get("message", "")
    else:
        seen["text"] = str(body.get("message") or answer.body)
    return seen


def check_answer(entry: dict, answer: Answer, *, mock: bool = True) -> list[str]:
    """What differs between ``answer`` and ``entry["expect"]`` (empty list: it matches)."""
    expected = entry["expect"]
    problems = []
    if answer.status != expected["status"]:
        problems.append(f"status {answer.status}, expected {expected['status']}")
    if answer.status < 400:
        headers = {key.lower() for key in answer.headers}
        if mock and entry["provider"] == "jelou" and "x-mock-campaign-id" not in headers:
            problems.append("no X-Mock-Campaign-Id header")
        return problems
    seen = observed(entry["provider"], answer)
    wanted_fields = [expected["field"]] if expected["field"] else []
    if seen["fields"] != wanted_fields:
        problems.append(f"fields {seen['fields']}, expected {wanted_fields}")
    if seen["line"] != expected["line"]:
        problems.append(f"line {seen['line']}, expected {expected['line']}")
    reason = expected.get("reason_contains")
    if reason and reason not in seen["text"]:
        problems.append(f"reason {seen['text']!r} does not contain {reason!r}")
    code = expected.get("error_code")
    if code and seen["error_code"] != code:
        problems.append(f"error code {seen['error_code']!r}, expected {code!r}")
    return problems
