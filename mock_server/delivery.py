"""What happens to each message after it is sent, computed from the clock, never stored per message.

A batch (a Jelou campaign, an indigitall task) keeps one byte per recipient: its *outcome code*.
Send times come from a :class:`Schedule` (segments sent at a fixed rate). A message's stage at
any instant is a pure function of (outcome, send time, now), so moving the clock applies every
transition at once and a million recipients cost a million bytes.

Reserved recipients: a number starting ``999`` picks its outcome with the next two digits (see
``RESERVED`` and the README). Everyone else is delivered; the share that is read is the setting
``delivery.read_share``, drawn from the seeded generator in steps of 1/256.
"""

from __future__ import annotations

import bisect
import functools
import random
from dataclasses import dataclass
from typing import Mapping

# Outcome codes (one byte per recipient).
ORDINARY, ORDINARY_READ, FAIL_SEND, CHANNEL_ONLY, NEVER_READ, READ_CODE, REPLIED, SLOW, FAIL_LATE, INVALID = range(10)

# Generic stages; each provider maps them onto its own status names.
QUEUED, SENT, CHANNEL, USER, READ, REPLY, FAILED, CANCELED = (
    "queued", "sent", "channel", "user", "read", "reply", "failed", "canceled")

RESERVED_PREFIX = "999"
# two digits after 999 -> (outcome code, short name, description for the README)
RESERVED: dict[str, tuple[int, str, str]] = {
    "01": (FAIL_SEND, "fails at send", "rejected as an invalid recipient when sent"),
    "02": (CHANNEL_ONLY, "channel only", "reaches the channel (WhatsApp) but never the user"),
    "03": (NEVER_READ, "never read", "delivered to the user, never read"),
    "04": (READ_CODE, "read", "delivered and read"),
    "05": (REPLIED, "replied", "delivered, read and replied to"),
    "06": (SLOW, "slow delivery", "reaches the user only after delivery.slow_user_after seconds; never read"),
    "07": (FAIL_LATE, "fails after channel", "reaches the channel, then fails (user unreachable)"),
}
# WhatsApp error codes of delivery's failing codes (research: 131026 "Message undeliverable"; 100
# "Invalid parameter" for a row that cannot be sent at all).
RESERVED_ERRORS = {FAIL_SEND: 131026, FAIL_LATE: 131026, INVALID: 100}
FAILURE_REASONS = {
    FAIL_SEND: "Invalid recipient: the number is not a WhatsApp user (reserved 99901)",
    FAIL_LATE: "Undeliverable: the user's phone could not be reached (reserved 99907)",
}


def reserved_outcome(recipient: str) -> int | None:
    """The outcome a reserved (``999``) recipient asks for, or None for an ordinary one."""
    if recipient.startswith(RESERVED_PREFIX):
        entry = RESERVED.get(recipient[3:5])
        if entry:
            return entry[0]
    return None


@functools.lru_cache(maxsize=8)
def _read_table(threshold: int) -> bytes:
    """The ``translate`` table from a random byte to an ordinary outcome: read below ``threshold``
    (built once per read share, not once per upload)."""
    return bytes(ORDINARY_READ if value < threshold else ORDINARY for value in range(256))


def build_outcomes(count: int, rng: random.Random, read_share: float,
                   reserved: Mapping[int, str], invalid: Mapping[int, str]) -> bytearray:
    """One outcome byte per recipient: read-share draws, then reserved and invalid rows."""
    outcomes = bytearray(rng.randbytes(count).translate(_read_table(round(read_share * 256))))
    for index, recipient in reserved.items():
        code = reserved_outcome(recipient)
        if code is not None:
            outcomes[index] = code
    for index in invalid:
        outcomes[index] = INVALID
    return outcomes


@dataclass(frozen=True)
class Segment:
    """``count`` messages from index ``first``, the first sent at ``start`` (epoch s), ``rate``/s."""

    first: int
    count: int
    start: float
    rate: float

    @property
    def last_send(self) -> float:
        return self.start + (self.count - 1) / self.rate


class Schedule:
    """When each message of a batch is sent: consecutive segments, in time order."""

    def __init__(self, segments: list[Segment]) -> None:
        self.segments = segments
        self._ends = [segment.last_send for segment in segments]
        self._firsts = [segment.first for segment in segments]
        self.total = sum(segment.count for segment in segments)

    def send_time(self, index: int) -> float:
        position = bisect.bisect_right(self._firsts, index) - 1
        if position >= 0 and index >= 0:
            segment = self.segments[position]
            if index < segment.first + segment.count:
                return segment.start + (index - segment.first) / segment.rate
        raise IndexError(index)

    def sent_by(self, moment: float) -> int:
        """How many messages have a send time at or before ``moment``."""
        position = bisect.bisect_right(self._ends, moment)
        done = sum(segment.count for segment in self.segments[:position])
        if position < len(self.segments):
            segment = self.segments[position]
            if moment >= segment.start:
                # Estimate, then correct with the exact expression send_time() uses, so that
                # sent_by(send_time(i)) == i + 1 even at epoch-sized floats.
                k = min(segment.count - 1, int((moment - segment.start) * segment.rate))
                while k + 1 < segment.count and segment.start + (k + 1) / segment.rate <= moment:
                    k += 1
                while k >= 0 and segment.start + k / segment.rate > moment:
                    k -= 1
                done += k + 1
        return done

    @property
    def first_send(self) -> float | None:
        return self.segments[0].start if self.segments else None

    @property
    def last_send(self) -> float | None:
        return self._ends[-1] if self._ends else None


class Timelines:
    """Per outcome code, the stages a message passes through and when (seconds after sending)."""

    def __init__(self, delivery) -> None:
        """:param delivery: the ``delivery`` settings (``mock_server.settings.core.DeliverySettings``)."""
        ch, user = float(delivery.channel_after), float(delivery.user_after)
        read, reply, slow = float(delivery.read_after), float(delivery.reply_after), float(delivery.slow_user_after)
        delivered = ((0.0, SENT), (ch, CHANNEL), (user, USER))
        self.steps: dict[int, tuple[tuple[float, str], ...]] = {
            ORDINARY: delivered,
            ORDINARY_READ: delivered + ((read, READ),),
            FAIL_SEND: ((0.0, FAILED),),
            CHANNEL_ONLY: ((0.0, SENT), (ch, CHANNEL)),
            NEVER_READ: delivered,
            READ_CODE: delivered + ((read, READ),),
            REPLIED: delivered + ((read, READ), (reply, REPLY)),
            SLOW: ((0.0, SENT), (ch, CHANNEL), (max(slow, user), USER)),
            FAIL_LATE: ((0.0, SENT), (ch, CHANNEL), (user, FAILED)),
            INVALID: ((0.0, FAILED),),
        }
        self._groups: list[tuple[float, tuple[int, ...]]] | None = None
        self.delivery = delivery
        self.titles: dict[int, tuple[int, str]] = {}      # profile failure codes -> (error code, title)
        self._profiles: dict[str, Timelines] = {}

    def for_profile(self, text: str | None) -> "Timelines":
        """The table of a batch accepted under the profile ``text`` (None: this one, ``ideal``);
        built once per profile and kept (a few profiles per app)."""
        if text is None:
            return self
        found = self._profiles.get(text)
        if found is None:
            from .fates import FateTable           # it builds on this module
            from .profiles import Profile
            if len(self._profiles) >= 64:
                self._profiles.clear()
            found = self._profiles[text] = FateTable(Profile.from_json(text), self.delivery)
        return found

    def error_of(self, code: int) -> tuple[int | None, str | None]:
        """A failed message's ``(error code, title)``; the title is None for delivery's own codes
        (reserved recipients, invalid rows), whose providers word their own reasons."""
        if code in self.titles:
            return self.titles[code]
        return RESERVED_ERRORS.get(code), None

    @property
    def failing(self) -> tuple[int, ...]:
        """The codes whose messages end ``failed``."""
        return tuple(code for code, steps in self.steps.items() if steps[-1][1] == FAILED)

    def codes_reaching(self, stages) -> bytes:
        """The outcome codes whose messages pass through one of ``stages`` once sent."""
        return bytes(code for code, steps in self.steps.items() if any(stage in stages for _, stage in steps))

    @property
    def latest(self) -> float:
        """The longest time from a send to a message's last change."""
        return max((offset for offset, _ in self.groups()), default=0.0)

    def stage(self, code: int, sent_at: float | None, now: float) -> tuple[str, dict[str, float]]:
        """The stage at ``now`` and the moment each stage so far was reached."""
        if sent_at is None or now < sent_at:
            return QUEUED, {}
        reached: dict[str, float] = {}
        current = QUEUED
        for offset, stage in self.steps[code]:
            if sent_at + offset > now:
                break
            reached[stage] = sent_at + offset
            current = stage
        return current, reached

    def groups(self) -> list[tuple[float, tuple[int, ...]]]:
        """``(offset, outcome codes with a step at that offset)``, by offset: the moments after
        sending at which some message can change stage."""
        if self._groups is None:
            found: dict[float, list[int]] = {}
            for code, steps in self.steps.items():
                for offset, _ in steps:
                    codes = found.setdefault(offset, [])
                    if code not in codes:
                        codes.append(code)
            self._groups = [(offset, tuple(codes)) for offset, codes in sorted(found.items())]
        return self._groups

    def final_stage(self, code: int) -> str:
        return self.steps[code][-1][1]

    def series(self, outcomes: bytes, schedule: Schedule, moments: list[float],
               sent_limit: int | None = None) -> list[dict[str, int]]:
        """:meth:`count` at each of ``moments`` (ascending), for a chart: each distinct offset's
        send boundaries once per moment, and per code one pass over its bytes (prefix counts at
        the boundaries), so 2,000 points over a million messages cost a few passes, not 2,000."""
        total = len(outcomes)
        limit = total if sent_limit is None else sent_limit
        offsets = sorted({offset for steps in self.steps.values() for offset, _ in steps})
        bounds = {offset: [min(schedule.sent_by(moment - offset), limit) for moment in moments]
                  for offset in offsets}
        out: list[dict[str, int]] = []
        for position, _ in enumerate(moments):
            sent_now = min(schedule.sent_by(moments[position]), limit)
            counts = {QUEUED: limit - sent_now}
            if sent_limit is not None:
                counts[CANCELED] = total - limit
            out.append(counts)
        present = [code for code in self.steps if outcomes.find(code, 0, limit) >= 0]
        for code in present:
            steps = self.steps[code]
            marks = sorted({index for offset, _ in steps for index in bounds[offset]})
            prefix, running, previous = {}, 0, 0
            for index in marks:
                running += outcomes.count(code, previous, index)
                prefix[index], previous = running, index
            for position, (offset, stage) in enumerate(steps):
                highs = bounds[offset]
                lows = bounds[steps[position + 1][0]] if position + 1 < len(steps) else None
                for point, counts in enumerate(out):
                    found = prefix[highs[point]] - (prefix[lows[point]] if lows is not None else 0)
                    if found:
                        counts[stage] = counts.get(stage, 0) + found
        return out

    def count(self, outcomes: bytearray, schedule: Schedule, now: float, sent_limit: int | None = None) -> dict[str, int]:
        """How many messages are in each stage at ``now``.

        ``sent_limit`` caps how many were ever sent (a batch canceled midway); the rest are
        ``canceled``. Cost: a few ``bytearray.count`` calls per outcome code, never a loop over
        recipients in Python.
        """
        total = len(outcomes)
        limit = total if sent_limit is None else sent_limit
        counts: dict[str, int] = {}
        sent_now = min(schedule.sent_by(now), limit)
        counts[QUEUED] = limit - sent_now
        if sent_limit is not None:
            counts[CANCELED] = total - limit
        for code, steps in self.steps.items():
            if outcomes.find(code, 0, sent_now) < 0:
                continue
            for position, (offset, stage) in enumerate(steps):
                high = min(schedule.sent_by(now - offset), limit)
                after = steps[position + 1][0] if position + 1 < len(steps) else None
                low = min(schedule.sent_by(now - after), limit) if after is not None else 0
                if high > low:
                    found = outcomes.count(code, low, high)
                    if found:
                        counts[stage] = counts.get(stage, 0) + found
        return counts
