"""Does a server keep answering while slow clients hold connections? ``python -m loadtests.slowclients``.

Opens ``--connections`` connections to ``--base-url`` (loopback only): a third connect and send
nothing (half-open), a third send a request line and drip one header byte per second, a third
send full headers announcing a body and drip the body. Meanwhile it asks ``/_mock/health`` every
0.25 s and prints how many answered, the worst and median latency, and how many slow connections
the server had closed by the end (a total read deadline closes drippers). Bounded by ``--seconds``.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import threading
import time
from urllib.parse import urlsplit

import requests


def slow_connection(host: str, port: int, kind: int, stop: threading.Event, closed: list) -> None:
    try:
        sock = socket.create_connection((host, port), timeout=5)
    except OSError:
        closed.append("refused")
        return
    sock.settimeout(1)
    try:
        if kind == 1:
            sock.sendall(b"GET /_mock/health HTTP/1.1\r\nHost: localhost\r\n")
        elif kind == 2:
            sock.sendall(b"POST /_mock/reset HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100000\r\n\r\n")
        while not stop.is_set():
            if kind:
                sock.sendall(b"a" if kind == 2 else b"X")
            try:
                if sock.recv(1024) == b"":
                    closed.append(kind)
                    return
            except socket.timeout:
                pass
    except OSError:
        closed.append(kind)
    finally:
        sock.close()


def measure(base_url: str, connections: int, seconds: float) -> dict:
    parts = urlsplit(base_url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("slowclients only targets a loopback server")
    stop, closed, threads = threading.Event(), [], []
    for index in range(connections):
        thread = threading.Thread(target=slow_connection, args=(parts.hostname, parts.port, index % 3, stop, closed),
                                  daemon=True)
        thread.start()
        threads.append(thread)
    time.sleep(1.0)
    latencies, failures = [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            ok = requests.get(f"{base_url}/_mock/health", timeout=5).status_code == 200
        except requests.RequestException:
            ok = False
        if ok:
            latencies.append(time.monotonic() - started)
        else:
            failures += 1
        time.sleep(0.25)
    stop.set()
    for thread in threads:
        thread.join(3)
    return {"answered": len(latencies), "failed": failures,
            "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
            "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
            "slow_closed_by_server": sum(1 for kind in closed if kind != "refused"),
            "refused": closed.count("refused")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.slowclients", description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8080")
    parser.add_argument("--connections", type=int, default=110)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    print(measure(args.base_url.rstrip("/"), args.connections, args.seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
