"""State storage: the store interface (``base``), the in-memory store (``memory``), the codec."""

from __future__ import annotations

import time
from typing import Callable

from .base import (DEFAULT_SANDBOX, SANDBOX_NAME, Blob, BlobSource, ClockState, Lease, LogPage, NewRecord, Page, Record, SandboxInfo,
                   SandboxLimit, StaleGeneration, Store, StoreError, StoreLayoutError, StoreUnavailable,
                   valid_sandbox_name)
from .memory import MemoryStore


def open_store(spec: str = "memory", *, seed: int = 0, clock_start_us: int | None = None, clock_frozen: bool = False,
               time_source: Callable[[], float] = time.time, prefix: str = "bulkmock:",
               max_sandboxes: int | None = None) -> Store:
    """The store named by ``spec``: ``"memory"`` (this process only) or ``"redis://HOST:PORT/DB"``
    (shared by every process and host using that Redis and ``prefix``). ``max_sandboxes``: how many
    sandboxes may exist at once (None: no bound)."""
    if spec == "memory":
        return MemoryStore(seed=seed, clock_start_us=clock_start_us, clock_frozen=clock_frozen, time_source=time_source,
                           max_sandboxes=max_sandboxes)
    if isinstance(spec, str) and spec.startswith(("redis://", "rediss://", "unix://")):
        from .redis import RedisStore

        return RedisStore(spec, prefix=prefix, seed=seed, clock_start_us=clock_start_us, clock_frozen=clock_frozen,
                          time_source=time_source, max_sandboxes=max_sandboxes)
    raise StoreError(f"unknown store '{spec}': use 'memory' or 'redis://HOST:PORT/DB'")


__all__ = ["DEFAULT_SANDBOX", "SANDBOX_NAME", "Blob", "BlobSource", "ClockState", "Lease", "LogPage", "NewRecord", "Page", "Record", "SandboxInfo",
           "SandboxLimit", "StaleGeneration", "Store", "StoreError", "StoreLayoutError", "StoreUnavailable", "valid_sandbox_name", "MemoryStore",
           "open_store"]
