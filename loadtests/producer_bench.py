"""The webhook producer's CPU per event, alone: derive, render, encode, create the records (and,
with ``--finish``, write each one delivered and trim, as the recorder and the producer's rounds
do), with nothing sent and no other thread competing for the GIL.

``python -m loadtests.producer_bench [--rows 200000] [--windows 40] [--finish] [--repeat 3]``:
builds a mock in this process (frozen clock, the collector tuned as ``mock-server`` tunes it),
subscribes a URL nobody is called at to every Jelou event of ``demo-bot``, uploads a ``--rows``
campaign, advances the clock a day, then derives ``--windows`` windows
(``webhooks.window_events`` transitions each) through the dispatcher's own ``_produce`` with the
jobs dropped instead of queued. It prints process CPU per event (``time.process_time``, the
smallest of ``--repeat`` runs of the same windows' count) and the render + encode share alone.
Load-independent enough to compare two trees run alternately: ``PYTHONPATH=TREE python -m
loadtests.producer_bench``. The figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="producer_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="recipients (default 200,000)")
    parser.add_argument("--windows", type=int, default=40, help="windows measured per run (default 40)")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the smallest figure is printed (default 3)")
    parser.add_argument("--finish", action="store_true", help="also finish every record (delivered) and trim")
    args = parser.parse_args(argv)

    from mock_server import create_app
    from mock_server.webhooks.events import encode
    from mock_server.webhooks.recorder import entry
    from mock_server.webhooks.sender import Outcome

    from .benchserver import serving_gc
    from .webhook_bench import bench_settings, set_up

    app = create_app(bench_settings(args.rows, 8))
    dispatcher = app.extensions["mock"].webhooks
    dispatcher.start = lambda: dispatcher                # derive only: no thread
    set_up(app, "http://127.0.0.1:9/never-called", args.rows, "P1D")
    serving_gc()
    sandbox = app.extensions["mock"].sandbox("default")
    dispatcher.state.settle(sandbox)
    dispatcher.lanes.put_many = lambda jobs, lease_end: None      # jobs dropped, not queued
    dispatcher._sync("default")
    created, create = [0], dispatcher.deliveries.create

    def counted(name, generation, items):
        out = create(name, generation, items)
        created[0] += len(out)
        if args.finish:                # as the recorder writes them: one step per 64 outcomes
            at = dispatcher._stamps(name, [dispatcher.real_now()])[0]
            for start in range(0, len(out), 64):
                dispatcher.deliveries.finish_many(
                    name, generation, dispatcher._token,
                    [(record.id, entry(1, at, Outcome(204, None, 1.0)), "delivered", None) for record in out[start:start + 64]],
                    dispatcher.real_now())
        return out
    dispatcher.deliveries.create = counted

    figures, renders = [], []
    for _ in range(args.repeat):
        created[0] = 0
        began = time.process_time()
        for _ in range(args.windows):
            if not dispatcher._produce(sandbox):
                break
            dispatcher.deliveries.trim("default")
        spent = time.process_time() - began
        if not created[0]:
            break
        figures.append(spent / created[0] * 1e6)
        owners = dispatcher.registry.by_owner("default")
        names = {key: frozenset().union(*(sub.events for sub in subs)) for key, subs in owners.items()}
        cursor = dispatcher.cursor("default")
        sources = [source for name in dispatcher.specs for source in
                   dispatcher.state.backends[name].webhook_sources(sandbox, owners, cursor, dispatcher.walker.latest)]
        events, _ = dispatcher.walker.window(sources, cursor, sandbox.now(), int(dispatcher.settings.window_events),
                                             lambda source: names.get((source.provider, source.owner)))
        began = time.process_time()
        for event in events:
            encode(event.render())
        if events:
            renders.append((time.process_time() - began) / len(events) * 1e6)
    if not figures:
        print("producer_bench: no event derived (the campaign has no transition left)")
        return 1
    print(f"producer CPU per event: {min(figures):.1f} us ({'derive, render, create, finish, trim' if args.finish else 'derive, render, create, trim'}; "
          f"smallest of {len(figures)} runs of {args.windows} windows: {', '.join(f'{f:.1f}' for f in figures)})")
    if renders:
        print(f"of which render + encode: {min(renders):.1f} us per event")
    return 0


if __name__ == "__main__":
    sys.exit(main())
