"""Big immutable values of the Redis store: an uploaded CSV is written once, records refer to it.

A :class:`~mock_server.rows.Rows` found in a value being stored (the value itself, or a field of a
frozen dataclass such as a campaign) is written as blob keys under the sandbox's data prefix (so a
reset or drop removes them with everything else), named by the SHA-256 of the bytes:

- ``KEY`` the CSV bytes exactly as uploaded (1 byte a byte);
- ``KEY:o`` / ``KEY:l`` record offsets and line numbers, only for files the streaming reader had to
  read (quoted line breaks, blank lines...): a file of one record per line needs neither;
- ``KEY:d`` the destination index (``Rows.find``), 4 bytes a record, written by the first process
  that builds it and read by the others.

The record keeps a small reference (:class:`LazyRows`): reading a campaign moves a few hundred
bytes, and the CSV itself is fetched the first time a process needs a row, then kept in a cache
bounded in bytes (least recently used first out), with what is derived from it (record offsets,
the index as an array), so a process computes those once per CSV, not once per request. Blobs
never change, so a cached copy is never stale.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from array import array
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from ..rows import Rows
from . import codec

if TYPE_CHECKING:
    from .redis import RedisStore


class LazyRows(Rows):
    """A :class:`Rows` whose bytes (and offsets, index) stay in Redis until a process needs them."""

    __slots__ = ("_key", "_blobs", "_size")

    @property
    def _data(self) -> bytes:          # shadows Rows' slot: the bytes come from the cache
        return self._blobs.get(self._key)

    @classmethod
    def refer(cls, blobs: "BlobCache", key: bytes, size: int, first: int, count: int, header: list[str],
              invalid: dict[int, str], stored: bool) -> "LazyRows":
        rows = cls.__new__(cls)
        rows._key, rows._blobs, rows._size = key, blobs, size
        rows._first, rows._count, rows.header, rows.invalid, rows._index = first, count, header, invalid, None
        rows._offsets = rows._lines = None
        if stored:                     # offsets and line numbers were kept: fetch them with the bytes
            rows._offsets = array("Q", blobs.get(key + b":o"))
            rows._lines = array("I", blobs.get(key + b":l"))
        return rows

    def _starts(self) -> array:
        """Record offsets, computed once per process for this CSV (not per decoded record)."""
        if self._offsets is None:
            self._offsets = self._blobs.derived(self._key + b":starts", lambda: Rows._starts(self))
        return self._offsets

    def _load_index(self) -> array | None:
        def load() -> array | None:
            raw = self._blobs.get(self._key + b":d", missing_ok=True)
            return None if raw is None else array("I", raw)
        return self._blobs.derived(self._key + b":index", load)

    def _save_index(self, index: array) -> None:
        self._blobs.put(self._key + b":d", index.tobytes())
        self._blobs.remember(self._key + b":index", index)

    @property
    def nbytes(self) -> int:
        return self._size + (4 * len(self._index) if self._index is not None else 0)


class BlobCache:
    """Writes and reads the blobs of one :class:`RedisStore`; keeps recently read ones in memory."""

    def __init__(self, store: "RedisStore", limit_bytes: int) -> None:
        self.store = store
        self.limit = limit_bytes
        self._cache: OrderedDict[bytes, bytes] = OrderedDict()
        self._size = 0
        self._written: set[bytes] = set()
        self._lock = threading.Lock()

    # -- storing -----------------------------------------------------------------------------
    def externalize(self, value: Any, data_prefix: bytes | None) -> Any:
        """``value`` with every :class:`Rows` it holds (itself or a dataclass field) replaced by a
        :class:`LazyRows` whose bytes are in Redis under ``data_prefix``."""
        if isinstance(value, Rows) and not isinstance(value, LazyRows):
            return self._store_rows(value, data_prefix)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {f.name: self._store_rows(getattr(value, f.name), data_prefix) for f in dataclasses.fields(value)
                       if isinstance(getattr(value, f.name), Rows) and not isinstance(getattr(value, f.name), LazyRows)}
            if changes:
                return dataclasses.replace(value, **changes)
        return value

    @staticmethod
    def holds_rows(value: Any) -> bool:
        if isinstance(value, Rows):
            return not isinstance(value, LazyRows)
        return dataclasses.is_dataclass(value) and not isinstance(value, type) and any(
            isinstance(getattr(value, f.name), Rows) and not isinstance(getattr(value, f.name), LazyRows)
            for f in dataclasses.fields(value))

    def _store_rows(self, rows: Rows, data_prefix: bytes) -> LazyRows:
        data = rows._data
        key = data_prefix + b"blob:" + hashlib.sha256(data).hexdigest()[:40].encode()
        stored = rows._lines is not None
        parts = {key: data}
        if stored:
            parts[key + b":o"] = rows._offsets.tobytes()
            parts[key + b":l"] = rows._lines.tobytes()
        if rows._index is not None:
            parts[key + b":d"] = rows._index.tobytes()
        for name, content in parts.items():
            self.put(name, content)
        lazy = LazyRows.refer(self, key, len(data), rows._first, len(rows), list(rows.header), dict(rows.invalid), False)
        if stored:
            lazy._offsets, lazy._lines = rows._offsets, rows._lines
        lazy._index = rows._index
        self._remember(key, data)
        return lazy

    def put(self, key: bytes, content: bytes) -> None:
        """Write a blob once per process (``SET NX``: the same bytes under the same name)."""
        if key in self._written:
            return
        self.store.command(lambda client: client.set(key, content, nx=True))
        with self._lock:
            self._written.add(key)

    # -- reading -----------------------------------------------------------------------------
    def get(self, key: bytes, *, missing_ok: bool = False) -> bytes | None:
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
        content = self.store.command(lambda client: client.get(key))
        if content is None:
            if missing_ok:
                return None
            raise LookupError(f"the stored CSV {key.decode()} is gone (its sandbox was reset)")
        self._remember(key, content)
        return content

    def derived(self, key: bytes, compute):
        """A value computed from blobs (offsets, an index as an array), cached like a blob."""
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
        value = compute()
        if value is not None:
            self.remember(key, value)
        return value

    def remember(self, key: bytes, content) -> None:
        self._remember(key, content)

    def _remember(self, key: bytes, content) -> None:
        with self._lock:
            if key not in self._cache:
                self._cache[key] = content
                self._size += _size(content)
            while self._size > self.limit and len(self._cache) > 1:
                _, dropped = self._cache.popitem(last=False)
                self._size -= _size(dropped)


def _size(content) -> int:
    return content.itemsize * len(content) if isinstance(content, array) else len(content)


def _to_plain(rows: LazyRows) -> list:
    return [rows._key, rows._size, rows._first, rows._count, rows.header, rows.invalid, rows._lines is not None]


def _from_plain(plain: list) -> LazyRows:
    from .redis import decoding_store

    key, size, first, count, header, invalid, stored = plain
    return LazyRows.refer(decoding_store().blobs, key, size, first, count, header,
                          {int(k): v for k, v in invalid.items()}, stored)


codec.register(LazyRows, "rows.redis", _to_plain, _from_plain)
