"""One upload's file is passed over as few times as its checks need: the journal's summary and
the CSV check share one line count, and the reserved recipients are found in one search."""

from __future__ import annotations

import functools

import pytest

from mock_server import bodies, csvfile, rows
from mock_server.indigitall import backend as indigitall_backend
from mock_server.jelou import backend as jelou_backend
from support.indigitall import contacts, send
from support.jelou import order_csv, send_form


@pytest.fixture
def counted(monkeypatch):
    """``{"counts": line counts made, "read_csv": the newlines each CSV check was given}``."""
    seen = {"counts": 0, "read_csv": []}
    count = bodies.FilePart.newlines.func

    def counting(part):
        seen["counts"] += 1
        return count(part)

    def read_csv(data, rules, **options):
        seen["read_csv"].append(options.get("newlines"))
        return csvfile.read_csv(data, rules, **options)

    patched = functools.cached_property(counting)
    patched.__set_name__(bodies.FilePart, "newlines")
    monkeypatch.setattr(bodies.FilePart, "newlines", patched)
    monkeypatch.setattr(jelou_backend, "read_csv", read_csv)
    monkeypatch.setattr(indigitall_backend, "read_csv", read_csv)
    return seen


def test_a_jelou_upload_counts_its_lines_once_for_the_journal_and_the_csv_check(client, counted):
    csv = order_csv(5)
    assert send_form(client, csv).status_code == 200
    [entry] = client.get("/_mock/requests").json["requests"]
    assert entry["body"]["files"][0]["rows"] == 5                   # the journal's summary
    assert counted["read_csv"] == [csv.count(b"\n")]                 # the CSV check got the same count
    assert counted["counts"] == 1


def test_an_indigitall_upload_counts_its_lines_once(client, counted):
    csv = contacts(3)
    assert send(client, csv).status_code == 201
    [entry] = client.get("/_mock/requests").json["requests"]
    assert entry["body"]["files"][0]["rows"] == 3
    assert counted["read_csv"] == [csv.count(b"\n")] and counted["counts"] == 1


def test_a_given_line_count_reads_the_same_rows_as_counting_again():
    data = b"phone,name\r\n99901000001,a\r\n593900000003,c"          # no final line break
    rules = csvfile.CsvRules()
    for newlines in (None, data.count(b"\n")):
        read = csvfile.read_csv(data, rules, newlines=newlines)
        assert (len(read), read.row(1), read.first_cells_starting("999")) == (2, ["593900000003", "c"], {0: "99901000001"})


def test_reserved_recipients_are_found_in_one_pass_over_the_file(monkeypatch):
    class Watched(bytes):
        finds = 0

        def find(self, *args):
            Watched.finds += 1
            return super().find(*args)

    data = Watched(b'phone,name\n99901000001,a\n"99902000002",b\n593999900003,c\n')
    found = rows.Rows.one_per_line(data, data.index(b"\n") + 1, 3, ["phone", "name"])
    assert found.first_cells_starting("999") == {0: "99901000001", 1: "99902000002"}
    assert Watched.finds == 0          # one regex pass over the bytes, no search per spelling
