"""The in-memory store's ordered index: entries ``(score, seq, ref)`` in sorted order.

Kept as a list of sorted chunks of at most ``2 * LOAD`` entries, plus each chunk's last entry
(the layout of ``sortedcontainers``' ``SortedList``): an entry added or removed anywhere moves at
most one chunk, never the whole tail. One flat list did: the webhook dispatcher removes its
finished deliveries near the front of the large ``pending`` and ``due`` indexes, a move of every
entry behind them per removal (7 % of its time). An entry is one tuple (a small index is three
lists and the object: per-recipient indexes are many). ``seq`` is unique per record, so entries
never tie. Positions (for pages) are counted over the chunks' lengths (one C-speed sum per read).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import accumulate
from typing import Iterable

_INF = float("inf")
LOAD = 512                 # a chunk is split in two beyond 2 * LOAD entries

Key = tuple[float, int]
Ref = tuple[str, str]
Entry = tuple[float, int, Ref]


class Index:
    """Entries ordered by (score, seq)."""

    __slots__ = ("_chunks", "_maxes", "_size")

    def __init__(self) -> None:
        self._chunks: list[list[Entry]] = []
        self._maxes: list[Entry] = []          # each chunk's last entry
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def keys(self) -> list[Key]:
        """Every key ``(score, seq)``, in order (a copy)."""
        return [entry[:2] for chunk in self._chunks for entry in chunk]

    @property
    def refs(self) -> list[Ref]:
        """Every reference, in order (a copy)."""
        return [entry[2] for chunk in self._chunks for entry in chunk]

    def add(self, entry: Entry) -> None:
        """Add ``(score, seq, ref)``."""
        maxes = self._maxes
        self._size += 1
        if not maxes:
            self._chunks.append([entry])
            maxes.append(entry)
            return
        if entry >= maxes[-1]:                # the usual case: a newer entry
            position = len(maxes) - 1
            chunk = self._chunks[position]
            chunk.append(entry)
            maxes[position] = entry
        else:
            position = bisect_right(maxes, entry)
            chunk = self._chunks[position]
            chunk.insert(bisect_right(chunk, entry), entry)
        if len(chunk) > 2 * LOAD:
            self._chunks[position:position + 1] = [chunk[:LOAD], chunk[LOAD:]]
            maxes[position:position + 1] = [chunk[LOAD - 1], chunk[-1]]

    def remove(self, entry: Entry) -> None:
        """Remove ``(score, seq, ref)`` (nothing when it is not there)."""
        maxes = self._maxes
        position = bisect_left(maxes, entry)
        if position == len(maxes):
            return
        chunk = self._chunks[position]
        at = bisect_left(chunk, entry)
        if chunk[at] != entry:
            return
        del chunk[at]
        self._size -= 1
        if not chunk:
            del self._chunks[position], maxes[position]
        elif at == len(chunk):
            maxes[position] = chunk[-1]

    def remove_many(self, entries: Iterable[Entry]) -> None:
        """Remove each of these entries (those not there are ignored)."""
        for entry in entries:
            self.remove(entry)

    def clear(self) -> None:
        self._chunks, self._maxes, self._size = [], [], 0

    def pop_front(self, count: int) -> list[Ref]:
        """Remove the first ``count`` entries; their references, in order."""
        chunks, maxes = self._chunks, self._maxes
        gone: list[Entry] = []
        whole = 0
        while whole < len(chunks) and count - len(gone) >= len(chunks[whole]):
            gone += chunks[whole]
            whole += 1
        del chunks[:whole], maxes[:whole]
        rest = count - len(gone)
        if rest > 0 and chunks:
            gone += chunks[0][:rest]
            del chunks[0][:rest]
        self._size -= len(gone)
        return [entry[2] for entry in gone]

    def bounds(self, low: float | None, high: float | None) -> tuple[int, int]:
        """The positions ``[start, end)`` of the entries scored from ``low`` to ``high`` (None: open)."""
        start = 0 if low is None else self._rank(bisect_left, (low, -1))
        end = self._size if high is None else self._rank(bisect_right, (high, _INF))
        return start, max(start, end)

    def _rank(self, search, key) -> int:
        maxes = self._maxes
        position = search(maxes, key)
        if position >= len(maxes):
            return self._size
        return sum(map(len, self._chunks[:position])) + search(self._chunks[position], key)

    def slice(self, start: int, stop: int) -> list[Ref]:
        """The references at positions ``[start, stop)``, in order."""
        if start >= stop:
            return []
        chunks = self._chunks
        if len(chunks) == 1:
            return [entry[2] for entry in chunks[0][start:stop]]
        ends = list(accumulate(map(len, chunks)))
        position = bisect_right(ends, start)
        out: list[Ref] = []
        begin = ends[position - 1] if position else 0
        while position < len(chunks) and begin < stop:
            out += [entry[2] for entry in chunks[position][start - begin if start > begin else 0:stop - begin]]
            begin = ends[position]
            position += 1
        return out


__all__ = ["Index", "LOAD"]
