"""The in-memory store's ordered index: entries ``(key, ref)`` sorted by key ``(score, seq)``.

Kept as a list of sorted chunks of at most ``2 * LOAD`` entries (parallel lists of keys and
references, plus each chunk's last key), the layout of ``sortedcontainers``' ``SortedList``: an
entry added or removed anywhere moves at most one chunk, never the whole tail. One flat list
did: the webhook dispatcher removes its finished deliveries near the front of the large
``pending`` and ``due`` indexes, a move of every entry behind them per removal (7 % of its time).
Positions (for pages) are counted over the chunks' lengths (one C-speed sum per read).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import accumulate
from typing import Iterable

_INF = float("inf")
LOAD = 512                 # a chunk is split in two beyond 2 * LOAD entries

Key = tuple[float, int]
Ref = tuple[str, str]


class Index:
    """Entries ordered by (score, seq); equal keys keep the order they were added in."""

    __slots__ = ("_keys", "_refs", "_maxes", "_size")

    def __init__(self) -> None:
        self._keys: list[list[Key]] = []
        self._refs: list[list[Ref]] = []
        self._maxes: list[Key] = []           # each chunk's last key
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def keys(self) -> list[Key]:
        """Every key, in order (a copy)."""
        return [key for chunk in self._keys for key in chunk]

    @property
    def refs(self) -> list[Ref]:
        """Every reference, in order (a copy)."""
        return [ref for chunk in self._refs for ref in chunk]

    def add(self, key: Key, ref: Ref) -> None:
        maxes = self._maxes
        self._size += 1
        if not maxes:
            self._keys.append([key])
            self._refs.append([ref])
            maxes.append(key)
            return
        if key >= maxes[-1]:                  # the usual case: a newer entry
            position = len(maxes) - 1
            keys = self._keys[position]
            keys.append(key)
            self._refs[position].append(ref)
            maxes[position] = key
        else:
            position = bisect_right(maxes, key)
            keys = self._keys[position]
            at = bisect_right(keys, key)
            keys.insert(at, key)
            self._refs[position].insert(at, ref)
        if len(keys) > 2 * LOAD:
            refs = self._refs[position]
            self._keys[position:position + 1] = [keys[:LOAD], keys[LOAD:]]
            self._refs[position:position + 1] = [refs[:LOAD], refs[LOAD:]]
            maxes[position:position + 1] = [keys[LOAD - 1], keys[-1]]

    def remove(self, key: Key, ref: Ref) -> None:
        """Remove the entry ``(key, ref)`` (nothing when it is not there)."""
        maxes = self._maxes
        position = bisect_left(maxes, key)
        while position < len(maxes):
            keys = self._keys[position]
            at = bisect_left(keys, key)
            refs = self._refs[position]
            while at < len(keys) and keys[at] == key:
                if refs[at] == ref:
                    self._delete(position, at)
                    return
                at += 1
            if at < len(keys):                # a greater key: it is not there
                return
            position += 1                     # equal keys may go on in the next chunk

    def _delete(self, position: int, at: int) -> None:
        keys, refs = self._keys[position], self._refs[position]
        del keys[at], refs[at]
        self._size -= 1
        if not keys:
            del self._keys[position], self._refs[position], self._maxes[position]
        elif at == len(keys):
            self._maxes[position] = keys[-1]

    def remove_many(self, entries: Iterable[tuple[Key, Ref]]) -> None:
        """Remove each of these entries (those not there are ignored)."""
        for key, ref in entries:
            self.remove(key, ref)

    def clear(self) -> None:
        self._keys, self._refs, self._maxes, self._size = [], [], [], 0

    def pop_front(self, count: int) -> list[Ref]:
        """Remove the first ``count`` entries; their references, in order."""
        out: list[Ref] = []
        keys, refs, maxes = self._keys, self._refs, self._maxes
        whole = 0
        while whole < len(keys) and count - len(out) >= len(refs[whole]):
            out += refs[whole]
            whole += 1
        del keys[:whole], refs[:whole], maxes[:whole]
        rest = count - len(out)
        if rest > 0 and keys:
            out += refs[0][:rest]
            del keys[0][:rest], refs[0][:rest]
        self._size -= len(out)
        return out

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
        return sum(map(len, self._keys[:position])) + search(self._keys[position], key)

    def slice(self, start: int, stop: int) -> list[Ref]:
        """The references at positions ``[start, stop)``, in order."""
        if start >= stop:
            return []
        refs = self._refs
        if len(refs) == 1:
            return refs[0][start:stop]
        ends = list(accumulate(map(len, refs)))
        position = bisect_right(ends, start)
        out: list[Ref] = []
        begin = ends[position - 1] if position else 0
        while position < len(refs) and begin < stop:
            out += refs[position][start - begin if start > begin else 0:stop - begin]
            begin = ends[position]
            position += 1
        return out


__all__ = ["Index", "LOAD"]
