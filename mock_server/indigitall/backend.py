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
- a canceled task gives back the ledger capacity of its unsent messages, slot by slot.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from ..auth import find_match, parse_scheme, same
from ..csvfile import CsvRejected, CsvRules, read_csv
from ..delivery import build_outcomes
from ..isotime import add_duration, add_months, isoformat
from ..settings import SettingsError
from . import schemas
from .errors import (ApplicationNotFound, ForbiddenApplication, TaskNotCancelable, TaskNotFound, Unauthorized,
                     ValidationFailed)
from .layout import structure_problems
from .slicing import SlicingSettings, plan_slots, release, reserve
from .tasks import MESSAGE_STATUSES, Task, build_schedule
from .validation import Checker, scan

APPLICATION_ID = re.compile(r"[0-9]{1,18}")
UNSENT = ("queued", "canceled")          # statuses of messages that were never sent: not inspected
TASK_ID = re.compile(r"[0-9]{1,18}")


class IndigitallBackend:
    def __init__(self, state) -> None:
        self.state = state
        self.settings = state.settings["indigitall"]
        self.store = state.store
        self.applications = {int(app["id"]): app for app in self.settings["applications"]}
        self.slicing = {app_id: _slicing_settings(app_id, app) for app_id, app in self.applications.items()}
        self.rules = CsvRules(max_rows=self.settings["max_rows"], invalid_rows=self.settings["invalid_rows"],
                              max_cell_chars=self.settings["max_cell_chars"])
        pattern = self.settings.get("contact_code_pattern")
        try:
            self.contact_pattern = re.compile(pattern) if pattern else None
        except re.error as exc:
            raise SettingsError(f"indigitall.contact_code_pattern is not a valid regular expression: {exc}") from None
        naive = self.settings.get("naive_scheduled_at", "reject")
        if naive not in ("reject", "utc"):
            raise SettingsError("indigitall.naive_scheduled_at must be 'reject' or 'utc'")
        self.naive_is_utc = naive == "utc"

    # -- buckets (dropped by POST /_mock/reset) --------------------------------------------
    @property
    def tasks(self) -> dict[int, Task]:
        return self.store.bucket("indigitall.tasks")

    def _task_ids(self, application_id: int) -> list[int]:
        return self.store.bucket("indigitall.by_application").setdefault(application_id, [])

    def ledger(self, application_id: int) -> dict[int, int]:
        """Slot index -> messages reserved, shared by every task of the application."""
        return self.store.bucket("indigitall.ledgers").setdefault(application_id, {})

    # -- auth and lookups ------------------------------------------------------------------
    def application_for(self, header: str | None, application_id: str) -> dict:
        """The application a request may use: 401 (key), then 404 (unknown), then 403 (no access)."""
        token = parse_scheme(header, "ServerKey")
        key = None
        if token is not None:
            key = find_match(self.settings["server_keys"], lambda candidate: (same(token, str(candidate["key"])),))
        if key is None:
            raise Unauthorized()
        if not APPLICATION_ID.fullmatch(application_id) or int(application_id) not in self.applications:
            raise ApplicationNotFound(application_id)
        app_id = int(application_id)
        if app_id not in {int(item) for item in key.get("applications", [])}:
            raise ForbiddenApplication(app_id)
        return self.applications[app_id]

    def task_for(self, application: dict, task_id: str) -> Task:
        task = self.tasks.get(int(task_id)) if TASK_ID.fullmatch(task_id) else None
        if task is None or task.application_id != int(application["id"]):
            raise TaskNotFound(task_id, int(application["id"]))
        return task

    # -- POST .../message/csv --------------------------------------------------------------
    def send_messages_from_csv(self, application: dict, form: dict[str, Any], upload: bytes | None,
                               errors: list[dict]) -> Task:
        """Validate a send (CONTRACT §5) and create its task, planned in slots when sliced."""
        now = self.state.clock.now()
        schema = schemas.SendSchema(naive_is_utc=self.naive_is_utc)
        fields, errors = schemas.load(schema, form, errors)
        if upload is None and not any(error["field"] == "file" for error in errors):
            errors.append({"field": "file", "message": "request/body must have required property 'file'"})
        start = self._start(fields, now, errors)
        layout = fields.get("layout")
        if layout is not None:
            errors.extend({"field": "layout", "message": problem} for problem in structure_problems(
                layout, self.settings["channel_types"], self.settings["send_types"], self.contact_pattern))
        if errors:
            raise ValidationFailed(errors)
        try:
            rows = read_csv(upload, self.rules)
        except CsvRejected as exc:
            raise ValidationFailed.from_csv(exc.issues, exc.total) from None
        missing = [name for name in layout.variables if name not in rows.header]
        if missing:
            raise ValidationFailed(
                [{"field": "layout", "variable": name, "message": f"layout variable {{{{{name}}}}} has no CSV column"}
                 for name in missing], error_code="MISSING_VARIABLES",
                message=f"The layout uses variables with no CSV column: {', '.join(missing)} "
                        f"(the CSV header has: {', '.join(rows.header)})")
        checker = Checker(layout, rows.header, self.settings["channel_types"], self.settings["send_types"],
                          self.contact_pattern, application.get("templates", []))
        skip = self.settings["invalid_rows"] == "skip"
        found = scan(checker, rows, skip)
        if found.total and not skip:
            first = found.issues[0]["message"]
            more = f" (and {found.total - 1} more)" if found.total > 1 else ""
            raise ValidationFailed(found.issues, total=found.total, error_code="INVALID_ROWS",
                                   message=f"Rows cannot be rendered into valid messages: {first}{more}")
        return self._create(application, fields["slicingCondition"], start, now, layout, checker, rows, found)

    def _start(self, fields: dict, now: datetime, errors: list[dict]) -> datetime:
        """Start = scheduledAt, or now + delay, or now; after now and at most N calendar months ahead."""
        months = int(self.settings["max_schedule_months"])
        limit = add_months(now, months)
        name = next((key for key in ("scheduledAt", "scheduleAt") if fields.get(key) is not None), None)
        if name is not None:
            scheduled = fields[name]
            if scheduled <= now:
                errors.append({"field": name, "message": f"{name} must be after the current date-time "
                                                         f"({isoformat(now)}); got {isoformat(scheduled)}"})
            elif scheduled > limit:
                errors.append({"field": name, "message": f"{name} must be at most {months} months ahead "
                                                         f"(until {isoformat(limit)}); got {isoformat(scheduled)}"})
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
            return start
        return now

    def _create(self, application: dict, condition: str, start: datetime, now: datetime, layout, checker,
                rows, found) -> Task:
        app_id = int(application["id"])
        slicing, enabled, activation = self.slicing[app_id]
        rate = float(application.get("sending_rate") or self.settings["sending_rate"])
        total = len(rows)
        with self.store.lock:
            task_id = self.store.next_number("indigitall.task")
            outcomes = build_outcomes(total, self.state.rng("indigitall", task_id),
                                      float(self.state.settings["delivery"]["read_share"]), {}, rows.invalid)
            found.apply(outcomes)
            plan = None
            if enabled and total > activation:
                ledger = self.ledger(app_id)
                plan = plan_slots(ledger, start, total, slicing, condition)
                reserve(ledger, plan)
            task = Task(id=task_id, application_id=app_id, layout=layout, checker=checker, rows=rows,
                        outcomes=outcomes, condition=condition, plan=plan, slicing=slicing,
                        schedule=build_schedule(plan, slicing, start.timestamp(), total, rate),
                        start=start, created_at=now)
            if plan is not None and plan.canceled:
                task.cancel(now.timestamp(), plan.canceled_reason)
            self.tasks[task_id] = task
            self._task_ids(app_id).append(task_id)
            self.store.notify()
        return task

    # -- tasks -------------------------------------------------------------------------------
    def list_tasks(self, application: dict, query: dict) -> tuple[list[Task], int]:
        """The application's tasks, newest first, one page (``page`` from 1)."""
        ids = self._task_ids(int(application["id"]))
        limit, page = query["limit"], query["page"]
        top = len(ids) - (page - 1) * limit
        chosen = ids[max(0, top - limit):max(0, top)][::-1]
        return [self.tasks[task_id] for task_id in chosen], len(ids)

    def cancel_task(self, application: dict, task_id: str) -> Task:
        """Cancel a scheduled or processing task (409 otherwise); give back its unsent capacity."""
        with self.store.lock:
            task = self.task_for(application, task_id)
            now = self.state.clock.now()
            status = task.status(now.timestamp())
            if status not in ("scheduled", "processing"):
                raise TaskNotCancelable(task.id, status)
            task.cancel(now.timestamp(), f"CANCELED_BY_REQUEST: canceled with DELETE at {isoformat(now)}")
            release(self.ledger(task.application_id), task.unsent_allocations())
            self.store.notify()
        return task

    def render(self, task: Task, *, accepted: bool = False) -> dict[str, Any]:
        """The task as the API shows it now; ``accepted``: as the 201 shows it.

        The 201 describes the task as it was accepted, an instant before its first send: status
        ``scheduled`` (or ``canceled`` when slicing could not place it), every message ``queued``.
        A task due now sends its first message at that very instant, so reading it back at the
        same mock time already shows it ``processing``.
        """
        moment = self.state.clock.now().timestamp()
        first = task.schedule.first_send
        if accepted and first is not None:
            moment = min(moment, first - 0.001)
        return task.to_dict(self.state.timelines, moment)

    def settle(self, now: datetime) -> None:
        """Nothing to do: every task's state is computed from the clock when it is read."""

    # -- control plane -----------------------------------------------------------------------
    def _inspected(self, campaign_id: str | None, now: float) -> list[Task]:
        """Tasks that have sent at least one message, oldest first (the order they were sent in)."""
        if campaign_id is not None:
            task = self.tasks.get(int(campaign_id)) if TASK_ID.fullmatch(campaign_id) else None
            return [task] if task is not None and task.has_started(now) else []
        return [task for task in list(self.tasks.values()) if task.has_started(now)]

    def inspect_count(self, campaign_id: str | None, status: str | None) -> int:
        """How many messages have been *sent* (queued and canceled ones were not)."""
        now = self.state.clock.now().timestamp()
        wanted = status.lower() if status else None
        if wanted is not None and (wanted not in MESSAGE_STATUSES or wanted in UNSENT):
            return 0
        tasks = self._inspected(campaign_id, now)
        if wanted is None:
            return sum(task.sent_by(now) for task in tasks)
        return sum(task.message_counts(self.state.timelines, now)[wanted] for task in tasks)

    def inspect_list(self, campaign_id: str | None, status: str | None, offset: int, limit: int) -> list[dict]:
        """One page of messages (file order within a task), each with its rendered layout."""
        now = self.state.clock.now().timestamp()
        timelines = self.state.timelines
        wanted = status.lower() if status else None
        if wanted is not None and (wanted not in MESSAGE_STATUSES or wanted in UNSENT):
            return []
        out: list[dict] = []
        for task in self._inspected(campaign_id, now):
            sent = task.sent_by(now)         # messages go out in file order: the first `sent` rows
            count = sent if wanted is None else task.message_counts(timelines, now)[wanted]
            if offset >= count:
                offset -= count
                continue
            if wanted is None:
                indexes = iter(range(offset, sent))
            else:
                indexes = (index for index in range(sent) if task.status_of(index, timelines, now) == wanted)
                for _ in zip(range(offset), indexes):
                    pass
            for index in indexes:
                out.append(task.message(index, timelines, now))
                if len(out) >= limit:
                    return out
            offset = 0
        return out


def _slicing_settings(app_id: int, app: dict) -> tuple[SlicingSettings, bool, int]:
    """``(numbers, enabled, activation_rows)``; slicing applies when rows > ``activation_rows``
    (per-application ``slicing.activation_rows``, default: one slot's ``capacity``)."""
    section = app.get("slicing") or {}
    try:
        numbers = SlicingSettings(slot_seconds=int(section.get("slot_seconds", 3600)),
                                  capacity=int(section.get("capacity", 1000)),
                                  window_seconds=int(section.get("window_seconds", 48 * 3600)))
        activation = int(section.get("activation_rows", numbers.capacity))
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"indigitall.applications[{app_id}].slicing: {exc}") from None
    return numbers, bool(section.get("enabled", False)), activation
