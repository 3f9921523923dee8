"""``IndigitallClient``: indigitall's "Send messages from CSV" and its tasks, over ``requests``.

Works against the mock or, with a real server key, ``base_url`` and ``path_prefix``, against
indigitall (the real path of the CSV endpoint is not public: the prefix is a parameter, as it
is a setting of the mock).
Decisions
- ``layout`` may be a dict (sent as compact JSON) or text (sent exactly as given, so the seed's
  layouts go out byte for byte).
- ``send_csv`` returns the task (the answer's ``data``); ``post_csv`` is the low-level call that
  returns the whole ``Answer`` (and raises only with ``check=True``).
- ``list_tasks`` returns the whole body (``data`` list and ``count``), the other task calls the
  task itself.
- The task endpoints are the mock's (indigitall documents none for CSV sends), see CONTRACT §5.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from .client_base import Answer, ApiClient, Upload, iso

TERMINAL_TASK = ("finished", "canceled")


class IndigitallClient(ApiClient):
    provider = "indigitall"

    def __init__(self, base_url: str, server_key: str, path_prefix: str = "/v2", session=None,
                 timeout: float = 30.0) -> None:
        super().__init__(base_url, session=session, timeout=timeout)
        self._server_key = server_key
        self.path_prefix = "/" + path_prefix.strip("/") if path_prefix.strip("/") else ""

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"ServerKey {self._server_key}"}

    def _app(self, application_id) -> str:
        return f"{self.path_prefix}/chat/application/{application_id}"

    # -- POST .../message/csv ----------------------------------------------------------------
    @staticmethod
    def fields(layout, *, scheduled_at=None, delay: str | None = None,
               slicing_condition: str | None = None) -> dict[str, str]:
        """The multipart text fields as indigitall names them (``None`` left out)."""
        text = layout if isinstance(layout, str) else json.dumps(layout, ensure_ascii=False)
        fields = {"layout": text, "scheduledAt": iso(scheduled_at), "delay": delay,
                  "slicingCondition": slicing_condition}
        return {key: value for key, value in fields.items() if value is not None}

    def post_csv(self, application_id, fields: dict[str, Any], file, filename: str | None = None, *,
                 check: bool = True) -> Answer:
        """Low level: multipart ``fields`` (text) with the CSV in the part ``file``."""
        form = {key: value if isinstance(value, str) else json.dumps(value) for key, value in fields.items()}
        with Upload(file, filename, default="contacts.csv") as upload:
            return self.request("POST", f"{self._app(application_id)}/message/csv", data=form, check=check,
                                files={"file": (upload.name, upload.content, "text/csv")})

    def send_csv(self, application_id, file, layout, *, scheduled_at=None, delay: str | None = None,
                 slicing_condition: str | None = None, filename: str | None = None) -> dict:
        """Send ``file`` (path, bytes or binary file) rendered through ``layout``; returns the task.

        ``scheduled_at``: datetime or ISO text; ``delay``: ISO 8601 duration (``PT15M``);
        ``slicing_condition``: fragmentedSlots, immediateConsecutiveSlots, deferredConsecutiveSlots.
        """
        fields = self.fields(layout, scheduled_at=scheduled_at, delay=delay, slicing_condition=slicing_condition)
        return self.post_csv(application_id, fields, file, filename).body["data"]

    # -- tasks -------------------------------------------------------------------------------
    def get_task(self, application_id, task_id) -> dict:
        return self.request("GET", f"{self._app(application_id)}/task/{task_id}").body["data"]

    def list_tasks(self, application_id, limit: int = 10, page: int = 1) -> dict:
        """``{"data": [tasks, newest first], "count": N, ...}``."""
        return self.request("GET", f"{self._app(application_id)}/task",
                            params={"limit": limit, "page": page}).body

    def cancel_task(self, application_id, task_id) -> dict:
        """Cancel a scheduled or processing task (409 ``ConflictError`` otherwise)."""
        return self.request("DELETE", f"{self._app(application_id)}/task/{task_id}").body["data"]

    def wait_for_task(self, application_id, task_id, *, timeout: float = 60.0, interval: float = 0.5,
                      on_poll: Callable[[dict], object] | None = None) -> dict:
        """Poll ``get_task`` until finished or canceled; ``TimeoutError`` after ``timeout`` s."""
        return self.poll(lambda: self.get_task(application_id, task_id), TERMINAL_TASK, f"task {task_id}",
                         timeout=timeout, interval=interval, on_poll=on_poll)
