"""The benchmark's load generator and server handling (``bench.py`` uses both).

Decisions
- One load generator for both servers: threads, each with its own keep-alive ``http.client``
  connection, sending a body encoded once. ``http.client`` costs far less CPU per request than
  ``requests`` or Locust, which matters on a 2-core machine where client and server share CPUs.
- Servers are ``loadtests.benchserver`` subprocesses on free ports of 127.0.0.1; resident memory
  is read from ``/proc/<pid>/status`` (``VmRSS``), so it is Linux-only.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .localhost import free_port


class Server:
    """A ``benchserver`` subprocess; ``with Server("mock") as s: s.port, s.rss()``.

    ``app="cli"`` runs the ``mock-server`` command itself (``python -m mock_server``) with ``flags``
    (e.g. ``--workers 2 --store redis://...``); ``store`` gives a benchserver mock a store URL.
    """

    def __init__(self, app: str, *, prefill_campaigns: int = 0, log: Path | None = None,
                 start_timeout: float = 600.0, store: str | None = None, flags: tuple[str, ...] = (),
                 server: str | None = None, quiet: bool = True, extra: tuple[str, ...] = ()) -> None:
        self.app, self.port = app, free_port()
        if app == "cli":      # quiet=False: the access log on, as `mock-server` with no flags (to /dev/null here)
            self.command = [sys.executable, "-m", "mock_server", "--port", str(self.port), *(("--quiet",) if quiet else ()),
                            *flags]
        else:
            self.command = [sys.executable, "-m", "loadtests.benchserver", "--app", app, "--port", str(self.port)]
        if store:
            self.command += ["--store", store]
        if server:
            self.command += ["--server", server]
        if prefill_campaigns:
            self.command += ["--prefill-campaigns", str(prefill_campaigns)]
        self.command += list(extra)
        self.log, self.start_timeout = log, start_timeout
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Server":
        out = self.log.open("a") if self.log else subprocess.DEVNULL
        # stderr is inherited so prefill progress shows; waitress's own log lines go there too.
        self.process = subprocess.Popen(self.command, stdout=out, stderr=out if self.log else None)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"benchserver --app {self.app} exited with {self.process.returncode}"
                                   + (f"; see {self.log}" if self.log else ""))
            try:
                status, _, _ = request(self.port, "GET", "/_mock/health", timeout=1)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"benchserver --app {self.app} did not answer within {self.start_timeout:.0f} s")

    def __exit__(self, *exc) -> None:
        stop(self.process, 10)

    def rss(self) -> int:
        """Resident memory of the server process, bytes."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS in /proc/<pid>/status (the benchmark needs Linux)")


def stop(process: subprocess.Popen | None, grace: float) -> None:
    """Terminate ``process`` if it runs; kill it if it has not exited within ``grace`` seconds."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
            *, timeout: float = 600.0, connection: http.client.HTTPConnection | None = None):
    """``(status, body, seconds)`` of one request (on ``connection`` if given, kept open)."""
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, data, time.perf_counter() - started
    finally:
        if connection is None:
            conn.close()


@dataclass
class Load:
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies)


def hammer(port: int | list[int], method: str, path: str, *, body: bytes | None = None, headers: dict | None = None,
           count: int, concurrency: int, expect: int = 200) -> Load:
    """Send ``count`` requests over ``concurrency`` keep-alive connections; raise on any other status.

    Several ports (several server processes): connection ``i`` goes to ``ports[i % len(ports)]``."""
    ports = port if isinstance(port, list) else [port]
    left = [count]
    lock = threading.Lock()
    latencies: list[float] = []
    problems: list[str] = []

    def worker(port: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        try:
            while True:
                with lock:
                    if left[0] <= 0 or problems:
                        return
                    left[0] -= 1
                status, data, seconds = request(port, method, path, body, headers, connection=conn)
                if status != expect:
                    problems.append(f"{method} {path}: HTTP {status}: {data[:300]!r}")
                    return
                latencies.append(seconds)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(ports[i % len(ports)],)) for i in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if problems:
        raise RuntimeError(problems[0])
    return Load(len(latencies), elapsed, latencies)


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and its reaped children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(value) for value in fields[11:13]) / ticks


@dataclass
class Rate:
    """One load round: requests per second, and the server's CPU per request (when its pid is known)."""

    rate: float
    requests: int
    cpu_per_request: float | None


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def wrk(port: int, method: str, path: str, *, body: bytes, headers: dict, seconds: float, connections: int,
        pid: int | None = None) -> Rate:
    """``wrk -t1 -c<connections> -d<seconds>`` with one request shape; raise on any non-2xx answer."""
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
        data = Path(folder) / "body.bin"
        data.write_bytes(body)
        script = Path(folder) / "request.lua"
        lines = [f'wrk.method = "{method}"', f'local f = io.open("{data}", "rb")', "wrk.body = f:read('*a')", "f:close()"]
        lines += [f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items()]
        script.write_text("\n".join(lines) + "\n")
        before = process_cpu(pid) if pid else None
        done = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", str(script),
                               f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, timeout=seconds + 60)
        used = process_cpu(pid) - before if pid else None
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr[-500:]}")
    if "Non-2xx" in done.stdout or "Socket errors" in done.stdout:
        raise RuntimeError(f"{method} {path}: wrk saw errors:\n{done.stdout}")
    count = int(re.search(r"(\d+) requests in", done.stdout)[1])
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)[1])
    return Rate(rate, count, used / count if used is not None and count else None)
