"""Every campaign/task Locust saw accepted, so ``check.py`` can prove none was lost.

One :class:`Ledger` per Locust process. An entry is recorded inside the ``catch_response`` block
that marks the send a success, so the ledger and Locust's own success count move together.

Decisions
- Local run (one process): entries stay in this process; at ``quitting`` they are written to
  ``--ledger-file`` (default ``results/ledger.json``).
- Distributed run: a worker sends each entry to the master as soon as it is recorded
  (``runner.send_message("loadtests_ledger", entry)``; the master ``register_message``s a handler),
  and only the master writes the file. Sending at once, rather than at ``test_stop``, matters: in
  a headless distributed run the master waits only 0.5 s for the workers' final words after the
  run time ends. Entries travel over Locust's own ZeroMQ link, so workers on other machines work
  the same way; nothing needs a shared folder.
- The file also holds ``sends``: per request name, how many successes the ledger saw, for the
  cross-check against Locust's ``stats.csv``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

MESSAGE = "loadtests_ledger"
DEFAULT_FILE = "results/ledger.json"


@dataclass(frozen=True)
class Entry:
    """One accepted send: ``id`` is the campaign id (Jelou) or the task id as text (indigitall).

    ``status`` is what the accepting answer said (indigitall: ``canceled`` when slicing could not
    place the task, which then sends nothing); ``name`` is the Locust request name.
    """

    provider: str
    id: str
    rows: int
    name: str
    status: str = ""
    application: int | None = None


class Ledger:
    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.forward = None           # set on workers: a function sending one entry to the master

    def record(self, entry: Entry) -> None:
        if self.forward is not None:
            self.forward(asdict(entry))
        else:
            self.entries.append(entry)

    def add_from_worker(self, data: dict) -> None:
        self.entries.append(Entry(**data))

    def clear(self) -> None:
        self.entries.clear()

    def to_dict(self) -> dict:
        return {"entries": [asdict(entry) for entry in self.entries],
                "sends": dict(Counter(entry.name for entry in self.entries))}

    def write(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")
        tmp.replace(path)
        return path


def load(path: str | os.PathLike) -> list[Entry]:
    """The entries of a ledger file; raise ``FileNotFoundError`` with what to run first."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no ledger at {path}: run the load test first (make load), "
                                f"or pass the --ledger-file the Locust run wrote")
    data = json.loads(path.read_text(encoding="utf-8"))
    return [Entry(**item) for item in data.get("entries", [])]


LEDGER = Ledger()


def install(environment) -> None:
    """Wire the process's ledger into Locust (called from the ``init`` event)."""
    from locust.runners import MasterRunner, WorkerRunner

    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        LEDGER.forward = lambda data: runner.send_message(MESSAGE, data)
    elif isinstance(runner, MasterRunner):
        runner.register_message(MESSAGE, lambda environment, msg, **kw: LEDGER.add_from_worker(msg.data))

    if not isinstance(runner, WorkerRunner):
        @environment.events.test_start.add_listener
        def _fresh(**kwargs) -> None:
            LEDGER.clear()

        @environment.events.quitting.add_listener
        def _write(environment, **kwargs) -> None:
            options = environment.parsed_options
            target = getattr(options, "ledger_file", None) or DEFAULT_FILE
            written = LEDGER.write(target)
            print(f"[loadtests] ledger: {len(LEDGER.entries)} accepted sends written to {written}", flush=True)
