"""The installed package's version, written once (the CLIs' ``--version``, the OpenAPI document)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "bulk-messaging-mock"


def package_version(missing: str = "unknown (not installed)") -> str:
    """The version of the installed distribution, or ``missing`` when it is not installed."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return missing
