"""The scripted scenario of ``mock-harness conformance``: one declarative list of steps per provider.

A ``Step`` says what it sends (``sends``, shown in the plan and the README), whether it can make
the provider send messages (``sends_messages``: such a step needs ``--recipient`` and its CSV holds
only those numbers; a step that cannot send anything, such as a rejection by auth or a broken
layout, carries ``NOT_A_PHONE`` instead) and builds its ``Request`` from an ``Env`` (one per side:
the target and the mock each get their own clock and the ids their own earlier answers gave).

Decisions
- Credentials are never in a step: ``Request.auth`` is ``account`` (the side's own credentials)
  or ``invalid`` (well-formed but unknown ones, for the 401 steps).
- Sends come first, then the reads, so the listings have something to list; a read that needs an
  id nobody gave (``needs``) is skipped and says so.
- ``lifecycle``: paths whose value depends on when the record is read (a campaign's status);
  compared by vocabulary (``shape.compare``), with the mock's own lists of statuses.
- The seed's two indigitall layouts are sent byte for byte (``harness.presets``).

The step model is in ``steps.py``, each provider's steps in ``jelou_steps.py`` and
``indigitall_steps.py``.
"""
from __future__ import annotations

from .indigitall_steps import indigitall_steps
from .jelou_steps import jelou_steps
from .steps import NOT_A_PHONE, Env, Request, Setup, Step, csv_bytes  # noqa: F401 (re-exported)

PROVIDERS = ("jelou", "indigitall")


def scenario(providers: tuple[str, ...] = PROVIDERS) -> list[Step]:
    """Every step of the chosen providers, in the order they run."""
    steps: list[Step] = []
    if "jelou" in providers:
        steps += jelou_steps()
    if "indigitall" in providers:
        steps += indigitall_steps()
    return steps
