"""How an uploaded CSV (:class:`~mock_server.rows.Rows`) is stored: whole, as plain data under the
codec tag ``rows``, or as a reference to the blob a store keeps (``rows.kept``). The tags are stable
across versions (stored data is read by them); ``create_app`` registers them once."""

from __future__ import annotations

from array import array

from .rows import Rows
from .store import codec


def _to_plain(rows: Rows) -> list:
    offsets = rows._offsets.tobytes() if rows._offsets is not None and rows._lines is not None else None
    lines = rows._lines.tobytes() if rows._lines is not None else None
    return [rows._data, offsets, lines, rows._first, rows._count, list(rows.header), rows.invalid]


def _from_plain(plain: list) -> Rows:
    data, offsets, lines, first, count, header, invalid = plain
    if lines is None:
        rows = Rows.one_per_line(data, first, count, header)
        rows.invalid = dict(invalid)
        return rows
    return Rows(data, array("Q", offsets), array("I", lines), header, dict(invalid))


def register_codecs() -> None:
    """Make rows storable: whole (``rows``), or as a reference to the blob a store keeps."""
    codec.register(Rows, "rows", _to_plain, _from_plain)
    codec.register_blob(Rows, "rows.kept")
