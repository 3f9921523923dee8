"""The indigitall steps of the conformance scenario: "Send messages from CSV" (the seed's two
layouts byte for byte, and the rejections), then the reads of tasks."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any, Callable

from ..client_base import iso
from ..presets import INDIGITALL_TEMPLATE_LAYOUT, INDIGITALL_TEXT_LAYOUT
from .steps import NOT_A_PHONE, Env, Request, Step, csv_bytes


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
