"""The Redis store's record reads (a mixin of :class:`~mock_server.store.redis.RedisStore`):
``get``, ``page``, ``scan`` and ``trim``, in the epoch the process learned at its last touch
where one plain command does, else in one script (``redis_lua_records.py``)."""

from __future__ import annotations

from typing import Iterator, Sequence

from .base import Page, Record
from .redis_primitives import StoreUnavailable

_BATCH = 200


class RedisIndexes:
    """``get``, ``page``, ``scan`` and ``trim`` of :class:`~mock_server.store.redis.RedisStore`."""

    def get(self, sandbox: str, kind: str, record_id: str) -> Record | None:
        """One command (``HMGET`` of the record's hash) in the epoch this process learned at its
        last touch or info of the sandbox (a request touches first, so it reads the sandbox as it
        found it then, as if it had read at that instant); the script, which reads the epoch, when
        that finds nothing or no epoch is known yet."""
        known = self._epochs.get(sandbox)
        if known is not None:
            epoch = known[0]
            key = f"{self.prefix}d:{sandbox}:{epoch}:rec:{kind}:{record_id}"
            fields = self.command(lambda client: client.hmget(key, "v", "seq", "cus", "ver", "ix"))
            if fields[0] is not None:
                return self._record(kind, record_id, fields)
        out = self._read("GET", sandbox, None, kind, record_id)
        return None if out is None else self._record(kind, record_id, out[1:6])

    def _get_many(self, sandbox: str, keys: Sequence[tuple[str, str]]) -> tuple[int, list[Record | None]]:
        """The sandbox's generation and the records (a sandbox that does not exist: a fresh one's
        generation, 0, and no record)."""
        flat = [part for key in keys for part in key]
        out = self._read("GET", sandbox, [0] + [None] * (5 * len(keys)), *flat)
        records = [self._record(kind, record_id, out[1 + 5 * i:6 + 5 * i]) for i, (kind, record_id) in enumerate(keys)]
        return int(out[0]), records

    def trim(self, sandbox: str, index: str, keep: int) -> int:
        return int(self._read("TRIM", sandbox, 0, index, max(0, keep)))

    def _members(self, sandbox: str, index: str, low, high, offset: int, limit: int | None,
                 newest_first: bool, total: bool = True) -> tuple[int, int, list[tuple[str, str]]]:
        out = self._run("RANGE", sandbox, index, "-inf" if low is None else repr(float(low)),
                        "+inf" if high is None else repr(float(high)), max(0, offset),
                        -1 if limit is None else max(0, limit), 1 if newest_first else 0, 1 if total else 0)
        refs = []
        for member in out[2:]:
            _, kind, record_id = member.decode().split("|", 2)
            refs.append((kind, record_id))
        return int(out[0]), int(out[1]), refs

    def page(self, sandbox: str, index: str, *, low: float | None = None, high: float | None = None,
             offset: int = 0, limit: int | None = None, newest_first: bool = True) -> Page:
        if limit is not None and limit <= 0:
            return Page((), self._members(sandbox, index, low, high, 0, 0, newest_first)[1])
        if limit is not None and limit <= _BATCH and offset <= 0:
            found = self._plain_page(sandbox, index, low, high, limit, newest_first)
            if found is not None:
                return found
        if limit is not None and limit <= _BATCH:          # one step: members and records together
            out = self._run("PAGE", sandbox, index, "-inf" if low is None else repr(float(low)),
                            "+inf" if high is None else repr(float(high)), max(0, offset), limit,
                            1 if newest_first else 0)
            records = []
            for at in range(2, len(out), 6):
                _, kind, record_id = out[at].decode().split("|", 2)
                record = self._record(kind, record_id, out[at + 1:at + 6])
                if record is not None:
                    records.append(record)
            return Page(tuple(records), int(out[1]))
        for _ in range(100):
            generation, total, refs = self._members(sandbox, index, low, high, offset, limit, newest_first)
            if not refs:
                return Page((), total)
            records: list[Record] = []
            for start in range(0, len(refs), _BATCH):
                now_generation, found = self._get_many(sandbox, refs[start:start + _BATCH])
                if now_generation != generation:
                    break
                records += [record for record in found if record is not None]
            else:
                return Page(tuple(records), total)
        raise StoreUnavailable("the sandbox kept being reset while a page was read")

    def _plain_page(self, sandbox: str, index: str, low, high, limit: int, newest_first: bool) -> Page | None:
        """A first page that holds the whole range (fewer than ``limit`` members), read without
        the ``PAGE`` script: one plain ``ZRANGEBYSCORE`` in the epoch this process learned at its
        last touch (as ``get``), then, when it found members, their records in one ``GET``
        script (whose generation must be the one of that epoch). An empty range costs that one
        command (a settle's look at an empty queue). None: ask the script."""
        known = self._epochs.get(sandbox)
        if known is None:
            return None
        epoch, generation = known
        key = f"{self.prefix}d:{sandbox}:{epoch}:ix:{index}"
        low_text = "-inf" if low is None else repr(float(low))
        high_text = "+inf" if high is None else repr(float(high))
        if newest_first:
            members = self.command(lambda client: client.zrevrangebyscore(key, high_text, low_text, start=0, num=limit))
        else:
            members = self.command(lambda client: client.zrangebyscore(key, low_text, high_text, start=0, num=limit))
        if not members:
            return Page((), 0)
        if len(members) >= limit:
            return None                                     # the total needs a count: the script
        refs = [tuple(member.decode().split("|", 2)[1:]) for member in members]
        now_generation, found = self._get_many(sandbox, refs)
        if now_generation != generation:
            return None
        records = tuple(record for record in found if record is not None)
        return Page(records, len(records))

    def scan(self, sandbox: str, index: str, *, low: float | None = None, high: float | None = None,
             newest_first: bool = True) -> Iterator[Record]:
        generation, _, refs = self._members(sandbox, index, low, high, 0, None, newest_first, total=False)
        return self._scan(sandbox, generation, refs)

    def _scan(self, sandbox: str, generation: int, refs: list[tuple[str, str]]) -> Iterator[Record]:
        start, size = 0, 1         # batches of 1, 2, 4 ... 200: a reset is noticed soon after it happens
        while start < len(refs):
            now_generation, found = self._get_many(sandbox, refs[start:start + size])
            if now_generation != generation:
                return
            yield from (record for record in found if record is not None)
            start, size = start + size, min(_BATCH, size * 2)
