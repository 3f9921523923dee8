"""The Redis store's sandboxes and their clocks (a mixin of :class:`~.redis.RedisStore`): touch,
info, listing, drop, idle expiry, reset (a new epoch; the old epoch's keys are unlinked in the
background) and the clock. The plumbing they use (``_call``, ``_run``, ``_read``, ``_ensure``,
``_learn``, ``_forget_sandboxes``, ``_initial_clock``, ``_retry``) is ``redis.py``'s."""

from __future__ import annotations

from typing import Callable, Sequence

import redis as redis_client

from .base import ClockState, SandboxInfo
from .redis_primitives import StoreUnavailable, _NoSandbox
from .redis_records import _clock, _frz


class RedisSandboxes:
    # -- sandboxes ---------------------------------------------------------------------------
    def touch(self, sandbox: str) -> SandboxInfo:
        """One command (``HGETALL`` of the sandbox hash) when this process recorded the use less
        than ``USE_GRANULARITY`` ago, else one script of two or three (idle expiry counts in
        minutes); no record counts."""
        meta, used = self._ensure(sandbox, record_use=False)
        return _info(sandbox, meta, used, {})

    def info(self, sandbox: str) -> SandboxInfo | None:
        try:
            out = self._call("INFO", sandbox)
        except _NoSandbox:
            return None
        size = int(out[1])
        meta = self._learn(sandbox, _fields(out[2:2 + size]))
        counts = {out[i].decode(): int(out[i + 1]) for i in range(2 + size, len(out), 2)}
        return _info(sandbox, meta, float(out[0]) if out[0] else float(meta["created"]), counts)

    def sandboxes(self) -> list[SandboxInfo]:
        try:
            names = sorted(name.decode() for name in self.redis.hkeys(self.prefix + "sandboxes"))
        except redis_client.RedisError as exc:
            raise StoreUnavailable(f"Redis at {self.url} is unreachable: {exc}") from exc
        return [info for info in map(self.info, names) if info is not None]

    def drop(self, sandbox: str) -> bool:
        self._forget_sandboxes(sandbox)
        old = self._call("DROP", sandbox, "")
        if not old:
            return False
        self._unlink(old)
        return True

    def expire_idle(self, ttl: float) -> list[str]:
        limit = self.time_source() - ttl
        try:
            idle = sorted(name.decode() for name in self.redis.zrangebyscore(self.prefix + "used", "-inf", f"({limit!r}"))
        except redis_client.RedisError as exc:
            raise StoreUnavailable(f"Redis at {self.url} is unreachable: {exc}") from exc
        dropped = []
        for name in idle:
            old = self._call("DROP", name, repr(limit))
            if old:
                self._forget_sandboxes(name)
                self._unlink(old)
                dropped.append(name)
        return dropped

    def reset(self, sandbox: str, *, rewind_clock: bool = False) -> SandboxInfo:
        clock = self._initial_clock()
        old = self._run("RESET", sandbox, 1 if rewind_clock else 0, clock.offset_us, _frz(clock))
        self._unlink(old)
        return self.touch(sandbox)

    def _unlink(self, data_prefix: bytes) -> None:
        """Remove an old epoch's keys (nothing reads them any more): a background clean-up."""
        pattern = data_prefix.replace(b"*", b"\\*").replace(b"?", b"\\?").replace(b"[", b"\\[") + b"*"
        try:
            batch = []
            for key in self.redis.scan_iter(match=pattern, count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    self.redis.unlink(*batch)
                    batch.clear()
            if batch:
                self.redis.unlink(*batch)
        except redis_client.RedisError:
            pass        # unreachable keys of a dead epoch: harmless, the next reset or drop retries nothing

    # -- clock -------------------------------------------------------------------------------
    def clock(self, sandbox: str) -> ClockState:
        """The sandbox's clock (a request reads it once, with ``touch``: ``Sandbox.enter``)."""
        found = self._read("CLOCK", sandbox, None)
        return self._initial_clock() if found is None else _clock(found[0], found[1])

    def update_clock(self, sandbox: str, fn: Callable[[ClockState], ClockState]) -> ClockState:
        def attempt() -> ClockState:
            offset, frozen, _ = self._run("CLOCK", sandbox)
            current = _clock(offset, frozen)
            new = fn(current)
            self._run("CLOCK_SET", sandbox, current.offset_us, _frz(current), new.offset_us, _frz(new))
            return new
        return self._retry(attempt)


def _info(sandbox: str, meta: dict[str, bytes], used: float, counts: dict[str, int]) -> SandboxInfo:
    maps = {field[3:]: int(value) for field, value in meta.items() if field.startswith("mv:")}
    sizes = {field[2:]: int(value) for field, value in meta.items() if field.startswith("x:") and int(value) > 0}
    return SandboxInfo(sandbox, _clock(meta["off"], meta["frz"]), int(meta["gen"]), int(meta["ver"]),
                       float(meta["created"]), used, counts, maps, sizes)


def _fields(flat: Sequence[bytes]) -> dict[str, bytes]:
    """A hash as ``HGETALL`` answers it (field, value, ...) as a dict of text fields."""
    return {flat[i].decode(): flat[i + 1] for i in range(0, len(flat), 2)}
