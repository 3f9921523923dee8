"""The ``--save-target`` file: the target's answers after ``Redactor`` (credentials masked as in
the journal, recipients as ``<recipient-N>``) and the ``Setup`` (bot, template, application: no
secrets), written by ``saved_document`` and read back by ``load_saved``, after which a
``SavedTarget`` stands in for the target.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from .safety import Redactor
from .scenario import Setup, Step
from .sides import Outcome

SAVED_FORMAT = "mock-harness-conformance/1"


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
