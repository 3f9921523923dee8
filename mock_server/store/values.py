"""The values a store hands out and takes in (the interface is ``base.py``): frozen dataclasses
(a sandbox's clock and info, a record and what builds one, a page of records or log entries, a
lease), and :class:`Blob`, the big immutable value a shared store keeps once."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, Protocol


COUNTED = "#"     # the first character of a counted index's name: its entries are in ``SandboxInfo.indexes``

@dataclass(frozen=True)
class ClockState:
    """A sandbox's clock: real time plus ``offset_us``, or stopped at ``frozen_at_us``."""

    offset_us: int = 0
    frozen_at_us: int | None = None

    @property
    def frozen(self) -> bool:
        return self.frozen_at_us is not None

    def now_us(self, real_us: int) -> int:
        """Mock time (µs since the epoch) when the real time is ``real_us``."""
        return self.frozen_at_us if self.frozen_at_us is not None else real_us + self.offset_us


@dataclass(frozen=True)
class SandboxInfo:
    """What ``touch``/``sandboxes``/``reset`` report about a sandbox."""

    name: str
    clock: ClockState
    generation: int            # number of resets so far
    version: int               # number of changes so far
    created_real: float        # real time (epoch seconds) of creation
    used_real: float           # real time of the last touch
    counts: Mapping[str, int] = field(default_factory=dict)   # record kind -> records
    maps: Mapping[str, int] = field(default_factory=dict)     # map name -> its version (absent: 0)
    indexes: Mapping[str, int] = field(default_factory=dict)  # counted index name -> its entries (absent: 0)


def resolve(indexes: tuple[tuple[str, float | None], ...], created_us: int) -> tuple[tuple[str, float], ...]:
    """A new record's index entries as stored: a score of None is its creation instant (seconds)."""
    created = created_us / 1_000_000
    return tuple([(name, created if score is None else float(score)) for name, score in indexes])


@dataclass(frozen=True)
class NewRecord:
    """What ``build``/``update`` functions return: the value and the index entries it declares."""

    value: Any
    indexes: tuple[tuple[str, float | None], ...] = ()


@dataclass(frozen=True)
class Record:
    """A stored record. ``value`` is plain data or a codec-registered frozen dataclass."""

    kind: str
    id: str
    seq: int                   # creation order within the sandbox (1, 2, ...), every kind together
    created_us: int            # sandbox clock at creation, µs since the epoch
    version: int               # 1 when created, + 1 per update
    value: Any
    indexes: tuple[tuple[str, float], ...] = ()   # resolved: a None score became the creation instant

    @property
    def created(self) -> float:
        """The creation instant in epoch seconds (the score of ``None``-scored index entries)."""
        return self.created_us / 1_000_000


@dataclass(frozen=True)
class Page:
    records: tuple[Record, ...]
    total: int                 # entries in the whole range


@dataclass(frozen=True)
class LogPage:
    entries: tuple[tuple[int, Any], ...]   # (sequence number, value), oldest first
    last: int                  # sequence number of the newest entry ever appended (0: none)
    dropped: int               # entries dropped by retention since the last reset/clear
    dropped_for_bytes: int = 0  # of which because of ``max_bytes``
    bytes: int = 0             # encoded bytes of the entries kept


@dataclass(frozen=True)
class Lease:
    """Who holds a lease (``Store.lease``) and until when (real time, epoch seconds)."""

    holder: str
    until: float

    def held_by(self, owner: str, now: float) -> bool:
        return self.holder == owner and self.until > now


IdStyle = Literal["uuid", "sequence"]
# ``create``'s ``with_``: the key of another record and ``fn(new, current) -> (new, replacement)``
With = tuple[tuple[str, str], Callable[[NewRecord, "Record | None"], tuple[NewRecord, "NewRecord | None"]]]


class BlobSource(Protocol):
    """Where the parts of a blob kept by a store are read from (a shared store's blob cache).

    ``name`` names the blob in its store (what a stored reference keeps). Parts are named: ``""``
    the content, other names what :meth:`Blob.blob_parts` gave, or what a process added later
    (``put``: written once, never changed). ``derived`` caches a value computed from parts (an
    array of offsets) in this process; ``remember`` puts one there directly.
    """

    name: bytes

    def get(self, part: str = "", *, missing_ok: bool = False) -> bytes | None: ...
    def put(self, part: str, content: bytes) -> None: ...
    def derived(self, part: str, compute: Callable[[], Any]) -> Any: ...
    def remember(self, part: str, value: Any) -> None: ...


class Blob(ABC):
    """A big immutable value that a shared store keeps once, apart from the records holding it.

    A domain type (``mock_server.rows.Rows``) opts in by subclassing and registering itself
    (``codec.register_blob``); the store then knows it only through these methods:

    - ``blob_parts()``: the bytes to keep, by part name (``""``: the content, the name's hash);
    - ``blob_ref()``: plain data a record keeps to refer to it (small: sizes, a header ...);
    - ``from_blob(source, ref)``: the value again, reading its parts from ``source`` on demand;
    - ``blob_source``: the :class:`BlobSource` of a value a store gave (None: not kept yet).
    """

    __slots__ = ()

    @abstractmethod
    def blob_parts(self) -> Mapping[str, bytes]: ...

    @abstractmethod
    def blob_ref(self) -> Any: ...

    @classmethod
    @abstractmethod
    def from_blob(cls, source: BlobSource, ref: Any) -> "Blob": ...

    @property
    def blob_source(self) -> BlobSource | None:
        return None
