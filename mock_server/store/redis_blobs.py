"""Big immutable values of the Redis store (:class:`~mock_server.store.base.Blob`, such as an
uploaded CSV): written once, records refer to them.

A blob found in a value being stored (the value itself, or a field of a frozen dataclass such as
a campaign) is written as keys under the sandbox's data prefix (so a reset or drop removes them
with everything else), named by the SHA-256 of its content: ``KEY`` the content (``blob_parts()``
part ``""``), ``KEY:PART`` each other part (a CSV's record offsets ``o``, line numbers ``l``,
destination index ``d``), and parts a process adds later (the index, by the first process that
builds it). The record keeps a small reference; decoding it gives the type's ``from_blob`` over a
:class:`BlobRef`, which fetches a part the first time a process needs it and keeps it in a cache
bounded in bytes (least recently used first out), with what is derived from it. Blobs never
change, so a cached copy is never stale. This module knows no domain type.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from array import array
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from .base import Blob

if TYPE_CHECKING:
    from .redis import RedisStore


class BlobRef:
    """One kept blob of a :class:`BlobCache` (a :class:`~mock_server.store.base.BlobSource`)."""

    __slots__ = ("name", "_cache")

    def __init__(self, cache: "BlobCache", name: bytes) -> None:
        self.name = name
        self._cache = cache

    def _key(self, part: str) -> bytes:
        return self.name + b":" + part.encode() if part else self.name

    def get(self, part: str = "", *, missing_ok: bool = False) -> bytes | None:
        return self._cache.get(self._key(part), missing_ok=missing_ok)

    def put(self, part: str, content: bytes) -> None:
        self._cache.put(self._key(part), content)

    def derived(self, part: str, compute):
        return self._cache.derived(self._key(part), compute)

    def remember(self, part: str, value) -> None:
        self._cache.remember(self._key(part), value)


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
    def externalize(self, value: Any, data_prefix: bytes) -> Any:
        """``value`` with every blob not kept yet (itself or a dataclass field) written under
        ``data_prefix`` and replaced by its type's reference over the kept bytes."""
        if _unkept(value):
            return self._keep(value, data_prefix)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {f.name: self._keep(getattr(value, f.name), data_prefix) for f in dataclasses.fields(value)
                       if _unkept(getattr(value, f.name))}
            if changes:
                return dataclasses.replace(value, **changes)
        return value

    @staticmethod
    def holds_blobs(value: Any) -> bool:
        if isinstance(value, Blob):
            return _unkept(value)
        return dataclasses.is_dataclass(value) and not isinstance(value, type) and any(
            _unkept(getattr(value, f.name)) for f in dataclasses.fields(value))

    def _keep(self, blob: Blob, data_prefix: bytes) -> Blob:
        parts = blob.blob_parts()
        ref = BlobRef(self, data_prefix + b"blob:" + hashlib.sha256(parts[""]).hexdigest()[:40].encode())
        for part, content in parts.items():
            ref.put(part, content)
            ref.remember(part, content)        # this process reads them back from memory
        return type(blob).from_blob(ref, blob.blob_ref())

    def source(self, name: bytes) -> BlobRef:
        """The kept blob ``name`` (what ``codec.decode`` rebuilds a reference over)."""
        return BlobRef(self, name)

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


def _unkept(value: Any) -> bool:
    return isinstance(value, Blob) and value.blob_source is None


def _size(content) -> int:
    return content.itemsize * len(content) if isinstance(content, array) else len(content)
