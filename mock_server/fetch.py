"""Download a file named by URL, within a scheme, size and time budget (``requests``, streamed)."""

from __future__ import annotations

import time
from urllib.parse import urlparse

import requests

CHUNK = 256 * 1024


class FetchError(Exception):
    """The URL could not be fetched; the message says why and what to check."""


def check_url(url: str) -> str | None:
    """Why ``url`` cannot be fetched (not http/https, no host), or None if it looks fine."""
    try:
        parsed = urlparse(url)
    except ValueError as exc:       # e.g. "Invalid IPv6 URL" for http://[::1/x.csv
        return f"the URL cannot be read: {exc}"
    if parsed.scheme.lower() not in ("http", "https"):
        return f"only http and https URLs can be fetched, not '{parsed.scheme or url}'"
    if not parsed.netloc:
        return "the URL has no host"
    return None


def fetch(url: str, *, timeout: float, max_bytes: int) -> bytes:
    """Return the body at ``url``; raise :class:`FetchError` on any failure.

    ``timeout`` bounds the whole download (connect, first byte and every later byte), so a
    server that dribbles bytes cannot hold the request forever.
    """
    problem = check_url(url)
    if problem:
        raise FetchError(problem)
    deadline = time.monotonic() + timeout
    try:
        with requests.get(url, stream=True, timeout=(timeout, timeout)) as response:
            if response.status_code >= 400:
                raise FetchError(f"fetching {url} answered HTTP {response.status_code}; check that the file is public")
            declared = response.headers.get("Content-Length", "")
            if declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > max_bytes):
                shown = f"{int(declared):,}" if len(declared) <= 18 else f"a {len(declared)}-digit number of"
                raise FetchError(f"the file at {url} is {shown} bytes, more than the {max_bytes:,} allowed")
            parts, size = [], 0
            for chunk in response.iter_content(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(f"the file at {url} is larger than the {max_bytes:,} bytes allowed")
                if time.monotonic() > deadline:
                    raise FetchError(f"fetching {url} took longer than {timeout:g} s")
                parts.append(chunk)
            return b"".join(parts)
    except requests.Timeout:
        raise FetchError(f"fetching {url} took longer than {timeout:g} s") from None
    except requests.ConnectionError as exc:
        raise FetchError(f"could not connect to fetch {url}: {type(exc).__name__}") from None
    except requests.RequestException as exc:
        raise FetchError(f"could not fetch {url}: {exc}") from None
