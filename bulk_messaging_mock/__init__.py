"""The public API of the bulk-messaging mock, safe in any project::

    from bulk_messaging_mock import JelouClient, IndigitallClient, MockControl

works whatever top-level packages the project has (its own ``harness/``, ``mock_server/`` or
``loadtests/``).  The names, loaded on first use (registering the pytest plugin costs nothing):

- clients: ``JelouClient``, ``IndigitallClient``, ``MockControl`` and their errors
  (``ProviderError``, ``ValidationError``, ``AuthenticationError``, ...), from ``harness.client``;
- ``WebhookReceiver`` (a local receiver for the mock's webhooks), ``BackgroundServer`` (the mock
  served from a thread of this process) and ``create_app`` (the Flask app).

Where the code lives.  The wheel installs one top-level name, this package, with the server and
the harness inside it (``bulk_messaging_mock.mock_server``, ``bulk_messaging_mock.harness``; see
``setup.py``).  In this repository they are the top-level ``mock_server/`` and ``harness/``;
:func:`package` then:

- returns the top-level package when the name resolves to ours (this repository's own tests), so
  the plugin and ``from harness.client import ...`` in those tests share one copy of every class;
- otherwise loads ours under the name ``bulk_messaging_mock.<name>``, as the wheel installs it
  (a checkout used from another project: editable install, or on ``PYTHONPATH``), leaving the
  project's same-named package untouched.

Both packages are loaded the same way (both top-level or both inside), because ``harness``
reaches ``mock_server`` as its sibling (``harness.sibling``).
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PACKAGES = ("mock_server", "harness")  # mock_server first: harness imports it when it loads
INSTALLED_INSIDE = (HERE / "harness").is_dir()  # the wheel's layout (not this repository's)

CLIENT_NAMES = (
    "JelouClient", "IndigitallClient", "MockControl", "SendResult", "ClockControl", "Answer",
    "ProviderError", "AuthenticationError", "BadRequestError", "ConflictError", "ControlError", "ForbiddenError",
    "NotFoundError", "PayloadTooLargeError", "ServerError", "ValidationError",
)
PUBLIC = {**{name: "harness.client" for name in CLIENT_NAMES}, "WebhookReceiver": "harness.webhooks",
          "BackgroundServer": "harness.server", "create_app": "mock_server"}
__all__ = sorted(PUBLIC)


def __getattr__(name: str):
    where = PUBLIC.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(module(where), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(PUBLIC))


def _is_ours(name: str) -> bool:
    module = sys.modules.get(name)
    if module is not None:
        origin = getattr(module, "__file__", None)
    else:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
    return origin is not None and Path(origin).resolve() == ROOT / name / "__init__.py"


def top_level_is_ours() -> bool:
    """Whether ``import mock_server`` and ``import harness`` both reach this repository's packages."""
    return not INSTALLED_INSIDE and all(_is_ours(name) for name in PACKAGES)


def _load_inside(name: str) -> ModuleType:
    """``bulk_messaging_mock.<name>``: installed there (the wheel), else loaded from the checkout."""
    full = f"{__name__}.{name}"
    if full in sys.modules:
        return sys.modules[full]
    if INSTALLED_INSIDE:
        return importlib.import_module(full)
    spec = importlib.util.spec_from_file_location(
        full, ROOT / name / "__init__.py", submodule_search_locations=[str(ROOT / name)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[full] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[full]
        raise
    return module


def package(name: str) -> ModuleType:
    """Our ``mock_server`` or ``harness`` package (``name``), never a same-named one of the host."""
    if name not in PACKAGES:
        raise ValueError(f"unknown package {name!r} (one of {', '.join(PACKAGES)})")
    if top_level_is_ours():
        return importlib.import_module(name)
    for each in PACKAGES[:PACKAGES.index(name) + 1]:
        _load_inside(each)
    return sys.modules[f"{__name__}.{name}"]


def module(dotted: str) -> ModuleType:
    """``module("harness.client")``: a submodule of one of our packages, loaded as :func:`package` does."""
    head, _, rest = dotted.partition(".")
    base = package(head)
    return importlib.import_module(f"{base.__name__}.{rest}") if rest else base
