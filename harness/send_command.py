"""``mock-harness send {jelou,indigitall}``: send a CSV to a running mock (or a provider).

    mock-harness send jelou recipients.csv --preset order_confirmation --wait
    mock-harness send jelou --url https://example.com/recipients.csv --template welcome_message
    mock-harness send indigitall contacts.csv --application-id 100 --layout layout.json --wait

Decisions
- The outcome goes to stdout (status line, campaign/task id, the provider's problems one per
  line with line/column); progress and hints go to stderr.
- Exit codes: 0 accepted (and, with ``--wait``, COMPLETED / finished); 1 the provider refused
  it, the server could not be reached, or the wait ended FAILED/CANCELLED/canceled or timed out;
  2 usage errors (``CommandError``).
- Request values come from a preset (``harness.presets``: template, params, type, mediaUrl,
  buttonPayloads for Jelou; the layout for indigitall); explicit options override them.
  Jelou's default preset is order_confirmation; ``--template X`` alone uses preset X if there
  is one, else empty params.
- ``--wait`` polls the campaign/task (``--interval``) with a tqdm bar on stderr when stderr is
  a terminal, else one line per status change.  Against the mock it first checks the clock:
  a frozen clock never moves by itself, so it says how to move it.
"""
from __future__ import annotations

import json
import os
import sys
from http import HTTPStatus

import requests

from .cli_common import add_server_options, connection_hint, indigitall_client, jelou_client
from .client_base import ProviderError
from .control import MockControl
from .errors import CommandError
from .presets import PRESETS, UnknownPreset, get_preset
from .send_wait import wait_for_campaign, wait_for_task


def add_parser(subparsers):
    send = subparsers.add_parser("send", help="send a CSV file to a running mock (or provider) and show the outcome",
                                 description="Send a CSV file and print the outcome; --wait follows it to the end.")
    providers = send.add_subparsers(dest="provider", metavar="PROVIDER", required=True)
    jelou = providers.add_parser("jelou", help="POST /v1/hsm/file (Send Bulk HSM)")
    jelou.add_argument("file", nargs="?", metavar="FILE", help="the CSV to upload (or use --url)")
    jelou.add_argument("--url", help="let the server fetch the CSV from this URL (JSON body with fileUrl)")
    jelou.add_argument("--preset", help="take template, params, type, mediaUrl, buttonPayloads from this preset "
                       "(default order_confirmation; `mock-harness csv --list-presets`)")
    jelou.add_argument("--template", help="elementName")
    jelou.add_argument("--params", help='JSON, e.g. \'[{"param": 1, "column": "order_id"}]\'')
    jelou.add_argument("--campaign-name", help="campaignName (default: mock-harness FILE)")
    jelou.add_argument("--bot-id", default="demo-bot", help="botId (default %(default)s)")
    jelou.add_argument("--type", choices=("text", "image", "document", "video"))
    jelou.add_argument("--media-url")
    jelou.add_argument("--button-payloads", help='JSON, e.g. \'[{"flowId": 1, "action": "yes"}]\'')
    jelou.add_argument("--actions", help="JSON object")
    jelou.add_argument("--scheduled-at", help="ISO 8601 date-time (UTC if no offset)")
    jelou.add_argument("--filename", help="upload file name (default: FILE's name)")
    _wait_options(jelou)
    add_server_options(jelou, indigitall=False)
    jelou.set_defaults(run=run_jelou)

    ind = providers.add_parser("indigitall", help="POST {prefix}/chat/application/{id}/message/csv")
    ind.add_argument("file", metavar="FILE", help="the CSV to upload")
    ind.add_argument("--application-id", default="100", help="application id (default %(default)s)")
    ind.add_argument("--preset", help="take the layout from this preset (default text; or template)")
    ind.add_argument("--layout", metavar="FILE_OR_JSON", help="layout JSON text, or a file holding it")
    ind.add_argument("--scheduled-at", help="ISO 8601 date-time with Z or an offset")
    ind.add_argument("--delay", help="ISO 8601 duration, e.g. PT15M")
    ind.add_argument("--slicing-condition",
                     choices=("fragmentedSlots", "immediateConsecutiveSlots", "deferredConsecutiveSlots"))
    ind.add_argument("--filename", help="upload file name (default: FILE's name)")
    _wait_options(ind)
    add_server_options(ind, jelou=False)
    ind.set_defaults(run=run_indigitall)
    return send


def _wait_options(parser) -> None:
    parser.add_argument("--wait", action="store_true", help="poll until the campaign/task has finished")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds --wait waits (default %(default)g)")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between polls (default %(default)g)")


def _json(option: str, text: str | None, example: str):
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{option} is not valid JSON ({exc.msg}); example: {example}") from None


def _existing(path: str, provider: str) -> str:
    if not os.path.isfile(path):
        raise CommandError(f"{path}: no such file; make one with `mock-harness csv {provider} --out {path}`")
    return path


def _preset(provider: str, name: str | None):
    try:
        return get_preset(provider, name)
    except UnknownPreset as exc:
        raise CommandError(str(exc)) from None


def jelou_fields(args) -> dict:
    """Keyword arguments for ``JelouClient.send_file`` / ``send_url`` from the options."""
    if args.preset:
        preset = _preset("jelou", args.preset)
    elif args.template:
        preset = PRESETS.get(f"jelou:{args.template}")
    else:
        preset = _preset("jelou", None)
    template = args.template or preset.template
    own = preset if preset is not None and preset.template == template else None
    extra = own.extra_fields if own else {}
    params = _json("--params", args.params, '[{"param": 1, "column": "order_id"}]')
    source = args.filename or os.path.basename(args.file or args.url or "")
    return {
        "campaign_name": args.campaign_name or f"mock-harness {source}".strip(),
        "element_name": template, "bot_id": args.bot_id,
        "params": params if params is not None else [dict(x) for x in (own.params if own else [])],
        "type": args.type or extra.get("type"), "media_url": args.media_url or extra.get("mediaUrl"),
        "button_payloads": _json("--button-payloads", args.button_payloads, '[{"flowId": 1, "action": "yes"}]')
        or extra.get("buttonPayloads"),
        "actions": _json("--actions", args.actions, '{"key": "value"}'),
        "scheduled_at": args.scheduled_at,
    }


def run_jelou(args) -> int:
    if bool(args.file) == bool(args.url):
        raise CommandError("give either FILE or --url URL (exactly one)")
    fields = jelou_fields(args)
    with jelou_client(args) as client:
        try:
            if args.file:
                result = client.send_file(_existing(args.file, "jelou"), filename=args.filename, **fields)
            else:
                result = client.send_url(args.url, **fields)
        except ProviderError as exc:
            print(exc)
            return 1
        except requests.RequestException as exc:
            return _unreachable(args, exc)
        message = "; ".join(result.body.get("message", [])) if isinstance(result.body, dict) else result.body
        print(f"{result.status} {HTTPStatus(result.status).phrase}: {message}")
        if result.campaign_id is None:
            print(f"campaign: (no id returned; find it with GET /v1/campaigns?botId={args.bot_id}&startAt=...&endAt=...)")
        else:
            print(f"campaign: {result.campaign_id}")
        if not args.wait:
            return 0
        if result.campaign_id is None:
            print("mock-harness send: cannot --wait: the server returned no campaign id "
                  "(only the mock sends X-Mock-Campaign-Id)", file=sys.stderr)
            return 1
        _clock_hint(args.base_url)
        return _guard(args, lambda: wait_for_campaign(client, result.campaign_id, args.bot_id, args))


def _layout(args) -> str:
    if args.layout is None:
        return _preset("indigitall", args.preset).layout
    if args.layout.lstrip().startswith("{"):
        return args.layout
    if not os.path.isfile(args.layout):
        raise CommandError(f"--layout {args.layout}: not JSON text and no such file")
    with open(args.layout, encoding="utf-8-sig") as handle:
        return handle.read()


def run_indigitall(args) -> int:
    layout = _layout(args)
    path = _existing(args.file, "indigitall")
    with indigitall_client(args) as client:
        try:
            task = client.send_csv(args.application_id, path, layout, scheduled_at=args.scheduled_at,
                                   delay=args.delay, slicing_condition=args.slicing_condition,
                                   filename=args.filename)
        except ProviderError as exc:
            print(exc)
            return 1
        except requests.RequestException as exc:
            return _unreachable(args, exc)
        print(f"201 Created: {describe_task(task)}")
        for slot in task.get("slots") or []:
            print(f"  slot {slot['start']} .. {slot['end']}: {slot['count']} messages")
        if not args.wait:
            return 0
        if task.get("status") == "canceled":
            return 1            # canceled at once (slicing could not place it): nothing to wait for
        _clock_hint(args.base_url)
        return _guard(args, lambda: wait_for_task(client, args.application_id, task["taskId"], args))


def describe_task(task: dict) -> str:
    text = (f"task {task.get('taskId')} in application {task.get('applicationId')} is {task.get('status')}: "
            f"{task.get('total')} messages from {task.get('scheduledAt')}, {task.get('slicingCondition')}")
    slots = task.get("slots") or []
    text += f", sliced into {len(slots)} slot(s)" if slots else ", not sliced"
    if task.get("canceledReason"):
        text += f"; canceled: {task['canceledReason']}"
    return text


def _guard(args, wait) -> int:
    try:
        return wait()
    except ProviderError as exc:
        print(exc)
        return 1
    except requests.RequestException as exc:
        return _unreachable(args, exc)


def _unreachable(args, exc: requests.RequestException) -> int:
    print(f"mock-harness send: error: {connection_hint(args.base_url, exc)}", file=sys.stderr)
    return 1


def _clock_hint(base_url: str) -> None:
    """Against the mock, warn when its clock is frozen (nothing would ever finish)."""
    sys.stdout.flush()  # the answer printed so far comes first, also in one log or pipe
    try:
        with MockControl(base_url, timeout=5) as control:
            frozen = control.clock.state().get("frozen")
    except Exception:  # not the mock (a real provider), or no control plane: nothing to say
        return
    if frozen:
        print("note: the mock's clock is frozen, so nothing progresses by itself; move it with "
              "POST /_mock/clock {\"advance\": \"PT1M\"} (or unfreeze it with {\"frozen\": false})",
              file=sys.stderr)
