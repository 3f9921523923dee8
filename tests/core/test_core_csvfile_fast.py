"""The fast path of read_csv accepts only what the streaming reader accepts, with identical rows."""

from __future__ import annotations

import csv
import io
import re

from hypothesis import HealthCheck, given, settings, strategies as st

from harness.csvgen import generate
from mock_server import csvfile
from mock_server.csvfile import BOM, CsvRejected, CsvRules, Rows, _read_fast

PHONE = re.compile(r"[1-9][0-9]{7,14}")
RULES = [CsvRules(header_pattern=re.compile(r"[A-Za-z0-9_]+"), first_column_pattern=PHONE), CsvRules(),
         CsvRules(max_rows=3), CsvRules(invalid_rows="skip", first_column_pattern=PHONE),
         CsvRules(first_column_pattern=re.compile(r"[0-9]*")),
         CsvRules(max_cell_chars=3, first_column_pattern=PHONE), CsvRules(max_cell_chars=2)]   # cells bounded in the regex


def slow(data: bytes, rules: CsvRules) -> Rows:
    """The streaming reader alone (the fast path disabled)."""
    original, csvfile._read_fast = csvfile._read_fast, lambda *args: None
    try:
        return csvfile.read_csv(data, rules)
    finally:
        csvfile._read_fast = original


def same(data: bytes, rules: CsvRules) -> bool:
    """True when the fast path took the file; then it must match the streaming reader exactly."""
    fast = _read_fast(data, rules)
    counted = _read_fast(data, rules, data.count(b"\n"))     # the count an upload's part carries
    assert (fast is None) == (counted is None) and (fast is None or len(fast) == len(counted))
    if fast is None:
        return False
    try:
        expected = slow(data, rules)
    except CsvRejected as exc:
        raise AssertionError(f"fast path accepted what the reader rejects ({exc.issues[0].describe()}): {data!r}")
    assert (fast.header, fast.invalid, len(fast)) == (expected.header, expected.invalid, len(expected))
    assert [fast.row(i) for i in range(len(fast))] == [expected.row(i) for i in range(len(expected))]
    assert [fast.line(i) for i in range(len(fast))] == [expected.line(i) for i in range(len(expected))]
    assert list(fast.iter_rows()) == list(expected.iter_rows())
    assert fast.first_cells_starting("999") == expected.first_cells_starting("999")
    return True


PIECES = st.sampled_from(["1", "9", "5", "a", "_", ",", '"', "\n", "\r", " ", "é", "\r\n", '""', "\ufeff", "99901"])


@settings(max_examples=1500, suppress_health_check=list(HealthCheck), deadline=None)
@given(st.lists(PIECES, max_size=40).map("".join), st.sampled_from(RULES), st.booleans())
def test_random_text(text, rules, bom):
    same((BOM if bom else b"") + text.encode("utf-8"), rules)


@settings(max_examples=1500, suppress_health_check=list(HealthCheck), deadline=None)
@given(st.integers(1, 4), st.lists(st.tuples(st.sampled_from(["593991234567", "99901000001", "0123", "+59399", ""]),
                                             st.lists(st.text(st.sampled_from(list('ab1,"\n\r é9')), max_size=6), max_size=4)),
                                   max_size=6),
       st.sampled_from(["\n", "\r\n"]), st.booleans(), st.sampled_from(RULES))
def test_written_by_csv_writer(width, rows, terminator, final_newline, rules):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=terminator)
    writer.writerow(["phone"] + [f"c{i}" for i in range(1, width)])
    for first, rest in rows:
        writer.writerow([first] + rest[:width - 1])
    text = out.getvalue()
    if not final_newline:
        text = text.removesuffix(terminator)
    same(text.encode("utf-8"), rules)


def test_generated_files_take_the_fast_path():
    for provider, preset, extra in (("jelou", "jelou:order_confirmation", {}), ("indigitall", "indigitall:template", {}),
                                    ("jelou", "jelou:welcome_message", {}), ("jelou", "jelou:order_confirmation",
                                                                            {"magic_rate": 0.1, "invalid": ("bom",)})):
        out = io.BytesIO()
        generate(out, provider, preset, 2000, seed=5, **extra)
        assert same(out.getvalue(), RULES[0] if provider == "jelou" else RULES[1]), preset


def test_what_the_fast_path_leaves_to_the_reader():
    header = b"phone,name\n"
    for body in (b'593991234567,"two\nlines"\n', b"593991234567,a\n\n593991234568,b\n", b"593991234567,a\rb\n",
                 b'593991234567,say "hi"\n', b"+593991234567,a\n", b"593991234567\n", b"\xff,a\n"):
        assert _read_fast(header + body, RULES[0]) is None, body
    assert _read_fast(header + b"593991234567,a\n", CsvRules(first_column_pattern=re.compile(r"[^x]+"))) is None
    assert _read_fast(header + b"593991234567,a\n" * 4, RULES[2]) is None          # max_rows 3: the reader says so
