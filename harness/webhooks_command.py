"""``mock-harness webhooks listen``: receive the mock's webhooks, print them, check signatures.

Each event prints one line (``event  recipient  attempt  event id  signature``); ``--json``
prints the whole body instead, ``--quiet`` prints nothing per event (load runs: read the counters
at ``GET /_stats`` or when the command stops). ``--fail-first N`` answers the first N requests
with ``--fail-status`` (to watch the mock retry). Stops on Ctrl-C, or after ``--count`` events or
``--seconds``; prints the counters (JSON) on stderr when it stops. With ``--secret`` it exits 1
when a signature did not match (unsigned events are counted apart: they are not bad signatures).
"""
from __future__ import annotations

import json
import sys
import threading

from .errors import CommandError
from .webhook_events import ReceivedEvent
from .webhooks import WebhookReceiver


def add_parser(subparsers):
    p = subparsers.add_parser("webhooks", help="webhook tools (a receiver that prints and verifies events)",
                              description="Webhook tools for the mock.")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    listen = sub.add_parser("listen", help="receive webhooks on a local port and print them")
    listen.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    listen.add_argument("--port", type=int, default=8099, help="port (default 8099; 0: any free port, printed)")
    listen.add_argument("--secret", help="signing secret: verify X-Jelou-Signature / X-Mock-Signature (an event "
                        "without one, such as those of a Jelou legacy subscription, is counted as unsigned)")
    listen.add_argument("--status", type=int, default=204, help="status to answer (default 204)")
    listen.add_argument("--fail-first", type=int, default=0, metavar="N", help="answer the first N with --fail-status")
    listen.add_argument("--fail-status", type=int, default=500, help="status for --fail-first (default 500)")
    listen.add_argument("--delay", type=float, default=0.0, metavar="S", help="answer after S seconds (a slow receiver)")
    listen.add_argument("--json", action="store_true", help="print each body as JSON instead of a summary line")
    listen.add_argument("--quiet", "-q", action="store_true", help="print nothing per event; keep only counters")
    listen.add_argument("--count", type=int, default=0, metavar="N", help="stop after N requests")
    listen.add_argument("--seconds", type=float, default=0.0, metavar="S", help="stop after S seconds")
    listen.set_defaults(run=run)
    return p


def _line(item: ReceivedEvent, checking: bool) -> str:
    signature = {None: "unsigned" if checking else "-", True: "signature ok", False: "SIGNATURE MISMATCH"}[item.signature_ok]
    return f"{item.status} {item.event or '?':<17} {item.recipient or '?':<16} attempt {item.attempt}  {item.event_id}  {signature}"


def run(args) -> int:
    done = threading.Event()
    lock = threading.Lock()

    def on_event(item: ReceivedEvent) -> None:
        if not args.quiet:
            text = json.dumps(item.data, ensure_ascii=False) if args.json else _line(item, bool(args.secret))
            with lock:
                print(text, flush=True)
        if args.count and receiver.total >= args.count:
            done.set()

    receiver = WebhookReceiver(args.host, args.port, secret=args.secret, status=args.status, delay=args.delay,
                               keep=False, on_event=on_event)
    if args.fail_first:
        receiver.fail_next(args.fail_first, args.fail_status)
    try:
        receiver.start()
    except OSError as exc:
        raise CommandError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}; try another --port") from None
    print(f"listening on {receiver.url} (subscribe this URL; counters at {receiver.url}/_stats)", file=sys.stderr, flush=True)
    try:
        done.wait(args.seconds or None)
    except KeyboardInterrupt:
        pass
    finally:
        receiver.stop()
        print(json.dumps(receiver.stats()), file=sys.stderr, flush=True)
    return 1 if args.secret and receiver.bad_signatures else 0
