"""Run the scenario against the target and the mock, step by step, and compare (CONTRACT §15).

- ``Side``: one server (the target, or the mock) with its own credentials, clock and the ids its
  own answers gave.  The mock side selects the sandbox ``conformance`` (``X-Mock-Sandbox``), so a
  running mock's other sandboxes are left alone.
- ``plan``: which steps run and which are skipped before anything is sent (no ``--recipient``,
  a ``fileUrl`` the target cannot fetch, ``--max-requests``).  Printed first.
- ``SavedTarget``: the target's answers from a ``--save-target`` file stand in for the target.
- Saved files hold the target's answers after ``Redactor`` (credentials masked as in the journal,
  recipients as ``<recipient-N>``) and the ``Setup`` (bot, template, application: no secrets).
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Callable
from urllib.parse import urlsplit

import requests
from requests.auth import HTTPBasicAuth

from ..fileserver import FileServer
from ..sibling import mock_server_module
from . import shape as shapes
from .safety import Guard, Pacer, Redactor, Refused
from .scenario import Env, Request, Setup, Step

SANDBOX = "conformance"
SAVED_FORMAT = "mock-harness-conformance/1"
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


@dataclass
class Planned:
    step: Step
    skip: str | None = None


def plan(steps: list[Step], *, recipients: tuple[str, ...], file_url_reason: str | None,
         max_requests: int | None) -> list[Planned]:
    """Which steps run; ``max_requests`` None: no target (saved mode), no cap."""
    planned, budget = [], max_requests
    for step in steps:
        skip = None
        if step.sends_messages and not recipients:
            skip = "sends messages: give --recipient to run it"
        elif step.needs_file_url and file_url_reason:
            skip = file_url_reason
        elif budget is not None:
            if budget <= 0:
                skip = f"--max-requests {max_requests} reached"
            else:
                budget -= 1
        planned.append(Planned(step, skip))
    return planned


def file_url_reason(*hosts: str | None) -> str | None:
    """Why the harness cannot serve a fileUrl to these servers (None: it can)."""
    far = [host for host in hosts if not is_loopback_host(host)]
    if far:
        return (f"the harness serves the CSV on 127.0.0.1 only, which {far[0]} cannot reach "
                "(run against a target on this machine to include it)")
    return None


class LiveTarget:
    """The target itself, behind the guard and the pacer."""

    def __init__(self, side: Side, guard: Guard, pacer: Pacer) -> None:
        self.side, self.guard, self.pacer = side, guard, pacer

    def answer(self, step: Step, build: Callable[[Env], Request], env: Env) -> Answer:
        request = build(env)
        self.guard.admit(request.csv)
        self.pacer.wait()
        return self.side.send(step, request)


class SavedTarget:
    """A ``--save-target`` file standing in for the target."""

    def __init__(self, data: dict) -> None:
        self.data = data
        self.steps = {item["name"]: item for item in data.get("steps", [])}

    def saved(self, step: Step) -> dict | None:
        return self.steps.get(step.name)


def load_saved(path: str) -> dict:
    """Read and check a saved file (``ValueError`` with a readable message)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict) or data.get("format") != SAVED_FORMAT or not isinstance(data.get("steps"), list):
        raise ValueError(f"{path} is not a file written by `mock-harness conformance --save-target` "
                         f"(format {SAVED_FORMAT!r})")
    return data


def setup_from_saved(data: dict) -> Setup:
    known = {name: value for name, value in (data.get("setup") or {}).items() if name in Setup.__dataclass_fields__}
    return Setup(**known)


class FileUrls:
    """Serve CSVs for ``fileUrl`` from a temporary directory, started on first use."""

    def __init__(self) -> None:
        self._dir: tempfile.TemporaryDirectory | None = None
        self._server: FileServer | None = None
        self._count = 0

    def __call__(self, name: str, data: bytes) -> str:
        if self._server is None:
            self._dir = tempfile.TemporaryDirectory(prefix="conformance-")
            self._server = FileServer(self._dir.name).start()
        self._count += 1
        relative = f"{self._count}-{name}"
        with open(os.path.join(self._dir.name, relative), "wb") as handle:
            handle.write(data)
        return self._server.url(relative)

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
        if self._dir is not None:
            self._dir.cleanup()


def _env(side: Side, setup: Setup, recipients: tuple[str, ...], files: FileUrls) -> Env:
    return Env(setup=setup, recipients=recipients, now=side.now(), found=side.found, file_url=files)


def _missing(step: Step, side: Side) -> str | None:
    lacking = [name for name in step.needs if name not in side.found]
    if lacking:
        return f"needs a {lacking[0].replace('_', ' ')}: none was found in the {side.label}'s earlier answers"
    return None


def _keep(step: Step, side: Side, answer: Answer) -> None:
    if step.keep and 200 <= answer.status < 300:
        for name, value in step.keep(answer.body).items():
            side.found.setdefault(name, value)


def _compare(step: Step, target: Answer, mock: Answer) -> Outcome:
    differences = shapes.compare_answers(target.status, target.shape(), mock.status, mock.shape(), step.lifecycle)
    return Outcome(step, "differs" if differences else "same", None, differences, target, mock)


def _no_answer(who: str, exc: Exception, redactor: Redactor) -> str:
    return redactor.text(f"the {who} did not answer: {type(exc).__name__}: {exc}")[:300]


def run_live(planned: list[Planned], *, target: LiveTarget, mock: Side, setup: Setup,
             recipients: tuple[str, ...], files: FileUrls, redactor: Redactor) -> list[Outcome]:
    outcomes = []
    for item in planned:
        step = item.step
        reason = item.skip or _missing(step, target.side) or _missing(step, mock)
        if reason:
            outcomes.append(Outcome(step, "skipped", reason))
            continue
        try:
            answer = target.answer(step, step.build, _env(target.side, setup, recipients, files))
        except Refused as exc:
            outcomes.append(Outcome(step, "skipped", str(exc)))
            continue
        except requests.RequestException as exc:
            outcomes.append(Outcome(step, "error", _no_answer("target", exc, redactor)))
            continue
        _keep(step, target.side, answer)
        outcomes.append(_mock_side(step, answer, mock, setup, recipients, files, redactor))
    return outcomes


def _mock_side(step: Step, target_answer: Answer, mock: Side, setup: Setup, recipients, files,
               redactor: Redactor) -> Outcome:
    try:
        answer = mock.send(step, step.build(_env(mock, setup, recipients, files)))
    except requests.RequestException as exc:
        return Outcome(step, "error", _no_answer("mock", exc, redactor), target=target_answer)
    _keep(step, mock, answer)
    return _compare(step, target_answer, answer)


def run_saved(planned: list[Planned], *, saved: SavedTarget, mock: Side, setup: Setup,
              recipients: tuple[str, ...], files: FileUrls, redactor: Redactor) -> list[Outcome]:
    outcomes = []
    for item in planned:
        step = item.step
        record = saved.saved(step)
        if record is None:
            outcomes.append(Outcome(step, "skipped", "not in the saved file (saved before this step existed?)"))
            continue
        if record.get("outcome") == "skipped":
            outcomes.append(Outcome(step, "skipped", f"skipped when saved: {record.get('reason')}"))
            continue
        if record.get("outcome") == "error" or not isinstance(record.get("response"), dict):
            outcomes.append(Outcome(step, "error", f"the target did not answer when saved: {record.get('reason')}"))
            continue
        reason = item.skip or _missing(step, mock)
        if reason:
            outcomes.append(Outcome(step, "skipped", reason))
            continue
        outcomes.append(_mock_side(step, Answer.from_saved(record["response"]), mock, setup, recipients,
                                   files, redactor))
    return outcomes


def saved_document(outcomes: list[Outcome], *, target_url: str, providers: tuple[str, ...], setup: Setup,
                   recipients: int, saved_at: datetime, redactor: Redactor) -> dict:
    """The ``--save-target`` file: the target's answers, masked."""
    steps = []
    for outcome in outcomes:
        step = outcome.step
        entry: dict[str, Any] = {"name": step.name, "provider": step.provider,
                                 "request": {"method": step.method, "path": step.path}}
        if outcome.target is not None:
            entry["outcome"] = "answered"
            entry["response"] = outcome.target.to_saved(redactor)
        elif outcome.result == "error":
            entry["outcome"], entry["reason"] = "error", outcome.reason
        else:
            entry["outcome"], entry["reason"] = "skipped", outcome.reason
        steps.append(entry)
    return {"format": SAVED_FORMAT, "savedAt": saved_at.isoformat(), "target": redactor.text(target_url),
            "providers": list(providers), "setup": asdict(setup), "recipients": recipients, "steps": steps}
