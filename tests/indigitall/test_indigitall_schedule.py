"""scheduledAt / scheduleAt, delay and slicingCondition of POST .../message/csv, against the frozen clock."""

from __future__ import annotations

import pytest

from support.indigitall import assert_error, create, created, fields_named, send
from mock_server import create_app


# -- scheduledAt -----------------------------------------------------------------------------
@pytest.mark.parametrize("value,start", [
    ("2026-01-05T10:00:01Z", "2026-01-05T10:00:01.000Z"),
    ("2026-01-05T10:00:00.001Z", "2026-01-05T10:00:00.001Z"),
    ("2026-04-05T10:00:00Z", "2026-04-05T10:00:00.000Z"),          # exactly 3 calendar months
    ("2026-01-05T06:00:00-05:00", "2026-01-05T11:00:00.000Z"),     # offsets are honoured
    ("2026-01-06T00:30:00+14:00", "2026-01-05T10:30:00.000Z"),
])
def test_valid_scheduled_at(client, value, start):
    data = create(client, scheduledAt=value)
    assert data["scheduledAt"] == start and data["status"] == "scheduled"


@pytest.mark.parametrize("value,words", [
    ("2026-01-05T10:00:00Z", "must be after the current date-time"),          # now
    ("2026-01-05T09:59:59Z", "must be after the current date-time"),          # past
    ("2026-01-05T05:00:00-05:00", "must be after the current date-time"),     # now, with an offset
    ("2026-04-05T10:00:01Z", "must be at most 3 months ahead"),               # 3 months + 1 s
    ("2026-04-05T05:00:01-05:00", "must be at most 3 months ahead"),
    ("2027-01-01T00:00:00Z", "must be at most 3 months ahead"),
    ("tomorrow", "ISO 8601 date-time"),
    ("2026-01-06", "ISO 8601 date-time"),
    ("2026-01-06T25:00:00Z", "ISO 8601 date-time"),
    ("2026-01-06T10:00:00", "no time zone"),                                  # naive: rejected by default
    ("0001-01-01T00:00:00+01:00", "out of range"),
    ("9999-12-31T23:59:59-01:00", "out of range"),
])
def test_invalid_scheduled_at(client, value, words):
    body = assert_error(send(client, scheduledAt=value), 400, "VALIDATION_ERROR")
    assert fields_named(body) == ["scheduledAt"]
    assert words in body["message"], body["message"]


def test_scheduled_at_limit_is_calendar_months_and_a_setting():
    app = create_app({"clock": {"start": "2026-01-31T10:00:00Z", "frozen": True},
                      "indigitall": {"max_schedule_months": 1}})
    client = app.test_client()
    assert created(send(client, scheduledAt="2026-02-28T10:00:00Z"))["status"] == "scheduled"   # Jan 31 + 1 month
    assert_error(send(client, scheduledAt="2026-02-28T10:00:01Z"), 400, "VALIDATION_ERROR")


def test_naive_scheduled_at_is_utc_when_set():
    app = create_app({"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True},
                      "indigitall": {"naive_scheduled_at": "utc"}})
    assert created(send(app.test_client(), scheduledAt="2026-01-06T10:00:00"))["scheduledAt"] == "2026-01-06T10:00:00.000Z"


def test_schedule_at_is_an_alias(client):
    assert create(client, scheduleAt="2026-01-06T10:00:00Z")["scheduledAt"] == "2026-01-06T10:00:00.000Z"
    body = assert_error(send(client, scheduleAt="2026-01-05T09:00:00Z"), 400, "VALIDATION_ERROR")
    assert fields_named(body) == ["scheduleAt"] and body["message"].startswith("scheduleAt must be after")


def test_scheduled_at_and_its_alias_together_are_400(client):
    body = assert_error(send(client, scheduledAt="2026-01-06T10:00:00Z", scheduleAt="2026-01-06T10:00:00Z"),
                        400, "VALIDATION_ERROR")
    assert fields_named(body) == ["scheduleAt"]


# -- delay -----------------------------------------------------------------------------------
@pytest.mark.parametrize("delay,start", [
    ("PT0.25S", "2026-01-05T10:00:00.250Z"),
    ("PT20S", "2026-01-05T10:00:20.000Z"),
    ("PT15M", "2026-01-05T10:15:00.000Z"),
    ("PT30M50.5S", "2026-01-05T10:30:50.500Z"),
    ("PT4H", "2026-01-05T14:00:00.000Z"),
    ("P3D", "2026-01-08T10:00:00.000Z"),
    ("P2W", "2026-01-19T10:00:00.000Z"),
    ("P1M", "2026-02-05T10:00:00.000Z"),
    # combinations and fractions
    ("P1DT2H30M", "2026-01-06T12:30:00.000Z"),
    ("P1W2D", "2026-01-14T10:00:00.000Z"),
    ("P1M2DT3H4M5.5S", "2026-02-07T13:04:05.500Z"),
    ("PT1.5H", "2026-01-05T11:30:00.000Z"),
    ("P0.5D", "2026-01-05T22:00:00.000Z"),
    ("PT0,5S", "2026-01-05T10:00:00.500Z"),
    ("pt15m", "2026-01-05T10:15:00.000Z"),
    ("P3M", "2026-04-05T10:00:00.000Z"),        # exactly the limit
    ("PT2160H", "2026-04-05T10:00:00.000Z"),    # 90 days = the same instant
])
def test_delay_examples_and_combinations(client, delay, start):
    data = create(client, delay=delay)
    assert data["scheduledAt"] == start and data["status"] == "scheduled"


@pytest.mark.parametrize("delay,words", [
    ("PT0S", "greater than zero"),
    ("P0D", "greater than zero"),
    ("P3MT1S", "at most 3 months"),
    ("P13W1D", "at most 3 months"),
    ("P1Y", "at most 3 months"),
    ("P99999999Y", "at most 3 months"),
    ("PT99999999999999S", "at most 3 months"),
    ("PT", "not an ISO 8601 duration"),
    ("P", "not an ISO 8601 duration"),
    ("15M", "not an ISO 8601 duration"),
    ("PT-5S", "not an ISO 8601 duration"),
    ("1 hour", "not an ISO 8601 duration"),
    ("PT1.5H30M", "only the smallest component may have a fraction"),
])
def test_invalid_delay(client, delay, words):
    body = assert_error(send(client, delay=delay), 400, "VALIDATION_ERROR")
    assert fields_named(body) == ["delay"]
    assert words in body["message"], body["message"]


@pytest.mark.parametrize("name", ["scheduledAt", "scheduleAt"])
def test_delay_with_scheduled_at_is_400(client, name):
    body = assert_error(send(client, delay="PT1H", **{name: "2026-01-06T10:00:00Z"}), 400, "VALIDATION_ERROR")
    assert fields_named(body) == ["delay"]
    assert body["message"] == f"delay can not be used in conjunction with {name}"


# -- slicingCondition ------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["fragmented", "FRAGMENTEDSLOTS", "immediate", "1"])
def test_unknown_slicing_condition_is_400(client, value):
    body = assert_error(send(client, slicingCondition=value), 400, "VALIDATION_ERROR")
    assert body["errors"] == [{"field": "slicingCondition", "message": "slicingCondition should be equal to one of: "
                               "fragmentedSlots, immediateConsecutiveSlots, deferredConsecutiveSlots"}]
