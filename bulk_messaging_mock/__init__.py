"""Collision-proof access to this project's ``mock_server`` and ``harness`` packages.

The distribution installs three top-level packages with common names (``mock_server``,
``harness``, ``loadtests``) and this uniquely named one.  A project that installs it may have a
top-level package of the same name (its own ``harness/`` of test helpers, say); whichever comes
first on ``sys.path`` wins the name, and the other cannot be imported by it.  The pytest plugin
(``bulk_messaging_mock.pytest_plugin``, entry point ``bulk_messaging_mock``) therefore never
imports ``harness`` or ``mock_server`` by name.  It asks :func:`package`, which:

- returns the top-level package when the name resolves to ours (this repository, or any project
  without a package of that name), so the plugin and ``from harness.client import ...`` in the
  project's tests share one copy of every class;
- otherwise loads our package from the directory beside this one under the private name
  ``bulk_messaging_mock.<name>`` (``bulk_messaging_mock.harness.client.JelouClient``...), leaving
  the project's package untouched.

Both packages are loaded the same way (both top-level or both private), because ``harness``
reaches ``mock_server`` as its sibling (``harness.sibling``).  Nothing is imported until a
fixture needs it, so registering the plugin costs nothing.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("mock_server", "harness")  # mock_server first: harness imports it when it loads


def _is_ours(name: str) -> bool:
    module = sys.modules.get(name)
    if module is not None:
        origin = getattr(module, "__file__", None)
    else:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
    return origin is not None and Path(origin).resolve() == ROOT / name / "__init__.py"


def top_level_is_ours() -> bool:
    """Whether ``import mock_server`` and ``import harness`` both reach this project's packages."""
    return all(_is_ours(name) for name in PACKAGES)


def _load_private(name: str) -> ModuleType:
    full = f"{__name__}.{name}"
    if full not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            full, ROOT / name / "__init__.py", submodule_search_locations=[str(ROOT / name)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[full] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[full]
            raise
    return sys.modules[full]


def package(name: str) -> ModuleType:
    """Our ``mock_server`` or ``harness`` package (``name``), never a same-named one of the host."""
    if name not in PACKAGES:
        raise ValueError(f"unknown package {name!r} (one of {', '.join(PACKAGES)})")
    if top_level_is_ours():
        return importlib.import_module(name)
    for each in PACKAGES[:PACKAGES.index(name) + 1]:
        _load_private(each)
    return sys.modules[f"{__name__}.{name}"]


def module(dotted: str) -> ModuleType:
    """``module("harness.client")``: a submodule of one of our packages, loaded as :func:`package` does."""
    head, _, rest = dotted.partition(".")
    base = package(head)
    return importlib.import_module(f"{base.__name__}.{rest}") if rest else base
