"""The one paginator: an offset/limit page over a sequence of counted sources.

Listings that span several batches (Jelou notifications, ``/_mock/messages`` across campaigns,
tasks and providers) are a chain of sources, each knowing how many items it holds (cheaply,
from counts) and able to produce a slice of them. :func:`paginate` skips whole sources by their
count and renders only the page, so a page costs what it shows plus one count per source.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import Any, Callable, Iterable


@dataclass(frozen=True)
class Source:
    """``count`` items; ``fetch(skip, limit)`` yields up to ``limit`` of them after the first ``skip``."""

    count: int
    fetch: Callable[[int, int], Iterable[Any]]


def paginate(sources: Iterable[Source], offset: int, limit: int, *, count_all: bool = True) -> tuple[int, list]:
    """``(total, page)``: items ``offset`` .. ``offset + limit`` across ``sources`` in order.

    ``count_all=False`` stops once the page is full (the total is then a lower bound).
    """
    total, page = 0, []
    for source in sources:
        if source.count and len(page) < limit and offset < total + source.count:
            wanted = limit - len(page)
            page.extend(islice(source.fetch(max(0, offset - total), wanted), wanted))
        total += source.count
        if not count_all and len(page) >= limit:
            break
    return total, page
