"""Typed repositories: a record kind bound to its value type and the indexes it declares.

A :class:`RecordKind` says, once, what a kind of record is: the store's kind name, how ids are
allocated, its indexes (:class:`Index`, or an :class:`IndexFamily` of one index per key: a bot's
campaigns), which entries a value has in them (``entries``), and what a reader gets from a stored
:class:`~mock_server.store.base.Record` (``load``: by default the value itself). A
:class:`Repository` is that kind over a store: ``create``/``get``/``update``/``update_many``/
``create_missing``/``page``/``scan``/``trim`` take and give values, and compute every index entry
from the declaration, so no call site spells an index name or builds a :class:`NewRecord`.

Builders get the creation instant: ``create(sandbox, build)`` calls ``build(id, created_us)``, so a
value can hold its own creation time as the store stamps it (nothing is patched on read).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterable, Iterator, Sequence, TypeVar

from .base import IdStyle, NewRecord, Record, Store

V = TypeVar("V")          # the stored value
T = TypeVar("T")          # what readers get (the value, or the whole record)


@dataclass(frozen=True)
class Index:
    """One index of the store, by name."""

    name: str

    def entry(self, score: float | None = None) -> tuple[str, float | None]:
        """An entry in this index: ``score`` None means the creation instant (seconds)."""
        return (self.name, score)


@dataclass(frozen=True)
class IndexFamily:
    """One index per key (``BY_BOT[bot_id]``): the key goes into the name, here and only here."""

    prefix: str

    def __getitem__(self, key: Any) -> Index:
        return Index(self.name(key))

    def name(self, key: Any) -> str:
        return f"{self.prefix}:{key}"

    def entry(self, key: Any, score: float | None = None) -> tuple[str, float | None]:
        """``self[key].entry(score)`` without building the :class:`Index` (per record, it shows)."""
        return (self.name(key), score)

    def holds(self, index: Index) -> bool:
        return index.name.startswith(self.prefix + ":")


def whole(record: Record) -> Record:
    """A :class:`RecordKind`'s ``load`` for readers that get the whole record (no call per record)."""
    return record


@dataclass(frozen=True)
class RecordKind(Generic[V, T]):
    """A kind of record: its name, ids, declared indexes, entries per value and the reader's view."""

    kind: str
    indexes: tuple[Index | IndexFamily, ...] = ()
    entries: Callable[[V], Iterable[tuple[str, float | None]]] = lambda value: ()
    load: Callable[[Record], T] = lambda record: record.value      # type: ignore[assignment,return-value]
    ids: IdStyle = "uuid"
    keep: Callable[[V], Any] = lambda value: value                  # the value as it is stored (an immutable form)

    def key(self, record_id: Any) -> tuple[str, str]:
        """The store's key of a record of this kind (for ``store.update_many`` across kinds)."""
        return (self.kind, str(record_id))

    def new(self, value: V) -> NewRecord:
        """The value with the index entries it declares."""
        return NewRecord(self.keep(value), tuple(self.entries(value)))

    def declares(self, index: Index) -> bool:
        return any(index == declared if isinstance(declared, Index) else declared.holds(index)
                   for declared in self.indexes)


class Repository(Generic[V, T]):
    """A :class:`RecordKind` over a store; every method names the sandbox it works in."""

    def __init__(self, store: Store, kind: RecordKind[V, T]) -> None:
        self.store = store
        self.kind = kind

    def create(self, sandbox: str, build: Callable[[str, int], V], *, generation: int | None = None,
               with_: tuple[RecordKind, Any, Callable[[V, Any | None], tuple[V, Any | None]]] | None = None) -> T:
        """Store ``build(id, created_us)`` with its index entries (one atomic step: ``Store.create``).
        ``with_=(other_kind, other_id, fn)``: ``fn(value, other)`` (``other``: as ``other_kind``
        loads it, or None) gives the value to create and the other record's replacement (None: no
        change), written in the same step."""
        kind = self.kind
        joined = None
        if with_ is not None:
            other_kind, other_id, fn = with_

            def both(new: NewRecord, other: Record | None) -> tuple[NewRecord, NewRecord | None]:
                value, replacement = fn(new.value, None if other is None else other_kind.load(other))
                return kind.new(value), None if replacement is None else other_kind.new(replacement)
            joined = (other_kind.key(other_id), both)
        return kind.load(self.store.create(sandbox, kind.kind, lambda record_id, created_us:
                                           kind.new(build(record_id, created_us)), ids=kind.ids, generation=generation,
                                           with_=joined))

    def get(self, sandbox: str, record_id: Any) -> T | None:
        record = self.store.get(sandbox, self.kind.kind, str(record_id))
        return None if record is None else self.kind.load(record)

    def update(self, sandbox: str, record_id: Any, fn: Callable[[T], V | None], *,
               generation: int | None = None) -> T | None:
        """Compare-and-set: ``fn(current)`` gives the new value or None (no change); None when gone."""
        kind = self.kind

        def change(record: Record) -> NewRecord | None:
            value = fn(kind.load(record))
            return None if value is None else kind.new(value)
        record = self.store.update(sandbox, kind.kind, str(record_id), change, generation=generation)
        return None if record is None else kind.load(record)

    def update_many(self, sandbox: str, record_ids: Sequence[Any],
                    fn: Callable[[tuple[T | None, ...]], Sequence[V | None]], *,
                    generation: int | None = None) -> tuple[T | None, ...]:
        """``Store.update_many`` over records of this kind (a missing one is None, and is created
        when ``fn`` gives it a value)."""
        kind = self.kind

        load = kind.load

        def change(current: tuple[Record | None, ...]) -> list[NewRecord | None]:
            values = fn(current if load is whole else tuple([None if record is None else load(record) for record in current]))
            return [None if value is None else kind.new(value) for value in values]
        name = kind.kind
        out = self.store.update_many(sandbox, [(name, str(record_id)) for record_id in record_ids], change,
                                     generation=generation)
        return tuple(out) if load is whole else tuple([None if record is None else load(record) for record in out])

    def create_missing(self, sandbox: str, items: Sequence[tuple[Any, V]], *,
                       generation: int | None = None) -> list[T | None]:
        """``Store.create_missing``: ``items`` are ``(id, value)``; per item what was created, or None
        where a record with that id existed (left as it is)."""
        kind, name = self.kind, self.kind.kind
        out = self.store.create_missing(sandbox, [(name, str(record_id), kind.new(value)) for record_id, value in items],
                                        generation=generation)
        return list(out) if kind.load is whole else [None if record is None else kind.load(record) for record in out]

    def page(self, sandbox: str, index: Index, *, low: float | None = None, high: float | None = None,
             offset: int = 0, limit: int | None = None, newest_first: bool = True) -> tuple[list[T], int]:
        """One page of ``index`` (see ``Store.page``) and the total in range."""
        found = self.store.page(sandbox, self._declared(index), low=low, high=high, offset=offset, limit=limit,
                                newest_first=newest_first)
        return [self.kind.load(record) for record in found.records], found.total

    def count(self, sandbox: str, index: Index) -> int:
        return self.store.page(sandbox, self._declared(index), limit=0).total

    def scan(self, sandbox: str, index: Index, *, low: float | None = None, high: float | None = None,
             newest_first: bool = True) -> Iterator[T]:
        load = self.kind.load
        return (load(record) for record in self.store.scan(sandbox, self._declared(index), low=low, high=high,
                                                           newest_first=newest_first))

    def trim(self, sandbox: str, index: Index, keep: int) -> int:
        return self.store.trim(sandbox, self._declared(index), keep)

    def _declared(self, index: Index) -> str:
        if not self.kind.declares(index):
            raise ValueError(f"{self.kind.kind} records declare no index '{index.name}'")
        return index.name


__all__ = ["Index", "IndexFamily", "RecordKind", "Repository", "whole"]
