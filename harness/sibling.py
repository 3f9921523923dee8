"""The ``mock_server`` package that sits beside this ``harness``, under whatever name it was loaded.

Installed normally, ``harness`` and ``mock_server`` are top-level packages.  When a project has
its own top-level ``harness`` or ``mock_server`` package, the pytest plugin loads this project's
as ``bulk_messaging_mock.harness`` and ``bulk_messaging_mock.mock_server`` instead (see
``bulk_messaging_mock``); an ``import mock_server`` here would then reach the project's package.
So ``harness`` imports itself relatively and reaches the server only through this module.
"""
from __future__ import annotations

import importlib
from types import ModuleType

_PARENT = (__package__ or "").rpartition(".")[0]


def mock_server_module(submodule: str = "") -> ModuleType:
    """``mock_server`` (or ``mock_server.<submodule>``) beside this ``harness``."""
    return importlib.import_module(".".join(part for part in (_PARENT, "mock_server", submodule) if part))
