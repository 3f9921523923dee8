"""Where fault rules, rate-limit windows and journal entries live: three small primitives on the store.

- :class:`KeyedMap`: the fault rules, in creation order.
- :class:`WindowCounter`: atomic counters per rate-limit window (old windows are forgotten).
- :class:`BoundedLog`: the request journal, append-only, keeping the newest ``max_entries`` and
  counting how many were dropped.

They keep their data in the store's named buckets under the store's lock, so ``POST /_mock/reset``
clears them with every other record, and the same interface can be served by a shared store.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from ..store import Store


class KeyedMap:
    def __init__(self, store: Store, name: str) -> None:
        self.store = store
        self.name = name

    @property
    def lock(self):
        return self.store.lock

    def _items(self) -> dict[str, Any]:
        return self.store.bucket(self.name)

    def put(self, key: str, value: Any) -> None:
        with self.store.lock:
            self._items()[key] = value

    def get(self, key: str) -> Any | None:
        with self.store.lock:
            return self._items().get(key)

    def delete(self, key: str) -> bool:
        with self.store.lock:
            return self._items().pop(key, None) is not None

    def values(self) -> list[Any]:
        with self.store.lock:
            return list(self._items().values())

    def clear(self) -> int:
        with self.store.lock:
            items = self._items()
            count = len(items)
            items.clear()
            return count


class WindowCounter:
    """Counters keyed by ``"<limit>:<subject>:<window start>"``."""

    MAX_KEYS = 10_000

    def __init__(self, store: Store, name: str) -> None:
        self.store = store
        self.name = name

    def count(self, key: str) -> int:
        with self.store.lock:
            return self.store.bucket(self.name).get(key, 0)

    def hit(self, key: str, limit: int) -> bool:
        """Add one unless the counter is already at ``limit``."""
        with self.store.lock:
            counters = self.store.bucket(self.name)
            value = counters.get(key, 0)
            if value >= limit:
                return False
            if key not in counters and len(counters) >= self.MAX_KEYS:
                counters.pop(next(iter(counters)))       # the oldest window: long over by now
            counters[key] = value + 1
            return True


class BoundedLog:
    """An append-only log of dicts with sequential ids, keeping the newest ``max_entries``."""

    def __init__(self, store: Store, name: str, max_entries: int) -> None:
        self.store = store
        self.name = name
        self.max_entries = max_entries

    def append(self, make: Callable[[int], dict]) -> dict:
        """Store ``make(sequence_number)`` and wake long-polls."""
        with self.store.lock:
            number = self.store.next_number(self.name)
            entry = make(number)
            entries = self.store.bucket(self.name)
            entries[number] = entry
            while len(entries) > self.max_entries:
                entries.pop(next(iter(entries)))
                meta = self.store.bucket(self.name + ".meta")
                meta["dropped"] = meta.get("dropped", 0) + 1
            self.store.changed.notify_all()
            return entry

    def entries(self) -> Iterator[dict]:
        with self.store.lock:
            return iter(list(self.store.bucket(self.name).values()))

    def dropped(self) -> int:
        with self.store.lock:
            return self.store.bucket(self.name + ".meta").get("dropped", 0)

    def clear(self) -> None:
        with self.store.lock:
            self.store.bucket(self.name).clear()
            self.store.bucket(self.name + ".meta").clear()
            self.store.changed.notify_all()
