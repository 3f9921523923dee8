"""``mock-server --workers N``: a worker that dies is replaced and the others keep serving (CONTRACT §18).

Real processes: ``python -m mock_server --workers 2`` (granian) on a private ``redis-server``
(``tests/support/realredis.py``); workers are found as the server's child processes in ``/proc``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from loadtests.redisserver import free_port

from support.realredis import missing_binary

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def linux_proc():
    """The workers are watched through /proc: skipped (locally) or failed (CI=true) without it."""
    if not Path("/proc/self/task").is_dir():
        missing_binary("Linux /proc (these tests read the workers' state there)", "run them on Linux")


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by its parent, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def workers(pid: int) -> set[int]:
    """The live child processes of ``pid`` (granian's workers)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found.update(int(child) for child in (task / "children").read_text().split())
        except OSError:          # the thread ended meanwhile
            pass
    return {child for child in found if alive(child)}


def wait_for(condition, what: str, server: subprocess.Popen, log: Path, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert server.poll() is None, f"the server exited ({server.returncode}) while waiting for {what}:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{log.read_text()[-3000:]}"
        time.sleep(0.05)
    return value


class Poller(threading.Thread):
    """GET /_mock/health on a new connection in a loop, recording (start, end, ok) for each."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.results, self.stop = url, [], threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                ok = requests.get(self.url, timeout=10).status_code == 200
            except requests.RequestException:
                ok = False
            self.results.append((started, time.monotonic(), ok))

    def successes_after(self, instant: float) -> int:
        return sum(1 for started, _, ok in self.results if ok and started > instant)


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.ConnectionError:
        return False


def kill_and_wait(victim: int, server, log) -> tuple[float, float]:
    """SIGKILL ``victim``; (when the signal was sent, when the worker was seen dead)."""
    sent = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: not alive(victim), f"worker {victim} to die", server, log)
    return sent, time.monotonic()


def two_workers(server, log, without: int | None = None) -> set[int]:
    """Wait until the server has two live workers, ``without`` not among them; return their PIDs."""
    def ready():
        found = workers(server.pid)
        return found if len(found) == 2 and without not in found else None
    return wait_for(ready, "2 workers" + (f" without {without}" if without else ""), server, log)


def test_a_killed_worker_is_replaced_while_the_others_keep_serving(redis_url, tmp_path):
    port, log = free_port(), tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "mock_server", "--port", str(port), "--quiet",
                                   "--workers", "2", "--store", redis_url], cwd=ROOT, stdout=out, stderr=out)
    poller = Poller(f"http://127.0.0.1:{port}/_mock/health")
    kills = []
    try:
        first = two_workers(server, log)
        wait_for(lambda: answers(poller.url), "the first answer", server, log)
        poller.start()
        wait_for(lambda: poller.successes_after(0) >= 3, "the first answers", server, log)

        victim = min(first)
        kills.append(kill_and_wait(victim, server, log))
        second = two_workers(server, log, victim)
        assert first - {victim} <= second, "the surviving worker was restarted too"
        # kill the replacement at once: granian alone would take a worker dying within 5.5 s of its
        # start for a crash loop and stop the server; one killed by a signal is replaced however young
        replacement = (second - first).pop()
        kills.append(kill_and_wait(replacement, server, log))
        third = two_workers(server, log, replacement)
        assert len(third - first - second) == 1 and first - {victim} <= third
        wait_for(lambda: poller.successes_after(kills[-1][1]) >= 3, "answers after the kills", server, log)
    finally:
        poller.stop.set()
        if poller.is_alive():
            poller.join(15)
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    output = log.read_text()
    assert server.returncode == 0, output       # alive until terminated, then a clean stop
    assert output.count("killed by signal 9; starting a new one (the others keep serving)") == 2, output
    # every request was answered but those caught by a kill: one in flight to the worker when it was
    # killed, and one that reached it as the kernel tore it down (seen: a request started 1 ms after
    # the worker was gone from /proc failed); the polling is sequential, so at most two per kill, each
    # started before the death was a second old. Later ones were all answered, by the survivor until
    # the replacement had loaded the app
    failed = [(started, ended) for started, ended, ok in poller.results if not ok]
    assert len(failed) <= 2 * len(kills), failed
    assert all(any(started < dead + 1.0 and ended > sent for sent, dead in kills) for started, ended in failed), \
        (failed, kills)
    assert poller.successes_after(kills[0][1]) >= 3
