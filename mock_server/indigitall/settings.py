"""indigitall's settings section (``indigitall``): the demo tenant and the behaviour the docs leave open."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..settings import (Section, SettingsError, check_path_prefix, invalid_rows_setting, max_cell_chars_setting,
                        max_rows_setting, sending_rate_setting, setting)
from ..settings.model import data_file, one_of

demo = data_file(__package__, "demo.yaml")          # the demo tenant (CONTRACT §2)


def _pattern(value: Any, where: str) -> None:
    if value:
        try:
            re.compile(value)
        except re.error as exc:
            raise SettingsError(f"{where} is not a valid regular expression: {exc}", key=where) from None


def _applications(value: Any, where: str) -> None:
    for app in value:
        slicing = app.get("slicing") or {}
        for name in ("slot_seconds", "capacity", "window_seconds", "activation_rows"):
            number = slicing.get(name)
            if number is None:
                continue
            minimum = 0 if name == "activation_rows" else 1
            if isinstance(number, bool) or not isinstance(number, int) or number < minimum:
                raise SettingsError(f"{where}[{app.get('id')}].slicing: {name} must be a whole number "
                                    f">= {minimum}, got {number!r}", key=where)


@dataclass(frozen=True)
class IndigitallSettings(Section):
    path_prefix: str = setting("/v2", "prefix of the indigitall paths", check=check_path_prefix)
    invalid_rows: str = invalid_rows_setting("`skip`: unrenderable rows become failed messages")
    max_rows: int = max_rows_setting()
    max_cell_chars: int = max_cell_chars_setting("characters in one CSV cell, header names included; a longer one "
                                                 "is a 400 `INVALID_CSV` naming line and column")
    channel_types: tuple[str, ...] = setting(["cloud_api"], "allowed channel types in rendered messages",
                                             shown="`[cloud_api]`")
    send_types: tuple[str, ...] = setting(["proactive"], "allowed send types in rendered messages",
                                          shown="`[proactive]`")
    max_schedule_months: int = setting(3, "how far ahead `scheduledAt` / `delay` may reach")
    naive_scheduled_at: str = setting("reject", "`utc`: read a `scheduledAt` without `Z`/offset as UTC (`reject`: a "
                                                "400)", check=one_of("reject", "utc"))
    contact_code_pattern: str | None = setting(None, "a regex every rendered `contactCode` must fully match "
                                                     "(default: any non-empty value)", check=_pattern)
    sending_rate: float = sending_rate_setting("messages per second per application (an application may set its "
                                               "own `sending_rate`)")
    server_keys: tuple[dict, ...] = setting(None, "keys and the applications each may use", factory=demo("server_keys"),
                                            shown="`demo-server-key` → 100, 200")
    applications: tuple[dict, ...] = setting(
        None, "per application: `templates`, `slicing` {`enabled`, `slot_seconds`, `capacity`, `window_seconds`, "
              "optional `activation_rows` (default: capacity)}, optional `sending_rate`",
        factory=demo("applications"), shown="100, 200, 300", check=_applications)
