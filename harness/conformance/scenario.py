"""The scripted scenario of ``mock-harness conformance``: one declarative list of steps per provider.

A ``Step`` says what it sends (``sends``, shown in the plan and the README), whether it can make
the provider send messages (``sends_messages``: such a step needs ``--recipient`` and its CSV holds
only those numbers; a step that cannot send anything, such as a rejection by auth or a broken
layout, carries ``NOT_A_PHONE`` instead) and builds its ``Request`` from an ``Env`` (one per side:
the target and the mock each get their own clock and the ids their own earlier answers gave).

Decisions
- Credentials are never in a step: ``Request.auth`` is ``account`` (the side's own credentials)
  or ``invalid`` (well-formed but unknown ones, for the 401 steps).
- Sends come first, then the reads, so the listings have something to list; a read that needs an
  id nobody gave (``needs``) is skipped and says so.
- ``lifecycle``: paths whose value depends on when the record is read (a campaign's status);
  compared by vocabulary (``shape.compare``), with the mock's own lists of statuses.
- The seed's two indigitall layouts are sent byte for byte (``harness.presets``).
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

from ..client_base import iso
from ..presets import INDIGITALL_TEMPLATE_LAYOUT, INDIGITALL_TEXT_LAYOUT
from ..sibling import mock_server_module

NOT_A_PHONE = "not-a-phone"
PROVIDERS = ("jelou", "indigitall")


@dataclass(frozen=True)
class Setup:
    """What the scenario needs to know about the target account (no secrets; kept in saved files)."""

    jelou_bot: str = "demo-bot"
    jelou_template: str = "welcome_message"
    jelou_placeholders: int = 0
    indigitall_app: int = 100
    indigitall_template: str = "new_ticket"
    indigitall_prefix: str = "/v2"


@dataclass
class Env:
    """One side's view while building a request."""

    setup: Setup
    recipients: tuple[str, ...]
    now: datetime
    found: dict[str, str] = field(default_factory=dict)
    file_url: Callable[[str, bytes], str] | None = None


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    auth: str = "account"                      # account | invalid
    params: Mapping[str, Any] | None = None
    json: Any = None
    form: Mapping[str, str] | None = None
    file: tuple[str, bytes] | None = None      # (file name, bytes), sent as the part ``file``
    raw: tuple[str, bytes] | None = None       # (content type, body)
    csv: bytes | None = None                   # the CSV the provider reads (uploaded or served)


@dataclass(frozen=True)
class Step:
    name: str
    provider: str
    method: str
    path: str                                  # as shown: ids as {placeholders}
    sends: str                                 # what it sends, in words
    expect: int                                # the documented (or contract) status
    build: Callable[[Env], Request]
    sends_messages: bool = False
    needs: tuple[str, ...] = ()                # ids an earlier step must have found on both sides
    needs_file_url: bool = False
    keep: Callable[[Any], dict[str, str]] | None = None
    lifecycle: Mapping[str, frozenset] = field(default_factory=dict)


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


# -- Jelou -----------------------------------------------------------------------------------
def _jelou_columns(setup: Setup) -> list[str]:
    return [f"param_{number}" for number in range(1, setup.jelou_placeholders + 1)]


def _jelou_csv(env: Env, *, phones=None, first: str = "phone_number") -> bytes:
    columns = _jelou_columns(env.setup)
    phones = env.recipients if phones is None else phones
    return csv_bytes([first, *columns], [[phone, *(f"conformance-{i}" for i in range(1, len(columns) + 1))]
                                         for phone in phones])


def _jelou_params(setup: Setup) -> list[dict]:
    return [{"param": number, "column": column} for number, column in enumerate(_jelou_columns(setup), 1)]


def _jelou_fields(env: Env, what: str, params=None) -> dict[str, Any]:
    return {"campaignName": f"mock-harness conformance {what}", "elementName": env.setup.jelou_template,
            "botId": env.setup.jelou_bot, "params": _jelou_params(env.setup) if params is None else params}


def _jelou_upload(what: str, *, params=None, phones=None, first: str = "phone_number") -> Callable[[Env], Request]:
    def build(env: Env) -> Request:
        data = _jelou_csv(env, phones=phones, first=first)
        fields = _jelou_fields(env, what, params)
        form = {key: value if isinstance(value, str) else json.dumps(value) for key, value in fields.items()}
        return Request("POST", "/v1/hsm/file", form=form, file=("recipients.csv", data), csv=data)
    return build


def _jelou_file_url(env: Env) -> Request:
    data = _jelou_csv(env)
    url = env.file_url("recipients.csv", data)
    return Request("POST", "/v1/hsm/file", json={**_jelou_fields(env, "fileUrl"), "fileUrl": url}, csv=data)


def _first_result(body: Any, *keys: str) -> dict[str, str]:
    """The id of the first listed record (current shape ``data.results``, legacy ``results``)."""
    if not isinstance(body, dict):
        return {}
    data = body.get("data") if isinstance(body.get("data"), dict) else body
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list) or not results or not isinstance(results[0], dict):
        return {}
    for key in keys:
        if results[0].get(key) not in (None, ""):
            return {"value": str(results[0][key])}
    return {}


def _keep_campaign(body: Any) -> dict[str, str]:
    found = _first_result(body, "id", "_id")
    return {"campaign_id": found["value"]} if found else {}


def _keep_notification(body: Any) -> dict[str, str]:
    found = _first_result(body, "id", "_id")
    return {"notification_id": found["value"]} if found else {}


def _campaign_window(env: Env) -> dict[str, str]:
    return {"botId": env.setup.jelou_bot, "startAt": (env.now - timedelta(days=1)).date().isoformat(),
            "endAt": (env.now + timedelta(days=1)).date().isoformat(), "page": "1", "limit": "10"}


def _jelou_vocabularies() -> tuple[frozenset, frozenset]:
    campaigns = mock_server_module("jelou.campaigns")
    schemas = mock_server_module("jelou.schemas")
    return frozenset(schemas.CAMPAIGN_STATUSES), frozenset(campaigns.MESSAGE_STATUSES)


def jelou_steps() -> list[Step]:
    campaign_statuses, message_statuses = _jelou_vocabularies()
    upload = "multipart: campaignName, elementName, botId, params and a CSV"
    return [
        Step("jelou.send.upload", "jelou", "POST", "/v1/hsm/file",
             f"{upload} with one row per --recipient", 200, _jelou_upload("upload"), sends_messages=True),
        Step("jelou.send.file_url", "jelou", "POST", "/v1/hsm/file",
             "JSON with fileUrl: the same CSV, served by the harness on 127.0.0.1", 200, _jelou_file_url,
             sends_messages=True, needs_file_url=True),
        Step("jelou.reject.body", "jelou", "POST", "/v1/hsm/file",
             "a JSON content type with a body that is not JSON", 400,
             lambda env: Request("POST", "/v1/hsm/file", raw=("application/json", b'{"campaignName": '))),
        Step("jelou.reject.auth", "jelou", "POST", "/v1/hsm/file",
             "Basic credentials of no account (conformance-invalid:invalid) and an empty JSON body", 401,
             lambda env: Request("POST", "/v1/hsm/file", auth="invalid", json={})),
        Step("jelou.reject.header", "jelou", "POST", "/v1/hsm/file",
             f"{upload} whose header has a space ('phone number'), rows to --recipient", 422,
             _jelou_upload("bad header", first="phone number"), sends_messages=True),
        Step("jelou.reject.phone", "jelou", "POST", "/v1/hsm/file",
             f"{upload} whose only phone is '{NOT_A_PHONE}'", 422,
             _jelou_upload("bad phone", phones=[NOT_A_PHONE])),
        Step("jelou.reject.column", "jelou", "POST", "/v1/hsm/file",
             f"{upload}; params name the column 'no_such_column', rows to --recipient", 422,
             lambda env: _jelou_upload("missing column", params=[
                 {"param": number, "column": "no_such_column" if number == 1 else column}
                 for number, column in enumerate(_jelou_columns(env.setup) or ["no_such_column"], 1)])(env),
             sends_messages=True),
        Step("jelou.reject.params", "jelou", "POST", "/v1/hsm/file",
             f"{upload}; params is [{{\"param\": \"one\"}}] (no column, param not an integer)", 422,
             _jelou_upload("bad params", params=[{"param": "one"}]), sends_messages=True),
        Step("jelou.campaigns.list", "jelou", "GET", "/v1/campaigns",
             "query botId, startAt (yesterday), endAt (tomorrow), page 1, limit 10", 200,
             lambda env: Request("GET", "/v1/campaigns", params=_campaign_window(env)), keep=_keep_campaign,
             lifecycle={"$.data.results[].status": campaign_statuses, "$.results[].status": campaign_statuses}),
        Step("jelou.campaigns.one", "jelou", "GET", "/v1/campaigns/{campaignId}",
             "the first campaign of the list", 200,
             lambda env: Request("GET", f"/v1/campaigns/{env.found['campaign_id']}"), needs=("campaign_id",),
             lifecycle={"$.data.status": campaign_statuses}),
        Step("jelou.notifications.list", "jelou", "GET", "/v1/external/bots/{botId}/notifications",
             "query campaignId (that campaign), page 1, limit 10", 200,
             lambda env: Request("GET", f"/v1/external/bots/{env.setup.jelou_bot}/notifications",
                                 params={"campaignId": env.found["campaign_id"], "page": "1", "limit": "10"}),
             needs=("campaign_id",), keep=_keep_notification,
             lifecycle={"$.results[].sentStatus": message_statuses}),
        Step("jelou.notifications.one", "jelou", "GET", "/v1/external/bots/{botId}/notifications/{id}",
             "the first notification of that list", 200,
             lambda env: Request("GET", f"/v1/external/bots/{env.setup.jelou_bot}/notifications/"
                                        f"{env.found['notification_id']}"),
             needs=("notification_id",), lifecycle={"$.sentStatus": message_statuses,
                                                    "$.data.sentStatus": message_statuses}),
    ]


# -- indigitall ------------------------------------------------------------------------------
def _app(env: Env) -> str:
    prefix = "/" + env.setup.indigitall_prefix.strip("/") if env.setup.indigitall_prefix.strip("/") else ""
    return f"{prefix}/chat/application/{env.setup.indigitall_app}"


def _text_csv(phones) -> bytes:
    return csv_bytes(["contactCode", "channelType", "name"], [[phone, "cloud_api", "Conformance"] for phone in phones])


def _indigitall_send(layout: str | Callable[[Env], str], *, template: bool = False, phones=None,
                     extra: Callable[[Env], dict] | None = None) -> Callable[[Env], Request]:
    def build(env: Env) -> Request:
        chosen = env.recipients if phones is None else phones
        if template:
            data = csv_bytes(["contactCode", "templateName", "name", "ticketId"],
                             [[phone, env.setup.indigitall_template, "Conformance", f"T-{i}"]
                              for i, phone in enumerate(chosen, 1)])
        else:
            data = _text_csv(chosen)
        form = {"layout": layout(env) if callable(layout) else layout, **(extra(env) if extra else {})}
        return Request("POST", f"{_app(env)}/message/csv", form=form, file=("contacts.csv", data), csv=data)
    return build


def _task_statuses() -> frozenset:
    return frozenset(("scheduled", "processing", "finished", "canceled"))


def _keep_task(body: Any) -> dict[str, str]:
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, dict) and data.get("taskId") not in (None, ""):
        return {"task_id": str(data["taskId"])}
    return {}


def indigitall_steps() -> list[Step]:
    tasks = _task_statuses()
    csv_path = "{prefix}/chat/application/{applicationId}/message/csv"
    send = "multipart: layout and a CSV"
    missing_variable = INDIGITALL_TEXT_LAYOUT.replace("{{name}}", "{{surname}}")
    return [
        Step("indigitall.send.text", "indigitall", "POST", csv_path,
             f"{send}: the seed's text layout, one row per --recipient", 201,
             _indigitall_send(INDIGITALL_TEXT_LAYOUT), sends_messages=True, keep=_keep_task,
             lifecycle={"$.data.status": tasks}),
        Step("indigitall.send.template", "indigitall", "POST", csv_path,
             f"{send}: the seed's template layout (templateName from --indigitall-template)", 201,
             _indigitall_send(INDIGITALL_TEMPLATE_LAYOUT, template=True), sends_messages=True, keep=_keep_task,
             lifecycle={"$.data.status": tasks}),
        Step("indigitall.send.scheduled", "indigitall", "POST", csv_path,
             f"{send}: the text layout with scheduledAt one hour ahead", 201,
             _indigitall_send(INDIGITALL_TEXT_LAYOUT,
                              extra=lambda env: {"scheduledAt": iso(env.now.replace(microsecond=0)
                                                                    + timedelta(hours=1))}),
             sends_messages=True, lifecycle={"$.data.status": tasks}),
        Step("indigitall.send.delay", "indigitall", "POST", csv_path,
             f"{send}: the text layout with delay PT15M", 201,
             _indigitall_send(INDIGITALL_TEXT_LAYOUT, extra=lambda env: {"delay": "PT15M"}),
             sends_messages=True, lifecycle={"$.data.status": tasks}),
        Step("indigitall.reject.variable", "indigitall", "POST", csv_path,
             f"{send}: the text layout using {{{{surname}}}}, a column the CSV lacks", 400,
             _indigitall_send(missing_variable), sends_messages=True),
        Step("indigitall.reject.layout", "indigitall", "POST", csv_path,
             f"{send}: layout 'not json', contactCode '{NOT_A_PHONE}'", 400,
             _indigitall_send("not json", phones=[NOT_A_PHONE])),
        Step("indigitall.reject.auth", "indigitall", "POST", csv_path,
             f"{send} with ServerKey of no account (conformance-invalid-key), contactCode '{NOT_A_PHONE}'", 401,
             lambda env: replace(_indigitall_send(INDIGITALL_TEXT_LAYOUT, phones=[NOT_A_PHONE])(env), auth="invalid")),
        Step("indigitall.task.one", "indigitall", "GET", "{prefix}/chat/application/{applicationId}/task/{taskId}",
             "the task of the first accepted send", 200,
             lambda env: Request("GET", f"{_app(env)}/task/{env.found['task_id']}"), needs=("task_id",),
             lifecycle={"$.data.status": tasks}),
        Step("indigitall.task.list", "indigitall", "GET", "{prefix}/chat/application/{applicationId}/task",
             "query limit 10, page 1", 200,
             lambda env: Request("GET", f"{_app(env)}/task", params={"limit": "10", "page": "1"}),
             lifecycle={"$.data[].status": tasks}),
    ]


def scenario(providers: tuple[str, ...] = PROVIDERS) -> list[Step]:
    """Every step of the chosen providers, in the order they run."""
    steps: list[Step] = []
    if "jelou" in providers:
        steps += jelou_steps()
    if "indigitall" in providers:
        steps += indigitall_steps()
    return steps
