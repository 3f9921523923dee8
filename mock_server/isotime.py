"""ISO 8601 date-times and durations, parsed strictly and formatted one way.

Durations follow ISO 8601 (``PnYnMnWnDTnHnMnS``): every component optional but at least one
present, weeks may be combined with other components (ISO 8601-2 allows it and clients send
``P1W2D``), and the smallest component present may carry a decimal fraction (``PT0.25S``,
``PT30M50.5S``, ``P0.5D``). Years and months are calendar units: ``add_duration`` adds them
to the calendar (Jan 31 + P1M = Feb 28/29), then adds the fixed part.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

UTC = timezone.utc

_DURATION = re.compile(
    r"^P(?!$)"
    r"(?:(?P<years>\d+(?:[.,]\d+)?)Y)?"
    r"(?:(?P<months>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<weeks>\d+(?:[.,]\d+)?)W)?"
    r"(?:(?P<days>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?!$)"
    r"(?:(?P<hours>\d+(?:[.,]\d+)?)H)?"
    r"(?:(?P<minutes>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?"
    r")?$",
    re.ASCII,           # digits 0-9 only: \d and float() also read '١' (Arabic-Indic) and '１' (fullwidth)
)
_FIELDS = ("years", "months", "weeks", "days", "hours", "minutes", "seconds")


@dataclass(frozen=True)
class Duration:
    """An ISO 8601 duration: calendar years/months plus a fixed number of seconds."""

    years: int = 0
    months: int = 0
    seconds: float = 0.0
    text: str = ""

    @property
    def is_zero(self) -> bool:
        return self.years == 0 and self.months == 0 and self.seconds == 0

    def __str__(self) -> str:
        return self.text


def parse_duration(text: str) -> Duration:
    """Parse an ISO 8601 duration; raise ``ValueError`` saying what is wrong."""
    if not isinstance(text, str):
        raise ValueError("must be an ISO 8601 duration string such as PT15M")
    match = _DURATION.match(text.strip().upper())
    if not match:
        raise ValueError(f"'{text}' is not an ISO 8601 duration (examples: PT0.25S, PT15M, P3D, P2W, P1M)")
    values = {name: match.group(name) for name in _FIELDS}
    present = [name for name in _FIELDS if values[name] is not None]
    for name in present[:-1]:
        if "." in values[name] or "," in values[name]:
            raise ValueError(f"'{text}': only the smallest component may have a fraction")
    numbers = {name: float(values[name].replace(",", ".")) if values[name] else 0.0 for name in _FIELDS}
    if not all(math.isfinite(number) for number in numbers.values()):     # 400 digits read as inf: int(inf) raises
        quoted = text if len(text) <= 40 else f"{text[:40]}… ({len(text):,} characters)"
        raise ValueError(f"'{quoted}' is longer than any span of dates (years 1 to 9999)")
    years, months = numbers["years"], numbers["months"]
    extra_seconds = 0.0
    # A fractional year or month is turned into whole months plus days of 30 (documented fallback).
    if years != int(years):
        months += (years - int(years)) * 12
        years = int(years)
    if months != int(months):
        extra_seconds = (months - int(months)) * 30 * 86400
        months = int(months)
    seconds = (
        numbers["weeks"] * 7 * 86400
        + numbers["days"] * 86400
        + numbers["hours"] * 3600
        + numbers["minutes"] * 60
        + numbers["seconds"]
        + extra_seconds
    )
    return Duration(years=int(years), months=int(months), seconds=seconds, text=text.strip())


def bounded_seconds(text: object, name: str, maximum: str) -> float:
    """A client's fixed-length duration (no years or months) in seconds, from 0 to ``maximum``.

    Every duration a client gives a fault rule (and the latency and window settings) goes through
    here, so none can overflow the arithmetic it feeds (a deadline, a wait, an expiry date). ``ValueError`` naming ``name`` and
    the allowed range otherwise; ``maximum`` is itself a duration (``"P1D"``).
    """
    allowed = f"from PT0S to {maximum}"
    if not isinstance(text, str):
        raise ValueError(f"{name} must be an ISO 8601 duration string such as PT2S ({allowed})")
    try:
        duration = parse_duration(text)
    except ValueError as exc:
        if "longer than any span" not in str(exc):
            raise
        raise ValueError(f"{name} must be {allowed}: {exc}") from None
    if duration.years or duration.months:
        raise ValueError(f"{name} must not use years or months (they have no fixed length); use days, hours, "
                         f"minutes or seconds, {allowed}")
    if not duration.seconds <= parse_duration(maximum).seconds:      # also false for inf and NaN
        raise ValueError(f"{name} must be {allowed}, not '{text}'")
    return float(duration.seconds)


def add_months(moment: datetime, months: int) -> datetime:
    """Add calendar months, clamping the day to the end of the target month."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def add_duration(moment: datetime, duration: Duration) -> datetime:
    """Return ``moment + duration`` (calendar part first, then the fixed seconds)."""
    try:
        shifted = add_months(moment, duration.years * 12 + duration.months)
        return shifted + timedelta(seconds=duration.seconds)
    except (OverflowError, ValueError):
        raise ValueError(f"'{duration}' added to {moment.isoformat()} is beyond the supported dates (year 9999)") from None


def parse_datetime(text: str, *, naive_is_utc: bool = True) -> datetime:
    """Parse an ISO 8601 date-time (``Z`` or ``±HH:MM``) into an aware UTC datetime.

    A value with no offset is UTC when ``naive_is_utc``; otherwise it is rejected.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("must be an ISO 8601 date-time such as 2025-10-01T12:15:00Z")
    raw = text.strip()
    if "T" not in raw and " " not in raw:
        raise ValueError(f"'{text}' has no time; expected an ISO 8601 date-time such as 2025-10-01T12:15:00Z")
    try:
        value = datetime.fromisoformat(raw[:-1] + "+00:00" if raw[-1] in "zZ" else raw)
    except ValueError:
        raise ValueError(f"'{text}' is not an ISO 8601 date-time (example: 2025-10-01T12:15:00Z)") from None
    if value.tzinfo is None:
        if not naive_is_utc:
            raise ValueError(f"'{text}' has no time zone; add Z or an offset such as -05:00")
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"'{text}' is out of range (dates run from year 1 to 9999)") from None


def parse_date_or_datetime(text: str, *, end_of_day: bool = False) -> datetime:
    """Parse ``YYYY-MM-DD`` (start of day, or end of day when ``end_of_day``) or a date-time."""
    raw = (text or "").strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        try:
            day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise ValueError(f"'{text}' is not a valid date (YYYY-MM-DD)") from None
        return day + timedelta(days=1, microseconds=-1) if end_of_day else day
    return parse_datetime(raw)


def isoformat(moment: datetime | None) -> str | None:
    """Format as ``2025-10-01T12:15:00.000Z`` (UTC, milliseconds), or None."""
    if moment is None:
        return None
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # datetime's own (C) isoformat, truncated to milliseconds as "+00:00" -> "Z": about 2x an
    # f-string of the fields and 8x strftime; webhook bodies format several per event
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


class Stamps(dict):
    """``stamps[seconds]``: ``isoformat(from_timestamp(seconds))``, each instant formatted once.
    Bodies rendered together share instants (a campaign's start, the event's own instant, a
    message's earlier stages): one per piece of work (a webhook window), never shared between
    threads; at most ``limit`` kept (then it starts afresh)."""

    __slots__ = ("limit",)

    def __init__(self, limit: int = 65536) -> None:
        super().__init__()
        self.limit = limit

    def __missing__(self, seconds: float) -> str:
        if len(self) >= self.limit:
            self.clear()
        text = self[seconds] = isoformat(from_timestamp(seconds))
        return text


_FIRST = datetime(1, 1, 1, tzinfo=UTC)
_LAST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
_FIRST_TS, _LAST_TS = _FIRST.timestamp(), _LAST.timestamp()


def from_timestamp(seconds: float) -> datetime:
    """The UTC datetime of epoch ``seconds``, clamped to the years 1..9999 (never an overflow)."""
    if not _FIRST_TS <= seconds <= _LAST_TS:     # also false for NaN
        return _LAST if seconds > 0 else _FIRST
    return datetime.fromtimestamp(seconds, UTC)


def add_months_capped(moment: datetime, months: int) -> datetime:
    """``add_months``, or the last supported instant when the result would pass year 9999."""
    try:
        return add_months(moment, months)
    except (OverflowError, ValueError):
        return _LAST


def format_seconds(seconds: float) -> str:
    """``seconds`` as an ISO 8601 duration (``PT1S``, ``PT10M``, ``PT1H30M``, ``P2D``, ``PT0.5S``)."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    date = f"P{int(days)}D" if days else "P"
    parts = [f"{int(hours)}H" if hours else "", f"{int(minutes)}M" if minutes else "",
             f"{round(secs, 6):g}S" if secs else ""]
    time = "".join(parts)
    if not time and days:
        return date
    return f"{date}T{time or '0S'}"
