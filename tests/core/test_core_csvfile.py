"""Unit tests for ``mock_server.csvfile`` (streaming CSV validation and compact rows)."""

from __future__ import annotations

import re

import pytest

from mock_server.csvfile import MAX_LISTED, VALUE_CUT, CsvIssue, CsvRejected, CsvRules, Rows, read_csv

HEADER = re.compile(r"[A-Za-z0-9_]+")
PHONE = re.compile(r"[1-9][0-9]{7,14}")
HEADER_REASON = "header names may only hold letters, digits and _"
PHONE_REASON = "must be a phone number with country code"

STRICT = CsvRules(header_pattern=HEADER, header_reason=HEADER_REASON,
                  first_column_pattern=PHONE, first_column_reason=PHONE_REASON)
SKIP = CsvRules(invalid_rows="skip", header_pattern=HEADER, header_reason=HEADER_REASON,
                first_column_pattern=PHONE, first_column_reason=PHONE_REASON)


def rejected(data: bytes, rules: CsvRules = STRICT) -> CsvRejected:
    with pytest.raises(CsvRejected) as info:
        read_csv(data, rules)
    return info.value


def all_rows(rows: Rows) -> list[list[str]]:
    return [rows.row(index) for index in range(len(rows))]


# --------------------------------------------------------------------------- accepted files


def test_valid_file():
    data = b"phone,name,amount\n593900000001,Ana,10\n593900000002,Luis,20\n"
    rows = read_csv(data, STRICT)
    assert len(rows) == 2
    assert rows.header == ["phone", "name", "amount"]
    assert all_rows(rows) == [["593900000001", "Ana", "10"], ["593900000002", "Luis", "20"]]
    assert rows.record(1) == {"phone": "593900000002", "name": "Luis", "amount": "20"}
    assert rows.first_cell(0) == "593900000001"
    assert [rows.line(i) for i in range(2)] == [2, 3]
    assert rows.invalid == {}


def test_valid_file_without_trailing_newline():
    rows = read_csv(b"phone,name\n593900000001,Ana\n593900000002,Luis", STRICT)
    assert all_rows(rows) == [["593900000001", "Ana"], ["593900000002", "Luis"]]
    assert [rows.line(i) for i in range(2)] == [2, 3]


def test_default_rules_accept_anything_non_empty():
    rows = read_csv(b"first name,x\nnot a phone,1\n", CsvRules())
    assert rows.header == ["first name", "x"]
    assert rows.row(0) == ["not a phone", "1"]


def test_bom_is_stripped():
    data = b"\xef\xbb\xbfphone,name\n593900000001,Ana\n"
    rows = read_csv(data, STRICT)
    assert rows.header == ["phone", "name"]
    assert rows.record(0) == {"phone": "593900000001", "name": "Ana"}
    assert rows.line(0) == 2


def test_bom_header_column_name_in_first_column_issue():
    error = rejected(b"\xef\xbb\xbfphone,name\nabc,Ana\n")
    assert error.issues == [CsvIssue(2, "phone", "abc", PHONE_REASON, "first_column")]


def test_crlf_line_endings():
    data = b"phone,name\r\n593900000001,Ana\r\n593900000002,Luis\r\n"
    rows = read_csv(data, STRICT)
    assert rows.header == ["phone", "name"]
    assert all_rows(rows) == [["593900000001", "Ana"], ["593900000002", "Luis"]]
    assert [rows.line(i) for i in range(2)] == [2, 3]


def test_quoted_cells_round_trip():
    data = (b'phone,note,quote\n'
            b'593900000001,"a, b","say ""hi"""\n'
            b'593900000002,"line one\nline two","x"\n'
            b'593900000003,"crlf\r\ninside",""\n'
            b'"593900000004",plain,"multi\n\nblank"\n')
    rows = read_csv(data, STRICT)
    assert len(rows) == 4
    assert rows.row(0) == ["593900000001", "a, b", 'say "hi"']
    assert rows.row(1) == ["593900000002", "line one\nline two", "x"]
    assert rows.row(2) == ["593900000003", "crlf\r\ninside", ""]
    assert rows.row(3) == ["593900000004", "plain", "multi\n\nblank"]
    assert rows.record(1) == {"phone": "593900000002", "note": "line one\nline two", "quote": "x"}
    assert rows.record(0)["quote"] == 'say "hi"'
    # line numbers: record 1 spans lines 3-4, record 2 lines 5-6, record 3 lines 7-9
    assert [rows.line(i) for i in range(4)] == [2, 3, 5, 7]


def test_unicode_cells():
    rows = read_csv("phone,name\n593900000001,José Ñandú 😀\n".encode(), STRICT)
    assert rows.row(0) == ["593900000001", "José Ñandú 😀"]


def test_blank_lines_are_ignored_and_lines_counted():
    data = b"\n\nphone,name\n\n593900000001,Ana\n\n\n593900000002,\"two\nlines\"\n\n593900000003,Eva\n\n"
    rows = read_csv(data, STRICT)
    assert rows.header == ["phone", "name"]
    assert all_rows(rows) == [["593900000001", "Ana"], ["593900000002", "two\nlines"], ["593900000003", "Eva"]]
    assert [rows.line(i) for i in range(3)] == [5, 8, 11]


def test_blank_lines_with_crlf():
    rows = read_csv(b"phone,name\r\n\r\n593900000001,Ana\r\n\r\n593900000002,Luis\r\n", STRICT)
    assert all_rows(rows) == [["593900000001", "Ana"], ["593900000002", "Luis"]]
    assert [rows.line(i) for i in range(2)] == [3, 5]


def test_header_on_later_line_reports_that_line():
    error = rejected(b"\n\nphone,bad name\n593900000001,x\n")
    assert [(i.line, i.column, i.value, i.code) for i in error.issues] == [(3, "#2", "bad name", "header")]


def test_record_with_missing_cells_under_skip():
    rows = read_csv(b"phone,name,city\n593900000001,Ana\n", SKIP)
    assert rows.record(0) == {"phone": "593900000001", "name": "Ana", "city": ""}


# --------------------------------------------------------------------------- empty files


@pytest.mark.parametrize("data", [b"", b"   ", b"\n\n\n", b" \r\n\t\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf \n"])
def test_empty_file(data):
    error = rejected(data)
    assert error.issues == [CsvIssue(None, None, None,
                                     "the file is empty: it needs a header row and at least one data row", "empty")]
    assert error.total == 1
    assert str(error) == "the file is empty: it needs a header row and at least one data row"


@pytest.mark.parametrize("data", [b"phone,name\n", b"phone,name", b"phone,name\n\n\n", b"\xef\xbb\xbfphone,name\r\n"])
def test_header_only(data):
    error = rejected(data)
    assert [(i.line, i.code, i.reason) for i in error.issues] == [
        (None, "no_rows", "the file has a header but no data rows: add at least one recipient")]
    assert error.total == 1


# --------------------------------------------------------------------------- encoding


def test_non_utf8_byte_names_the_line():
    error = rejected(b"phone,name\n593900000001,Ana\n593900000002,Jos\xe9\n")
    assert len(error.issues) == 1
    issue = error.issues[0]
    assert (issue.line, issue.column, issue.value, issue.code) == (3, None, None, "encoding")
    assert issue.reason == ("the file must be UTF-8 encoded: byte 0xe9 at character 17 is not UTF-8 "
                            "(save it as 'CSV UTF-8')")
    assert str(error).startswith("line 3: the file must be UTF-8 encoded")


def test_non_utf8_in_header():
    error = rejected(b"ph\xffone,name\n593900000001,Ana\n")
    assert [(i.line, i.code) for i in error.issues] == [(1, "encoding")]
    assert "byte 0xff at character 3" in error.issues[0].reason


# --------------------------------------------------------------------------- header


@pytest.mark.parametrize(("name", "column"), [("first name", "#2"), ("name!", "#2"), ("e-mail", "#2"), ("", "#2")])
def test_header_pattern_violation(name, column):
    error = rejected(f"phone,{name},city\n593900000001,a,b\n".encode())
    assert error.issues == [CsvIssue(1, column, name, HEADER_REASON, "header")]
    assert error.total == 1


def test_header_pattern_every_violation_listed():
    error = rejected(b"phone,first name,last.name,ok\n593900000001,a,b,c\n")
    assert [(i.line, i.column, i.value, i.code) for i in error.issues] == [
        (1, "#2", "first name", "header"), (1, "#3", "last.name", "header")]
    assert error.total == 2
    assert str(error) == f"line 1, column '#2': {HEADER_REASON} (value 'first name')"


def test_header_value_is_cut():
    long_name = "x y" * 40
    error = rejected(f"phone,{long_name}\n593900000001,a\n".encode())
    assert error.issues[0].value == long_name[:VALUE_CUT]


def test_empty_header_name_without_pattern():
    error = rejected(b"phone,,city\n1,2,3\n", CsvRules())
    assert error.issues == [CsvIssue(1, "#2", "", "header names must not be empty", "header")]


def test_duplicate_header():
    error = rejected(b"phone,name,name\n593900000001,a,b\n")
    assert error.issues == [CsvIssue(1, "#3", "name", "duplicate header name (also column #2)", "header_duplicate")]
    assert error.total == 1


def test_duplicate_header_repeated_three_times():
    error = rejected(b"a,b,a,a\n1,2,3,4\n", CsvRules())
    assert [(i.column, i.reason) for i in error.issues] == [
        ("#3", "duplicate header name (also column #1)"), ("#4", "duplicate header name (also column #1)")]


# --------------------------------------------------------------------------- row problems


def test_ragged_rows_listed_with_line():
    data = b"phone,name\n593900000001,Ana\n593900000002\n593900000003,Eva,extra\n593900000004,Luis\n"
    error = rejected(data)
    assert error.issues == [
        CsvIssue(3, None, "593900000002", "the row has 1 cells but the header has 2", "row_width"),
        CsvIssue(4, None, "593900000003,Eva,extra", "the row has 3 cells but the header has 2", "row_width"),
    ]
    assert error.total == 2
    assert str(error) == "line 3: the row has 1 cells but the header has 2 (value '593900000002')"


def test_first_column_pattern_failure():
    too_long = "5" * 80
    data = f"mobile,name\n593900000001,Ana\n+593900000002,Luis\n{too_long},Eva\n0123456789,Max\n".encode()
    error = rejected(data)
    assert error.issues == [
        CsvIssue(3, "mobile", "+593900000002", PHONE_REASON, "first_column"),
        CsvIssue(4, "mobile", "5" * 50, PHONE_REASON, "first_column"),
        CsvIssue(5, "mobile", "0123456789", PHONE_REASON, "first_column"),
    ]
    assert len(error.issues[1].value) == 50
    assert error.total == 3
    assert error.issues[0].to_dict() == {"line": 3, "column": "mobile", "value": "+593900000002",
                                         "reason": PHONE_REASON}
    assert error.issues[0].describe() == f"line 3, column 'mobile': {PHONE_REASON} (value '+593900000002')"


def test_ragged_value_is_cut():
    cells = ",".join(["593900000001"] + ["abcdefghij"] * 10)
    error = rejected(f"phone,name\n{cells}\n".encode())
    assert error.issues[0].value == cells[:50]
    assert error.issues[0].code == "row_width"


def test_more_than_100_problems_are_capped():
    lines = ["phone,name"] + [f"bad{index},x" for index in range(250)] + ["593900000001,ok"]
    error = rejected(("\n".join(lines) + "\n").encode())
    assert len(error.issues) == MAX_LISTED == 100
    assert error.total == 250
    assert [issue.line for issue in error.issues] == list(range(2, 102))
    assert error.issues[-1].value == "bad99"


def test_many_header_problems_are_capped():
    header = ",".join(f"bad name {index}" for index in range(130))
    error = rejected(f"{header}\n{','.join(['1'] * 130)}\n".encode())
    assert len(error.issues) == 100
    assert error.total == 130


def test_csv_rejected_caps_issues_directly():
    issues = [CsvIssue(i, None, None, "r", "c") for i in range(150)]
    error = CsvRejected(issues)
    assert len(error.issues) == 100
    assert error.total == 150
    assert str(CsvRejected([])) == "invalid CSV"


# --------------------------------------------------------------------------- max_rows


def test_max_rows_exactly_is_fine():
    rows = read_csv(b"phone\n593900000001\n593900000002\n", CsvRules(max_rows=2))
    assert len(rows) == 2


def test_max_rows_exceeded():
    data = b"phone\n593900000001\n\n593900000002\n593900000003\n"
    error = rejected(data, CsvRules(max_rows=2))
    assert error.issues == [CsvIssue(5, None, None, "the file has more than 2 data rows; split it into smaller files",
                                     "too_many_rows")]
    assert error.total == 1


def test_max_rows_message_uses_thousands_separator():
    lines = "\n".join(["phone"] + [str(593900000000 + i) for i in range(1001)])
    error = rejected(lines.encode(), CsvRules(max_rows=1000))
    assert error.issues[0].reason == "the file has more than 1,000 data rows; split it into smaller files"
    assert error.issues[0].line == 1002


def test_max_rows_applies_under_skip():
    error = rejected(b"phone\nx\ny\nz\n", CsvRules(max_rows=2, invalid_rows="skip"))
    assert error.issues[0].code == "too_many_rows"


# --------------------------------------------------------------------------- invalid_rows=skip


def test_skip_keeps_rows_and_marks_invalid():
    data = b"phone,name\n593900000001,Ana\nnot-a-phone,Luis\n593900000003\n593900000004,Eva\n"
    rows = read_csv(data, SKIP)
    assert len(rows) == 4
    assert all_rows(rows) == [["593900000001", "Ana"], ["not-a-phone", "Luis"], ["593900000003"],
                              ["593900000004", "Eva"]]
    assert rows.invalid == {
        1: f"line 3, column 'phone': {PHONE_REASON} (value 'not-a-phone')",
        2: "line 4: the row has 1 cells but the header has 2 (value '593900000003')",
    }
    assert [rows.line(i) for i in range(4)] == [2, 3, 4, 5]


def test_skip_with_every_row_invalid_still_returns_rows():
    rows = read_csv(b"phone\nx\ny\n", SKIP)
    assert len(rows) == 2
    assert sorted(rows.invalid) == [0, 1]


def test_skip_still_rejects_header_problems():
    error = rejected(b"phone,bad name\n593900000001,x\n", SKIP)
    assert error.issues[0].code == "header"


# --------------------------------------------------------------------------- syntax


def test_unterminated_quote():
    error = rejected(b'phone,name\n593900000001,"Ana\n593900000002,Luis\n')
    assert len(error.issues) == 1
    issue = error.issues[0]
    assert (issue.line, issue.column, issue.value, issue.code) == (2, None, None, "syntax")   # where the quote opens
    assert issue.reason == ("the file is not valid CSV: a quoted cell starting on this line is never closed "
                            "(unexpected end of data)")


def test_stray_quote_is_a_syntax_error():
    error = rejected(b'phone,name\n593900000001,"An"a\n')
    assert error.issues[0].code == "syntax"
    assert error.issues[0].line == 2
    assert error.issues[0].reason.startswith("the file is not valid CSV: ")


# --------------------------------------------------------------------------- first_cells_starting


def test_first_cells_starting_finds_exactly_the_reserved_records():
    data = (b"phone,name,note\n"
            b"593900000001,Ana,999 in the middle\n"          # 999 mid-row: not a match
            b"99901000001,Luis,x\n"                           # match, index 1
            b'"99904000002",Eva,quoted first cell\n'         # match (quoted), index 2
            b'593900000003,Max,"multi\n99905 inside a cell"\n'  # 999 after a newline inside a cell: no
            b"593999900004,Sol,999\n"                         # 999 inside the first cell, not at start
            b"\n"
            b"99907000005,Rui,after a blank line\n"            # match, index 5
            b'593900000006,"x\n""99901 quoted inside""",z\n'   # quote + 999 inside a cell: no
            b"99906000007,Ivy,last without newline")          # match, index 7
    rows = read_csv(data, STRICT)
    assert len(rows) == 8
    assert rows.row(3) == ["593900000003", "Max", "multi\n99905 inside a cell"]
    assert rows.row(6) == ["593900000006", 'x\n"99901 quoted inside"', "z"]
    assert [rows.line(i) for i in range(8)] == [2, 3, 4, 5, 7, 9, 10, 12]
    assert rows.first_cells_starting("999") == {1: "99901000001", 2: "99904000002", 5: "99907000005",
                                                7: "99906000007"}
    assert rows.first_cells_starting("99904") == {2: "99904000002"}
    assert rows.first_cells_starting("5939") == {0: "593900000001", 3: "593900000003", 4: "593999900004",
                                                 6: "593900000006"}
    assert rows.first_cells_starting("12345") == {}


def test_first_cells_starting_first_record_and_crlf_and_bom():
    data = b'\xef\xbb\xbfphone,name\r\n99901000001,a\r\n"99902000002",b\r\n593900000003,c\r\n'
    rows = read_csv(data, STRICT)
    assert rows.first_cells_starting("999") == {0: "99901000001", 1: "99902000002"}


def test_first_cells_starting_does_not_match_header():
    rows = read_csv(b"999phone\n593900000001\n", CsvRules())
    assert rows.first_cells_starting("999") == {}


# --------------------------------------------------------------------------- memory


def test_nbytes_small_for_10k_rows():
    count = 10_000
    lines = ["phone,order_id,amount"] + [f"{593900000000 + i},A{i:05d},{i}.50" for i in range(count)]
    data = ("\n".join(lines) + "\n").encode()
    rows = read_csv(data, STRICT)
    assert len(rows) == count
    assert rows.nbytes == len(data)                  # fast path: offsets computed on first use
    assert rows.row(count - 1) == [str(593900000000 + count - 1), f"A{count - 1:05d}", f"{count - 1}.50"]
    assert rows.line(count - 1) == count + 1
    assert rows.nbytes == len(data) + 8 * (count + 1)
