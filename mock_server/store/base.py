"""The store interface: every piece of mutable state the mock keeps, as atomic operations.

Everything lives in a *sandbox* (CONTRACT §7), named by a string matching :data:`SANDBOX_NAME`.
A store implementation (``memory.MemoryStore``, the default; a Redis one shares this contract and
``tests/store_contract.py``) offers only the operations below. No lock, dict or live mutable
object leaves a store: what comes out is a value (frozen dataclasses, tuples, bytes, numbers,
strings, or a copy of a mapping: ``values.py``), and a change is an operation, never an in-place edit.

Values stored in records, maps and logs must be *plain data* — ``None``, ``bool``, ``int``,
``float``, ``str``, ``bytes``, tuples/lists and dicts of plain data — or instances of a type
registered with :mod:`mock_server.store.codec` (frozen dataclasses such as a campaign, and
``Rows``, the packed CSV), so a shared store can serialize them with ``codec.encode/decode``.
A big immutable value (an uploaded CSV) may be a :class:`Blob`: a shared store keeps its bytes
once, apart from the records holding it (the value itself, or a field of a frozen dataclass).

Time: the store owns each sandbox's :class:`ClockState` and reads the real time from the
``time_source`` it was built with (seconds since the epoch, a float). Mock time is integer
microseconds since the epoch (``*_us``), so no precision is lost far from 1970.

Atomicity guarantees (what an implementation must provide; the contract tests check each):

Sandboxes
- ``touch(name)`` creates the sandbox on first use (clock at the configured start, or the real
  time, running or frozen as configured; generation 0) and records the real time of use. Two
  concurrent first touches create it once. It answers the clock, generation and version (what a
  request context needs: ``Sandbox.enter``), the version of each map (``maps``) and the entries
  of each non-empty *counted* index (``indexes``; a counted index's name starts with ``COUNTED``,
  ``#``: a request sees whether a queue is empty without reading it; the other indexes, one per
  recipient or event among them, are not counted, so a sandbox's summary stays small), but no record counts (``info`` has them); a shared store may record the use at most once a
  second per process.
- Only ``touch``, ``reset`` and a write that changes something create a sandbox. A read (``info``,
  ``get``, ``page``, ``scan``, ``clock``, ``version``, ``wait``, ``ledger``, logs, counters, maps)
  and a write that changes nothing (an ``update`` whose ``fn`` answers None, a ``trim`` with
  nothing to trim, a lease) in a sandbox that does not exist answer what a fresh one holds (None,
  empty, 0, its initial clock) and leave it absent: background work or a metrics scrape reading a
  sandbox dropped meanwhile never brings it back. A write pinned to a generation other than 0 in
  a sandbox that does not exist raises :class:`StaleGeneration`. A ``wait`` on a sandbox that
  does not exist yet answers 0 at its timeout, or wakes on a change of the sandbox created
  meanwhile. Both stores behave so (``tests/store/test_store_contract.py``).
- ``reset(name, rewind_clock)`` is one atomic step: it drops every record, index entry, ledger,
  log, counter and map of the sandbox, restarts its id generators (the next ids are those of a
  fresh sandbox), bumps ``generation`` and ``version``; with ``rewind_clock`` the clock returns to
  its initial state (the one time it may go backwards). It never interleaves with a ``create``,
  ``update`` or ``reserve``: each of those lands entirely before the reset (and is dropped) or
  entirely after it. An operation given ``generation=G`` raises :class:`StaleGeneration` when the
  sandbox's generation is no longer ``G`` (a reset happened since), and changes nothing.
- ``info(name)`` reads a sandbox's :class:`SandboxInfo` without creating it (None when absent);
  ``sandboxes()`` lists every sandbox, by name.
- ``drop(name)`` removes a sandbox and everything in it (a later touch creates it fresh);
  ``expire_idle(ttl)`` drops those not touched for ``ttl`` real seconds and returns their names.
- ``max_sandboxes`` (a constructor argument, None: no bound): creating one more sandbox while that
  many exist raises :class:`SandboxLimit` and creates nothing. The count and the creation are one
  atomic step (two processes racing for the last place on a shared store: one of them wins).

Clock
- ``clock(name)`` reads the state; ``update_clock(name, fn)`` replaces it with ``fn(current)``
  atomically (compare-and-set: ``fn`` may be called again if another change raced it; it must be
  pure). ``fn`` may raise to refuse the change (nothing is written).

Records (a campaign, a task, a bot's sending lane ...)
- ``create(name, kind, build, ids=...)`` is one atomic step: it allocates the id (``"uuid"``: a
  UUID4 from a generator seeded by the store's seed, the same sequence in every fresh or reset
  sandbox; ``"sequence"``: ``"1"``, ``"2"`` ... per kind), takes the sandbox's creation sequence
  number ``seq`` and the creation instant ``created_us`` (the sandbox clock, never below the
  previous record's, so creation order == ``seq`` order == timestamp order), calls
  ``build(id, created_us)`` (so a value may hold its own creation instant) and stores the record
  with every index entry it declares. No reader sees it
  before all of that is done. ``build`` must be quick and pure (no I/O; it may run inside the
  store's critical section, or run again with a new id if an optimistic attempt fails). Ids are
  never reused within a sandbox until it is reset; sequence ids increase in creation order.
  ``with_=(key, fn)`` makes one more record part of the same step: ``fn(new, current)`` gets
  what ``build`` returned and the record at ``key`` (``None`` if missing) and returns the record
  to create (in place of ``new``) and the replacement of ``key`` (``None``: unchanged; created
  if missing, like ``update_many``). ``fn`` follows the rules of ``build`` (pure, may run again).
- ``get(name, kind, id)``: the current record or ``None``.
- ``update(name, kind, id, fn)``: compare-and-set. ``fn(current)`` returns the replacement
  (:class:`NewRecord`) or ``None`` (no change); it is applied atomically with its index changes
  and ``version`` + 1. ``fn`` may be called again if the record changed meanwhile; it may raise to
  refuse (nothing written). ``update_many`` does the same over several records at once (a missing
  record is passed as ``None`` and may be created by returning a replacement).
- ``create_missing(name, items)``: ``items`` are ``(kind, id, NewRecord)``; one atomic step creates
  those whose record does not exist (all at one creation instant, in the order given) and leaves
  the others as they are; per item the record created, or ``None`` (it existed). Nothing to read
  first, no function that may run again: the records of a webhook window in one round trip.
- ``trim(name, index, keep)`` is one atomic step: the records holding the oldest entries of
  ``index`` (lowest (score, seq)) beyond its newest ``keep`` are removed, from every index they
  are in; it returns how many (version + 1 when any). It is for bounded histories of plain-data
  records (webhook delivery records); an index left without entries disappears.
- Indexes: a record declares ``(index name, score)`` pairs, each name at most once (a record is
  one entry of an index; the stores do not check it, per record it would show: a name given twice
  is one entry on Redis, two in memory); a score of ``None`` means "the creation instant in
  seconds". Any string is a name, the empty one too. An index orders its entries by (score, seq). ``page(...)`` gives
  the entries with ``low <= score <= high`` newest (highest) first by default, skipping
  ``offset`` and returning at most ``limit``, plus the total in range: cost O(log n + limit).
  ``scan(...)`` iterates the same range lazily over a snapshot taken when it is called (records
  created later are not seen; records since updated are seen as updated; reset ones vanish).

Slot ledgers (per application: slot index -> units reserved)
- ``reserve(name, ledger, plan, generation=None)``: ``plan(view)`` sees a read-only mapping and
  returns ``(result, deltas)``; the deltas (slot -> units to add) are applied atomically against
  the same state ``plan`` saw (``plan`` may be re-run on a conflict), and ``result`` returned.
  ``release(name, ledger, amounts)`` subtracts; a slot never goes below 0 and disappears at 0.

Generic primitives for journal, webhooks, faults and rate limits (a value read back never shares
a mutable part with the value written or with the store)
- Logs: ``append(name, log, value, max_entries, max_bytes=None)`` returns the entry's sequence
  number (1, 2, ... never reused until reset/clear); beyond ``max_entries`` entries, or beyond
  ``max_bytes`` of encoded values (``codec.encode``; the newest entry is always kept), the oldest
  are dropped and counted.
  ``read_log(name, log, after, limit)`` returns entries with sequence > ``after``, oldest first.
- Counters: ``incr(name, key, amount, ttl)`` adds atomically and returns the new value; the
  counter disappears ``ttl`` real seconds after it was created (a window key: put the window's
  number in ``key``).
- Leases: ``lease(name, key, owner, seconds)`` is one atomic step: ``owner`` takes the lease
  ``key`` for ``seconds`` real seconds (from the store's time source) when nobody holds it, its
  holder's time ran out, or ``owner`` holds it already (a renewal; ``seconds=0`` lets it go); it
  returns the :class:`Lease` as it is after the step (``holder == owner``: taken). Like counters,
  leases do not move ``version`` (taking and letting go wakes nothing); a reset drops them. A lease
  never creates its sandbox: in one that does not exist, taking one answers ``Lease("", now)``
  (nobody holds it, not taken) and letting go does nothing, so background work finishing after a
  drop leaves the sandbox dropped.
- Maps: ``put``/``get_value``/``delete``/``items`` on small keyed maps of values (insertion order),
  ``update_value(name, map, key, fn)`` compare-and-set like ``update``: ``fn(current or None)``
  returns the new value, or ``None`` for no change; the value now stored is returned. Each map has
  its own version (``SandboxInfo.maps[name]``, absent: 0), which increases with every change of
  that map: equal ``(created_real, generation, maps[name])`` mean the same content, so a process
  may keep a map's ``items`` and read them again only when that version moved.

Building a store: :func:`mock_server.store.open_store` (``"memory"``; a shared store adds its URL
scheme there) with the keyword arguments of ``MemoryStore``: ``seed``, ``clock_start_us``,
``clock_frozen`` (how a new sandbox's clock starts) and ``time_source``.

Change notification
- Every change to a sandbox's records, indexes, ledgers, maps, clock or generation adds 1 to its
  ``version`` (counters and logs do not: a log has its own sequence numbers, ``read_log().last``,
  and the request journal must not wake what waits on records; ``wait_log(name, log, after,
  timeout)`` waits on one log: it returns its ``last`` as soon as that exceeds ``after``, or the
  sandbox's version moved (a reset), or ``timeout`` passed). ``wait(name, after, timeout)``
  returns the version as soon as it exceeds ``after``, or when ``timeout`` real seconds pass; it
  holds no store lock while waiting and does not poll.
- ``changes()`` opens a :class:`ChangeFeed` on every sandbox at once (background work that serves
  them all): ``feed.wait(timeout)`` returns the names of the sandboxes whose version moved since
  the feed was opened or since the previous ``wait`` returned them, as soon as there is one, or an
  empty set after ``timeout`` real seconds; no change made while the feed is open is missed (a
  dropped sandbox counts as changed); it does not poll. ``feed.close()`` ends it.
  ``feed.watch(names)`` (None: every sandbox; ``changes(watch=names)`` opens it so) limits the
  commits of records (``create``, ``update``, ``update_many``) it reports to those sandboxes:
  every other change of any sandbox is reported still. Once it returns, no commit in a sandbox
  newly watched is missed (a shared store tells its writers to publish only where someone watches).
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol, Sequence, TypeVar, runtime_checkable

# the values are re-exported: ``mock_server.store.base`` names them too
from .values import (Blob, BlobSource, ClockState, IdStyle, Lease, LogPage, NewRecord, Page, Record,  # noqa: F401
                     SandboxInfo, With)

SANDBOX_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
DEFAULT_SANDBOX = "default"
T = TypeVar("T")


class StoreError(Exception):
    """Base of the store's own errors."""


class StaleGeneration(StoreError):
    """The sandbox was reset since the generation an operation was given: nothing was written."""


class SandboxLimit(StoreError):
    """Creating a sandbox would exceed the store's ``max_sandboxes``: nothing was created."""

    def __init__(self, sandbox: str, limit: int) -> None:
        super().__init__(f"cannot create sandbox '{sandbox}': {limit} sandboxes exist, the most allowed at once")
        self.sandbox = sandbox
        self.limit = limit


class StoreUnavailable(StoreError):
    """The store cannot be reached (a shared store's server is down, or answered an error the
    store cannot handle): the app answers 503 in the provider's envelope; the next call tries again."""


class StoreLayoutError(StoreUnavailable):
    """A shared store holds data in another key layout (written by another version of the mock):
    refused, not misread. The message says how to empty it or where else to keep this version's."""


def valid_sandbox_name(name: str) -> bool:
    """``name`` matches :data:`SANDBOX_NAME` and is not ``.`` or ``..`` (path segments, not names:
    ``/sandboxes/../`` would leave the prefix)."""
    return isinstance(name, str) and SANDBOX_NAME.fullmatch(name) is not None and name not in (".", "..")


class ChangeFeed(Protocol):
    """Changes of every sandbox of a store, as they happen (``Store.changes``)."""

    def wait(self, timeout: float) -> set[str]: ...
    def watch(self, names: Iterable[str] | None) -> None: ...
    def close(self) -> None: ...


class SingleUpdate:
    """``update`` in terms of ``update_many``, shared by the implementations."""

    def update(self, sandbox: str, kind: str, record_id: str, fn: Callable[[Record], NewRecord | None], *,
               generation: int | None = None) -> Record | None:
        def many(current: tuple[Record | None, ...]) -> Sequence[NewRecord | None]:
            return (fn(current[0]) if current[0] is not None else None,)
        return self.update_many(sandbox, ((kind, record_id),), many, generation=generation)[0]  # type: ignore[attr-defined]


@runtime_checkable
class Store(Protocol):
    """The operations every store offers (see the module docstring for the guarantees)."""

    time_source: Callable[[], float]

    # -- sandboxes ---------------------------------------------------------------------------
    def touch(self, sandbox: str) -> SandboxInfo: ...
    def info(self, sandbox: str) -> SandboxInfo | None: ...
    def sandboxes(self) -> list[SandboxInfo]: ...
    def drop(self, sandbox: str) -> bool: ...
    def expire_idle(self, ttl: float) -> list[str]: ...
    def reset(self, sandbox: str, *, rewind_clock: bool = False) -> SandboxInfo: ...

    # -- clock -------------------------------------------------------------------------------
    def clock(self, sandbox: str) -> ClockState: ...
    def update_clock(self, sandbox: str, fn: Callable[[ClockState], ClockState]) -> ClockState: ...

    # -- records -----------------------------------------------------------------------------
    def create(self, sandbox: str, kind: str, build: Callable[[str, int], NewRecord], *,
               ids: IdStyle = "uuid", generation: int | None = None, with_: With | None = None) -> Record: ...
    def get(self, sandbox: str, kind: str, record_id: str) -> Record | None: ...
    def update(self, sandbox: str, kind: str, record_id: str, fn: Callable[[Record], NewRecord | None], *,
               generation: int | None = None) -> Record | None: ...
    def update_many(self, sandbox: str, keys: Sequence[tuple[str, str]],
                    fn: Callable[[tuple[Record | None, ...]], Sequence[NewRecord | None]], *,
                    generation: int | None = None) -> tuple[Record | None, ...]: ...
    def create_missing(self, sandbox: str, items: Sequence[tuple[str, str, NewRecord]], *,
                       generation: int | None = None) -> tuple[Record | None, ...]: ...
    def trim(self, sandbox: str, index: str, keep: int) -> int: ...
    def page(self, sandbox: str, index: str, *, low: float | None = None, high: float | None = None,
             offset: int = 0, limit: int | None = None, newest_first: bool = True) -> Page: ...
    def scan(self, sandbox: str, index: str, *, low: float | None = None, high: float | None = None,
             newest_first: bool = True) -> Iterator[Record]: ...

    # -- slot ledgers --------------------------------------------------------------------------
    def ledger(self, sandbox: str, name: str) -> dict[int, int]: ...
    def reserve(self, sandbox: str, name: str, plan: Callable[[Mapping[int, int]], tuple[T, Mapping[int, int]]], *,
                generation: int | None = None) -> T: ...
    def release(self, sandbox: str, name: str, amounts: Mapping[int, int], *, generation: int | None = None) -> None: ...

    # -- logs, counters, maps ------------------------------------------------------------------
    def append(self, sandbox: str, log: str, value: Any, *, max_entries: int, max_bytes: int | None = None) -> int: ...
    def read_log(self, sandbox: str, log: str, *, after: int = 0, limit: int = 100) -> LogPage: ...
    def clear_log(self, sandbox: str, log: str) -> None: ...
    def incr(self, sandbox: str, key: str, amount: int = 1, *, ttl: float | None = None) -> int: ...
    def counter(self, sandbox: str, key: str) -> int: ...
    def lease(self, sandbox: str, key: str, owner: str, seconds: float) -> Lease: ...
    def put(self, sandbox: str, name: str, key: str, value: Any) -> None: ...
    def get_value(self, sandbox: str, name: str, key: str) -> Any | None: ...
    def update_value(self, sandbox: str, name: str, key: str, fn: Callable[[Any | None], Any | None]) -> Any | None: ...
    def delete(self, sandbox: str, name: str, key: str) -> bool: ...
    def items(self, sandbox: str, name: str) -> list[tuple[str, Any]]: ...

    # -- change notification ---------------------------------------------------------------------
    def version(self, sandbox: str) -> int: ...
    def wait(self, sandbox: str, after: int, timeout: float) -> int: ...
    def wait_log(self, sandbox: str, log: str, after: int, timeout: float) -> int: ...
    def changes(self, watch: Iterable[str] | None = None) -> ChangeFeed: ...
