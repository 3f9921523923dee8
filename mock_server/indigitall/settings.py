"""indigitall's settings section (``indigitall``): the demo tenant and the behaviour the docs leave open."""

from __future__ import annotations

import re
from typing import Any, Mapping

from ..settings import SettingsError, check_batch_section, check_path_prefix

DEFAULTS: dict[str, Any] = {
    "path_prefix": "/v2",
    "invalid_rows": "reject",          # reject | skip (skip: bad rows are dropped and reported)
    "max_rows": 1_000_000,
    "max_cell_chars": 131_072,         # longest CSV cell (header names too), in characters
    "channel_types": ["cloud_api"],
    "send_types": ["proactive"],
    "max_schedule_months": 3,
    "naive_scheduled_at": "reject",    # reject | utc: a scheduledAt with no Z/offset is a 400, or read as UTC
    "contact_code_pattern": None,      # regex every rendered contactCode must fully match (None: any non-empty)
    "sending_rate": 100.0,             # messages per second of mock time, per application default
    "server_keys": [{"key": "demo-server-key", "applications": [100, 200]}],
    "applications": [
        {"id": 100, "templates": ["new_ticket", "error_ticket"],
         "slicing": {"enabled": True, "slot_seconds": 3600, "capacity": 1000, "window_seconds": 172800}},
        {"id": 200, "templates": ["new_ticket", "error_ticket"],
         "slicing": {"enabled": False, "slot_seconds": 3600, "capacity": 1000, "window_seconds": 172800}},
        {"id": 300, "templates": ["new_ticket", "error_ticket"],
         "slicing": {"enabled": False, "slot_seconds": 3600, "capacity": 1000, "window_seconds": 172800}},
    ],
}


def check(settings: Mapping[str, Any]) -> None:
    """Raise ``SettingsError`` naming ``indigitall.<key>``."""
    check_batch_section("indigitall", settings["indigitall"])
    check_path_prefix("indigitall", settings["indigitall"]["path_prefix"])
    _check_section(settings["indigitall"])


def _check_section(section: Mapping[str, Any]) -> None:
    pattern = section.get("contact_code_pattern")
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise SettingsError(f"indigitall.contact_code_pattern is not a valid regular expression: {exc}") from None
    if section.get("naive_scheduled_at", "reject") not in ("reject", "utc"):
        raise SettingsError("indigitall.naive_scheduled_at must be 'reject' or 'utc'")
    for app in section["applications"]:
        slicing = app.get("slicing") or {}
        for name in ("slot_seconds", "capacity", "window_seconds", "activation_rows"):
            value = slicing.get(name)
            if value is None:
                continue
            minimum = 0 if name == "activation_rows" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise SettingsError(f"indigitall.applications[{app.get('id')}].slicing: {name} must be a whole number "
                                    f">= {minimum}, got {value!r}")
