"""indigitall's HTTP surface: parse the request, call the backend, shape the answer.

Mounted under the ``indigitall.path_prefix`` setting (default ``/v2``; the real path is not public).
The task endpoints are the mock's (indigitall documents none for sendcsv).
"""

from __future__ import annotations

from flask import Blueprint, current_app, request

from .. import bodies
from ..providers import hand_over_record
from ..sandbox import current
from ..wire import answers, takes
from . import schemas
from .schemas import CsvMessageFormSchema, TaskAnswerSchema, TaskPageSchema
from .errors import IndigitallError

bp = Blueprint("indigitall", __name__)


def _backend():
    return current_app.extensions["mock"].backends["indigitall"]


def _application(application_id: str) -> dict:
    return _backend().application_for(request.headers.get("Authorization"), application_id)


def _ok(data, status: int = 200, **extra):
    return {"statusCode": status, "message": "OK", **extra, "data": data}, status


@bp.post("/chat/application/<application_id>/message/csv")
@answers(TaskAnswerSchema, 201, "Task accepted (status canceled when slicing cannot place it)")
@takes(CsvMessageFormSchema, ("multipart/form-data",))
def send_messages_from_csv(application_id: str):
    """Send messages from CSV: multipart ``layout`` + ``file`` (+ ``scheduledAt``/``delay``/``slicingCondition``)."""
    backend = _backend()
    application = _application(application_id)
    form, upload, errors = _read_multipart()
    task = backend.send_messages_from_csv(current(), application, form, upload, errors)
    answer = _ok(backend.render(current(), task, accepted=True), 201)
    hand_over_record("taskId", task.id, messages=task.to_send)   # the request journal's created record
    return answer


@bp.get("/chat/application/<application_id>/task")
@answers(TaskPageSchema, description="One page")
def list_tasks(application_id: str):
    backend = _backend()
    application = _application(application_id)
    query = schemas.load_or_fail(schemas.TaskListSchema(), request.args.to_dict())
    tasks, total = backend.list_tasks(current(), application, query)
    return _ok([backend.render(current(), task) for task in tasks], count=total)


@bp.get("/chat/application/<application_id>/task/<task_id>")
@answers(TaskAnswerSchema, description="The task")
def get_task(application_id: str, task_id: str):
    backend = _backend()
    return _ok(backend.render(current(), backend.task_for(current(), _application(application_id), task_id)))


@bp.delete("/chat/application/<application_id>/task/<task_id>")
@answers(TaskAnswerSchema, description="Canceled")
def cancel_task(application_id: str, task_id: str):
    backend = _backend()
    return _ok(backend.render(current(), backend.cancel_task(current(), _application(application_id), task_id)))


def _read_multipart() -> tuple[dict[str, str], bytes | None, list[dict]]:
    """``(text fields, CSV bytes or None, field errors)``; ``layout`` may also come as a file part."""
    if request.mimetype != "multipart/form-data":
        shown = request.mimetype or "none"
        raise IndigitallError(f"Unsupported Content-Type '{shown}': send multipart/form-data with the fields "
                              "'layout' (JSON text) and 'file' (the CSV)")
    try:
        body = bodies.multipart(request)
    except bodies.BodyError as exc:
        raise IndigitallError(str(exc)) from None
    data, files = body.fields, body.files
    errors: list[dict] = [{"field": name, "message": f"{name} was sent more than once; send it once"}
                          for name in body.repeated]
    if "layout" in files and "layout" not in data:
        raw = files["layout"].data
        try:
            data["layout"] = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            errors.append({"field": "layout", "message": "layout must be UTF-8 encoded JSON text"})
    upload = None
    if "file" in files:
        upload = files["file"]
    elif "file" in data:
        data.pop("file")
        errors.append({"field": "file", "message": "file must be a file part (the CSV itself), not a text field"})
    return data, upload, errors

