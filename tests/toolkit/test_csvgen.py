"""Tests for the CSV generator (harness.csvgen, fakes, presets, defects, magic, csv command)."""
from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import subprocess
import sys
import time
import tracemalloc

import pytest

from harness import defects as d
from harness.cli import main
from harness.csvgen import BOM_BYTES, generate
from harness.fakes import LOCALES, PHONE_PATTERNS, build_phone, resolve_locales
from harness.magic import MAGIC_OUTCOMES, magic_code
from harness.presets import (INDIGITALL_TEMPLATE_LAYOUT, INDIGITALL_TEXT_LAYOUT, PRESETS,
                             UnknownPreset, get_preset, layout_variables)

PHONE = re.compile(r"[1-9][0-9]{7,14}\Z")
JELOU_NAME = re.compile(r"[A-Za-z0-9_]+\Z")
COUNTRY_PREFIX = {"es_EC": "593", "es_ES": "34", "es_MX": "52", "es_CO": "57", "pt_BR": "55",
                  "en_US": "1"}
COUNTRY_LENGTHS = {"es_EC": {12}, "es_ES": {11}, "es_MX": {12, 13}, "es_CO": {12},
                   "pt_BR": {13}, "en_US": {11}}


def make(provider="jelou", **kw):
    buf = io.BytesIO()
    report = generate(buf, provider, **kw)
    return buf.getvalue(), report


def records(data: bytes):
    """[(start line, cells)] of a UTF-8 CSV (BOM skipped), using physical line numbers."""
    text = data.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""))
    out, previous = [], 0
    for cells in reader:
        out.append((previous + 1, cells))
        previous = reader.line_num
    return out


def reference_problems(data: bytes, filename: str, provider: str, preset_name: str):
    """An independent reading of the mock's rules: [(line or None, problem)]."""
    preset = PRESETS[preset_name]
    problems = []
    if provider == "jelou" and not filename.lower().endswith(".csv"):
        problems.append((None, "extension"))
    if not data:
        return problems + [(None, "empty")]
    try:
        recs = records(data)
    except UnicodeDecodeError as exc:
        body = data[3:] if data.startswith(BOM_BYTES) else data
        return problems + [(body[:exc.start].count(b"\n") + 1, "utf-8")]
    header = recs[0][1]
    if provider == "jelou" and not all(JELOU_NAME.match(h) for h in header):
        problems.append((1, "header-name"))
    if any(not h for h in header) or len(set(header)) != len(header):
        problems.append((1, "header-unique"))
    if any(c not in header for c in preset.required_columns):
        problems.append((1, "missing-column"))
    if len(recs) < 2:
        problems.append((None, "no-rows"))
    phone_at = 0 if provider == "jelou" else header.index("contactCode") if "contactCode" in header else 0
    for line, cells in recs[1:]:
        if len(cells) != len(header):
            problems.append((line, "ragged"))
        elif (provider == "jelou" or d.INDIGITALL_CHECKS_PHONE) and not PHONE.match(cells[phone_at]):
            problems.append((line, "phone"))
    return problems


# --- determinism -------------------------------------------------------------------------

@pytest.mark.parametrize("provider", ["jelou", "indigitall"])
def test_same_seed_same_bytes_different_seed_different_bytes(provider):
    opts = dict(rows=500, magic_rate=0.1, invalid=["tricky-cells", "phone-short"], invalid_rate=0.02)
    a, _ = make(provider, seed=11, **opts)
    b, _ = make(provider, seed=11, **opts)
    c, _ = make(provider, seed=12, **opts)
    assert a == b
    assert a != c


def test_bytes_do_not_depend_on_hash_seed_or_process(tmp_path):
    digests = set()
    for hash_seed in ("1", "2"):
        out = tmp_path / f"h{hash_seed}.csv"
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        subprocess.run([sys.executable, "-m", "harness.cli", "csv", "indigitall", "--preset",
                        "template", "--rows", "300", "--seed", "5", "--magic-rate", "0.2",
                        "--out", str(out), "--quiet"], check=True, env=env)
        digests.add(hashlib.sha256(out.read_bytes()).hexdigest())
    buf = io.BytesIO()
    generate(buf, "indigitall", preset="template", rows=300, seed=5, magic_rate=0.2)
    assert digests == {hashlib.sha256(buf.getvalue()).hexdigest()}


def test_locale_order_does_not_matter():
    a, _ = make(rows=200, locales=["en_US", "mx"])
    b, _ = make(rows=200, locales=["es_MX", "us"])
    assert a == b


def test_defects_leave_the_other_rows_alone():
    clean, _ = make(rows=300, seed=4)
    broken, report = make(rows=300, seed=4, invalid=["phone-long"], magic_rate=0.0)
    clean_lines, broken_lines = clean.split(b"\n"), broken.split(b"\n")
    differing = [i + 1 for i, (x, y) in enumerate(zip(clean_lines, broken_lines)) if x != y]
    assert differing == report.lines("phone-long")


# --- phones, locales, magic ------------------------------------------------------------------

@pytest.mark.parametrize("locale", LOCALES)
def test_every_phone_is_valid_for_its_locale(locale):
    data, report = make(rows=3000, seed=1, locales=[locale])
    assert report.expect_accept
    for _, cells in records(data)[1:]:
        phone = cells[0]
        assert PHONE.match(phone) and not phone.startswith("999"), phone
        assert phone.startswith(COUNTRY_PREFIX[locale]), phone
        assert len(phone) in COUNTRY_LENGTHS[locale], phone


def test_phone_patterns_are_valid_and_never_reserved():
    import random
    rng = random.Random(0)
    for locale, patterns in PHONE_PATTERNS.items():
        for pattern in patterns:
            assert 8 <= len(pattern) <= 15 and not pattern.startswith("999")
        for _ in range(2000):
            assert PHONE.match(build_phone(rng, locale))
    assert resolve_locales(["CO", "es-es", "es_CO"]) == ("es_ES", "es_CO")
    with pytest.raises(ValueError, match="es_EC"):
        resolve_locales(["fr_FR"])


def test_magic_rate_mixes_codes_from_the_table():
    data, report = make("indigitall", rows=4000, seed=2, magic_rate=0.25)
    seen = {}
    for _, cells in records(data)[1:]:
        phone = cells[0]
        assert PHONE.match(phone)
        if phone.startswith("999"):
            code = magic_code(phone)
            assert code in MAGIC_OUTCOMES
            seen[code] = seen.get(code, 0) + 1
    assert seen == report.magic_counts
    assert set(seen) == set(MAGIC_OUTCOMES)
    assert 800 < sum(seen.values()) < 1200
    assert report.expect_accept


def test_no_magic_without_magic_rate():
    data, report = make(rows=2000, seed=3)
    assert report.magic_counts == {}
    assert b"\n999" not in data


# --- presets ---------------------------------------------------------------------------------

def test_presets_and_layouts():
    assert get_preset("jelou").name == "jelou:order_confirmation"
    assert get_preset("indigitall").name == "indigitall:text"
    assert layout_variables(INDIGITALL_TEXT_LAYOUT) == ["contactCode", "channelType", "name"]
    assert layout_variables(INDIGITALL_TEMPLATE_LAYOUT) == ["contactCode", "templateName", "name",
                                                            "ticketId"]
    with pytest.raises(UnknownPreset, match="jelou:promo_image"):
        get_preset("jelou", "nope")
    for preset in PRESETS.values():
        data, report = make(preset.provider, preset=preset.name, rows=50)
        recs = records(data)
        assert recs[0][1] == list(preset.columns)
        assert report.expect_accept and report.rows == 50 and len(recs) == 51
        if preset.provider == "jelou":
            assert [p["param"] for p in report.params] == list(range(1, len(preset.params) + 1))
            assert all(JELOU_NAME.match(c) for c in preset.columns)


def test_order_confirmation_values_look_right():
    data, _ = make(rows=200, seed=9, locales=["en_US"])
    for _, (phone, order, amount, date) in records(data)[1:]:
        assert re.fullmatch(r"[A-Z][0-9]{5}", order)
        assert re.fullmatch(r"\$[0-9,]+\.[0-9]{2}", amount)
        assert re.fullmatch(r"[A-Z][a-z]+ [0-9]{1,2}", date)


def test_indigitall_template_values():
    data, _ = make("indigitall", preset="template", rows=200)
    for _, (phone, template, name, ticket) in records(data)[1:]:
        assert template in ("new_ticket", "error_ticket") and name
        assert re.fullmatch(r"[0-9]{4}", ticket)


# --- invalid kinds -----------------------------------------------------------------------------

KIND_CASES = [(kind, provider) for kind in d.KINDS for provider in ("jelou", "indigitall")]


@pytest.mark.parametrize("kind,provider", KIND_CASES)
def test_each_kind_agrees_with_a_reference_reading_of_the_rules(kind, provider):
    data, report = make(provider, rows=40, seed=6, invalid=[kind])
    found = reference_problems(data, report.filename, provider, report.preset)
    indigitall_phone = provider == "jelou" or d.INDIGITALL_CHECKS_PHONE
    assert report.expect_accept == (not found), (found, report.problems)
    if kind in d.PHONE_KINDS and indigitall_phone:
        assert [x for x in found if x[1] == "phone"] == [(line, "phone") for line in report.lines(kind)]
    if kind == d.RAGGED_ROW:
        assert found == [(line, "ragged") for line in report.lines(kind)]
    if kind == d.LATIN1:
        assert found == [(report.lines(kind)[0], "utf-8")]
    assert report.defect_counts[kind] >= 1


@pytest.mark.parametrize("provider", ["jelou", "indigitall"])
def test_file_level_kinds_do_what_they_say(provider):
    preset = get_preset(provider)
    clean, _ = make(provider, rows=20)

    data, report = make(provider, rows=20, invalid=["header-space"])
    assert records(data)[0][1] == list(preset.columns) + ["customer name"]
    assert report.defects[0] == d.Defect("header-space", 1, "customer name", None)

    data, _ = make(provider, rows=20, invalid=["header-punctuation"])
    assert records(data)[0][1][-1] == "customer-name!"

    data, _ = make(provider, rows=20, invalid=["header-duplicate"])
    header = records(data)[0][1]
    assert header[-1] == header[-2] and len(set(header)) == len(header) - 1

    data, report = make(provider, rows=20, invalid=["no-header"])
    assert data == clean.split(b"\n", 1)[1] and report.header is None
    assert not report.expect_accept

    data, report = make(provider, rows=20, invalid=["empty-file"])
    assert data == b"" and report.rows == 0 and not report.expect_accept

    data, report = make(provider, rows=20, invalid=["header-only"])
    assert data == clean.split(b"\n", 1)[0] + b"\n" and report.rows == 0
    assert not report.expect_accept

    data, report = make(provider, rows=20, invalid=["wrong-extension"])
    assert data == clean and report.filename.endswith(".txt")
    assert report.expect_accept == (provider == "indigitall")

    data, report = make(provider, rows=20, invalid=["missing-variable"])
    dropped = report.defects[0].column
    assert dropped in preset.required_columns and dropped not in records(data)[0][1]
    assert not report.expect_accept

    data, report = make(provider, rows=20, invalid=["bom"])
    assert data.startswith(b"\xef\xbb\xbf") and data[3:] == clean and report.expect_accept


def test_no_header_with_a_header_like_first_row_is_accepted():
    # welcome_message has one column; a phone is a valid Jelou header name, so the mock
    # reads the first row as the header and accepts the rest.
    data, report = make(preset="welcome_message", rows=5, invalid=["no-header"])
    assert report.expect_accept and len(data.split(b"\n")) == 6


def test_latin1_is_not_utf8_and_points_at_its_line():
    data, report = make(preset="promo_image", rows=30, invalid=["latin1"])
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    (defect,) = report.defects
    line = data.split(b"\n")[defect.line - 1]
    assert line.decode("latin-1").endswith(defect.value) and defect.value.isascii() is False
    for i, other in enumerate(data.split(b"\n"), start=1):
        if i != defect.line:
            other.decode("utf-8")


@pytest.mark.parametrize("provider", ["jelou", "indigitall"])
def test_tricky_cells_round_trip(provider):
    data, report = make(provider, rows=60, seed=8, invalid=["tricky-cells"])
    assert report.expect_accept
    by_line = dict(records(data))
    tricky = [x for x in report.defects if x.kind == "tricky-cells"]
    assert sorted(x.value for x in tricky) == sorted(d.TRICKY_VALUES)
    header = by_line[1]
    for defect in tricky:
        assert by_line[defect.line][header.index(defect.column)] == defect.value
    assert all(len(cells) == len(header) for cells in by_line.values())


def test_invalid_rate_hits_a_share_of_rows():
    data, report = make(rows=2000, seed=5, invalid=["phone-plus", "ragged-row"], invalid_rate=0.1)
    found = reference_problems(data, report.filename, "jelou", report.preset)
    assert 150 < len(found) < 260
    assert {line for line, _ in found} == {x.line for x in report.defects}
    assert report.defect_counts["phone-plus"] + report.defect_counts["ragged-row"] == len(found)


def test_impossible_combinations_say_what_to_do():
    with pytest.raises(ValueError, match="jelou:promo_image"):
        make(preset="welcome_message", invalid=["tricky-cells"])
    with pytest.raises(ValueError, match="empty-file"):
        make(invalid=["empty-file", "bom"])
    with pytest.raises(ValueError, match="valid: header-space"):
        make(invalid=["nonsense"])
    with pytest.raises(ValueError, match="at least 2 rows"):
        make(rows=1, invalid=["phone-plus", "phone-long"])


# --- CLI -------------------------------------------------------------------------------------

def test_cli_writes_a_file_and_a_summary(tmp_path, capsys):
    out = tmp_path / "a.csv"
    assert main(["csv", "jelou", "--rows", "50", "--seed", "3", "--invalid", "phone-short",
                 "--out", str(out)]) == 0
    expected, _ = make(rows=50, seed=3, invalid=["phone-short"])
    assert out.read_bytes() == expected
    err = capsys.readouterr().err
    assert "wrote 50 rows" in err and str(out) in err and f"{len(expected):,} bytes" in err
    assert "REJECT" in err and "phone-short" in err
    assert not list(tmp_path.glob("*.part"))


def test_cli_directory_out_uses_the_suggested_name(tmp_path, capsys):
    assert main(["csv", "indigitall", "--rows", "5", "--invalid", "wrong-extension",
                 "--out", str(tmp_path), "-q"]) == 0
    (written,) = tmp_path.iterdir()
    assert written.name.endswith(".txt") and capsys.readouterr().err == ""


def test_cli_errors_say_what_to_do(tmp_path, capsys):
    assert main(["csv", "jelou", "--preset", "nope", "--out", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert "jelou:order_confirmation" in err and "jelou:welcome_message" in err
    assert not list(tmp_path.iterdir())
    assert main(["csv"]) == 2
    assert "jelou,indigitall" in capsys.readouterr().err
    assert main(["csv", "--list-invalid"]) == 0
    listing = capsys.readouterr().out
    assert all(kind in listing for kind in d.KINDS)
    assert main(["csv", "indigitall", "--list-presets"]) == 0
    assert "indigitall:template" in capsys.readouterr().out


def test_cli_stdout():
    done = subprocess.run([sys.executable, "-m", "harness.cli", "csv", "indigitall", "--rows", "3"],
                          capture_output=True, check=True)
    assert done.stdout.startswith(b"contactCode,channelType,name\n")
    assert done.stdout.count(b"\n") == 4 and b"wrote 3 rows" in done.stderr


# --- size --------------------------------------------------------------------------------------

class _Sink:
    def __init__(self):
        self.size = 0

    def write(self, data):
        self.size += len(data)


@pytest.mark.slow
def test_200k_rows_stream_with_flat_memory_and_flat_time_per_chunk():
    """Memory stays flat, and so does the time per chunk of rows: the last chunks take about as long
    as the first (work that grows with the rows written, O(n^2) in all, would make the last four
    ~9x slower than the first four). A ratio of this thread's CPU time within one run, not a
    wall-clock bound: on a loaded machine the run takes several times longer and wall-clock chunks
    vary 3x with the load; the CPU time per chunk does not."""
    generate(_Sink(), "jelou", rows=10)  # draw the Faker pools outside the measurement
    ticks = []
    tracemalloc.start()
    try:
        sink = _Sink()
        report = generate(sink, "jelou", rows=200_000, magic_rate=0.05, invalid=["phone-plus"], invalid_rate=0.01,
                          progress=lambda rows: ticks.append((rows, time.thread_time())))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.rows == 200_000 and sum(rows for rows, _ in ticks) == 200_000 and sink.size == report.bytes
    assert peak < 30 * 1024 * 1024, peak
    chunks = [later - earlier for (_, earlier), (_, later) in zip(ticks, ticks[1:-1])]    # full chunks only
    first, last = sum(chunks[:4]), sum(chunks[-4:])
    print(f"200,000 rows: first 4 chunks {first:.2f} s of CPU, last 4 {last:.2f} s, peak {peak / 2**20:.1f} MiB")
    assert len(chunks) >= 20 and last < 4 * first, (first, last)
