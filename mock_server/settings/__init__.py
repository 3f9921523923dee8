"""Settings: one declarative, typed model (``mock_server.settings.model``), composed of the core
sections (``mock_server.settings.core``) and one section per registered provider.

Precedence: the defaults (the demo tenant of CONTRACT §2, in each provider's data file), then a
YAML/JSON file, then ``mock-server`` flags and ``MOCK_*`` variables, all overrides of that same
model and checked by it. Merging rule: sections merge key by key; any other value (a list, a
number) in the file replaces the default whole. So a config that gives ``jelou.bots`` replaces the
demo bots, while one that sets only ``jelou.sending_rate`` keeps everything else. Unknown keys are
rejected with their path, so a typo never silently does nothing.

Read them typed: ``state.settings.jelou.file_url_timeout``, ``state.settings.webhooks.timeout``;
``settings.as_dict()`` is the plain form. Every behaviour the providers do not document is a
setting; the table in ``docs/settings.md`` is generated from the model (``python -m mock_server.settings --table``).
"""

from __future__ import annotations

from typing import Any

from .core import (ACCESS_LOG_FORMATS, FORM_READ_SIZE, JOURNAL_MIN_BYTES, MAX_CELL_CEILING, MAX_SANDBOXES, MB,
                   CoreSettings, build_settings, check_path_prefix, defaults, invalid_rows_setting,
                   max_cell_chars_setting, max_rows_setting, model_for, registered, sending_rate_setting)
from .model import Section, SettingsError, load, load_file, section, setting

Settings = CoreSettings        # the type every app's settings are an instance of (with provider sections added)


def __getattr__(name: str) -> Any:
    if name == "DEFAULTS":                      # the default settings, as plain data
        return defaults().as_dict()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ACCESS_LOG_FORMATS", "FORM_READ_SIZE", "JOURNAL_MIN_BYTES", "MAX_CELL_CEILING", "MAX_SANDBOXES", "MB",
           "Section", "Settings", "SettingsError", "build_settings", "check_path_prefix", "defaults",
           "invalid_rows_setting", "load", "load_file", "max_cell_chars_setting", "max_rows_setting", "model_for",
           "registered", "section", "sending_rate_setting", "setting"]
