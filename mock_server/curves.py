"""A batch's statuses over mock time (CONTRACT §14): ``GET /_mock/messages/curve`` and the UI charts.

``curve(batch, ...)`` counts how many messages stand in each of the provider's statuses at every
``step`` from the batch's acceptance to its last transition (at most ``MAX_POINTS`` points; the
counts of a point add up to the batch's size). The counting is ``Timelines.series``: a few passes
over the outcome bytes whatever the number of points, no loop over messages.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from .batches import Batch
from .delivery import Timelines
from .isotime import format_seconds, from_timestamp, isoformat

MAX_POINTS = 2000
NICE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


class CurveError(ValueError):
    """A step that would give more than ``MAX_POINTS`` points (the message names the smallest one)."""


def span(batch: Batch, timelines: Timelines) -> tuple[float, float]:
    """From the batch's acceptance to its last transition (epoch seconds)."""
    accepted = batch.created_us / 1_000_000
    fates = batch.fates(timelines)
    schedule = batch.schedule
    limit = batch.total if batch.sent_limit is None else min(batch.sent_limit, batch.total)
    if not schedule.segments or limit == 0:
        return accepted, accepted
    present = set(batch.outcomes[:limit])
    latest = max(fates.steps[code][-1][0] for code in present)
    return accepted, max(accepted, schedule.send_time(limit - 1) + latest)


def auto_step(seconds: float) -> float:
    """The smallest nice step giving at most ``MAX_POINTS`` points over ``seconds``."""
    wanted = seconds / (MAX_POINTS - 2)
    return next((step for step in NICE_STEPS if step >= wanted), math.ceil(wanted / 86400) * 86400)


def curve(batch: Batch, timelines: Timelines, names: Mapping[str, str], statuses: Sequence[str],
          step: float | None = None) -> dict[str, Any]:
    """``{"step", "from", "to", "points": [{"at", "counts"}]}`` for one batch."""
    start, end = span(batch, timelines)
    if step is None:
        step = auto_step(end - start)
    count = math.floor((end - start) / step) + 1
    moments = [start + k * step for k in range(count)]
    if moments[-1] < end:
        moments.append(end)
    if len(moments) > MAX_POINTS:
        smallest = (end - start) / (MAX_POINTS - 2)
        raise CurveError(f"step: {format_seconds(step)} gives {len(moments):,} points from the accept time to the "
                         f"last transition; at most {MAX_POINTS:,}: use a step of at least {format_seconds(math.ceil(smallest))}")
    fates = batch.fates(timelines)
    points = []
    for moment, stages in zip(moments, fates.series(batch.outcomes, batch.schedule, moments, batch.sent_limit)):
        counts = dict.fromkeys(statuses, 0)
        for stage, number in stages.items():
            counts[names[stage]] += number
        points.append({"at": isoformat(from_timestamp(moment)), "counts": counts})
    return {"step": format_seconds(step), "from": points[0]["at"], "to": points[-1]["at"], "points": points}


# -- the UI's chart (server-rendered SVG: mock_server/ui/templates/ui/_macros.html ``status_curve``) ----
CHART_WIDTH, CHART_HEIGHT, CHART_LEFT, CHART_BOTTOM = 1120, 220, 52, 28
COLOURS = 7                     # line colours c0..c6 (ui.css: no inline styles under the UI's CSP)


def chart(shape: dict[str, Any], total: int) -> dict[str, Any]:
    """Line geometry: per status, its count at each point, x by mock time and y by share of ``total``."""
    points = shape["points"]
    top, bottom = 8, CHART_HEIGHT - CHART_BOTTOM
    plot_width = CHART_WIDTH - CHART_LEFT - 8
    span = max(len(points) - 1, 1)
    scale = (bottom - top) / max(total, 1)
    statuses = list(points[0]["counts"]) if points else []
    lines = []
    for position, status in enumerate(statuses):
        coordinates = " ".join(f"{CHART_LEFT + plot_width * k / span:.1f},{bottom - point['counts'][status] * scale:.1f}"
                               for k, point in enumerate(points))
        peak = max(point["counts"][status] for point in points)
        lines.append({"status": status, "points": coordinates, "colour": position % COLOURS,
                      "peak": peak, "last": points[-1]["counts"][status]})
    last = len(points) - 1
    ticks = [{"x": CHART_LEFT + plot_width * k / span, "label": points[k]["at"][5:16].replace("T", " "),
              "anchor": "start" if k == 0 else "end" if k == last else "middle"}
             for k in sorted({0, last // 2, last})] if points else []
    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "left": CHART_LEFT, "top": top, "bottom": bottom,
            "mid": (top + bottom) / 2, "total": total, "half": total // 2, "lines": lines, "ticks": ticks,
            "step": shape["step"], "from": shape["from"], "to": shape["to"]}


def page_chart(batch: Batch, timelines: Timelines, names: Mapping[str, str], statuses: Sequence[str]) -> dict[str, Any]:
    """The chart of a campaign's or task's page (the automatic step)."""
    return chart(curve(batch, timelines, names, statuses), batch.total)
