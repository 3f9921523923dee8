"""After a load run: prove every accepted campaign/task is stored and every message accounted for.

``python -m loadtests.check --host http://127.0.0.1:PORT --ledger results/ledger.json``

What it does, in order (it MOVES THE MOCK'S CLOCK: run it only against the run's own server):
1. ``POST /_mock/clock {"advance": "P3D"}`` so every accepted send has finished sending (Jelou sends
   100 messages/s per bot; sliced indigitall tasks end within 48 h). Unfinished ones after that
   get up to two more advances.
2. For each ledger entry, through the provider's own API: the campaign/task exists, its total is
   the row count Locust sent, and it has finished (Jelou ``COMPLETED``/``FAILED``; indigitall
   ``finished`` with no ``queued`` message, or ``canceled`` if the 201 already said so).
3. Through the control plane: ``GET /_mock/messages?campaign=ID`` reports exactly that many
   messages (0 for an indigitall task slicing canceled at acceptance: it never sends).
4. Per provider, the server's total of messages is at least the sum expected; the surplus comes
   from requests the server answered after Locust stopped listening (users are killed at the end of
   the run), which is not a loss.
5. With ``--stats`` (Locust's ``*_stats.csv``): per send name, the ledger holds as many ids as
   Locust counted successes; fewer means some accepted ids could not be checked: a failure.
Exit status 1 on any loss or mismatch; the summary says which ids and why.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import requests

from . import ledger

JELOU_AUTH = {"Authorization": "Basic " + base64.b64encode(b"demo-client-id:demo-client-secret").decode()}
INDIGITALL_AUTH = {"Authorization": "ServerKey demo-server-key"}
PROVIDERS = ("jelou", "indigitall")
SHOWN = 10


@dataclass
class Summary:
    base_url: str
    accepted: dict = field(default_factory=dict)
    stored: dict = field(default_factory=dict)
    expected: dict = field(default_factory=dict)      # messages the ledger's sends must produce
    found: dict = field(default_factory=dict)         # messages found for those ids
    server_total: dict = field(default_factory=dict)  # every message the server holds, per provider
    lost: list = field(default_factory=list)          # "provider id: reason"
    mismatches: list = field(default_factory=list)    # ledger vs Locust stats problems
    notes: list = field(default_factory=list)
    advances: int = 0

    @property
    def ok(self) -> bool:
        return not self.lost and not self.mismatches

    def render(self) -> str:
        lines = [f"Consistency check against {self.base_url} (clock advanced P3D x{self.advances})",
                 f"  {'provider':<11}{'accepted':>9}{'stored':>9}{'msgs expected':>15}{'msgs found':>12}{'lost':>6}"]
        for name in PROVIDERS:
            lost = sum(1 for item in self.lost if item.startswith(name + " "))
            lines.append(f"  {name:<11}{self.accepted.get(name, 0):>9}{self.stored.get(name, 0):>9}"
                         f"{self.expected.get(name, 0):>15}{self.found.get(name, 0):>12}{lost:>6}")
        extra = {name: self.server_total.get(name, 0) - self.expected.get(name, 0) for name in PROVIDERS}
        lines.append("  messages on the server beyond the ledger (sends answered after Locust stopped): "
                     + ", ".join(f"{name} {count}" for name, count in extra.items()))
        for item in self.lost[:SHOWN]:
            lines.append(f"  LOST {item}")
        if len(self.lost) > SHOWN:
            lines.append(f"  ... and {len(self.lost) - SHOWN} more")
        lines += [f"  MISMATCH {item}" for item in self.mismatches]
        lines += [f"  note: {item}" for item in self.notes]
        verdict = "PASS: 0 lost" if self.ok else f"FAIL: {len(self.lost)} lost, {len(self.mismatches)} mismatches"
        return "\n".join(lines + [f"RESULT: {verdict}"])


class _Client:
    """One ``requests.Session`` per thread (sessions are not thread-safe)."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url, self.timeout, self._local = base_url.rstrip("/"), timeout, threading.local()

    def get(self, path: str, **kwargs) -> requests.Response:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session.get(self.base_url + path, timeout=self.timeout, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(self.base_url + path, timeout=self.timeout, **kwargs)


def _expected(entry: ledger.Entry) -> int:
    return 0 if entry.provider == "indigitall" and entry.status == "canceled" else entry.rows


def _inspect(client: _Client, entry: ledger.Entry) -> tuple[str | None, bool, int]:
    """``(problem or None, finished, messages found)`` for one accepted send."""
    try:
        return _read_back(client, entry)
    except (requests.RequestException, ValueError, KeyError) as exc:
        return f"could not be read back: {type(exc).__name__}: {exc}", False, 0


def _read_back(client: _Client, entry: ledger.Entry) -> tuple[str | None, bool, int]:
    if entry.provider == "jelou":
        response = client.get(f"/v1/campaigns/{entry.id}", headers=JELOU_AUTH)
        data = response.json().get("data", {}) if response.status_code == 200 else None
        total, finished = (data or {}).get("totalMessages"), (data or {}).get("status") in ("COMPLETED", "FAILED")
    else:
        response = client.get(f"/v2/chat/application/{entry.application}/task/{entry.id}", headers=INDIGITALL_AUTH)
        data = response.json().get("data", {}) if response.status_code == 200 else None
        counts = (data or {}).get("messages", {})
        total = (data or {}).get("total")
        finished = (data or {}).get("status") in ("finished", "canceled") and not counts.get("queued")
        if data is not None and sum(counts.values()) != total:
            return f"message counts {counts} do not add up to total {total}", finished, 0
    if data is None:
        return f"not stored (HTTP {response.status_code} reading it back)", False, 0
    if total != entry.rows:
        return f"stored with {total} messages, Locust sent {entry.rows} rows", finished, 0
    page = client.get("/_mock/messages", params={"provider": entry.provider, "campaign": entry.id, "limit": 1})
    if page.status_code != 200:
        return f"GET /_mock/messages answered HTTP {page.status_code}", finished, 0
    return None, finished, page.json()["total"]


def _server_total(client: _Client, provider: str) -> int:
    response = client.get("/_mock/messages", params={"provider": provider, "limit": 1})
    response.raise_for_status()
    return response.json()["total"]


def _stats_mismatches(entries: list[ledger.Entry], stats_csv: Path, summary: Summary) -> None:
    seen: dict[str, int] = {}
    for entry in entries:
        seen[entry.name] = seen.get(entry.name, 0) + 1
    with stats_csv.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            name = row["Name"]
            if not row["Type"] == "POST" or "[invalid" in name or name == "Aggregated":
                continue
            successes = int(row["Request Count"]) - int(row["Failure Count"])
            mine = seen.get(name, 0)
            if mine < successes:
                summary.mismatches.append(f"'{name}': Locust counted {successes} accepted, the ledger has {mine}: "
                                          "accepted ids went unrecorded and could not be checked")
            elif mine > successes:
                summary.notes.append(f"'{name}': the ledger has {mine}, Locust's stats {successes} "
                                     "(a final worker report arrived late)")


def run(base_url: str, entries: list[ledger.Entry], *, stats_csv: Path | None = None,
        threads: int = 8, max_advances: int = 3, progress=print) -> Summary:
    """Check ``entries`` against the server at ``base_url``; see the module docstring."""
    client = _Client(base_url)
    summary = Summary(base_url)
    for entry in entries:
        summary.accepted[entry.provider] = summary.accepted.get(entry.provider, 0) + 1
        summary.expected[entry.provider] = summary.expected.get(entry.provider, 0) + _expected(entry)
    pending, results = list(entries), {}
    with ThreadPoolExecutor(threads) as pool:
        while pending and summary.advances < max_advances:
            moved = client.post("/_mock/clock", json={"advance": "P3D"})
            moved.raise_for_status()
            summary.advances += 1
            progress(f"[check] clock advanced to {moved.json()['now']}; checking {len(pending)} sends ...")
            for entry, result in zip(pending, pool.map(lambda item: _inspect(client, item), pending)):
                results[(entry.provider, entry.id)] = (entry, result)
            pending = [entry for entry, (problem, finished, _) in results.values() if problem is None and not finished]
    for entry, (problem, finished, found) in results.values():
        where = f"{entry.provider} {entry.id} ({entry.name})"
        if problem is None or "not stored" not in problem:
            summary.stored[entry.provider] = summary.stored.get(entry.provider, 0) + 1
        summary.found[entry.provider] = summary.found.get(entry.provider, 0) + found
        if problem is not None:
            summary.lost.append(f"{where}: {problem}")
        elif not finished:
            summary.lost.append(f"{where}: still sending after {summary.advances} x P3D")
        elif found != _expected(entry):
            summary.lost.append(f"{where}: /_mock/messages reports {found} messages, expected {_expected(entry)}")
    for provider in PROVIDERS:
        summary.server_total[provider] = _server_total(client, provider)
        if summary.server_total[provider] < summary.expected.get(provider, 0):
            summary.mismatches.append(f"{provider}: the server holds {summary.server_total[provider]} messages in all, "
                                      f"fewer than the {summary.expected.get(provider, 0)} accepted")
    if stats_csv is not None:
        _stats_mismatches(entries, stats_csv, summary)
    if not entries:
        summary.notes.append("the ledger is empty: Locust saw no accepted send (was the run too short?)")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", required=True, help="the mock the load run used, e.g. http://127.0.0.1:8080")
    parser.add_argument("--ledger", default=ledger.DEFAULT_FILE, help="ledger written by the run")
    parser.add_argument("--stats", help="Locust's *_stats.csv, to cross-check the ledger against Locust's counts")
    parser.add_argument("--json", help="also write the summary here as JSON")
    args = parser.parse_args(argv)
    try:
        entries = ledger.load(args.ledger)
        summary = run(args.host, entries, stats_csv=Path(args.stats) if args.stats else None)
    except (FileNotFoundError, requests.RequestException) as exc:
        print(f"check: {exc}", file=sys.stderr)
        return 2
    print(summary.render())
    if args.json:
        Path(args.json).write_text(json.dumps({**asdict(summary), "ok": summary.ok}, indent=1), encoding="utf-8")
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
