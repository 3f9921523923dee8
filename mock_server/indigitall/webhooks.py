"""indigitall's delivery-status webhooks: indigitall documents none, so the mock offers them through
``POST /_mock/webhooks`` (owner: ``applicationId``), signed in ``X-Mock-Signature``."""

from __future__ import annotations

from typing import Any, Mapping

from marshmallow import Schema, fields, validate

from .. import delivery
from ..control.schemas import MessageSchema
from ..isotime import Stamps
from ..providers import WebhookSpec
from ..sandbox import Sandbox
from ..webhooks.events import Source
from .tasks import ALL, TASKS

EVENTS = ("sent", "delivered", "read", "failed")
# delivery stage -> event name ("sent" is the send itself; the channel stage has no event of its
# own, and a reply shows as "read")
EVENT_OF = {delivery.SENT: "sent", delivery.USER: "delivered", delivery.READ: "read", delivery.FAILED: "failed"}



class WebhookEventSchema(Schema):
    """The body of a delivery-status webhook (``render`` below), for the OpenAPI ``webhooks``."""

    event = fields.String(required=True, validate=validate.OneOf(EVENTS))
    timestamp = fields.String(required=True, metadata={"description": "mock time of the transition (ISO 8601, UTC)"})
    applicationId = fields.Integer(required=True)
    taskId = fields.Integer(required=True)
    message = fields.Nested(MessageSchema, required=True, metadata={"description": "the message as /_mock/messages shows it"})


class WebhooksMixin:
    """Mixed into :class:`IndigitallBackend`; uses its ``store``, ``task``, ``compiled`` and ``timelines``."""

    def webhook_sources(self, sb: Sandbox, owners, after: float, latest: float) -> list[Source]:
        """Tasks with a send plan, of an application in ``owners``, with transitions still to come
        after ``after`` (their bodies: the message as ``/_mock/messages`` shows it)."""
        sources, stamps = [], Stamps()          # the window's instants, each formatted once
        timelines = self.timelines
        for record in self.store.scan(sb.name, ALL.name, newest_first=False):      # records: their ``seq``
            task = TASKS.load(record)
            if ("indigitall", str(task.application_id)) not in owners:
                continue
            schedule = task.schedule
            limit = task.total if task.sent_limit is None else min(task.sent_limit, task.total)
            if not schedule.segments or limit == 0 or \
                    schedule.last_send + max(latest, task.fates(timelines).latest) < after:
                continue
            layout, checker = self.compiled(task)

            def render(index: int, moment: float, event: str, task=task, layout=layout, checker=checker) -> dict[str, Any]:
                return {"event": event, "timestamp": stamps[moment],
                        "applicationId": task.application_id, "taskId": task.id,
                        "message": task.message(index, timelines, moment, layout, checker, stamps)}

            sources.append(Source("indigitall", str(task.id), record.seq, str(task.application_id), task, render))
        return sources


def _application_problem(settings: Mapping[str, Any], owner: str) -> str | None:
    if owner not in {str(app["id"]) for app in settings.indigitall.applications}:
        return f"applicationId: no application {owner} in the settings (indigitall.applications)"
    return None


SPEC = WebhookSpec(
    events=EVENTS, event_of=EVENT_OF, signature_header="X-Mock-Signature",
    owner_key="applicationId", owner_field=lambda: fields.Integer(strict=True), owner_problem=_application_problem,
    recipient=lambda body: (body.get("message") or {}).get("recipient"), owner_value=int,
    event_schema=WebhookEventSchema)
