"""A dispatcher's unit of work: the :class:`Job` (one attempt at a delivery record), the receiver
it is for, and the seeded fractions (duplicates, reordering) drawn per job."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit

from .subscriptions import Subscription


def fraction(seed: object, salt: str, key: str) -> float:
    """A number in [0, 1) drawn from the seed for ``key`` (duplicates, reordering)."""
    digest = hashlib.blake2b(f"{seed}:{salt}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2 ** 64


@dataclass(frozen=True)
class Job:
    """One attempt (or a seeded duplicate) this process is to make for a delivery record."""

    sandbox: str
    generation: tuple                 # this process's view of the sandbox (store generation, creation time)
    store_generation: int
    id: str                           # the delivery record's id
    lane: int
    subscription: Subscription | None     # None: it was deleted since the record was made
    body: bytes
    event_id: str
    attempts: int                     # attempts made so far
    budget: int                       # the attempt number after which a failure is final
    duplicate: bool = False
    due_real: float | None = None     # real time it became due here: a retry's time, or when queued (metrics)

    @classmethod
    def of(cls, sandbox: str, generation: tuple, record, subscription: Subscription | None,
           due_real: float | None = None) -> "Job":
        """The next attempt at a delivery record (``records.py``) this process owns; ``due_real``:
        when it became due here (default: its retry time, or when it is queued)."""
        value = record.value
        retry_at = value["retryAt"]
        return cls(sandbox, generation, generation[0], record.id, value["lane"], subscription, value["body"],
                   value["eventId"], value["attempts"], value["budget"],
                   due_real=retry_at if retry_at is not None else due_real)


def receiver_of(job: Job) -> str:
    """The receiver a job is for (``scheme://host:port``), or "" when no request will be made."""
    return "" if job.subscription is None else _receiver(job.subscription.url)


@functools.lru_cache(maxsize=4096)
def _receiver(url: str) -> str:
    """(Cached: asked for every queued job the workers look at, a URL parse each.)"""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{parts.port}"
    except ValueError:
        return ""
