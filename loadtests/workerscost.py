"""What ``mock-server --workers 2 --store redis://`` costs per 1,000-row upload, load-independent.

``python -m loadtests.workerscost [--seconds 10] [--rounds 3] [--tree PATH ...]``

For each source tree given (default: this one; give a base checkout too to compare, the trees
alternate round by round), starts a private ``redis-server``, ``mock-server --workers 2 --store
redis://`` and one in-memory ``mock-server``, loads each with ``wrk -t1 -c8`` (the bench's upload),
and prints per upload: the CPU of the whole server process tree (``/proc``: the granian master and
its workers), Redis's CPU (``INFO cpu``), its reads and writes (``total_reads_processed``: about one
per round trip or pipeline; ``total_writes_processed``: answers plus pub/sub messages), the
top-level script calls, commands by name (``INFO commandstats``; a script's own calls counted
too), and the req/s of each round with the load average. CPU and counts are load-independent;
req/s are not.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .benchclient import free_port, request, stop, wrk
from .redisserver import RedisServer, find_binary


def tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and every living descendant (user + system)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


class MockServer:
    def __init__(self, tree: Path, flags: list[str]) -> None:
        self.tree, self.flags, self.port = tree, flags, free_port()

    def __enter__(self) -> "MockServer":
        env = dict(os.environ, PYTHONPATH=str(self.tree))
        self.process = subprocess.Popen([sys.executable, "-m", "mock_server", "--port", str(self.port), *self.flags],
                                        cwd=self.tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if request(self.port, "GET", "/_mock/health", timeout=1)[0] == 200:
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"mock-server {self.flags} did not start")

    def __exit__(self, *exc) -> None:
        stop(self.process, 10)


def redis_stats(client) -> dict:
    info = client.info()
    stats = client.info("commandstats")
    calls = {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()}
    return {"cpu": float(info["used_cpu_user"]) + float(info["used_cpu_sys"]),
            "reads": int(info["total_reads_processed"]), "writes": int(info["total_writes_processed"]),
            "calls": calls}


def one_round(name: str, server: MockServer, redis, body: bytes, headers: dict, seconds: float) -> dict:
    request(server.port, "POST", "/_mock/reset")
    before_cpu = tree_cpu(server.process.pid)
    before = redis_stats(redis) if redis is not None else None
    rate = wrk(server.port, "POST", "/v1/hsm/file", body=body, headers=headers, seconds=seconds, connections=8)
    cpu = tree_cpu(server.process.pid) - before_cpu
    row = {"name": name, "rate": rate.rate, "count": rate.requests, "cpu_us": cpu * 1e6 / rate.requests,
           "load": os.getloadavg()[0]}
    if redis is not None:
        after = redis_stats(redis)
        n = rate.requests
        row["redis_us"] = (after["cpu"] - before["cpu"]) * 1e6 / n
        row["reads"] = (after["reads"] - before["reads"]) / n
        row["writes"] = (after["writes"] - before["writes"]) / n
        diff = {cmd: (after["calls"].get(cmd, 0) - before["calls"].get(cmd, 0)) / n for cmd in after["calls"]}
        row["calls"] = {cmd: value for cmd, value in diff.items() if value > 0.01 and cmd not in ("info", "flushall")}
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tree", action="append", type=Path, help="a source tree (repeat; default: this one)")
    parser.add_argument("--no-memory", action="store_true", help="leave the in-memory process out")
    args = parser.parse_args(argv)
    if find_binary() is None:
        print("redis-server is not on PATH: nothing to measure")
        return 0
    import redis as redis_client

    trees = args.tree or [Path(__file__).resolve().parent.parent]
    from . import bench

    body, headers = bench.upload(bench.jelou_csv(1000))
    rows: list[dict] = []
    servers = []
    redises = []
    try:
        for tree in trees:
            store = RedisServer(find_binary()).start()
            redises.append(store)
            server = MockServer(tree, ["--quiet", "--workers", "2", "--store", store.url]).__enter__()
            servers.append((f"{tree.name} workers-2-redis", server, redis_client.Redis(port=store.port)))
            if not args.no_memory:
                servers.append((f"{tree.name} memory", MockServer(tree, []).__enter__(), None))
        for _, server, _ in servers:                 # warm: imports, scripts loaded, caches
            wrk(server.port, "POST", "/v1/hsm/file", body=body, headers=headers, seconds=2, connections=8)
        for number in range(args.rounds):
            for name, server, client in servers:
                row = one_round(name, server, client, body, headers, args.seconds)
                rows.append(row)
                print(f"round {number + 1} {name}: {row['rate']:.0f} req/s, {row['cpu_us']:.0f} us CPU/upload"
                      f" (load {row['load']:.1f})" + (f", Redis {row['redis_us']:.0f} us, {row['reads']:.2f} reads,"
                                                     f" {row['writes']:.2f} writes" if client else ""), flush=True)
    finally:
        for _, server, client in servers:
            server.__exit__()
            if client is not None:
                client.close()
        for store in redises:
            store.close()
    print()
    for name, _, client in servers:
        mine = [row for row in rows if row["name"] == name]
        line = (f"{name}: {statistics.median(r['rate'] for r in mine):.0f} req/s, "
                f"CPU/upload {statistics.median(r['cpu_us'] for r in mine):.0f} us")
        if client is not None:
            calls = {cmd: statistics.median(r["calls"].get(cmd, 0) for r in mine) for cmd in mine[0]["calls"]}
            top = ", ".join(f"{cmd} {value:.2f}" for cmd, value in sorted(calls.items(), key=lambda item: -item[1]))
            line += (f"; Redis {statistics.median(r['redis_us'] for r in mine):.0f} us, reads "
                     f"{statistics.median(r['reads'] for r in mine):.2f}, writes "
                     f"{statistics.median(r['writes'] for r in mine):.2f} per upload; commands per upload: {top}")
        print(line)
    names = [name for name, _, _ in servers]
    for tree in trees:
        workers, memory = f"{tree.name} workers-2-redis", f"{tree.name} memory"
        if workers in names and memory in names:
            ratios = [a["rate"] / b["rate"] for a, b in zip([r for r in rows if r["name"] == workers],
                                                            [r for r in rows if r["name"] == memory])]
            print(f"{tree.name}: workers-2-redis / memory per round: " + ", ".join(f"{r:.2f}" for r in ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
