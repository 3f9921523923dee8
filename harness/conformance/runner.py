"""Run the scenario against the target and the mock, step by step, and compare (CONTRACT §15).

- ``plan``: which steps run and which are skipped before anything is sent (no ``--recipient``,
  a ``fileUrl`` the target cannot fetch, ``--max-requests``).  Printed first.
- ``run_live``: each step sent to the target (``LiveTarget``: behind the guard and the pacer), then
  to the mock (``sides.Side``); ``run_saved``: the target's answers from a ``--save-target`` file
  (``saved.py``) stand in for the target.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Callable

import requests

from ..fileserver import FileServer
from . import shape as shapes
from .safety import Guard, Pacer, Redactor, Refused
from .saved import SAVED_FORMAT, SavedTarget, load_saved, saved_document, setup_from_saved  # noqa: F401 (re-exported)
from .scenario import Env, Request, Setup, Step
from .sides import (INVALID_JELOU, INVALID_SERVER_KEY, SANDBOX, SAVED_HEADERS, Answer, Outcome,  # noqa: F401
                    Side, is_loopback_host, mock_config)


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
