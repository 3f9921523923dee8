"""The two servers the conformance scenario talks to (CONTRACT §15) and what they answer.

- ``Side``: one server (the target, or the mock) with its own credentials, clock and the ids its
  own answers gave.  The mock side selects the sandbox ``conformance`` (``X-Mock-Sandbox``), so a
  running mock's other sandboxes are left alone; ``mock_config`` is the in-process mock's config.
- ``Answer``: a status, a body and the headers kept in a saved file; ``Outcome``: one step's
  comparison of the two answers.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable
from urllib.parse import urlsplit

import requests
from requests.auth import HTTPBasicAuth

from ..sibling import mock_server_module
from . import shape as shapes
from .safety import Redactor
from .scenario import Request, Setup, Step

SANDBOX = "conformance"
INVALID_JELOU = ("conformance-invalid", "invalid")
INVALID_SERVER_KEY = "conformance-invalid-key"
SAVED_HEADERS = ("content-type", "www-authenticate")     # headers are not compared; these help a reader


@dataclass
class Answer:
    status: int
    body: Any                                   # JSON value, shapes.Text, or None (no body)
    headers: dict = field(default_factory=dict)

    def shape(self) -> shapes.Shape:
        return shapes.shape_of(self.body, empty=self.body is None)

    def to_saved(self, redactor: Redactor) -> dict:
        kept = {name: value for name, value in self.headers.items() if name.lower() in SAVED_HEADERS}
        saved: dict[str, Any] = {"status": self.status, "headers": redactor.headers(kept)}
        if self.body is None:
            saved["empty"] = True
        elif isinstance(self.body, shapes.Text):
            saved["text"] = redactor.text(str(self.body))
        else:
            saved["json"] = redactor.value(self.body)
        return saved

    @classmethod
    def from_saved(cls, saved: dict) -> "Answer":
        if "json" in saved:
            body = saved["json"]
        elif "text" in saved:
            body = shapes.Text(saved["text"])
        else:
            body = None
        return cls(int(saved["status"]), body, dict(saved.get("headers") or {}))


@dataclass
class Outcome:
    step: Step
    result: str                                 # same | differs | skipped | error
    reason: str | None = None
    differences: list[dict] = field(default_factory=list)
    target: Answer | None = None
    mock: Answer | None = None


def is_loopback_host(host: str | None) -> bool:
    """True for localhost and loopback literals, IPv4-mapped forms included (no name is resolved)."""
    return bool(host) and mock_server_module("browsers").is_loopback_host(host.strip("[]").lower())


class Side:
    """One server the scenario talks to."""

    def __init__(self, label: str, base_url: str, *, jelou_auth: tuple[str, str] | None = None,
                 indigitall_key: str | None = None, headers: dict | None = None,
                 now: Callable[[], datetime], mock_clock: bool = False,
                 session: requests.Session | None = None, timeout: float = 30.0) -> None:
        self.label, self.base_url = label, base_url.rstrip("/")
        self._jelou, self._key = jelou_auth, indigitall_key
        self.headers = dict(headers or {})
        self._now, self._mock_clock = now, mock_clock
        self.session = session or requests.Session()
        self.timeout = timeout
        self.found: dict[str, str] = {}

    @property
    def host(self) -> str | None:
        return urlsplit(self.base_url).hostname

    def now(self) -> datetime:
        """The side's time: a mock's own clock (``GET /_mock/clock``, so a scheduledAt is ahead of
        *its* now, even when its clock was moved), else the harness's."""
        if self._mock_clock:
            try:
                with self.session.get(self.base_url + "/_mock/clock", headers=self.headers,
                                      timeout=self.timeout) as response:
                    return datetime.fromisoformat(response.json()["now"])
            except (requests.RequestException, ValueError, KeyError, TypeError):
                pass
        return self._now()

    def send(self, step: Step, request: Request) -> Answer:
        """Send ``request`` (raises ``requests.RequestException`` when there is no answer)."""
        headers = dict(self.headers)
        auth = None
        if step.provider == "jelou":
            user = INVALID_JELOU if request.auth == "invalid" else self._jelou
            auth = HTTPBasicAuth(*user) if user else None
        else:
            key = INVALID_SERVER_KEY if request.auth == "invalid" else self._key
            if key:
                headers["Authorization"] = f"ServerKey {key}"
        kwargs: dict[str, Any] = {"params": request.params, "auth": auth, "timeout": self.timeout,
                                  "headers": headers}
        if request.raw is not None:
            headers["Content-Type"], kwargs["data"] = request.raw
        elif request.json is not None:
            kwargs["json"] = request.json
        elif request.form is not None:
            kwargs["data"] = dict(request.form)
            if request.file is not None:
                kwargs["files"] = {"file": (request.file[0], request.file[1], "text/csv")}
        with self.session.request(request.method, self.base_url + request.path, **kwargs) as response:
            content = response.content
            if not content:
                body: Any = None
            else:
                try:
                    body = json.loads(content)
                except ValueError:
                    body = shapes.Text(content.decode("utf-8", errors="replace"))
            return Answer(response.status_code, body, dict(response.headers))

    def close(self) -> None:
        self.session.close()


def mock_config(setup: Setup) -> dict:
    """The in-process mock's config: the demo tenant plus the target's bot, template and application."""
    demo = mock_server_module("settings").defaults()
    bots = [dict(bot) for bot in demo.jelou.bots]
    if not any(bot["id"] == setup.jelou_bot for bot in bots):
        bots.append({"id": setup.jelou_bot, "name": setup.jelou_bot, "company_id": 1})
    templates = [dict(t) for t in demo.jelou.templates]
    mine = next((t for t in templates if t["bot_id"] == setup.jelou_bot
                 and t["element_name"] == setup.jelou_template), None)
    if mine is None or len(set(re.findall(r"\{\{(\d+)\}\}", mine["text"]))) != setup.jelou_placeholders \
            or mine["status"] != "APPROVED" or mine["type"] != "text" or mine.get("buttons"):
        templates = [t for t in templates if t is not mine]
        text = " ".join(["Conformance"] + [f"{{{{{n}}}}}" for n in range(1, setup.jelou_placeholders + 1)])
        templates.append({"bot_id": setup.jelou_bot, "element_name": setup.jelou_template, "status": "APPROVED",
                          "type": "text", "text": text, "buttons": 0})
    applications = [dict(app) for app in demo.indigitall.applications]
    app = next((a for a in applications if a["id"] == setup.indigitall_app), None)
    if app is None:
        app = {"id": setup.indigitall_app, "templates": [], "slicing": dict(applications[1]["slicing"])}
        applications.append(app)
    if setup.indigitall_template not in app["templates"]:
        app["templates"] = [*app["templates"], setup.indigitall_template]
    keys = [dict(key) for key in demo.indigitall.server_keys]
    for key in keys:
        if key["key"] == "demo-server-key" and setup.indigitall_app not in key["applications"]:
            key["applications"] = [*key["applications"], setup.indigitall_app]
    return {"jelou": {"bots": bots, "templates": templates},
            "indigitall": {"applications": applications, "server_keys": keys,
                           "path_prefix": setup.indigitall_prefix or "/"}}
