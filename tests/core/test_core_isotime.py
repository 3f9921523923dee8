"""Unit tests for ``mock_server.isotime`` (durations, date-times, formatting)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from mock_server.isotime import (
    UTC,
    Duration,
    add_duration,
    add_months,
    from_timestamp,
    isoformat,
    parse_date_or_datetime,
    parse_datetime,
    parse_duration,
)

DAY = 86400


# --------------------------------------------------------------------------- parse_duration


@pytest.mark.parametrize(
    ("text", "years", "months", "seconds"),
    [
        ("PT0.25S", 0, 0, 0.25),
        ("PT20S", 0, 0, 20.0),
        ("PT15M", 0, 0, 900.0),
        ("PT30M50.5S", 0, 0, 1850.5),
        ("PT4H", 0, 0, 14400.0),
        ("P3D", 0, 0, 3 * DAY),
        ("P2W", 0, 0, 14 * DAY),
        ("P1M", 0, 1, 0.0),
        ("P1Y", 1, 0, 0.0),
        ("P1Y2M3DT4H5M6.5S", 1, 2, 3 * DAY + 4 * 3600 + 5 * 60 + 6.5),
        ("P1W2D", 0, 0, 9 * DAY),
        ("P0.5D", 0, 0, 43200.0),
        ("PT0,25S", 0, 0, 0.25),
        ("PT30M50,5S", 0, 0, 1850.5),
        ("pt15m", 0, 0, 900.0),
        ("p1y2m3dt4h5m6.5s", 1, 2, 3 * DAY + 4 * 3600 + 5 * 60 + 6.5),
        ("PT0S", 0, 0, 0.0),
        ("  PT20S  ", 0, 0, 20.0),
        ("P1DT1M", 0, 0, DAY + 60.0),
    ],
)
def test_parse_duration_examples(text, years, months, seconds):
    duration = parse_duration(text)
    assert (duration.years, duration.months) == (years, months)
    assert duration.seconds == pytest.approx(seconds, abs=1e-9)
    assert duration.text == text.strip()
    assert str(duration) == text.strip()


def test_parse_duration_month_vs_minute_designator():
    assert parse_duration("P1M") == Duration(years=0, months=1, seconds=0.0, text="P1M")
    assert parse_duration("PT1M") == Duration(years=0, months=0, seconds=60.0, text="PT1M")


def test_parse_duration_fractional_year_and_month_fallback():
    # A fractional year becomes whole months; a fractional month becomes days of 30.
    assert parse_duration("P1.5Y") == Duration(years=1, months=6, seconds=0.0, text="P1.5Y")
    half_month = parse_duration("P1.5M")
    assert (half_month.years, half_month.months) == (0, 1)
    assert half_month.seconds == pytest.approx(15 * DAY)


def test_is_zero():
    assert parse_duration("PT0S").is_zero
    assert parse_duration("P0D").is_zero
    assert not parse_duration("P1M").is_zero
    assert not parse_duration("P1Y").is_zero
    assert not parse_duration("PT0.25S").is_zero


@pytest.mark.parametrize("text", ["", "   ", "P", "PT", "1D", "PT-1S", "P-1D", "PT1H2", "P1DT", "PTS", "P1S", "PT1D",
                                  "P1D2Y", "P1.5.5D", "XP1D", "P1DX"])
def test_parse_duration_rejects_malformed(text):
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert str(info.value) == f"'{text}' is not an ISO 8601 duration (examples: PT0.25S, PT15M, P3D, P2W, P1M)"


@pytest.mark.parametrize("text", ["P\u0661D", "PT\uff11S", "PT1\u0660S", "P1.\u0665D", "P\u00b2D", "PT\u09e7H"])
def test_parse_duration_takes_ascii_digits_only(text):
    """Like every number a client gives (mock_server.queryargs): '١' (Arabic-Indic) and '１' (fullwidth)
    are not digits here, though a regex's \\d and float() read them as 1."""
    with pytest.raises(ValueError, match="is not an ISO 8601 duration"):
        parse_duration(text)


def test_a_clock_advance_or_fault_latency_in_non_ascii_digits_is_a_400():
    from mock_server import create_app
    app = create_app({"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True}})
    client = app.test_client()
    answer = client.post("/_mock/clock", json={"advance": "P\u0661D"})
    assert answer.status_code == 400 and "not an ISO 8601 duration" in answer.json["error"]["message"], answer.json
    assert client.get("/_mock/clock").json["now"] == "2026-01-05T10:00:00.000Z"
    answer = client.post("/_mock/faults", json={"action": {"latency": "PT\uff11S"}})
    assert answer.status_code == 400 and answer.json["error"]["message"].startswith("action.latency:"), answer.json
    app.extensions["mock"].webhooks.stop()


@pytest.mark.parametrize("text", ["P1.5DT2H", "PT1.5H30M", "P1,5DT2H", "P0.5Y1M", "P1.5W1D"])
def test_parse_duration_rejects_fraction_not_in_smallest(text):
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert str(info.value) == f"'{text}': only the smallest component may have a fraction"


@pytest.mark.parametrize("value", [None, 15, 1.5, b"PT15M", ["PT15M"], timedelta(minutes=15)])
def test_parse_duration_rejects_non_strings(value):
    with pytest.raises(ValueError) as info:
        parse_duration(value)
    assert str(info.value) == "must be an ISO 8601 duration string such as PT15M"


# --------------------------------------------------------------------------- add_months / add_duration


def at(year, month, day, hour=0, minute=0, second=0, microsecond=0):
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (at(2026, 1, 31, 10), 1, at(2026, 2, 28, 10)),      # clamped to the end of February
        (at(2024, 1, 31, 10), 1, at(2024, 2, 29, 10)),      # leap year
        (at(2026, 1, 15), 1, at(2026, 2, 15)),
        (at(2026, 12, 15, 8, 30), 1, at(2027, 1, 15, 8, 30)),  # rolls the year
        (at(2026, 11, 30), 3, at(2027, 2, 28)),
        (at(2026, 3, 31), 1, at(2026, 4, 30)),
        (at(2026, 1, 31), 12, at(2027, 1, 31)),
        (at(2026, 1, 31), 25, at(2028, 2, 29)),
        (at(2026, 3, 31), -1, at(2026, 2, 28)),
        (at(2026, 1, 15), -1, at(2025, 12, 15)),
        (at(2026, 5, 5), 0, at(2026, 5, 5)),
    ],
)
def test_add_months(start, months, expected):
    assert add_months(start, months) == expected


def test_add_months_keeps_time_and_zone():
    result = add_months(at(2026, 1, 31, 23, 59, 58, 123456), 1)
    assert result == at(2026, 2, 28, 23, 59, 58, 123456)
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("start", "text", "expected"),
    [
        (at(2026, 1, 31, 10), "P1M", at(2026, 2, 28, 10)),
        (at(2024, 1, 31, 10), "P1M", at(2024, 2, 29, 10)),
        (at(2026, 12, 31), "P1M", at(2027, 1, 31)),
        (at(2026, 1, 5), "P1Y", at(2027, 1, 5)),
        (at(2024, 2, 29), "P1Y", at(2025, 2, 28)),
        (at(2026, 1, 5, 10), "PT15M", at(2026, 1, 5, 10, 15)),
        (at(2026, 1, 5, 10), "PT0.25S", at(2026, 1, 5, 10, 0, 0, 250000)),
        (at(2026, 1, 5, 10), "P2W", at(2026, 1, 19, 10)),
        # calendar part first (Jan 31 -> Feb 28), then the fixed day: Mar 1, not Mar 3.
        (at(2026, 1, 31, 10), "P1M1D", at(2026, 3, 1, 10)),
        (at(2026, 1, 31), "P1Y2M3DT4H5M6.5S", at(2027, 3, 31, 4, 5, 6, 500000) + timedelta(days=3)),
    ],
)
def test_add_duration(start, text, expected):
    assert add_duration(start, parse_duration(text)) == expected


# --------------------------------------------------------------------------- parse_datetime


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-10-01T12:15:00Z", at(2025, 10, 1, 12, 15)),
        ("2025-10-01T12:15:00z", at(2025, 10, 1, 12, 15)),
        ("2025-10-01T12:15:00+00:00", at(2025, 10, 1, 12, 15)),
        ("2025-10-01T12:15:00-05:00", at(2025, 10, 1, 17, 15)),
        ("2025-10-01T22:15:00-05:00", at(2025, 10, 2, 3, 15)),
        ("2025-10-01T01:15:00+02:30", at(2025, 9, 30, 22, 45)),
        ("2025-10-01T12:15:00.250Z", at(2025, 10, 1, 12, 15, 0, 250000)),
        ("2025-10-01T12:15:00", at(2025, 10, 1, 12, 15)),
        ("2025-10-01 12:15:00", at(2025, 10, 1, 12, 15)),
        ("  2025-10-01T12:15:00Z  ", at(2025, 10, 1, 12, 15)),
    ],
)
def test_parse_datetime_valid(text, expected):
    value = parse_datetime(text)
    assert value == expected
    assert value.utcoffset() == timedelta(0)
    assert value.tzinfo == timezone.utc


def test_parse_datetime_offset_is_converted_to_utc_fields():
    value = parse_datetime("2025-10-01T12:15:00-05:00")
    assert (value.year, value.month, value.day, value.hour, value.minute) == (2025, 10, 1, 17, 15)


def test_parse_datetime_naive_rejected_when_not_utc():
    with pytest.raises(ValueError) as info:
        parse_datetime("2025-10-01T12:15:00", naive_is_utc=False)
    assert str(info.value) == "'2025-10-01T12:15:00' has no time zone; add Z or an offset such as -05:00"
    # with an offset it is still fine
    assert parse_datetime("2025-10-01T12:15:00Z", naive_is_utc=False) == at(2025, 10, 1, 12, 15)


def test_parse_datetime_date_only_rejected_mentioning_time():
    with pytest.raises(ValueError) as info:
        parse_datetime("2025-10-01")
    message = str(info.value)
    assert message == "'2025-10-01' has no time; expected an ISO 8601 date-time such as 2025-10-01T12:15:00Z"
    assert "no time" in message


@pytest.mark.parametrize("text", ["2025-13-01T00:00:00Z", "2025-10-01T25:00:00Z", "garbageT", "2025-10-01Tnoon",
                                  "2025-10-01T12:15:00+25:00"])
def test_parse_datetime_garbage_rejected(text):
    with pytest.raises(ValueError) as info:
        parse_datetime(text)
    assert str(info.value) == f"'{text}' is not an ISO 8601 date-time (example: 2025-10-01T12:15:00Z)"


def test_parse_datetime_garbage_without_separator_rejected():
    with pytest.raises(ValueError) as info:
        parse_datetime("garbage")
    assert str(info.value).startswith("'garbage' has no time")


@pytest.mark.parametrize("value", [None, "", "   ", 12, datetime(2025, 10, 1, tzinfo=UTC)])
def test_parse_datetime_rejects_empty_and_non_strings(value):
    with pytest.raises(ValueError) as info:
        parse_datetime(value)
    assert str(info.value) == "must be an ISO 8601 date-time such as 2025-10-01T12:15:00Z"


# --------------------------------------------------------------------------- parse_date_or_datetime


def test_parse_date_or_datetime_bare_date_start_of_day():
    assert parse_date_or_datetime("2026-01-05") == at(2026, 1, 5)


def test_parse_date_or_datetime_bare_date_end_of_day_inclusive():
    end = parse_date_or_datetime("2026-01-05", end_of_day=True)
    assert end == at(2026, 1, 5, 23, 59, 59, 999999)
    assert end < at(2026, 1, 6)
    assert end + timedelta(microseconds=1) == at(2026, 1, 6)


def test_parse_date_or_datetime_end_of_month_and_leap_day():
    assert parse_date_or_datetime("2024-02-29", end_of_day=True) == at(2024, 2, 29, 23, 59, 59, 999999)
    assert parse_date_or_datetime("2025-12-31", end_of_day=True) == at(2025, 12, 31, 23, 59, 59, 999999)


def test_parse_date_or_datetime_datetime_ignores_end_of_day():
    assert parse_date_or_datetime("2026-01-05T10:00:00-05:00", end_of_day=True) == at(2026, 1, 5, 15)
    assert parse_date_or_datetime(" 2026-01-05T10:00:00Z ") == at(2026, 1, 5, 10)


@pytest.mark.parametrize("text", ["2026-02-30", "2025-02-29", "2026-13-01", "2026-00-10"])
def test_parse_date_or_datetime_invalid_date(text):
    with pytest.raises(ValueError) as info:
        parse_date_or_datetime(text)
    assert str(info.value) == f"'{text}' is not a valid date (YYYY-MM-DD)"


@pytest.mark.parametrize("value", [None, ""])
def test_parse_date_or_datetime_empty(value):
    with pytest.raises(ValueError) as info:
        parse_date_or_datetime(value)
    assert str(info.value) == "must be an ISO 8601 date-time such as 2025-10-01T12:15:00Z"


def test_parse_date_or_datetime_other_garbage():
    with pytest.raises(ValueError) as info:
        parse_date_or_datetime("2026/01/05")
    assert str(info.value).startswith("'2026/01/05' has no time")


# --------------------------------------------------------------------------- isoformat / from_timestamp


def test_isoformat_milliseconds_and_z():
    assert isoformat(at(2025, 10, 1, 12, 15)) == "2025-10-01T12:15:00.000Z"
    assert isoformat(at(2025, 10, 1, 12, 15, 0, 250000)) == "2025-10-01T12:15:00.250Z"
    # microseconds are truncated to milliseconds, not rounded
    assert isoformat(at(2025, 10, 1, 12, 15, 59, 999999)) == "2025-10-01T12:15:59.999Z"
    assert isoformat(at(2025, 10, 1, 12, 15, 0, 1500)) == "2025-10-01T12:15:00.001Z"


def test_isoformat_matches_the_field_by_field_format_from_year_1_to_9999():
    """Every year pads to four digits, milliseconds truncate, at the clamped ends too (the C
    ``datetime.isoformat`` it uses must give exactly the documented form)."""
    rng = random.Random(5)
    moments = [from_timestamp(rng.uniform(-62135596800.0, 253402300799.0)) for _ in range(2000)]
    moments += [from_timestamp(-1e20), from_timestamp(1e20), at(999, 2, 3, 4, 5, 6, 7890), at(1, 1, 1, 0, 0, 0, 999)]
    for moment in moments:
        assert isoformat(moment) == (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
                                     f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}Z")
    assert isoformat(from_timestamp(1e20)) == "9999-12-31T23:59:59.999Z"
    assert isoformat(from_timestamp(-1e20)) == "0001-01-01T00:00:00.000Z"


def test_isoformat_converts_other_zones_to_utc():
    minus5 = timezone(timedelta(hours=-5))
    assert isoformat(datetime(2025, 10, 1, 22, 15, tzinfo=minus5)) == "2025-10-02T03:15:00.000Z"


def test_isoformat_none_passthrough():
    assert isoformat(None) is None


def test_isoformat_round_trips_with_parse_datetime():
    moment = at(2026, 1, 5, 10, 0, 0, 123000)
    assert parse_datetime(isoformat(moment)) == moment


def test_from_timestamp():
    assert from_timestamp(0) == at(1970, 1, 1)
    assert from_timestamp(1767607200.5) == at(2026, 1, 5, 10, 0, 0, 500000)
    assert from_timestamp(1767607200.5).tzinfo is UTC
