"""``mock-harness send --wait``: follow a campaign or task to its end, showing progress.

Progress is counted against the total with the status as the bar's postfix: Jelou, messages
delivered or failed (the campaign's counters have no "sent"); indigitall, messages sent (no
longer queued).  The wait ends when sending ends (COMPLETED / finished), so the final counts
are "so far": messages keep moving (delivered, read) for a while after that.

On a terminal stderr progress is a tqdm bar; otherwise one line per change of status, so logs
stay short.  The per-status counts go to stdout: Jelou's from the notifications' ``_metadata``
of the campaign, indigitall's from the task's ``messages``.
"""
from __future__ import annotations

import importlib.util
import sys

from .indigitall_client import IndigitallClient
from .jelou_client import JelouClient


class Progress:
    """A tqdm bar on a terminal, else one stderr line per status change."""

    def __init__(self, label: str) -> None:
        self.label, self.bar, self.status = label, None, None
        # tqdm is the [harness] extra; without it a terminal gets the plain lines too
        self.tty = sys.stderr.isatty() and importlib.util.find_spec("tqdm") is not None

    def update(self, status: str, done: int, total: int, what: str) -> None:
        if self.tty:
            if self.bar is None:
                from tqdm import tqdm
                self.bar = tqdm(total=total, desc=self.label, unit="msg", file=sys.stderr, leave=False)
            self.bar.total = total
            self.bar.n = done
            self.bar.set_postfix_str(status, refresh=False)
            self.bar.refresh()
        elif status != self.status:
            print(f"{self.label}: {status}, {done}/{total} {what}", file=sys.stderr)
        self.status = status

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _counts(counts: dict) -> str:
    shown = [f"{name} {number}" for name, number in counts.items() if number and name != "total"]
    return ", ".join(shown) or "none"


def _follow(label: str, wait, read) -> tuple[dict | None, str | None]:
    """Run ``wait(on_poll)`` with a progress display; return (final, timeout message)."""
    sys.stdout.flush()  # what was printed so far comes before the progress, also in one log or pipe
    progress = Progress(label)
    try:
        return wait(lambda item: progress.update(*read(item))), None
    except TimeoutError as exc:
        return None, str(exc)
    finally:
        progress.close()


def wait_for_campaign(client: JelouClient, campaign_id: str, bot_id: str, args) -> int:
    def read(campaign):
        done = (campaign.get("deliveredMessages") or 0) + (campaign.get("failedMessages") or 0)
        return campaign.get("status", "?"), done, campaign.get("totalMessages") or 0, "delivered or failed"

    final, timed_out = _follow(f"campaign {campaign_id[:8]}", lambda on_poll: client.wait_for_campaign(
        campaign_id, timeout=args.timeout, interval=args.interval, on_poll=on_poll), read)
    if final is None:
        print(f"mock-harness send: {timed_out}; raise --timeout, or move the mock's clock", file=sys.stderr)
        return 1
    metadata = client.notifications(bot_id, campaign_id=campaign_id, limit=1).get("_metadata") or {}
    print(f"campaign {campaign_id} {final['status']}: {final.get('totalMessages')} messages, "
          f"{final.get('deliveredMessages')} delivered, {final.get('failedMessages')} failed")
    print(f"by status so far: {_counts(metadata)}")
    return 0 if final["status"] == "COMPLETED" else 1


def wait_for_task(client: IndigitallClient, application_id, task_id, args) -> int:
    def read(task):
        messages = task.get("messages") or {}
        total = task.get("total") or 0
        return task.get("status", "?"), total - messages.get("queued", 0) - messages.get("canceled", 0), total, "sent"

    final, timed_out = _follow(f"task {task_id}", lambda on_poll: client.wait_for_task(
        application_id, task_id, timeout=args.timeout, interval=args.interval, on_poll=on_poll), read)
    if final is None:
        print(f"mock-harness send: {timed_out}; raise --timeout, or move the mock's clock", file=sys.stderr)
        return 1
    reason = f" ({final['canceledReason']})" if final.get("canceledReason") else ""
    print(f"task {task_id} {final['status']}{reason}: {final.get('total')} messages")
    print(f"by status so far: {_counts(final.get('messages') or {})}")
    return 0 if final["status"] == "finished" else 1
