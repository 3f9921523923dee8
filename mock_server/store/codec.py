"""Serializing stored values to bytes and back (MessagePack), for stores that leave the process.

Plain data (``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``, lists/tuples, dicts with
string or integer keys) encodes as itself; tuples come back as tuples, and an integer beyond
MessagePack's 64 bits (a client may send ``123456789012345678901234567890`` in a JSON body the
journal keeps) as an extension holding its two's-complement bytes. A record's value may also
be an instance of a type registered here under a short tag:

- a frozen dataclass: ``register_dataclass(Note, "myprovider.note")`` — its fields are encoded
  by name and passed back to the constructor (a provider declares its record types in
  ``Provider.stored_types`` and the app factory registers them);
- any other immutable type with its own packing: ``register(Rows, "rows", to_plain, from_plain)``
  where ``to_plain`` returns plain data (or other registered values) and ``from_plain`` rebuilds;
- a :class:`~mock_server.store.base.Blob` kept by a store (its ``blob_source`` set) encodes as a
  reference, ``register_blob(Rows, "rows.kept")``: its tag, the blob's name and ``blob_ref()``;
  ``decode(data, blobs=...)`` rebuilds it with ``from_blob(blobs(name), ref)``.

The registry is process-wide on purpose: it describes types (like ``copyreg``), not state. Who
registers: the store its own envelopes (:class:`~mock_server.store.base.Record`, ``ClockState``
...: below, so ``decode(encode(record)) == record``); the app everything else, from the types the
providers declare (``Provider.stored_types``) and the core's (``mock_server.rows``), never an
import as a side effect. Registering a type again under the same tag changes nothing.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import msgpack

from .base import Blob, BlobSource, ClockState, LogPage, NewRecord, Page, Record, SandboxInfo

_TUPLE = 1
_REGISTERED = 2
_BIG_INT = 3
_BLOB = 4
_BY_TYPE: dict[type, tuple[str, Callable[[Any], Any]]] = {}
_BY_TAG: dict[str, Callable[[Any], Any]] = {}
_BLOB_TAGS: dict[type, str] = {}
_BLOB_TYPES: dict[str, type] = {}


def register(cls: type, tag: str, to_plain: Callable[[Any], Any], from_plain: Callable[[Any], Any]) -> None:
    """Make instances of ``cls`` encodable; ``tag`` must be unique and stable across versions."""
    known = _BY_TAG.get(tag)
    if known is not None and _BY_TYPE.get(cls, (None,))[0] != tag:
        raise ValueError(f"codec tag '{tag}' is already registered for another type")
    _BY_TYPE[cls] = (tag, to_plain)
    _BY_TAG[tag] = from_plain


def registered(cls: type) -> bool:
    """Whether instances of ``cls`` are encoded by a registered packing."""
    return cls in _BY_TYPE


def register_blob(cls: type, tag: str) -> None:
    """Make kept instances of the :class:`Blob` type ``cls`` (and its subclasses) encodable as a
    reference to their store's blob; ``tag`` must be unique and stable across versions."""
    if not issubclass(cls, Blob):
        raise TypeError(f"{cls.__name__} must be a Blob to be kept as one")
    known = _BLOB_TYPES.get(tag)
    if known is not None and known is not cls:
        raise ValueError(f"codec tag '{tag}' is already registered for another type")
    _BLOB_TAGS[cls] = tag
    _BLOB_TYPES[tag] = cls


def _blob_tag(value: Any) -> str | None:
    for cls in type(value).__mro__:
        tag = _BLOB_TAGS.get(cls)
        if tag is not None:
            return tag
    return None


def register_dataclass(cls: type, tag: str) -> type:
    """Register a frozen dataclass (fields by name); returns ``cls`` so it can decorate."""
    if not dataclasses.is_dataclass(cls) or not cls.__dataclass_params__.frozen:
        raise TypeError(f"{cls.__name__} must be a frozen dataclass to be stored")
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    register(cls, tag, lambda value: {name: getattr(value, name) for name in names}, lambda plain: cls(**plain))
    return cls


def _default(value: Any) -> Any:
    if isinstance(value, tuple):
        return msgpack.ExtType(_TUPLE, _pack(list(value)))
    if type(value) is int:                       # msgpack asks only when it is beyond 64 bits
        return msgpack.ExtType(_BIG_INT, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))
    entry = _BY_TYPE.get(type(value))
    if entry is None and isinstance(value, Blob) and value.blob_source is not None:
        tag = _blob_tag(value)
        if tag is not None:
            return msgpack.ExtType(_BLOB, _pack([tag, value.blob_source.name, value.blob_ref()]))
    if entry is None:
        raise TypeError(f"cannot store a {type(value).__name__}: register it with mock_server.store.codec")
    tag, to_plain = entry
    return msgpack.ExtType(_REGISTERED, _pack([tag, to_plain(value)]))


Blobs = Callable[[bytes], BlobSource]


def _no_blobs(name: bytes) -> BlobSource:
    raise ValueError("a value that refers to a kept blob can only be decoded by the store keeping it")


def _ext_hook(blobs: Blobs, code: int, data: bytes) -> Any:
    if code == _TUPLE:
        return tuple(_unpack(data, blobs))
    if code == _REGISTERED:
        tag, plain = _unpack(data, blobs)
        try:
            from_plain = _BY_TAG[tag]
        except KeyError:
            raise ValueError(f"stored value of unknown type '{tag}'") from None
        return from_plain(plain)
    if code == _BIG_INT:
        return int.from_bytes(data, "big", signed=True)
    if code == _BLOB:
        tag, name, ref = _unpack(data, blobs)
        try:
            cls = _BLOB_TYPES[tag]
        except KeyError:
            raise ValueError(f"stored blob of unknown type '{tag}'") from None
        return cls.from_blob(blobs(name), ref)
    return msgpack.ExtType(code, data)


def _pack(value: Any) -> bytes:
    return msgpack.packb(value, default=_default, use_bin_type=True, strict_types=True)


def _unpack(data: bytes, blobs: Blobs) -> Any:
    return msgpack.unpackb(data, ext_hook=lambda code, part: _ext_hook(blobs, code, part), raw=False,
                           strict_map_key=False)


def encode(value: Any) -> bytes:
    """Bytes for ``value`` (plain data or registered types, nested; a kept blob as a reference)."""
    return _pack(value)


def decode(data: bytes, *, blobs: Blobs = _no_blobs) -> Any:
    """The value ``encode`` was given (tuples stay tuples, registered types are rebuilt); a blob
    reference is rebuilt over ``blobs(name)``, the source of the store that keeps it."""
    return _unpack(data, blobs)


for _cls, _tag in ((Record, "store.record"), (NewRecord, "store.new_record"), (ClockState, "store.clock"),
                   (Page, "store.page"), (LogPage, "store.log_page"), (SandboxInfo, "store.sandbox")):
    register_dataclass(_cls, _tag)
