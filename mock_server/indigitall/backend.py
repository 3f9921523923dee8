"""indigitall's rules: ServerKey auth, "Send messages from CSV", tasks and the slot ledgers.

Order of checks (CONTRACT §5): the key (401), the application (404, then 403), then the body:
every field rule at once (400 ``VALIDATION_ERROR``), the CSV (``INVALID_CSV``), the layout's
variables against the header (``MISSING_VARIABLES``), then every row (``INVALID_ROWS``).

Decisions the contract leaves open (each documented where it is implemented):
- task ids are integers from 1, per mock (``POST /_mock/reset`` starts again from 1);
- ``scheduledAt`` without ``Z``/offset is rejected (setting ``naive_scheduled_at: reject|utc``);
- every row is a message placed in the slots, including rows kept as failed by
  ``invalid_rows: skip`` and rows naming an unknown template: they fail when their turn comes;
- tasks of one application sharing a slot send in parallel, each at the application's rate;
- a canceled task gives back the ledger capacity of its unsent messages, slot by slot, and under a
  profile its application's busy time after its last send and the tier places of recipients it
  never messaged (``shaping.py``, ``mock_server.tiers``).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from ..auth import find_match, parse_scheme, same
from ..bodies import FilePart
from ..clock import range_problem, to_us
from ..csvfile import CsvRejected, CsvRules, read_csv
from ..fates import build_outcomes
from ..isotime import add_duration, add_months_capped, isoformat
from ..sandbox import Sandbox
from ..store import StaleGeneration
from ..store.repository import Repository
from . import schemas
from .errors import (ApplicationNotFound, ForbiddenApplication, IndigitallError, TaskNotCancelable, TaskNotFound,
                     Unauthorized, ValidationFailed)
from .layout import Layout, structure_problems
from .slicing import Plan, reservation, slicing_settings
from .tasks import BY_APPLICATION, SHAPING, TASKS, Task, ledger_name
from .inspection import InspectionMixin
from .shaping import ShapingMixin
from .validation import Checker, scan
from .webhooks import WebhooksMixin

APPLICATION_ID = re.compile(r"[0-9]{1,18}")
TASK_ID = re.compile(r"[0-9]{1,18}")


class IndigitallBackend(ShapingMixin, InspectionMixin, WebhooksMixin):
    """indigitall's rules, a service over the store: every call names the sandbox it works in."""

    def __init__(self, state) -> None:
        self.state = state
        self.settings = state.settings.indigitall
        self.store = state.store
        self.tasks = Repository(state.store, TASKS)
        self.timelines = state.timelines
        self.applications = {int(app["id"]): app for app in self.settings.applications}
        self.slicing = {app_id: slicing_settings(app) for app_id, app in self.applications.items()}
        self.rules = CsvRules(max_rows=self.settings.max_rows, invalid_rows=self.settings.invalid_rows,
                              max_cell_chars=self.settings.max_cell_chars)
        pattern = self.settings.contact_code_pattern
        self.contact_pattern = re.compile(pattern) if pattern else None     # checked by settings.check
        self.naive_is_utc = self.settings.naive_scheduled_at == "utc"
        self._compiled: dict[tuple[int, str, tuple[str, ...]], tuple[Layout, Checker]] = {}

    # -- records ---------------------------------------------------------------------------
    def compiled(self, task: Task) -> tuple[Layout, Checker]:
        """The task's layout and row checker, compiled once per (application, layout, header)."""
        key = (task.application_id, task.layout_text, tuple(task.rows.header))
        found = self._compiled.get(key)
        if found is None:
            layout = Layout.parse(task.layout_text)
            checker = Checker(layout, task.rows.header, self.settings.channel_types, self.settings.send_types,
                              self.contact_pattern, self.applications[task.application_id].get("templates", []))
            if len(self._compiled) >= 256:
                self._compiled.clear()
            found = self._compiled[key] = (layout, checker)
        return found

    # -- auth and lookups ------------------------------------------------------------------
    def application_for(self, header: str | None, application_id: str) -> dict:
        """The application a request may use: 401 (key), then 404 (unknown), then 403 (no access)."""
        token = parse_scheme(header, "ServerKey")
        key = None
        if token is not None:
            key = find_match(self.settings.server_keys, lambda candidate: (same(token, str(candidate["key"])),))
        if key is None:
            raise Unauthorized()
        if not APPLICATION_ID.fullmatch(application_id) or int(application_id) not in self.applications:
            raise ApplicationNotFound(application_id)
        app_id = int(application_id)
        if app_id not in {int(item) for item in key.get("applications", [])}:
            raise ForbiddenApplication(app_id)
        return self.applications[app_id]

    def get(self, sb: Sandbox, task_id: str) -> Task | None:
        if not TASK_ID.fullmatch(task_id):
            return None
        return self.tasks.get(sb.name, int(task_id))

    def task_for(self, sb: Sandbox, application: dict, task_id: str) -> Task:
        task = self.get(sb, task_id)
        if task is None or task.application_id != int(application["id"]):
            raise TaskNotFound(task_id, int(application["id"]))
        return task

    # -- POST .../message/csv --------------------------------------------------------------
    def send_messages_from_csv(self, sb: Sandbox, application: dict, form: dict[str, Any], upload: FilePart | None,
                               errors: list[dict]) -> Task:
        """Validate a send (CONTRACT §5) and create its task, planned in slots when sliced."""
        now = sb.now_dt()
        schema = schemas.SendSchema(naive_is_utc=self.naive_is_utc)
        fields, errors = schemas.load(schema, form, errors)
        if upload is None and not any(error["field"] == "file" for error in errors):
            errors.append({"field": "file", "message": "request/body must have required property 'file'"})
        start = self._start(fields, now, errors)
        layout = fields.get("layout")
        if layout is not None:
            errors.extend({"field": "layout", "message": problem} for problem in structure_problems(
                layout, self.settings.channel_types, self.settings.send_types, self.contact_pattern))
        if errors:
            raise ValidationFailed(errors)
        try:
            rows = read_csv(upload.data, self.rules, newlines=upload.newlines)
        except CsvRejected as exc:
            raise ValidationFailed.from_csv(exc.issues, exc.total) from None
        missing = [name for name in layout.variables if name not in rows.header]
        if missing:
            raise ValidationFailed(
                [{"field": "layout", "variable": name, "message": f"layout variable {{{{{name}}}}} has no CSV column"}
                 for name in missing], error_code="MISSING_VARIABLES",
                message=f"The layout uses variables with no CSV column: {', '.join(missing)} "
                        f"(the CSV header has: {', '.join(rows.header)})")
        checker = Checker(layout, rows.header, self.settings.channel_types, self.settings.send_types,
                          self.contact_pattern, application.get("templates", []))
        skip = self.settings.invalid_rows == "skip"
        found = scan(checker, rows, skip)
        if found.total and not skip:
            first = found.issues[0]["message"]
            more = f" (and {found.total - 1} more)" if found.total > 1 else ""
            raise ValidationFailed(found.issues, total=found.total, error_code="INVALID_ROWS",
                                   message=f"Rows cannot be rendered into valid messages: {first}{more}")
        return self._create(sb, application, fields["slicingCondition"], start, layout, rows, found)

    def _start(self, fields: dict, now: datetime, errors: list[dict]) -> datetime:
        """Start = scheduledAt, or now + delay, or now; after now and at most N calendar months ahead."""
        months = int(self.settings.max_schedule_months)
        limit = add_months_capped(now, months)
        name = next((key for key in ("scheduledAt", "scheduleAt") if fields.get(key) is not None), None)
        if name is not None:
            scheduled = fields[name]
            if scheduled <= now:
                errors.append({"field": name, "message": f"{name} must be after the current date-time "
                                                         f"({isoformat(now)}); got {isoformat(scheduled)}"})
            elif scheduled > limit:
                errors.append({"field": name, "message": f"{name} must be at most {months} months ahead "
                                                         f"(until {isoformat(limit)}); got {isoformat(scheduled)}"})
            elif range_problem(name, scheduled):
                errors.append({"field": name, "message": range_problem(name, scheduled)})
            return scheduled
        delay = fields.get("delay")
        if delay is not None:
            try:
                start = add_duration(now, delay)
            except (ValueError, OverflowError):
                start = None
            if start is None or start > limit:
                errors.append({"field": "delay", "message": f"delay must be at most {months} months "
                                                            f"(until {isoformat(limit)}); got {delay}"})
                return now
            if range_problem("delay", start):
                errors.append({"field": "delay", "message": f"{range_problem('delay', start)} (now + {delay})"})
                return now
            return start
        return now

    def _create(self, sb: Sandbox, application: dict, condition: str, start: datetime, layout: Layout, rows,
                found) -> Task:
        """Reserve slot capacity (sliced tasks), then store the task; both in one sandbox generation.

        A reset between the two steps makes the second refuse (``StaleGeneration``); both are then
        done again in the reset sandbox, so an accepted task is never half-kept. Under a profile
        the task is stored with its application's shaping record in the same step (``_shape``).
        """
        app_id = int(application["id"])
        slicing, enabled, activation = self.slicing[app_id]
        profile_text, profile = self.state.profiles.for_batch(sb)
        rate = profile.mps or float(application.get("sending_rate") or self.settings.sending_rate)
        total = len(rows)
        layout_text = json.dumps(layout.tree, ensure_ascii=False)
        sliced = enabled and total > activation
        now = sb.now()

        def build_for(plan: Plan | None):
            def build(task_id: str, created_us: int) -> Task:
                outcomes = build_outcomes(total, self.state.rng("indigitall", int(task_id)), self.timelines, {},
                                          rows.invalid, profile_text)
                found.apply(outcomes)
                return Task(id=int(task_id), application_id=app_id, layout_text=layout_text, rows=rows,
                            outcomes=bytes(outcomes), condition=condition, plan=plan, slicing=slicing,
                            start_us=to_us(start), rate=rate, sent_limit=0 if plan is not None and plan.canceled else None,
                            created_us=created_us, profile=profile_text)
            return build

        def shape(task: Task, shaping: dict | None) -> tuple[Task, dict | None]:
            return self._shape(task, layout, shaping or {}, now)

        for attempt in range(8):
            generation = sb.generation if attempt == 0 and sb.generation is not None else self.store.touch(sb.name).generation
            try:
                plan = None
                if sliced:
                    plan = self.store.reserve(sb.name, ledger_name(app_id),
                                              lambda used: reservation(used, start, total, slicing, condition),
                                              generation=generation)
                shaped = None if profile_text is None else (SHAPING, app_id, shape)
                return self.tasks.create(sb.name, build_for(plan), generation=generation, with_=shaped)
            except StaleGeneration:
                continue
        raise IndigitallError("The sandbox was reset again and again while this task was being stored; "
                              "send it again.", status=503, error_code="SANDBOX_BUSY")

    # -- tasks -------------------------------------------------------------------------------
    def list_tasks(self, sb: Sandbox, application: dict, query: dict) -> tuple[list[Task], int]:
        """The application's tasks, newest first, one page (``page`` from 1)."""
        limit, page = query["limit"], query["page"]
        return self.tasks.page(sb.name, BY_APPLICATION[int(application["id"])], offset=(page - 1) * limit, limit=limit)

    def cancel_task(self, sb: Sandbox, application: dict, task_id: str) -> Task:
        """Cancel a scheduled or processing task (409 otherwise); give back its unsent capacity:
        slot ledger, and under a profile its busy intervals and tier, in the cancellation's step."""
        task = self.task_for(sb, application, task_id)
        generation = sb.generation if sb.generation is not None else self.store.touch(sb.name).generation
        now = sb.now_dt()

        def cancel(current: tuple) -> tuple:
            found, shaping = current
            if found is None:
                return None, None
            task = TASKS.load(found)
            status = task.status(now.timestamp())
            if status not in ("scheduled", "processing"):
                raise TaskNotCancelable(task.id, status)
            canceled = task.with_cancellation(now.timestamp(),
                                              f"CANCELED_BY_REQUEST: canceled with DELETE at {isoformat(now)}")
            if shaping is None or canceled.profile is None:
                return TASKS.new(canceled), None
            return TASKS.new(canceled), SHAPING.new(self._given_back(canceled, SHAPING.load(shaping), now.timestamp()))

        try:
            found, _ = self.store.update_many(sb.name, (TASKS.key(task.id), SHAPING.key(task.application_id)), cancel,
                                              generation=generation)
            if found is None:
                raise TaskNotFound(task_id, int(application["id"]))
            canceled = TASKS.load(found)
            unsent = {allocation.slot: allocation.count for allocation in canceled.unsent_allocations()}
            if unsent:
                self.store.release(sb.name, ledger_name(canceled.application_id), unsent, generation=generation)
        except StaleGeneration:          # reset meanwhile: the task and its ledger are gone
            raise TaskNotFound(task_id, int(application["id"])) from None
        return canceled

    def render(self, sb: Sandbox, task: Task, *, accepted: bool = False) -> dict[str, Any]:
        """The task as the API shows it now; ``accepted``: as the 201 shows it.

        The 201 describes the task as it was accepted, an instant before its first send: status
        ``scheduled`` (or ``canceled`` when slicing could not place it), every message ``queued``.
        A task due now sends its first message at that very instant, so reading it back at the
        same mock time already shows it ``processing``.
        """
        moment = sb.now()
        first = task.schedule.first_send
        if accepted and first is not None:
            moment = min(moment, first - 0.001)
        return task.to_dict(self.timelines, moment)

    def settle(self, sb: Sandbox) -> None:
        """Nothing to do: every task's state is computed from the clock when it is read."""
