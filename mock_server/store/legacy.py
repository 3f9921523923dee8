"""The thread-safe in-memory store shared by both providers.

One re-entrant lock guards every collection; providers keep their records in named buckets
(plain dicts, insertion-ordered) and hold ``store.lock`` while they read-modify-write. A
condition variable on the same lock lets long-polls (``/_mock/messages?wait_for``) sleep until
something changes instead of spinning. Ids come from a generator seeded by the settings, so the
same requests in the same order give the same ids.
"""

from __future__ import annotations

import random
import threading
import uuid
from typing import Any


class Store:
    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._buckets: dict[str, dict[Any, Any]] = {}
        self._ids = random.Random(f"ids:{seed}")
        self._counters: dict[str, int] = {}

    def bucket(self, name: str) -> dict[Any, Any]:
        """The named collection (created empty on first use)."""
        with self.lock:
            return self._buckets.setdefault(name, {})

    def new_uuid(self) -> str:
        """A UUID4-shaped id drawn from the seeded generator."""
        with self.lock:
            return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def next_number(self, name: str, start: int = 1) -> int:
        """The next integer of a named sequence (1, 2, 3 ...)."""
        with self.lock:
            value = self._counters.get(name, start - 1) + 1
            self._counters[name] = value
            return value

    def notify(self) -> None:
        """Wake everyone waiting on ``changed`` (new records, clock moves)."""
        with self.lock:
            self.changed.notify_all()

    def reset(self) -> None:
        """Drop every record and restart the id generator and sequences."""
        with self.lock:
            for bucket in self._buckets.values():
                bucket.clear()
            self._ids = random.Random(f"ids:{self._seed}")
            self._counters.clear()
            self.changed.notify_all()
