"""Settings: the defaults below (the demo tenant of CONTRACT §2), a YAML/JSON file, then flags.

Merging rule: mappings merge key by key; any other value (a list, a number) in the file replaces
the default whole. So a config that gives ``jelou.bots`` replaces the demo bots, while one that
sets only ``jelou.sending_rate`` keeps everything else. Each registered provider brings its own
section (defaults and checks, ``mock_server.providers.Provider``). Unknown keys are rejected with their path,
so a typo never silently does nothing.

Every behaviour the providers do not document is a key here; ``README.md`` lists them.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Mapping

import yaml

from .isotime import parse_duration
from .browsers import browser_policy
from .netpolicy import HostPolicy, PolicyError

MB = 1024 * 1024
FORM_READ_SIZE = 64 * 1024        # werkzeug's multipart read size, which its text-field limit also applies to
MAX_CELL_CEILING = 2**31 - 1       # csv.field_size_limit takes a C long; 2 GiB cells are no use anyway
MAX_SANDBOXES = 1_000_000          # sandboxes.max_count's ceiling

# The core sections; each registered provider adds its own (``Provider.settings_defaults``).
CORE_DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "max_request_bytes": 256 * MB,
    "max_form_parts": 1000,                # parts of one multipart/form-data body
    "max_form_field_bytes": 16 * MB,       # one multipart text field (file parts are bounded by max_request_bytes)
    "clock": {"start": None, "frozen": False},
    # The HTTP server (mock-server flags override these; see README "Running it in production").
    "server": {
        "host": "127.0.0.1",               # listen address; a non-loopback one turns the net.allow policy on
        "port": 8080,
        "threads": 16,                     # request worker threads per process
        "workers": 1,                      # processes; more than 1 needs a shared store (store.url redis://...)
        "connection_limit": 1000,          # open connections per process before new ones wait in the backlog
        "channel_timeout": 30.0,           # seconds a connection may stay idle (keep-alive included)
        "request_read_timeout": 120.0,     # seconds to receive one request's headers and body, in total
        "shutdown_grace": 10.0,            # seconds SIGTERM waits for in-flight requests
        # Browsers (CONTRACT §18, mock_server/browsers.py): origins besides the mock's own that may
        # POST/PUT/PATCH/DELETE /_mock/..., and Host names accepted besides localhost and loopback.
        "allowed_origins": [],             # e.g. ["http://localhost:3000"]
        "allowed_hosts": [],               # e.g. ["mock.internal"]; "*": any
    },
    # Hosts fileUrl downloads and webhooks may reach (CONTRACT §13, mock_server/netpolicy.py).
    "net": {"allow": []},
    # Where state lives: memory (this process) or redis://HOST:PORT/DB (shared), keys under prefix.
    "store": {"url": "memory", "prefix": "bulkmock:"},
    "delivery": {
        # Share of ordinary (non-reserved) recipients that read the message, drawn from the seed.
        "read_share": 0.5,
        # Seconds after a message is sent at which it reaches each stage.
        "channel_after": 1.0,
        "user_after": 2.0,
        "read_after": 30.0,
        "reply_after": 60.0,
        "slow_user_after": 600.0,
    },
    # Failure testing (CONTRACT §8-9): fixed-window rate limits, latency per route, the request journal.
    "rate_limits": [],                     # [{provider, per: credential|bot|application, limit, window}]
    "latency_profiles": [],                # [{provider, method, path, base, per_1000_rows}]
    # Per sandbox: journal entries and their encoded bytes kept (oldest dropped), fault rules (more: 409).
    "journal": {"max_entries": 10_000, "max_bytes": 16 * MB},
    "faults": {"max_rules": 1000},
    "access_log": None,                    # text | json | None (off); mock-server sets it from --log-format
    "inspection": {
        "default_limit": 100, "max_limit": 10000, "max_wait_seconds": 60.0,
        # /_mock/messages?wait_for: at most this many long-polls wait at once (the server adds as
        # many threads, so waiting never takes a worker the API needs); beyond it they answer at once.
        "max_waiters": 16,
    },
    # Sandboxes (CONTRACT §7): one unused for idle_ttl (ISO 8601 duration, real time) is dropped;
    # at most max_count exist at once (creating one more is a 429 naming the setting).
    "sandboxes": {"idle_ttl": "PT24H", "max_count": 1000},
    "webhooks": {
        "timeout": 5.0,                    # seconds (real time) for a whole attempt: connect, send, answer (64 KiB of body)
        "max_attempts": 6,                 # attempts per delivery before it is dead-lettered
        "backoff": 1.0,                    # first retry after this many real seconds, then doubling
        "concurrency": 8,                  # deliveries in flight at once (workers)
        "max_share": 0.5,                  # share of the workers one sandbox, or one receiver, may hold at once
        "rate": 500.0,                     # deliveries started per real second, all receivers together
        "duplicate_share": 0.0,            # seeded share of events delivered twice (at-least-once emulation)
        "reorder_window": 0.0,             # seconds of mock time within which events of one message may swap
        "window_events": 2000,             # at most this many events derived per step of the cursor
        "max_records": 10000,              # delivered and dead records kept for /_mock/webhooks/deliveries
        "lease": 30.0,                     # real seconds a process owns a delivery before another may take it over
    },
}


class SettingsError(ValueError):
    """A config file or value the mock cannot use; the message names the key."""


def merge(base: Mapping[str, Any], override: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    """Deep-merge ``override`` into a copy of ``base``; reject keys ``base`` does not know."""
    result = copy.deepcopy(dict(base))
    for key, value in override.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in base:
            known = ", ".join(sorted(base)) or "none"
            raise SettingsError(f"unknown setting '{where}' (known here: {known})")
        if isinstance(base[key], Mapping) and value is None:
            continue                      # an empty section in YAML ("delivery:") keeps the defaults
        if isinstance(base[key], Mapping) and isinstance(value, Mapping):
            result[key] = merge(base[key], value, where)
        elif isinstance(base[key], Mapping):
            raise SettingsError(f"setting '{where}' must be a mapping")
        else:
            result[key] = copy.deepcopy(value)
    return result


def load_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON settings file (by extension; YAML is a superset for anything else)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SettingsError(f"config file {path} is not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise SettingsError(f"config file {path} must hold a mapping at the top level")
    return dict(data)


def registered(providers=None) -> tuple:
    """``providers``, or the app's default ones (``mock_server.app.DEFAULT_PROVIDERS``)."""
    if providers is None:
        from .app import default_providers      # lazily: the app module imports this one
        providers = default_providers()
    return tuple(providers)


def defaults(providers=None) -> dict[str, Any]:
    """The default settings: the core sections, then one section per provider."""
    return {**copy.deepcopy(CORE_DEFAULTS),
            **{provider.name: copy.deepcopy(dict(provider.settings_defaults)) for provider in registered(providers)}}


def __getattr__(name: str) -> Any:
    if name == "DEFAULTS":                      # the defaults with the default providers' sections
        return defaults()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_settings(config: Mapping[str, Any] | None = None, providers=None) -> dict[str, Any]:
    """Return the effective settings: defaults merged with ``config``, then checked."""
    providers = registered(providers)
    settings = merge(defaults(providers), config or {})
    check(settings, providers)
    return settings


def check_batch_section(name: str, section: Mapping[str, Any]) -> None:
    """The keys every CSV-sending provider's section has (``invalid_rows``, ``max_rows`` ...)."""
    if section["invalid_rows"] not in ("reject", "skip"):
        raise SettingsError(f"{name}.invalid_rows must be 'reject' or 'skip'")
    if not (isinstance(section["max_rows"], int) and section["max_rows"] > 0):
        raise SettingsError(f"{name}.max_rows must be a positive integer")
    cell = section["max_cell_chars"]
    if isinstance(cell, bool) or not (isinstance(cell, int) and 0 < cell <= MAX_CELL_CEILING):
        raise SettingsError(f"{name}.max_cell_chars must be an integer from 1 to {MAX_CELL_CEILING:,}")
    if not section["sending_rate"] or section["sending_rate"] <= 0:
        raise SettingsError(f"{name}.sending_rate must be > 0")


def check_path_prefix(name: str, prefix: Any) -> None:
    """A provider's configurable mount point (``<name>.path_prefix``)."""
    if not (isinstance(prefix, str) and prefix.startswith("/") and not prefix.endswith("/")):
        raise SettingsError(f"{name}.path_prefix must start with '/' and not end with '/' (e.g. /v2)")
    if prefix in ("/_mock", "/sandboxes") or prefix.startswith(("/_mock/", "/sandboxes/")):
        raise SettingsError(f"{name}.path_prefix {prefix} would hide another part of the mock "
                            "(/_mock is the control plane, /sandboxes/NAME selects a sandbox)")


def check(settings: Mapping[str, Any], providers=None) -> None:
    """Reject values that would make the mock misbehave later."""
    for name in ("max_request_bytes", "max_form_parts", "max_form_field_bytes"):
        value = settings[name]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise SettingsError(f"{name} must be a positive integer")
    if settings["max_form_field_bytes"] < FORM_READ_SIZE:
        raise SettingsError(f"max_form_field_bytes must be at least {FORM_READ_SIZE:,}: the form parser reads "
                            "64 KiB at a time and applies the limit to each read")
    delivery = settings["delivery"]
    if not 0 <= delivery["channel_after"] <= delivery["user_after"] <= delivery["read_after"] <= delivery["reply_after"]:
        raise SettingsError("delivery.channel_after <= delivery.user_after <= delivery.read_after <= delivery.reply_after (all >= 0) is required")
    if delivery["slow_user_after"] < 0:
        raise SettingsError("delivery.slow_user_after must be >= 0")
    if not 0.0 <= float(settings["delivery"]["read_share"]) <= 1.0:
        raise SettingsError("delivery.read_share must be between 0 and 1")
    check_server(settings)
    _check_webhooks(settings["webhooks"])
    _check_runtime(settings)
    _check_store(settings["store"])
    _check_failure_testing(settings)
    for provider in registered(providers):
        provider.check_settings(settings)


def _check_store(store: Mapping[str, Any]) -> None:
    url, prefix = store["url"], store["prefix"]
    if not (isinstance(url, str) and (url == "memory" or url.startswith(("redis://", "rediss://", "unix://")))):
        raise SettingsError(f"store.url must be 'memory' or redis://HOST:PORT/DB, not {url!r}")
    if not (isinstance(prefix, str) and prefix and "*" not in prefix and "?" not in prefix):
        raise SettingsError(f"store.prefix must be a non-empty string without '*' or '?' (e.g. bulkmock:), not {prefix!r}")


def _check_runtime(settings: Mapping[str, Any]) -> None:
    waiters = settings["inspection"]["max_waiters"]
    if isinstance(waiters, bool) or not isinstance(waiters, int) or not 0 <= waiters <= 1000:
        raise SettingsError("inspection.max_waiters must be a whole number from 0 to 1000")
    ttl = settings["sandboxes"]["idle_ttl"]
    try:
        duration = parse_duration(str(ttl))
        if duration.years or duration.months or duration.seconds <= 0:
            raise ValueError("use a positive duration in days, hours, minutes or seconds, e.g. PT24H")
    except ValueError as exc:
        raise SettingsError(f"sandboxes.idle_ttl: {exc}") from None
    number(settings, "sandboxes", "max_count", minimum=1, maximum=MAX_SANDBOXES, integer=True)


JOURNAL_MIN_BYTES = MB                # one journal entry may hold a 64 KiB request body and a 64 KiB answer


def _check_failure_testing(settings: Mapping[str, Any]) -> None:
    number(settings, "journal", "max_entries", minimum=1, integer=True)
    value = settings["journal"]["max_bytes"]
    if isinstance(value, bool) or not isinstance(value, int) or value < JOURNAL_MIN_BYTES:
        raise SettingsError(f"journal.max_bytes must be a whole number of bytes >= {JOURNAL_MIN_BYTES:,} (1 MiB: one "
                            f"entry may hold two 64 KiB bodies), not {value!r}")
    number(settings, "faults", "max_rules", minimum=1, integer=True)


def idle_ttl_seconds(settings: Mapping[str, Any]) -> float:
    """``sandboxes.idle_ttl`` in seconds (validated by ``check``)."""
    return parse_duration(str(settings["sandboxes"]["idle_ttl"])).seconds


def number(settings: Mapping[str, Any], section: str, key: str, *, minimum: float, integer: bool = False,
            maximum: float | None = None) -> None:
    value = settings[section][key]
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < minimum or (maximum is not None and value > maximum):
        limits = f"between {minimum:g} and {maximum:g}" if maximum is not None else f">= {minimum:g}"
        raise SettingsError(f"{section}.{key} must be {'an integer' if integer else 'a number'} {limits}, not {value!r}")


def check_server(settings: Mapping[str, Any]) -> None:
    """The server and network-policy settings (``store.url`` itself: ``_check_store``)."""
    server = settings["server"]
    if not isinstance(server["host"], str) or not server["host"]:
        raise SettingsError("server.host must be a host name or IP address")
    number(settings, "server", "port", minimum=0, maximum=65535, integer=True)
    for key in ("threads", "workers", "connection_limit"):
        number(settings, "server", key, minimum=1, integer=True)
    for key in ("channel_timeout", "request_read_timeout"):
        number(settings, "server", key, minimum=1)
    number(settings, "server", "shutdown_grace", minimum=0)
    try:
        browser_policy(settings)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    if not isinstance(settings["net"]["allow"], list):
        raise SettingsError("net.allow must be a list of host names, globs and CIDR networks")
    try:
        HostPolicy.from_settings(settings)
    except PolicyError as exc:
        raise SettingsError(str(exc)) from None
    url = settings["store"]["url"]
    if server["workers"] > 1 and url == "memory":
        raise SettingsError(f"server.workers {server['workers']} needs a shared store: each process would keep its own "
                            "memory store; use --store redis://HOST:PORT/DB or --workers 1")


def _check_webhooks(section: Mapping[str, Any]) -> None:
    positive = {"timeout": float, "backoff": float, "rate": float, "max_attempts": int, "concurrency": int,
                "window_events": int, "max_records": int, "lease": float}
    for key, kind in positive.items():
        value = section[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 or (kind is int and value != int(value)):
            raise SettingsError(f"webhooks.{key} must be a positive {'whole number' if kind is int else 'number'}")
    share = section["duplicate_share"]
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
        raise SettingsError("webhooks.duplicate_share must be between 0 and 1")
    share = section["max_share"]
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
        raise SettingsError("webhooks.max_share must be a number above 0 and at most 1 (the share of "
                            "webhooks.concurrency one sandbox or one receiver may hold at once)")
    window = section["reorder_window"]
    if isinstance(window, bool) or not isinstance(window, (int, float)) or window < 0:
        raise SettingsError("webhooks.reorder_window must be a number of seconds >= 0")
    if section["lease"] <= section["timeout"]:
        raise SettingsError(f"webhooks.lease ({section['lease']:g} s) must be longer than webhooks.timeout "
                            f"({section['timeout']:g} s): an attempt must end within its lease")
