"""What both provider clients share: the HTTP plumbing and the typed errors.

Decisions
- Every error answer raises a ``ProviderError`` subclass chosen by status; the provider's own
  JSON envelope is kept untouched in ``.body`` (text when the answer is not JSON), so a test
  can assert on exactly what the provider said.  ``ValidationError.fields`` is Jelou's
  ``validationError`` dict (422) or indigitall's ``errors`` list (400).
- Jelou's other 400s (unreadable body, a failed ``fileUrl`` download) are ``BadRequestError``;
  indigitall answers every bad request with 400, so there every 400 is a ``ValidationError``.
- Statuses without a class of their own (405, 429 ...) raise the base ``ProviderError``.
- Low-level calls return an ``Answer`` (status, body, headers) and raise only when asked
  (``check=True``); the manifest runner uses them to compare any answer with what it expects.
- A client owns its ``requests.Session`` unless one is passed in; ``close()`` (or ``with``)
  closes only a session it owns.  Responses are always closed (pytest runs with warnings as
  errors, and an unclosed socket is a ``ResourceWarning``).
"""
from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from datetime import date, datetime, timezone
from http import HTTPStatus
from typing import Any, Callable, NamedTuple

import requests


class Answer(NamedTuple):
    """One HTTP answer: status code, parsed JSON body (or text), headers."""

    status: int
    body: Any
    headers: dict


class ProviderError(Exception):
    """An error answer from a provider (or the mock standing in for it).

    ``status``: the HTTP status; ``body``: the provider's envelope as sent; ``provider``:
    ``"jelou"`` or ``"indigitall"``.
    """

    def __init__(self, status: int, body: Any, provider: str) -> None:
        self.status, self.body, self.provider = status, body, provider
        super().__init__(status, body, provider)      # args = the constructor's: picklable

    @property
    def message(self) -> str:
        """The provider's main message (Jelou: ``message[0]``; indigitall: ``message``)."""
        if not isinstance(self.body, dict):
            return str(self.body or "").strip()[:300]
        message = self.body.get("message")
        if isinstance(message, list):
            return "; ".join(str(item) for item in message)
        return str(message if message is not None else self.body)

    @property
    def code(self) -> str | None:
        """The provider's error code: Jelou ``error.code``, indigitall ``errorCode``."""
        if not isinstance(self.body, dict):
            return None
        error = self.body.get("error")
        if isinstance(error, dict) and error.get("code"):
            return str(error["code"])
        return self.body.get("errorCode")

    def summary(self) -> str:
        reason = _reason(self.status)
        code = f" [{self.code}]" if self.code else ""
        return f"{self.provider} answered {self.status} {reason}{code}: {self.message}"

    def details(self) -> list[str]:
        """Readable lines, one per problem the provider listed (empty when none)."""
        return []

    def __str__(self) -> str:
        lines = self.details()
        return self.summary() + "".join(f"\n  {line}" for line in lines)


class BadRequestError(ProviderError):
    """400 from Jelou: the body could not be read, or ``fileUrl`` could not be fetched."""


class AuthenticationError(ProviderError):
    """401: missing or wrong credentials."""


class ForbiddenError(ProviderError):
    """403: the credentials may not use this bot / application."""


class NotFoundError(ProviderError):
    """404: unknown bot, application, campaign, task or route."""


class ConflictError(ProviderError):
    """409: e.g. canceling an indigitall task that is already finished or canceled."""


class PayloadTooLargeError(ProviderError):
    """413: the request body is over the provider's size cap."""


class ServerError(ProviderError):
    """5xx: the provider (or the mock: that would be a bug, please report it) failed."""


class ValidationError(ProviderError):
    """Jelou 422 (E0422 VALIDATOR_ERROR) or indigitall 400: the request values are wrong.

    ``fields``: Jelou's ``validationError`` dict (field -> entries) or indigitall's ``errors``
    list (each with ``field``; CSV entries with ``line``/``column``/``value``/``reason``).
    """

    @property
    def fields(self):
        if not isinstance(self.body, dict):
            return {} if self.provider == "jelou" else []
        if self.provider == "jelou":
            return self.body.get("validationError") or {}
        return self.body.get("errors") or []

    def summary(self) -> str:
        """indigitall repeats its first detail as ``message``: say how many there are instead."""
        if self.provider == "indigitall" and self.fields:
            total = max(len(self.fields), self.body.get("totalErrors") or 0)
            code = f" [{self.code}]" if self.code else ""
            return (f"indigitall answered {self.status} {_reason(self.status)}{code}: "
                    f"{total} problem{'s' if total != 1 else ''}")
        return super().summary()

    def details(self) -> list[str]:
        lines: list[str] = []
        if self.provider == "jelou":
            for field, entries in self.fields.items():
                lines += [entry_text(field, entry) for entry in entries]
                more = (self.body.get("validationErrorCount") or {}).get(field, 0) - len(entries)
                if more > 0:
                    lines.append(f"{field}: ... and {more} more")
            return lines
        lines = [entry_text(entry.get("field"), entry) for entry in self.fields]
        more = (self.body.get("totalErrors") or 0) - len(self.fields)
        if more > 0:
            lines.append(f"... and {more} more")
        return lines


def entry_text(field: str | None, entry: dict) -> str:
    """One listed problem as ``field: line L, column 'C': reason (value 'V')``."""
    if not isinstance(entry, dict):
        return f"{field}: {entry}"
    reason = entry.get("reason")
    if reason is None:
        text = entry.get("en") or entry.get("message") or str(entry)
        return text if not field or text.startswith(f"{field}:") else f"{field}: {text}"
    where = []
    if entry.get("line") is not None:
        where.append(f"line {entry['line']}")
    if entry.get("column") is not None:
        where.append(f"column '{entry['column']}'")
    value = f" (value '{entry['value']}')" if entry.get("value") is not None else ""
    place = ", ".join(where)
    return f"{field or 'request'}: {place + ': ' if place else ''}{reason}{value}"


_BY_STATUS = {401: AuthenticationError, 403: ForbiddenError, 404: NotFoundError,
              409: ConflictError, 413: PayloadTooLargeError}


def error_for(provider: str, status: int, body: Any) -> ProviderError:
    """The typed error for an error answer of ``provider``."""
    if (provider == "jelou" and status == 422) or (provider == "indigitall" and status == 400):
        cls = ValidationError
    elif status == 400:
        cls = BadRequestError
    elif status >= 500:
        cls = ServerError
    else:
        cls = _BY_STATUS.get(status, ProviderError)
    return cls(status, body, provider)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def iso(moment: datetime | date | str | None) -> str | None:
    """A date-time as ISO 8601 with ``Z`` (naive = UTC); a date as ``YYYY-MM-DD``; str as is."""
    if moment is None or isinstance(moment, str):
        return moment
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return moment.isoformat()


class ApiClient(ABC):
    """A provider API at ``base_url``: auth headers, JSON bodies, typed errors."""

    provider = "provider"

    def __init__(self, base_url: str, *, session: requests.Session | None = None,
                 timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._owns_session = session is None
        self.session = session if session is not None else requests.Session()
        self.timeout = timeout

    @abstractmethod
    def auth_headers(self) -> dict[str, str]:
        """The provider's Authorization header(s)."""

    def poll(self, fetch: Callable[[], dict], done: tuple[str, ...], what: str, *, timeout: float,
             interval: float, on_poll: Callable[[dict], object] | None = None) -> dict:
        """Call ``fetch`` until its ``status`` is in ``done``; ``TimeoutError`` after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            record = fetch()
            if on_poll:
                on_poll(record)
            if record.get("status") in done:
                return record
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{what} is still {record.get('status')} after {timeout:g} s")
            time.sleep(interval)

    def request(self, method: str, path: str, *, check: bool = True, **kwargs) -> Answer:
        """Send one request; with ``check`` raise the typed error for a status >= 400."""
        kwargs.setdefault("timeout", self.timeout)
        headers = {**self.auth_headers(), **kwargs.pop("headers", {})}
        with self.session.request(method, self.base_url + path, headers=headers, **kwargs) as response:
            try:
                body = response.json() if response.content else None
            except ValueError:
                body = response.text
            answer = Answer(response.status_code, body, dict(response.headers))
        if check and answer.status >= 400:
            raise error_for(self.provider, answer.status, answer.body)
        return answer

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"


class Upload:
    """A file to send: a path, ``bytes`` or an open binary file; ``with`` closes what it opened.

    ``name`` is the upload file name: ``filename`` if given, else the path's base name, the
    file object's name, or ``default``.
    """

    def __init__(self, source, filename: str | None = None, default: str = "recipients.csv") -> None:
        self._opened = None
        if isinstance(source, (bytes, bytearray, memoryview)):
            self.content, fallback = bytes(source), default
        elif isinstance(source, (str, os.PathLike)):
            self._opened = self.content = open(source, "rb")
            fallback = os.path.basename(os.fspath(source))
        elif hasattr(source, "read"):
            self.content = source
            fallback = os.path.basename(str(getattr(source, "name", "") or "")) or default
        else:
            raise TypeError(f"file must be a path, bytes or a binary file, not {type(source).__name__}")
        self.name = filename or fallback

    def __enter__(self) -> "Upload":
        return self

    def __exit__(self, *exc) -> None:
        if self._opened is not None:
            self._opened.close()
