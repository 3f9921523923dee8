"""Webhook events derived from the send schedule, a window of mock time at a time.

The transitions come from :func:`mock_server.transitions.transitions` (a message's stage is a
pure function of its outcome byte, its send time and the clock): lazily, in time order, at a cost
that follows the answer, never the batch's size. The dispatcher takes at most
``webhooks.window_events`` of them per window (plus any that share the last instant), so a
1,000,000-row campaign advanced by a day never has more than one window's events in memory.
A window ends at the last transition it took (or at "now"), so the next one starts exactly
there: every transition is produced once.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any, Callable, Iterator, Mapping

from ..batches import Batch
from ..delivery import Timelines
from ..transitions import Transition, transitions

@dataclass(frozen=True)
class Source:
    """One batch that can produce events (a provider backend's ``webhook_sources``)."""

    provider: str
    batch_id: str
    number: int                     # the record's creation sequence in its sandbox (lanes, ordering)
    owner: str                      # botId / applicationId (as text): whose subscriptions apply
    batch: Batch
    render: Callable[[int, float, str], dict[str, Any]]   # (index, moment, event) -> body
    # (index, moment, event) -> (the body's exact bytes, its recipient): what ``encode(render(...))``
    # and the spec's ``recipient`` give, faster (a :class:`Template`); None: the producer does that
    encoded: Callable[[int, float, str], tuple[bytes, str | None]] | None = None


@dataclass(frozen=True)
class Event:
    at: float                       # mock time of the transition
    name: str
    index: int
    source: Source

    @property
    def id(self) -> str:
        """Stable across retries, duplicates and restarts: the same transition, the same id."""
        return f"{self.source.provider}-{self.source.batch_id}-{self.index + 1}-{self.name}"

    def render(self) -> dict[str, Any]:
        return self.source.render(self.index, self.at, self.name)


def encode(body: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact UTF-8 JSON (``json.dumps`` with these options,
    whose encoder, built per call, cost a fifth of it)."""
    return _ENCODER.encode(body).encode("utf-8")


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)     # stateless: safe to share


class Slot(str):
    """A variable part of a :class:`Template`'s shape, by the name its values are looked up with."""

    __slots__ = ()


class Slots(Mapping[str, Slot]):
    """``slots[key]`` is ``Slot(key)``: a stand-in for a mapping of values when a shape is built."""

    def __getitem__(self, key: str) -> Slot:
        return Slot(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


class Template:
    """A body's bytes as :func:`encode` gives them, with its constant parts encoded once.

    ``shape`` is the body built with :class:`Slot` stand-ins for its variable values (a dict of
    dicts; constants of any JSON type). ``template.encode(values)`` joins the constant fragments
    with each slot's value (``values[name]``) encoded: byte for byte ``encode`` of the body built
    with those values (a string, None or a bool costs one C call or none: building the body's
    dicts and encoding them whole cost a quarter of the producer's time per event).
    """

    __slots__ = ("_parts", "_names")

    def __init__(self, shape: Mapping[str, Any]) -> None:
        fragments: list[str] = [""]
        names: list[str] = []

        def walk(value: Any) -> None:
            if isinstance(value, Slot):
                names.append(str(value))
                fragments.append("")
            elif isinstance(value, Mapping) and any(isinstance(inner, (Slot, Mapping)) for inner in value.values()):
                fragments[-1] += "{"
                for position, (key, inner) in enumerate(value.items()):
                    if not isinstance(key, str):
                        raise TypeError(f"template keys must be strings, not {key!r}")
                    fragments[-1] += ("," if position else "") + encode_basestring(key) + ":"
                    walk(inner)
                fragments[-1] += "}"
            else:
                fragments[-1] += _ENCODER.encode(value)
        walk(shape)
        self._parts: list[str | None] = [part for fragment in fragments for part in (fragment, None)][:-1]
        self._names = tuple(names)

    def encode(self, values: Mapping[str, Any]) -> bytes:
        quote, whole = encode_basestring, _ENCODER.encode
        parts = self._parts.copy()          # the constant fragments; each slot's value between two
        parts[1::2] = [quote(value) if type(value) is str else "null" if value is None else "true" if value is True
                       else "false" if value is False else whole(value) for value in map(values.__getitem__, self._names)]
        return "".join(parts).encode("utf-8")


Wanted = Callable[[Source], "frozenset[str] | None"]


class Walker:
    """The events of several batches in a window of mock time, in time order."""

    def __init__(self, timelines: Timelines, event_of: Mapping[str, Mapping[str, str]]) -> None:
        self.timelines = timelines
        self.event_of = event_of            # provider -> delivery stage -> event name (WebhookSpec)
        self.latest = max((offset for offset, _ in timelines.groups()), default=0.0)

    def window(self, sources: list[Source], t0: float, now: float, cap: int, wanted: Wanted) -> tuple[list[Event], float]:
        """The events after ``t0``: at most about ``cap`` transitions' worth, and where the window
        ends (``now`` when every transition up to it fit; else the instant of the last one taken,
        with every transition of that instant taken too)."""
        taken: list[tuple[Transition, Source]] = []
        end = now
        for _, transition, source in heapq.merge(*(self._stream(source, t0, now) for source in sources)):
            if len(taken) >= cap and transition.at > taken[-1][0].at:
                end = taken[-1][0].at
                break
            taken.append((transition, source))
        events = []
        for transition, source in taken:
            name = self.event_of[source.provider].get(transition.stage)
            if name is not None and name in (wanted(source) or ()):
                events.append(Event(transition.at, name, transition.index, source))
        return events, end

    def next_at(self, sources: list[Source], t0: float, t1: float, wanted: Wanted, cap: int = 256) -> float | None:
        """When the producer must next walk these sources: the instant of their first wanted
        event in ``(t0, t1]``; past ``cap`` unwanted transitions, the last one walked (look again
        from there); None when there is none by ``t1``."""
        events, end = self.window(sources, t0, t1, cap, wanted)
        if events:
            return events[0].at
        return end if end < t1 else None

    def events(self, sources: list[Source], t0: float, t1: float, wanted: Wanted) -> list[Event]:
        """Every event in ``(t0, t1]`` (no cap: for small windows)."""
        return self.window(sources, t0, t1, 1 << 62, wanted)[0]

    def _stream(self, source: Source, t0: float, t1: float) -> Iterator[tuple[tuple, Transition, Source]]:
        for transition in transitions(source.batch, self.timelines, t0, t1):
            yield (transition.at, source.number, transition.index, transition.step), transition, source
