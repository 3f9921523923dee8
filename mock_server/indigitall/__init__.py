"""indigitall "Send messages from CSV", its tasks and per-application slicing."""

from __future__ import annotations

from flask import Request
from marshmallow import fields

from ..auth import parse_scheme
from ..providers import Provider, RecordLink
from . import openapi, schemas, settings, ui, webhooks
from .backend import IndigitallBackend
from .errors import http_error
from .routes import bp
from .slicing import Allocation, Plan, SlicingSettings
from .tasks import TASKS, Task


class Indigitall(Provider):
    name = "indigitall"
    title = "indigitall"
    blueprint = bp
    record_kinds = {TASKS.kind: "tasks"}
    backend_class = IndigitallBackend
    error_for_status = staticmethod(http_error)
    settings_type = settings.IndigitallSettings
    openapi = openapi
    openapi_summary = "indigitall Send messages from CSV"
    openapi_field_types = ((schemas.IsoDateTime, "string", "date-time"), (schemas.IsoDuration, "string", None),
                           (schemas.LayoutField, "string", None))
    record_phrase = "an indigitall task id"
    journal_record = ("taskId", fields.Integer)
    rate_limit_subjects = {"application": lambda request: (request.view_args or {}).get("application_id")}
    webhooks = webhooks.SPEC
    stored_types = ((SlicingSettings, "indigitall.slicing"), (Allocation, "indigitall.allocation"),
                    (Plan, "indigitall.plan"), (Task, "indigitall.task"))
    ui_blueprint = ui.bp
    ui_nav = (("indigitall tasks", "indigitall_ui.tasks_page"),)
    ui_overview_template = "indigitall/overview_card.html"
    ui_record = RecordLink(arg="task", noun="task", endpoint="indigitall_ui.task_page", id_arg="task_id",
                           label_with_id=True)

    def url_prefix(self, settings):
        return settings.indigitall.path_prefix

    def path_prefixes(self, settings):
        prefix = settings.indigitall.path_prefix
        return (prefix + "/chat", prefix)      # /chat wins even when the prefix is shared (e.g. /v1)

    def credential(self, request: Request) -> str | None:
        """The key of ``Authorization: ServerKey <key>``."""
        return parse_scheme(request.headers.get("Authorization"), "ServerKey")

    def ui_overview(self, state, sb):
        return ui.overview(state, sb)

    def ui_search(self, state, sb, text, limit):
        return ui.search(state, sb, text, limit)

    def banner_lines(self, config):
        section = config.indigitall
        lines = [f"indigitall (Authorization: ServerKey <key>), path prefix {section.path_prefix}:"]
        for key in section.server_keys:
            lines.append(f"  ServerKey {key['key']}  applications {', '.join(map(str, key['applications']))}")
        return lines


PROVIDER = Indigitall()

__all__ = ["PROVIDER"]
