"""What a load run (``run.py``, ``make load``) asks of the running mock over HTTP: before Locust
starts, its fault rules (``--fault``), its traffic profile (``--profile``) and the webhook
receiver's subscriptions (``--webhooks``); after the run, the status curves of the largest campaign
and task (``curve.json``) and the webhook counts (``webhooks.json``).
"""

from __future__ import annotations

import json
from pathlib import Path

import requests

from .webhook_bench import receiver_stats

CURVE_ROWS = 8            # points of each curve printed (curve.json has them all)


def add_faults(url: str, rules: list[str]) -> None:
    """POST each rule (JSON text or ``@file``) to the mock's ``/_mock/faults``."""
    for text in rules:
        raw = Path(text[1:]).read_text(encoding="utf-8") if text.startswith("@") else text
        try:
            rule = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise RuntimeError(f"--fault {text!r} is not JSON: {exc}") from None
        answer = requests.post(url + "/_mock/faults", json=rule, timeout=10)
        if answer.status_code != 201:
            raise RuntimeError(f"the mock refused --fault {text!r}: {answer.text}")
        print(f"[load] fault rule {answer.json()['id']} active: {raw.strip()}", flush=True)


def subscribe_all(url: str, hook_url: str) -> None:
    """Subscribe the receiver to every event of demo-bot and of indigitall applications 100 and 200."""
    bodies = [{"provider": "jelou", "botId": "demo-bot", "events": ["all"]},
              *({"provider": "indigitall", "applicationId": app, "events": ["all"]} for app in (100, 200))]
    for body in bodies:
        answer = requests.post(f"{url}/_mock/webhooks", json={**body, "url": hook_url}, timeout=10)
        if answer.status_code != 201:
            raise RuntimeError(f"could not subscribe the webhook receiver: {answer.status_code} {answer.text}")


def report_webhooks(url: str, hook_url: str, results: Path) -> None:
    received = receiver_stats(hook_url)
    records = requests.get(f"{url}/_mock/webhooks/deliveries", params={"limit": 1}, timeout=10).json()
    print(f"[load] webhooks: receiver got {received['total']} events {json.dumps(received['byEvent'])}; "
          f"mock records {json.dumps(records['counts'])}", flush=True)
    (results / "webhooks.json").write_text(json.dumps({"receiver": received, "deliveries": records["counts"]}, indent=1),
                                           encoding="utf-8")


def set_profile(url: str, profile: str) -> None:
    """Put the default sandbox on ``profile`` (a name, or a JSON/YAML file)."""
    from harness.errors import CommandError
    from harness.profile_command import read_profile

    try:
        body = read_profile(profile)
    except CommandError as exc:
        raise RuntimeError(f"--profile: {exc}") from None
    answer = requests.put(f"{url}/_mock/profile", json={"name": body} if isinstance(body, str) else {"profile": body},
                          timeout=10)
    if answer.status_code != 200:
        raise RuntimeError(f"the mock refused --profile {profile}: {answer.text}")
    resolved = answer.json()
    print(f"[load] traffic profile: {resolved['name']} {json.dumps(resolved['profile'], separators=(',', ':'))}",
          flush=True)


def report_curves(url: str, entries: list, results: Path) -> None:
    """The status curve of the largest campaign and the largest task: a few rows printed, all in curve.json."""
    curves = {}
    for provider in ("jelou", "indigitall"):
        mine = [entry for entry in entries if entry.provider == provider and entry.status != "canceled"]
        if not mine:
            continue
        largest = max(mine, key=lambda entry: entry.rows)
        answer = requests.get(f"{url}/_mock/messages/curve", params={"campaign": largest.id}, timeout=30)
        if answer.status_code != 200:
            print(f"[load] curve of {provider} {largest.id}: {answer.status_code} {answer.text}", flush=True)
            continue
        shape = curves[provider] = answer.json()
        points = shape["points"]
        statuses = [name for name in points[0]["counts"] if any(point["counts"][name] for point in points)]
        last = len(points) - 1            # geometric spacing: most change happens early
        picks = sorted({0, *(round(last ** (k / (CURVE_ROWS - 2))) for k in range(CURVE_ROWS - 1))} if last else {0})
        print(f"[load] curve of {provider} {largest.id} ({shape['total']} messages, a point every {shape['step']}):",
              flush=True)
        print("  " + "at".ljust(24) + "".join(name.rjust(18) for name in statuses), flush=True)
        for k in picks:
            counts = points[k]["counts"]
            print("  " + points[k]["at"].ljust(24) + "".join(str(counts[name]).rjust(18) for name in statuses),
                  flush=True)
    (results / "curve.json").write_text(json.dumps(curves, indent=1), encoding="utf-8")
