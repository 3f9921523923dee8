"""What the benchmarks read of this machine: a free loopback port, and a process's (or thread's) CPU
time and resident memory (Linux /proc)."""

from __future__ import annotations

import os
import re
import resource
import socket
import threading


def rss_now() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def rss_peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU time of a process (Linux /proc)."""
    return sum(cpu_split(pid))


def cpu_split(pid: int | str = "self") -> tuple[float, float]:
    """User and system CPU time of a process, or of a thread (``self/task/TID``) (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rpartition(")")[2].split()
    return int(fields[11]) / os.sysconf("SC_CLK_TCK"), int(fields[12]) / os.sysconf("SC_CLK_TCK")


def thread_cpu() -> dict[str, tuple[float, float]]:
    """CPU seconds (user, system) per live thread of this process, by thread name with its pool
    number dropped (``webhooks-worker-store_3`` counts as ``webhooks-worker-store``): Linux /proc."""
    found: dict[str, tuple[float, float]] = {}
    for thread in threading.enumerate():
        try:
            user, system = cpu_split(f"self/task/{thread.native_id}")
        except (OSError, TypeError):
            continue
        name = re.sub(r"_\d+$", "", thread.name)
        before = found.get(name, (0.0, 0.0))
        found[name] = (before[0] + user, before[1] + system)
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
