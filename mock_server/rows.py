"""Compact storage of an accepted CSV: the file's bytes plus one offset per record.

Any record can be parsed again on demand (inspection, notifications) without keeping a list of
rows; ``iter_rows`` re-reads all of them with one ``csv.reader``.

Finding the records whose first cell (the recipient) equals a value (``find``) uses the
*destination index*: the record indexes sorted by first cell, 4 bytes a record, built on first use
(one C-speed regex pass and one sort) and kept, so each lookup is a binary search that parses about
20 records whatever the file's size.

A :class:`Rows` is a store :class:`~mock_server.store.base.Blob`: a shared store (Redis) keeps
its bytes once, apart from the records holding it, and gives back a :class:`LazyRows` over them,
which fetches the bytes on first use and shares the destination index between processes; how a
:class:`Rows` is encoded for a store (its codec tags) is ``rows_codec.py``.
"""

from __future__ import annotations

import bisect
import csv
import functools
import io
import re
from array import array
from itertools import accumulate

from typing import Any, Mapping

from .store.base import Blob, BlobSource

_FIRST_CELLS = re.compile(rb"^[^,\r\n]*", re.M)


@functools.lru_cache(maxsize=16)
def _line_starting(prefix: str) -> re.Pattern:
    """A line break followed by ``prefix``, quoted or not: ``re`` finds the break at C speed
    (a literal first byte) and tries the rest only there, one pass for both spellings."""
    return re.compile(b'\n"?' + re.escape(prefix.encode("utf-8")))


class Rows(Blob):
    """The accepted records of one file, stored as the file's bytes plus record offsets."""

    __slots__ = ("_data", "_offsets", "_lines", "_first", "_count", "header", "invalid", "_index")

    def __init__(self, data: bytes, offsets: array, lines: array, header: list[str],
                 invalid: dict[int, str]) -> None:
        self._data = data
        self._offsets = offsets      # start of record i; the last entry is the end of the last record
        self._lines = lines          # 1-based file line where record i starts
        self._first = offsets[0] if len(offsets) else 0
        self._count = len(offsets) - 1
        self.header = header
        self.invalid = invalid       # record index -> reason, for rows kept under invalid_rows=skip
        self._index = None           # destination index, built by the first ``find``

    @classmethod
    def one_per_line(cls, data: bytes, first: int, count: int, header: list[str]) -> "Rows":
        """``count`` records that are the lines from byte ``first`` on (the header on line 1):
        offsets are computed on first use, record ``i`` starts on line ``i + 2``."""
        rows = cls.__new__(cls)
        rows._data, rows._offsets, rows._lines, rows._first, rows._count = data, None, None, first, count
        rows.header, rows.invalid, rows._index = header, {}, None
        return rows

    def __len__(self) -> int:
        return self._count

    def _starts(self) -> array:
        if self._offsets is None:    # two threads may both compute it: same result, no harm
            lengths = map(len, self._data[self._first:].splitlines(True))
            self._offsets = array("Q", accumulate(lengths, initial=self._first))
        return self._offsets

    def row(self, index: int) -> list[str]:
        """Record ``index`` (0-based) as a list of cells."""
        starts = self._starts()
        raw = self._data[starts[index]:starts[index + 1]].decode("utf-8")
        cells = next(csv.reader(io.StringIO(raw)), [])
        return cells

    def iter_rows(self):
        """Every record in order, parsed by one ``csv.reader`` over the stored bytes (fast)."""
        if len(self) == 0:
            return
        stream = io.TextIOWrapper(io.BytesIO(self._data[self._first:]), encoding="utf-8", newline="")
        for cells in csv.reader(stream):
            if cells:
                yield cells

    def record(self, index: int) -> dict[str, str]:
        """Record ``index`` as ``{header: cell}`` (missing cells are empty strings)."""
        cells = self.row(index)
        return {name: cells[i] if i < len(cells) else "" for i, name in enumerate(self.header)}

    def first_cell(self, index: int) -> str:
        """Record ``index``'s first cell: an unquoted one read straight from the bytes (up to the
        first comma or the line's end, as ``csv`` reads it), a quoted one parsed (:meth:`row`)."""
        starts = self._starts()
        raw = self._data[starts[index]:starts[index + 1]]
        if raw.startswith(b'"'):
            cells = self.row(index)
            return cells[0] if cells else ""
        end = raw.find(b",")
        return (raw[:end] if end >= 0 else raw.rstrip(b"\r\n")).decode("utf-8")

    def first_cells_starting(self, prefix: str) -> dict[int, str]:
        """``{index: first cell}`` of the records whose first cell starts with ``prefix``.

        Searches the raw bytes (C speed, one pass) for a line break followed by the prefix, quoted
        or not, and parses only the records starting there, so finding the few reserved
        recipients of a million-row file does not parse every row.
        """
        found: dict[int, str] = {}
        for hit in _line_starting(prefix).finditer(self._data):
            starts = self._starts()
            position = hit.start() + 1
            index = bisect.bisect_right(starts, position) - 1
            if 0 <= index < len(self) and starts[index] == position:
                cell = self.first_cell(index)
                if cell.startswith(prefix):
                    found[index] = cell
        return found

    def find(self, first_cell: str) -> list[int]:
        """Indexes (ascending) of the records whose first cell is exactly ``first_cell``."""
        index = self._destination_index()
        target = first_cell.encode("utf-8")
        key = self._first_bytes
        start = bisect.bisect_left(index, target, key=key)
        end = bisect.bisect_right(index, target, lo=start, key=key)
        return sorted(index[start:end])

    def _first_bytes(self, record: int) -> bytes:
        starts = self._starts()
        raw = self._data[starts[record]:starts[record + 1]]
        if raw.startswith(b'"'):
            return self.first_cell(record).encode("utf-8")
        end = raw.find(b",")
        return raw[:end] if end >= 0 else raw.rstrip(b"\r\n")

    def _destination_index(self) -> array:
        if self._index is None:      # two threads may both build it: same result, no harm
            index = self._load_index()
            if index is None:
                index = self._build_index()
                self._save_index(index)
            self._index = index
        return self._index

    def _build_index(self) -> array:
        if self._lines is None:      # one record per line: every first cell in one C-speed pass
            cells = _FIRST_CELLS.findall(self._data, self._first)[:self._count]
            for position, cell in enumerate(cells):
                if cell.startswith(b'"'):
                    cells[position] = self.first_cell(position).encode("utf-8")
        else:
            cells = [self.first_cell(record).encode("utf-8") for record in range(self._count)]
        return array("I", sorted(range(len(cells)), key=cells.__getitem__))

    def _load_index(self) -> array | None:
        return None

    def _save_index(self, index: array) -> None:
        """Nothing to do in memory: the index stays on this object."""

    def find_in_first_cells(self, text: str, limit: int) -> list[int]:
        """Indexes (in order) of the first ``limit`` records whose first cell contains ``text``
        (which holds no comma or quote).

        Searches the raw bytes (C speed) and looks only at the lines a hit is on, so finding a few
        numbers in a million rows does not parse every row; in a file with multi-line cells, a
        hit counts only on a line where a record starts.
        """
        if not text or any(ch in text for ch in ',"\r\n'):
            return []
        data, needle, found = self._data, text.encode("utf-8"), []
        offsets = None
        position = data.find(needle, self._first)
        while position >= 0:
            start = data.rfind(b"\n", 0, position) + 1
            if b"," not in data[start:position]:
                offsets = offsets if offsets is not None else self._starts()
                index = bisect.bisect_right(offsets, start) - 1
                if 0 <= index < len(self) and offsets[index] == start:
                    found.append(index)
                    if len(found) >= limit:
                        break
            end = data.find(b"\n", position)
            if end < 0:
                break
            position = data.find(needle, end)
        return found

    def line(self, index: int) -> int:
        return self._lines[index] if self._lines is not None else index + 2

    @property
    def nbytes_content(self) -> int:
        """Bytes of the CSV as uploaded."""
        return len(self._data)

    @property
    def nbytes(self) -> int:
        """Bytes held: the file, plus 8 per offset, 4 per line number and 4 per destination-index
        entry when they are stored."""
        offsets = 8 * len(self._offsets) if self._offsets is not None else 0
        index = 4 * len(self._index) if self._index is not None else 0
        return len(self._data) + offsets + index + (4 * len(self._lines) if self._lines is not None else 0)


    # -- kept by a store as a blob (``mock_server.store.base.Blob``) --------------------------
    def blob_parts(self) -> Mapping[str, bytes]:
        """The CSV bytes as uploaded; ``o``/``l`` record offsets and line numbers, only for files
        the streaming reader had to read (quoted line breaks, blank lines...); ``d`` the
        destination index (4 bytes a record) when it was built already."""
        parts = {"": self._data}
        if self._lines is not None:
            parts["o"] = self._offsets.tobytes()
            parts["l"] = self._lines.tobytes()
        if self._index is not None:
            parts["d"] = self._index.tobytes()
        return parts

    def blob_ref(self) -> list:
        """Plain data a record keeps to refer to the kept rows (asked of kept ones too: no bytes read)."""
        return [self.nbytes_content, self._first, self._count, list(self.header), self.invalid, self._lines is not None]

    @classmethod
    def from_blob(cls, source: BlobSource, ref: Any) -> "LazyRows":
        return LazyRows.refer(source, *ref)


class LazyRows(Rows):
    """A :class:`Rows` whose bytes (and offsets, index) stay in a store until a process needs
    them: read through the store's :class:`~mock_server.store.base.BlobSource`, which caches them
    with what is derived from them (record offsets, the index as an array), so a process computes
    those once per CSV, not once per request. Blobs never change, so a cached copy is never stale."""

    __slots__ = ("_source", "_size")

    @property
    def _data(self) -> bytes:          # shadows Rows' slot: the bytes come from the source
        return self._source.get("")

    @property
    def blob_source(self) -> BlobSource:
        return self._source

    @classmethod
    def refer(cls, source: BlobSource, size: int, first: int, count: int, header: list[str],
              invalid: dict[int, str], stored: bool) -> "LazyRows":
        rows = cls.__new__(cls)
        rows._source, rows._size = source, size
        rows._first, rows._count, rows.header, rows._index = first, count, list(header), None
        rows.invalid = {int(k): v for k, v in invalid.items()}
        rows._offsets = rows._lines = None
        if stored:                     # offsets and line numbers were kept: fetch them with the bytes
            rows._offsets = array("Q", source.get("o"))
            rows._lines = array("I", source.get("l"))
        return rows

    def _starts(self) -> array:
        """Record offsets, computed once per process for this CSV (not per decoded record)."""
        if self._offsets is None:
            self._offsets = self._source.derived("starts", lambda: Rows._starts(self))
        return self._offsets

    def _load_index(self) -> array | None:
        def load() -> array | None:
            raw = self._source.get("d", missing_ok=True)
            return None if raw is None else array("I", raw)
        return self._source.derived("index", load)

    def _save_index(self, index: array) -> None:
        self._source.put("d", index.tobytes())
        self._source.remember("index", index)

    @property
    def nbytes_content(self) -> int:
        return self._size

    @property
    def nbytes(self) -> int:
        return self._size + (4 * len(self._index) if self._index is not None else 0)
