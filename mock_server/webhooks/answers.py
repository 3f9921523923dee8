"""A minimal, strict HTTP/1.1 response reader for the webhook sender (``sender.py``).

It is fed the bytes of a connection as they come and says when the answer is over: the status
line and headers (at most :data:`HEAD_LIMIT` bytes), then a body framed by ``Content-Length``,
chunked (extensions ignored, trailers skipped), or the connection's close (RFC 9112 §6.3). Interim
answers (1xx but ``101``) are skipped; ``204``, ``304`` and 1xx have no body. At most
:data:`BODY_LIMIT` bytes of a body are kept: then the answer is over, incomplete (the sender drops
the connection rather than read the rest). Anything else is a :class:`ProtocolError` naming what.
"""

from __future__ import annotations

import re

BODY_LIMIT = 64 * 1024            # bytes of an answer's body read at most; the rest is dropped unread
HEAD_LIMIT = 64 * 1024            # bytes of an answer's status line and headers at most
_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) ([0-9]{3})(?: ([^\r\n]*))?")
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")


class ProtocolError(Exception):
    """The answer is not HTTP/1.1 as RFC 9112 frames it."""


class Reader:
    """A strict, incremental HTTP/1.1 response reader: :meth:`feed` bytes as they come, True once
    the answer is over (complete, or :data:`BODY_LIMIT` bytes of its body read: ``complete`` False).
    :meth:`eof` says the same when the connection closed. ``keep``: whether the connection may
    carry the next request."""

    __slots__ = ("buffer", "status", "reason", "keep", "mode", "left", "body", "complete")

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.status: int | None = None
        self.reason = ""
        self.keep = True
        self.mode: str | None = None      # None (head), length, chunk-size, chunk-data, chunk-end, trailer, close
        self.left = 0
        self.body = bytearray()
        self.complete = False

    def feed(self, data: bytes) -> bool:
        if self.mode is None and not self.buffer:       # the common case: a whole head in one read
            end = data.find(b"\r\n\r\n")
            if end >= 0:
                if self._head(data[:end]):
                    self.buffer += data[end + 4:]         # (bytes after an answer without a body: never reused)
                    return True
                data = data[end + 4:]
        self.buffer += data
        buffer = self.buffer
        while True:
            mode = self.mode
            if mode is None:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(buffer) > HEAD_LIMIT:
                        raise ProtocolError(f"its head is longer than {HEAD_LIMIT:,} bytes")
                    if b"\n\n" in buffer:
                        raise ProtocolError("its head's lines end in LF alone, not CRLF")
                    return False
                head = bytes(buffer[:end])
                del buffer[:end + 4]
                if self._head(head):
                    return True
            elif mode == "length" or mode == "chunk-data":
                take = min(self.left, len(buffer))
                self._keep(buffer, take)
                self.left -= take
                if self.left:
                    return len(self.body) >= BODY_LIMIT
                if mode == "length":
                    self.complete = True
                    return True
                self.mode = "chunk-end"
            elif mode == "close":
                self._keep(buffer, len(buffer))
                return len(self.body) >= BODY_LIMIT
            elif mode == "chunk-end":
                if len(buffer) < 2:
                    return False
                if buffer[:2] != b"\r\n":
                    raise ProtocolError("a chunk is not followed by CRLF")
                del buffer[:2]
                self.mode = "chunk-size"
            else:                                  # chunk-size, trailer: one line each
                end = buffer.find(b"\r\n")
                if end < 0:
                    if len(buffer) > HEAD_LIMIT:
                        raise ProtocolError("a chunk size or trailer line never ends")
                    return False
                line = bytes(buffer[:end])
                del buffer[:end + 2]
                if mode == "trailer":
                    if not line:
                        self.complete = True
                        return True
                    continue
                size = line.split(b";", 1)[0].strip(b" \t")
                if not _HEX.fullmatch(size):
                    raise ProtocolError(f"a chunk size is not hexadecimal ({line[:40]!r})")
                self.left = int(size, 16)
                if not self.left:
                    self.mode = "trailer"
                elif len(self.body) >= BODY_LIMIT:
                    return True
                else:
                    self.mode = "chunk-data"

    def eof(self) -> bool:
        """The connection closed: whether that ends the answer (a close-delimited body)."""
        if self.mode == "close":
            self.complete = True
            return True
        return False

    def _keep(self, buffer: bytearray, take: int) -> None:
        room = BODY_LIMIT - len(self.body)
        if room > 0:
            self.body += buffer[:min(take, room)]
        del buffer[:take]

    def _head(self, head: bytes) -> bool:
        """A status line and its headers; True when the answer has no body."""
        lines = head.split(b"\r\n")
        found = _STATUS_LINE.fullmatch(lines[0])
        if found is None:
            raise ProtocolError(f"its status line is {lines[0][:60]!r}")
        status = int(found.group(2))
        fields: dict[bytes, list[bytes]] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not _TOKEN.fullmatch(name):
                raise ProtocolError(f"a header line is {line[:60]!r}")
            fields.setdefault(name.lower(), []).append(value.strip(b" \t"))
        if 100 <= status < 200 and status != 101:
            return False                       # an interim answer: the final one follows
        self.status, self.reason = status, (found.group(3) or b"").decode("latin-1").strip()
        connection = b",".join(fields.get(b"connection", ())).lower()
        self.keep = b"close" not in connection and (found.group(1) == b"1" or b"keep-alive" in connection)
        if status < 200 or status in (204, 304):
            self.keep = self.keep and status != 101
            self.complete = True
            return True
        codings = b",".join(fields.get(b"transfer-encoding", ())).lower()
        if codings:
            if codings.rsplit(b",", 1)[-1].strip() == b"chunked":
                self.mode = "chunk-size"
                if b"content-length" in fields:
                    self.keep = False           # a message smuggling both: never reuse its connection
                return False
            self.mode, self.keep = "close", False
            return False
        lengths = {part.strip() for value in fields.get(b"content-length", ()) for part in value.split(b",")}
        if not lengths:
            self.mode, self.keep = "close", False
            return False
        if len(lengths) > 1 or not next(iter(lengths)).isdigit():
            raise ProtocolError(f"its Content-Length is {b', '.join(sorted(lengths))[:60]!r}")
        digits = next(iter(lengths)).lstrip(b"0") or b"0"
        # more digits than any body has (int() refuses over 4,300 digits): longer than BODY_LIMIT, read to it
        self.left = int(digits) if len(digits) <= 20 else 1 << 80
        self.mode = "length"
        if not self.left:
            self.complete = True
            return True
        return False
