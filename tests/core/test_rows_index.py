"""The destination index: ``Rows.find`` gives exactly what a full scan of the first cells gives."""

from __future__ import annotations

import random

import pytest

from mock_server.csvfile import CsvRules, read_csv


def scan(rows, value):
    return [i for i in range(len(rows)) if (rows.row(i) or [""])[0] == value]       # each row parsed whole


@pytest.mark.parametrize("text", [
    'phone,name\n111,a\n"222",b\n"3,33","c"\n44"4,d\n,e\n\u00f1and\u00fa,f\n5 ,g\n"6""6",h\n777,i\n',
    'phone,name\r\n111,a\r\n"2\r\n22",b\r\n333,\r\n,\r\n"",x\r\n88,"multi\nline"\r\n9,z',
    "phone\n1\n2\n3",
])
def test_first_cell_is_the_first_cell_csv_reads(text):
    """A record's first cell, unquoted ones read straight from the bytes: what ``csv`` parses
    (quotes, a quote inside an unquoted cell, empty cells, non-ASCII, CRLF, multi-line records,
    no trailing newline), on both representations."""
    rows = read_csv(text.encode(), CsvRules())
    assert len(rows) > 2
    assert [rows.first_cell(i) for i in range(len(rows))] == [(rows.row(i) or [""])[0] for i in range(len(rows))]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_find_matches_a_full_scan_on_the_fast_path(newline):
    generator = random.Random(3)
    phones = [f"59399{generator.randrange(40):06d}" for _ in range(500)]      # many repeats
    text = newline.join(["phone,name", *(f"{phone},n{i}" for i, phone in enumerate(phones))]) + newline
    rows = read_csv(text.encode(), CsvRules())
    assert rows._lines is None                  # the one-record-per-line representation
    for phone in set(phones) | {"593990000999", "", "5939900000"}:
        assert rows.find(phone) == scan(rows, phone)
    assert len(rows._index) == 500 and rows.nbytes >= len(text) + 4 * 500


def test_find_handles_quoted_cells_and_multi_line_records():
    text = ('phone,note\n"111",a\n222,"two\nlines"\n111,b\n"3,33",c\n222,d\n').encode()
    rows = read_csv(text, CsvRules())
    assert rows._lines is not None              # the streaming reader's representation
    assert rows.find("111") == [0, 2]
    assert rows.find("222") == [1, 4]
    assert rows.find("3,33") == [3]
    assert rows.find("3") == [] and rows.find("11") == []


def test_find_without_a_trailing_newline_and_one_column():
    rows = read_csv(b"phone\n5\n4\n5", CsvRules())
    assert rows.find("5") == [0, 2] and rows.find("4") == [1] and rows.find("") == []
