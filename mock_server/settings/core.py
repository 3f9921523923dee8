"""The root of the settings model: ``CoreSettings`` (the core sections of ``sections.py`` and the
top-level settings), the model of an app composed with its providers' sections (``model_for``),
and the fields every provider's section reuses (``invalid_rows_setting`` ...)."""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from ..netpolicy import HostPolicy, PolicyError
from .model import Section, SettingsError, all_of, load, one_of, positive_integer, section, setting
# the constants and sections are re-exported: ``mock_server.settings.core`` names them too
from .sections import (ACCESS_LOG_FORMATS, FORM_READ_SIZE, JOURNAL_MIN_BYTES, MAX_CELL_CEILING, MAX_SANDBOXES, MB,
                       ClockSettings, DeliverySettings, FaultsSettings, InspectionSettings,
                       JournalSettings, MetricsSettings, NetSettings, SandboxesSettings, ServerSettings, StoreSettings,
                       WebhooksSettings, clock_start_us)  # noqa: F401


def _form_field_bytes(value: Any, where: str) -> None:
    positive_integer(value, where)
    if value < FORM_READ_SIZE:
        raise SettingsError(f"{where} must be at least {FORM_READ_SIZE:,}: the form parser reads "
                            "64 KiB at a time and applies the limit to each read", key=where)


def _access_log(value: Any, where: str) -> None:
    if value is not None and value not in ACCESS_LOG_FORMATS:
        raise SettingsError(f"{where} must be one of: {', '.join(ACCESS_LOG_FORMATS)} (or null: off)", key=where)


@dataclass(frozen=True)
class CoreSettings(Section):
    """The core of the model; :func:`model_for` adds one section per registered provider."""

    providers: ClassVar[tuple] = ()           # the providers whose sections the model has (model_for)
    seed: int = setting(0, "seeds every random draw (ids, read share)", flag="seed")
    max_request_bytes: int = setting(256 * MB, "larger bodies are 413; a larger declared `Content-Length` is refused "
                                               "as soon as the headers arrive", shown="256 MB", check=positive_integer)
    max_form_parts: int = setting(1000, "parts in one multipart body; more is a 400 naming this setting",
                                  shown="1000", check=positive_integer)
    max_form_field_bytes: int = setting(16 * MB, "one multipart *text* field (file parts are bounded only by "
                                                 "`max_request_bytes`); larger is a 400 naming this setting; at least "
                                                 "64 KiB", shown="16 MB", check=_form_field_bytes)
    clock: ClockSettings = section(ClockSettings)
    server: ServerSettings = section(ServerSettings, "the HTTP server; `mock-server` flags override it")
    net: NetSettings = section(NetSettings, "hosts fileUrl downloads and webhooks may reach (the host policy)")
    store: StoreSettings = section(StoreSettings)
    delivery: DeliverySettings = section(DeliverySettings)
    rate_limits: tuple = setting([], "`[{provider, per: credential\\|bot\\|application, limit, window}]`, see "
                                     "[failure testing](failure-testing.md)", shown="none")
    latency_profiles: tuple = setting([], "`[{provider, method, path, base, per_1000_rows}]` (all optional), real "
                                          "time added per request", shown="none")
    journal: JournalSettings = section(JournalSettings)
    faults: FaultsSettings = section(FaultsSettings)
    access_log: str | None = setting(None, "`text` \\| `json`: one line per request on stdout; `--log-format` / "
                                           "`--quiet` set it", shown="off (`mock-server`: `text`)", check=_access_log)
    inspection: InspectionSettings = section(InspectionSettings)
    sandboxes: SandboxesSettings = section(SandboxesSettings)
    webhooks: WebhooksSettings = section(WebhooksSettings)
    metrics: MetricsSettings = section(MetricsSettings, "Prometheus metrics at `GET /_mock/metrics` (CONTRACT §17)")

    def validate(self, where: str) -> None:
        try:
            HostPolicy.from_settings(self)
        except PolicyError as exc:
            raise SettingsError(str(exc)) from None
        if self.server.workers > 1 and self.store.url == "memory":
            raise SettingsError(f"server.workers {self.server.workers} needs a shared store: each process would keep "
                                "its own memory store; use --store redis://HOST:PORT/DB or --workers 1")
        self._validate_provider_lists()

    def _validate_provider_lists(self) -> None:
        """The lists whose entries name providers: rate limits, latency profiles, the subscriptions
        the providers' sections declare (parsed by their own packages, here at load time)."""
        from ..faults.ratelimits import load_latency_profiles, load_rate_limits    # they import this module
        from ..webhooks.subscriptions import from_settings

        load_rate_limits(self.rate_limits, self.providers)
        load_latency_profiles(self.latency_profiles, self.providers)
        try:
            from_settings(self, {provider.name: provider.webhooks for provider in self.providers if provider.webhooks})
        except ValueError as exc:
            raise SettingsError(str(exc)) from None

    def provider(self, name: str) -> Section:
        """A provider's section by the provider's name (``settings.provider("jelou")``)."""
        return getattr(self, name)


def registered(providers=None) -> tuple:
    """``providers``, or the app's default ones (``mock_server.app.DEFAULT_PROVIDERS``)."""
    if providers is None:
        from ..app import default_providers      # lazily: the app module imports this one
        providers = default_providers()
    return tuple(providers)


@functools.lru_cache(maxsize=None)
def _model(providers: tuple) -> type[CoreSettings]:
    core = {f.name for f in dataclasses.fields(CoreSettings)}
    for provider in providers:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", provider.name) or provider.name in core:
            raise ValueError(f"a provider's settings section cannot be called {provider.name!r}")
    return dataclasses.make_dataclass(
        "Settings", [(p.name, p.settings_type, section(p.settings_type)) for p in providers], bases=(CoreSettings,),
        frozen=True, namespace={"__doc__": "The settings of an app: the core sections and one section per provider.",
                                "__module__": __name__, "providers": providers})


def model_for(providers=None) -> type[CoreSettings]:
    """The settings model of an app serving ``providers``: the core plus each provider's section."""
    return _model(registered(providers))


def build_settings(config: dict[str, Any] | None = None, providers=None) -> CoreSettings:
    """The effective settings: ``config`` merged over the defaults and checked (the one validator)."""
    return load(model_for(providers), config or {})


def defaults(providers=None) -> CoreSettings:
    """The default settings (the demo tenant included) of an app serving ``providers``."""
    return build_settings(None, providers)


def check_path_prefix(prefix: Any, where: str) -> None:
    """A provider's configurable mount point (``<name>.path_prefix``)."""
    if not (isinstance(prefix, str) and prefix.startswith("/") and not prefix.endswith("/")):
        raise SettingsError(f"{where} must start with '/' and not end with '/' (e.g. /v2)", key=where)
    if prefix in ("/_mock", "/sandboxes") or prefix.startswith(("/_mock/", "/sandboxes/")):
        raise SettingsError(f"{where} {prefix} would hide another part of the mock "
                            "(/_mock is the control plane, /sandboxes/NAME selects a sandbox)", key=where)


def _max_cell_chars(value: Any, where: str) -> None:
    if isinstance(value, bool) or not (isinstance(value, int) and 0 < value <= MAX_CELL_CEILING):
        raise SettingsError(f"{where} must be an integer from 1 to {MAX_CELL_CEILING:,}", key=where)


def _sending_rate(value: Any, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise SettingsError(f"{where} must be > 0", key=where)


def invalid_rows_setting(doc: str) -> Any:
    """``<provider>.invalid_rows`` (every CSV-sending provider has it)."""
    return setting("reject", doc, check=one_of("reject", "skip"))


def max_rows_setting() -> Any:
    return setting(1_000_000, "rows per file", shown="1,000,000",
                   check=lambda value, where: positive_integer(value if isinstance(value, int) else 0, where))


def max_cell_chars_setting(doc: str) -> Any:
    return setting(131_072, doc, shown="131,072", check=_max_cell_chars)


def sending_rate_setting(doc: str) -> Any:
    return setting(100.0, doc, shown="100", check=_sending_rate)


__all__ = ["CoreSettings", "all_of", "build_settings", "defaults", "model_for", "registered"]
