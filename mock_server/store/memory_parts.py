"""The in-memory store's building blocks: an index, a sandbox's data, and small helpers."""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

from . import codec
from .base import ClockState, Lease, Record, SandboxInfo, StaleGeneration
from .memory_index import Index
from .values import COUNTED

@dataclass
class Log:
    """One log: its kept entries ``(sequence number, encoded value)``, oldest first, and its counts."""

    entries: list = field(default_factory=list)
    last: int = 0                # sequence number of the newest entry ever appended
    dropped: int = 0             # entries dropped by retention since the last reset/clear
    dropped_for_bytes: int = 0   # of which for ``max_bytes``
    bytes: int = 0               # encoded bytes of the kept entries


@dataclass
class Data:
    """Everything a reset drops (replaced whole, never cleared in place)."""

    seed: int
    records: dict[tuple[str, str], Record] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    indexes: dict[str, Index] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)       # counted index name -> its entries (COUNTED)
    ledgers: dict[str, dict[int, int]] = field(default_factory=dict)
    logs: dict[str, "Log"] = field(default_factory=dict)
    counters: dict[str, tuple[int, float | None]] = field(default_factory=dict)
    leases: dict[str, Lease] = field(default_factory=dict)
    maps: dict[str, dict[str, Any]] = field(default_factory=dict)
    map_versions: dict[str, int] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=dict)
    seq: int = 0
    increments: int = 0
    last_created_us: int | None = None
    uuids: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.uuids = random.Random(f"ids:{self.seed}")

    def resized(self, name: str, index: Index) -> None:
        """An index gained or lost entries: keep its size (an empty one is forgotten, index included)."""
        size = len(index)
        if not size:
            self.indexes.pop(name, None)
        if name[:1] != COUNTED:
            return
        if size:
            self.sizes[name] = size
        else:
            self.sizes.pop(name, None)


class Feeds:
    """The store's open change feeds (``Store.changes``): every bump adds the sandbox's name to each."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open: set["Feed"] = set()

    def changed(self, name: str, records: bool = False) -> None:
        """``records``: a commit of records (which a feed reports only for the sandboxes it watches)."""
        if self.open:
            with self.lock:
                feeds = list(self.open)
            for feed in feeds:
                watching = feed.watching
                if not records or watching is None or name in watching:
                    feed.add(name)

    def feed(self, watch=None) -> "Feed":
        feed = Feed(self)
        feed.watch(watch)
        with self.lock:
            self.open.add(feed)
        return feed


class Feed:
    """One change feed: the names changed since the last ``wait`` answered, and a condition."""

    def __init__(self, feeds: Feeds) -> None:
        self.feeds = feeds
        self.cond = threading.Condition(threading.Lock())
        self.names: set[str] = set()
        self.watching: frozenset[str] | None = None      # whose commits of records it reports (None: all)

    def watch(self, names) -> None:
        self.watching = None if names is None else frozenset(names)

    def add(self, name: str) -> None:
        with self.cond:
            if self.names:             # not answered yet: its waiter was woken already (each write
                self.names.add(name)   # waking the watcher cost the webhook pump 8 % of its time)
                return
            self.names.add(name)
            self.cond.notify_all()

    def wait(self, timeout: float) -> set[str]:
        deadline = time.monotonic() + max(0.0, timeout)
        with self.cond:
            while not self.names:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.cond.wait(remaining)
            names, self.names = self.names, set()
            return names

    def close(self) -> None:
        with self.feeds.lock:
            self.feeds.open.discard(self)


class Sandbox:
    def __init__(self, name: str, clock: ClockState, seed: int, real: float, feeds: Feeds | None = None) -> None:
        self.name = name
        self.feeds = feeds
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.clock = clock
        self.initial_clock = clock
        self.generation = 0
        self.version = 0
        self.created_real = real
        self.used_real = real
        self.seed = seed
        self.data = Data(seed)

    def bump(self, map_name: str | None = None, *, records: bool = False) -> None:
        self.version += 1
        if map_name is not None:
            self.data.map_versions[map_name] = self.data.map_versions.get(map_name, 0) + 1
        self.changed.notify_all()
        if self.feeds is not None:
            self.feeds.changed(self.name, records)

    def check(self, generation: int | None) -> None:
        if generation is not None and generation != self.generation:
            raise StaleGeneration(f"sandbox '{self.name}' was reset (generation {self.generation}, expected {generation})")

    def info(self, counts: bool = True) -> SandboxInfo:
        return SandboxInfo(self.name, self.clock, self.generation, self.version, self.created_real, self.used_real,
                           dict(self.data.counts) if counts else {}, dict(self.data.map_versions),
                           dict(self.data.sizes))


class ReadOnly(Mapping[int, int]):
    """A read-only view of a ledger for ``plan`` functions."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[int, int]) -> None:
        self._data = data

    def __getitem__(self, key: int) -> int:
        return self._data[key]

    def get(self, key, default=None):
        return self._data.get(key, default)

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


_SCALARS = frozenset({str, bytes, int, float, bool, type(None)})


class Packed:
    """A record value that is mutable plain data (a dict, a list...), kept encoded by the store: its
    own copy, decoded afresh for every reader, so no caller shares it (CONTRACT of ``base.py``)."""

    __slots__ = ("data",)

    def __init__(self, value: Any) -> None:
        self.data = codec.encode(value)


def shareable(value: Any) -> bool:
    """Values a reader may share with the store: scalars, frozen dataclasses, registered types."""
    kind = type(value)
    if kind in _SCALARS or codec.registered(kind):       # cheap looks first (per record, it shows)
        return True
    return dataclasses.is_dataclass(kind) and kind.__dataclass_params__.frozen


def kept(record: Record) -> Record:
    """The record as the store keeps it (a mutable value packed)."""
    if shareable(record.value):
        return record
    return Record(record.kind, record.id, record.seq, record.created_us, record.version, Packed(record.value),
                  record.indexes)        # not dataclasses.replace: per record, its introspection shows


def opened(record: Record) -> Record:
    """The record as a reader gets it (a packed value decoded: the reader's own copy)."""
    value = record.value
    if type(value) is not Packed:
        return record
    return Record(record.kind, record.id, record.seq, record.created_us, record.version, codec.decode(value.data),
                  record.indexes)


def records(box: Sandbox, generation: int, data: Data, refs: list[tuple[str, str]]) -> Iterator[Record]:
    records = data.records
    for ref in refs:
        if box.generation != generation:     # reset (or dropped) meanwhile: its records are gone
            return
        record = records.get(ref)
        if record is not None:
            yield opened(record)
