"""Slot planner for indigitall "slicing" (CONTRACT.md section 5, "Scheduling and slicing").

Pure functions: no I/O, no clock reads, no module state. The caller owns the ledger.

Rules fixed here:
- Time is cut into fixed slots of ``slot_seconds``, aligned to multiples of ``slot_seconds`` from the
  Unix epoch (00:00 UTC). Slot ``i`` covers ``[i * slot_seconds, (i + 1) * slot_seconds)``.
- The ledger of one application is a ``dict[int, int]``: slot index -> messages already reserved.
  A missing key means 0. Free capacity of a slot is ``capacity - used``, clamped to ``[0, capacity]``.
- The eligible slots of a task run from the slot holding its start to the last slot whose START is
  before ``start + window_seconds``. The start's own slot is eligible even when the start falls in the
  middle of it.
- A plan either places every message or is canceled with nothing placed.
- Planning time grows with the number of slots in the window, never with the number of messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable, Mapping


FRAGMENTED = "fragmentedSlots"
IMMEDIATE = "immediateConsecutiveSlots"
DEFERRED = "deferredConsecutiveSlots"
CONDITIONS = (FRAGMENTED, IMMEDIATE, DEFERRED)
DEFAULT_CONDITION = FRAGMENTED

WINDOW_EXCEEDED = "SLICING_WINDOW_EXCEEDED"
CONSECUTIVE_RUN_BROKEN = "SLICING_CONSECUTIVE_RUN_BROKEN"
NO_CONSECUTIVE_RUN = "SLICING_NO_CONSECUTIVE_RUN"

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class SlicingSettings:
    """Per-application slicing numbers: slot length, messages per slot, placement window (seconds).

    Every value must be a positive integer.
    """

    slot_seconds: int = 3600
    capacity: int = 1000
    window_seconds: int = 48 * 3600

    def __post_init__(self) -> None:
        for name in ("slot_seconds", "capacity", "window_seconds"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} must be an int, got {value!r}")
            if value <= 0:
                raise ValueError(f"{name} must be > 0, got {value}")


@dataclass(frozen=True)
class Allocation:
    """``count`` messages of a task reserved in slot ``slot``."""

    slot: int
    count: int


@dataclass(frozen=True)
class Plan:
    """Where a task's messages go. A canceled plan (``canceled_reason`` set) has no allocations."""

    allocations: tuple[Allocation, ...]
    canceled_reason: str | None = None

    def __post_init__(self) -> None:
        if self.canceled_reason is not None and self.allocations:
            raise ValueError("a canceled plan places nothing")

    @property
    def placed(self) -> int:
        """Messages placed by the plan (0 when canceled)."""
        return sum(a.count for a in self.allocations)

    @property
    def canceled(self) -> bool:
        return self.canceled_reason is not None

    @property
    def canceled_code(self) -> str | None:
        """The machine-readable part of the reason (text before the first colon), or None."""
        return None if self.canceled_reason is None else self.canceled_reason.split(":", 1)[0]


def _micros(moment: datetime) -> int:
    """Exact integer microseconds since the epoch; naive datetimes are refused (ambiguous zone)."""
    if not isinstance(moment, datetime):
        raise TypeError(f"expected a datetime, got {moment!r}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")
    return (moment - _EPOCH) // _MICROSECOND


def _iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix; fractional seconds only when present."""
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _num(n: int) -> str:
    return f"{n:,}"


def _span(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour" + ("s" if hours != 1 else "")
    return f"{seconds} seconds"


def slot_index(moment: datetime, settings: SlicingSettings) -> int:
    """Index of the slot holding ``moment`` (aware datetime): floor(epoch seconds / slot_seconds)."""
    return _micros(moment) // (settings.slot_seconds * 1_000_000)


def slot_bounds(index: int, settings: SlicingSettings) -> tuple[datetime, datetime]:
    """Start (inclusive) and end (exclusive) of slot ``index`` as aware UTC datetimes."""
    start = _EPOCH + timedelta(seconds=index * settings.slot_seconds)
    return start, start + timedelta(seconds=settings.slot_seconds)


def eligible_slots(start: datetime, settings: SlicingSettings) -> range:
    """Slots a task starting at ``start`` may use: from the start's slot to the last slot whose start
    is strictly before ``start + window_seconds``."""
    slot_us = settings.slot_seconds * 1_000_000
    begin_us = _micros(start)
    end_us = begin_us + settings.window_seconds * 1_000_000
    return range(begin_us // slot_us, (end_us - 1) // slot_us + 1)


def free_capacity(used: Mapping[int, int], index: int, settings: SlicingSettings) -> int:
    """Free capacity of slot ``index``: capacity - used, never below 0 nor above capacity."""
    return min(settings.capacity, max(0, settings.capacity - used.get(index, 0)))


def _fill(slots: Iterable[int], frees: Mapping[int, int], count: int) -> tuple[Allocation, ...]:
    """Greedy fill of ``slots`` in order, taking each slot's free capacity until ``count`` is placed."""
    out = []
    remaining = count
    for i in slots:
        take = min(frees[i], remaining)
        if take > 0:
            out.append(Allocation(i, take))
            remaining -= take
        if remaining == 0:
            break
    return tuple(out)


def plan_slots(
    used: Mapping[int, int],
    start: datetime,
    count: int,
    settings: SlicingSettings,
    condition: str = DEFAULT_CONDITION,
) -> Plan:
    """Place ``count`` messages starting at ``start`` according to ``condition``; the ledger is untouched.

    - fragmentedSlots: free capacity of eligible slots in time order, skipping full slots.
      Not enough free capacity in the window -> canceled (SLICING_WINDOW_EXCEEDED).
    - immediateConsecutiveSlots: consecutive slots from the start's slot, each filled greedily.
      A full slot before everything is placed -> canceled (SLICING_CONSECUTIVE_RUN_BROKEN); the
      window ending first -> canceled (SLICING_WINDOW_EXCEEDED).
    - deferredConsecutiveSlots: the earliest-starting run of consecutive eligible slots, each with
      free capacity, whose combined free capacity holds every message; filled greedily from its first
      slot. None -> canceled (SLICING_NO_CONSECUTIVE_RUN).
    Raises ValueError for ``count <= 0``, an unknown condition or a naive ``start``.
    """
    if not isinstance(count, int) or isinstance(count, bool):
        raise TypeError(f"count must be an int, got {count!r}")
    if count <= 0:
        raise ValueError(f"count must be > 0, got {count}")
    if condition not in CONDITIONS:
        raise ValueError(f"unknown slicing condition {condition!r}; expected one of {', '.join(CONDITIONS)}")

    slots = eligible_slots(start, settings)
    frees = {i: free_capacity(used, i, settings) for i in slots}
    when = f"{_span(settings.window_seconds)} of {_iso(start)}"

    if condition == FRAGMENTED:
        total = sum(frees.values())
        if total < count:
            return Plan((), f"{WINDOW_EXCEEDED}: {_num(count)} messages could not be placed "
                            f"within {when} ({_num(total)} free)")
        return Plan(_fill(slots, frees, count))

    if condition == IMMEDIATE:
        placed = 0
        for i in slots:
            if frees[i] == 0:
                at = _iso(slot_bounds(i, settings)[0])
                return Plan((), f"{CONSECUTIVE_RUN_BROKEN}: the run of consecutive slots from {_iso(start)} "
                                f"is broken by the full slot at {at} after {_num(placed)} of "
                                f"{_num(count)} messages")
            placed += frees[i]
            if placed >= count:
                return Plan(_fill(slots, frees, count))
        return Plan((), f"{WINDOW_EXCEEDED}: {_num(count)} messages could not be placed in consecutive "
                        f"slots within {when} ({_num(placed)} free)")

    # DEFERRED. Free capacities are > 0 inside a run, so the sum from a run start to the end of its
    # maximal segment shrinks as the start moves right: the earliest run that holds every message
    # starts at the first slot of the first maximal segment whose total holds them. One pass, O(slots).
    best = 0
    seg_start, seg_total = None, 0
    for i in slots:
        if frees[i] == 0:
            seg_start, seg_total = None, 0
            continue
        if seg_start is None:
            seg_start = i
        seg_total += frees[i]
        best = max(best, seg_total)
        if seg_total >= count:
            return Plan(_fill(range(seg_start, i + 1), frees, count))
    return Plan((), f"{NO_CONSECUTIVE_RUN}: no run of consecutive slots within {when} holds "
                    f"{_num(count)} messages (largest run has {_num(best)} free)")


def reserve(used: dict[int, int], plan: Plan) -> None:
    """Add the plan's allocations to the ledger (a canceled plan adds nothing)."""
    for a in plan.allocations:
        used[a.slot] = used.get(a.slot, 0) + a.count


def release(used: dict[int, int], allocations: Iterable[Allocation]) -> None:
    """Give allocations' capacity back; a slot never goes below 0 and is dropped when it reaches 0."""
    for a in allocations:
        left = used.get(a.slot, 0) - a.count
        if left > 0:
            used[a.slot] = left
        else:
            used.pop(a.slot, None)


def needs_slicing(count: int, settings: SlicingSettings, enabled: bool) -> bool:
    """Slicing applies only when it is enabled and the task has more rows than one slot holds."""
    return bool(enabled) and count > settings.capacity


def slot_schedule(allocations: Iterable[Allocation], settings: SlicingSettings) -> list[dict]:
    """The API's ``slots`` field: ``{"start", "end", "count"}`` per allocation, ISO 8601 with ``Z``.

    Start and end are the slot's own bounds (not clipped to the task's start).
    """
    out = []
    for a in allocations:
        begin, end = slot_bounds(a.slot, settings)
        out.append({"start": _iso(begin), "end": _iso(end), "count": a.count})
    return out


def reservation(used, start: datetime, total: int, slicing: SlicingSettings,
                condition: str) -> tuple[Plan, dict[int, int]]:
    """A ledger reservation's plan (``Store.reserve``): the task's plan and the units it adds per slot."""
    plan = plan_slots(used, start, total, slicing, condition)
    return plan, {allocation.slot: allocation.count for allocation in plan.allocations}


def slicing_settings(app: dict) -> tuple[SlicingSettings, bool, int]:
    """``(numbers, enabled, activation_rows)``; slicing applies when rows > ``activation_rows``
    (per-application ``slicing.activation_rows``, default: one slot's ``capacity``). The values
    were checked by ``settings.check``."""
    section = app.get("slicing") or {}
    numbers = SlicingSettings(slot_seconds=int(section.get("slot_seconds", 3600)),
                              capacity=int(section.get("capacity", 1000)),
                              window_seconds=int(section.get("window_seconds", 48 * 3600)))
    return numbers, bool(section.get("enabled", False)), int(section.get("activation_rows", numbers.capacity))
