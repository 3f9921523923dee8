"""Fates under a traffic profile: one outcome byte per recipient, drawn from (seed, batch id, row).

The ``ideal`` profile keeps ``delivery``'s table (outcome codes 0-9) and its draws, unchanged. Any
other profile extends the table with *fate codes* from 10: each code is a class (delivered and
not read, read, replied, or one failure entry of the profile) with one set of stage delays, so
everything ``delivery.Timelines`` does with fixed offsets per code (counts, one message's stage,
transitions in a window, the next change) works unchanged, at a cost in the number of codes, never
in the number of messages. Nothing is stored per message beyond the byte ``ideal`` already keeps.

Delays. A log-normal stage (median, p95) is discretised into ``len(POINTS)`` quantile steps (the
bucket edges ``EDGES``); each bucket's delay is the log-normal's quantile at its point, and the
buckets holding the 50th and 95th percentiles sit exactly on them, so the observed median and p95
of a stage over many messages are the profile's. A message's stages use one bucket (a recipient
who is quick to receive is quick to read: the comonotonic choice, which keeps every stage's
marginal distribution exact with 19 codes per class instead of 19⁴).

Draws. Each row gets a 16-bit value ``u`` from a Kronecker (golden-ratio) sequence, ``u = (r + i·A)
mod 2¹⁶`` with ``A ≈ 2¹⁶/φ``, restarted at a seeded rotation ``r`` every 65,536 rows: a
low-discrepancy sequence, so every class and every delay bucket gets its share within a few
messages over any 10,000 consecutive rows (independent draws would miss a 60 % share by a whole
point one time in twenty). ``u`` picks the code through a 65,536-entry table whose intervals are
the classes' shares times the buckets' widths. Each 65,536-row block is one rotation of the same
sequence: building a million rows costs 16 slices of bytes, no Python loop per row.
"""

from __future__ import annotations

import math
import random
from statistics import NormalDist
from typing import Mapping

from . import delivery as d
from .profiles import Delay, Profile

FIRST_CODE = 10                 # codes below are delivery's (reserved recipients, invalid rows)
TIER_FAIL = 255                 # a message refused by the messaging tier (overflow: fail)
A = 40503                       # round(2**16 / golden ratio): odd, so j*A mod 2**16 visits every value
PERIOD = 1 << 16
EDGES = (0.0, .03, .07, .12, .18, .25, .32, .39, .46, .54, .61, .68, .75, .81, .86, .90, .93, .97, .985, 1.0)
POINTS = tuple(.5 if (lo, hi) == (.46, .54) else .95 if (lo, hi) == (.93, .97) else (lo + hi) / 2
               for lo, hi in zip(EDGES, EDGES[1:]))
Z95 = NormalDist().inv_cdf(0.95)


def delay_at(delay: Delay, q: float) -> float:
    """The delay's ``q`` quantile (seconds): its value when fixed, else the log-normal's."""
    if delay.fixed or delay.median <= 0:
        return delay.median
    sigma = math.log(delay.p95 / delay.median) / Z95
    return delay.median * math.exp(sigma * NormalDist().inv_cdf(q))


class FateTable(d.Timelines):
    """:class:`~mock_server.delivery.Timelines` for a profile: delivery's codes plus fate codes."""

    def __init__(self, profile: Profile, delivery) -> None:
        super().__init__(delivery)
        self.profile = profile
        self.titles: dict[int, tuple[int, str]] = {}          # fate code -> (error code, title)
        spans: list[tuple[int, float]] = []                   # (code, share of all rows), in u order
        fixed = all(stage.fixed for stage in profile.stages)
        weights = (1.0,) if fixed else tuple(hi - lo for lo, hi in zip(EDGES, EDGES[1:]))
        points = (0.5,) if fixed else POINTS
        delivered = max(0.0, 1.0 - sum(failure.share for failure in profile.failures))
        read = delivered * profile.read_share
        classes = [("unread", delivered - read, None), ("read", read * (1 - profile.reply_share), None),
                   ("reply", read * profile.reply_share, None)]
        classes += [(failure.at, failure.share, failure) for failure in profile.failures]
        code = FIRST_CODE
        for kind, share, failure in classes:
            if share <= 0:
                continue
            for point, weight in (((0.5, 1.0),) if kind == "send" else zip(points, weights)):
                ch, user, rd, rp = (delay_at(stage, point) for stage in profile.stages)
                delivered_steps = ((0.0, d.SENT), (ch, d.CHANNEL), (ch + user, d.USER))
                self.steps[code] = {
                    "unread": delivered_steps,
                    "read": delivered_steps + ((ch + user + rd, d.READ),),
                    "reply": delivered_steps + ((ch + user + rd, d.READ), (ch + user + rd + rp, d.REPLY)),
                    "delivery": ((0.0, d.SENT), (ch, d.CHANNEL), (ch + user, d.FAILED)),
                    "send": ((0.0, d.FAILED),),
                }[kind]
                if failure is not None:
                    self.titles[code] = (failure.code, failure.title)
                spans.append((code, share * weight))
                code += 1
        if code > TIER_FAIL:            # cannot happen within profiles.MAX_FAILURES; say so if it ever does
            raise ValueError(f"a profile needs {code - FIRST_CODE} fate codes; at most {TIER_FAIL - FIRST_CODE}")
        if profile.tier is not None:
            self.steps[TIER_FAIL] = ((0.0, d.FAILED),)
            self.titles[TIER_FAIL] = (profile.tier.code, "Messaging limit reached: more unique recipients in 24 "
                                                         "hours than the number's tier allows")
        self._sequence = _sequence(_table(spans))

    def draw(self, count: int, rng: random.Random) -> bytearray:
        """``count`` fate codes, row by row (see the module docstring)."""
        blocks = []
        for _ in range(0, count, PERIOD):
            r = rng.getrandbits(16)
            blocks.append(self._sequence[r:] + self._sequence[:r])
        return bytearray(b"".join(blocks)[:count])


def _table(spans: list[tuple[int, float]]) -> bytes:
    """The 65,536-entry map from ``u`` to fate code: each code's interval is its share."""
    table = bytearray(PERIOD)
    total = sum(share for _, share in spans) or 1.0
    low, cumulative = 0, 0.0
    for position, (code, share) in enumerate(spans):
        cumulative += share / total
        high = PERIOD if position == len(spans) - 1 else round(cumulative * PERIOD)
        table[low:high] = bytes((code,)) * (high - low)
        low = high
    return bytes(table)


def _sequence(table: bytes) -> bytes:
    """Row ``j`` of a block (before rotation) gets ``table[j·A mod 2¹⁶]``."""
    return bytes(table[(j * A) & 0xFFFF] for j in range(PERIOD))


def build_outcomes(count: int, rng: random.Random, timelines: d.Timelines, reserved: Mapping[int, str],
                   invalid: Mapping[int, str], profile: str | None = None) -> bytearray:
    """A new batch's outcome bytes: ``delivery``'s draws under ``ideal`` (``profile`` None), exactly
    as before profiles existed; the profile's fates otherwise."""
    if profile is None:
        read_share = float(timelines.delivery.read_share)
        return d.build_outcomes(count, rng, read_share, reserved, invalid)
    return draw_outcomes(count, rng, timelines.for_profile(profile), reserved, invalid)


def draw_outcomes(count: int, rng: random.Random, fates: FateTable, reserved: Mapping[int, str],
                  invalid: Mapping[int, str]) -> bytearray:
    """One fate byte per recipient; reserved recipients and invalid rows keep delivery's codes."""
    outcomes = fates.draw(count, rng)
    for index, recipient in reserved.items():
        code = d.reserved_outcome(recipient)
        if code is not None:
            outcomes[index] = code
    for index in invalid:
        outcomes[index] = d.INVALID
    return outcomes
