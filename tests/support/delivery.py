"""A batch of messages built by hand (outcomes and send segments) and the default timelines."""

from __future__ import annotations

from dataclasses import dataclass

from mock_server.batches import Batch
from mock_server.delivery import Schedule, Timelines
from mock_server.settings import defaults

TIMELINES = Timelines(defaults().delivery)


@dataclass(frozen=True)
class FakeBatch(Batch):
    outcomes: bytes
    segments: tuple
    sent_limit: int | None = None

    def build_schedule(self) -> Schedule:
        return Schedule(list(self.segments))
