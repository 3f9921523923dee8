"""The core sections of the settings model (``clock``, ``server``, ``net``, ``store``, ``delivery``,
``inspection``, ``sandboxes``, ``webhooks``, ``journal``, ``faults``, ``metrics``): each a frozen
dataclass whose fields carry their default, description and check. The root model that holds them
(``CoreSettings``) and the providers' sections are composed in ``core.py``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..browsers import browser_policy
from ..clock import RANGE_TEXT, in_range, to_us
from ..isotime import parse_datetime, parse_duration
from ..netpolicy import HostPolicy, PolicyError
from .model import Section, SettingsError, number, positive, setting, share, strings

MB = 1024 * 1024
FORM_READ_SIZE = 64 * 1024        # werkzeug's multipart read size, which its text-field limit also applies to
MAX_CELL_CEILING = 2**31 - 1       # csv.field_size_limit takes a C long; 2 GiB cells are no use anyway
MAX_SANDBOXES = 1_000_000          # sandboxes.max_count's ceiling
JOURNAL_MIN_BYTES = MB             # one journal entry may hold a 64 KiB request body and a 64 KiB answer
ACCESS_LOG_FORMATS = ("text", "json")
STORE_SCHEMES = ("redis://", "rediss://", "unix://")     # what ``mock_server.store.open_store`` opens


def clock_start_us(value: Any) -> int | None:
    """``clock.start`` as microseconds since the epoch (None: now); ``SettingsError`` if unusable."""
    if not value:
        return None
    try:
        start = parse_datetime(str(value))
    except ValueError as exc:
        raise SettingsError(f"clock.start: {exc}", key="clock.start") from None
    if not in_range(start):
        raise SettingsError(f"clock.start: {value} is outside the supported range ({RANGE_TEXT})", key="clock.start")
    return to_us(start)


@dataclass(frozen=True)
class ClockSettings(Section):
    start: str | None = setting(None, "each sandbox clock's first instant (1970 to 9000; default: now)", shown="now",
                                check=lambda value, where: clock_start_us(value) and None)
    frozen: bool = setting(False, "whether each sandbox clock starts frozen")


def _host(value: Any, where: str) -> None:
    if not isinstance(value, str) or not value:
        raise SettingsError(f"{where} must be a host name or IP address", key=where)


@dataclass(frozen=True)
class ServerSettings(Section):
    host: str = setting("127.0.0.1", "listen address (`--host`); a non-loopback one turns the `net.allow` policy on",
                        check=_host, flag="host")
    port: int = setting(8080, "listen port (`--port`); 0 picks a free one", shown="8080",
                        check=number(0, 65535, integer=True), flag="port")
    threads: int = setting(16, "request threads per process (`--threads`); the server adds `inspection.max_waiters` "
                               "more for long-polls", check=number(1, integer=True), flag="threads")
    workers: int = setting(1, "processes (`--workers`); more than 1 needs `store.url` redis://",
                           check=number(1, integer=True), flag="workers")
    connection_limit: int = setting(1000, "open connections per process; more wait in the listen backlog (1024)",
                                    shown="1000", check=number(1, integer=True))
    channel_timeout: float = setting(30.0, "a connection idle this long is closed (keep-alive, half-open clients)",
                                     shown="30 s", check=number(1))
    request_read_timeout: float = setting(120.0, "total time to receive one request's headers and body; a dripping "
                                                 "client is disconnected after it", shown="120 s", check=number(1))
    shutdown_grace: float = setting(10.0, "how long SIGTERM waits for in-flight requests", shown="10 s",
                                    check=number(0))
    # Browsers (CONTRACT §18, mock_server/browsers.py)
    allowed_origins: tuple[str, ...] = setting(
        [], "origins (e.g. `http://localhost:3000`) besides the mock's own that may POST/PUT/PATCH/DELETE "
            "`/_mock/...` (others: 403)", check=strings)
    allowed_hosts: tuple[str, ...] = setting(
        [], "`Host` names accepted besides `localhost`, `*.localhost` and loopback addresses (others: 421); "
            "`\"*\"`: any. Checked while listening on loopback, or on any address once set", check=strings)

    def validate(self, where: str) -> None:
        try:
            browser_policy(self)
        except ValueError as exc:
            raise SettingsError(str(exc)) from None


def _net_allow(value: Any, where: str) -> None:
    if not isinstance(value, (list, tuple)):
        raise SettingsError(f"{where} must be a list of host names, globs and CIDR networks", key=where)
    try:
        HostPolicy.build(value, True)               # each entry parses (`--net-allow 10.0.0.0/33` is a usage error)
    except PolicyError as exc:
        raise SettingsError(str(exc), key=where) from None


@dataclass(frozen=True)
class NetSettings(Section):
    allow: tuple[str, ...] = setting([], "host names, globs and CIDR networks `fileUrl` (and webhooks) may reach when "
                                         "the server listens on a non-loopback address", check=_net_allow,
                                     flag="net-allow")


def _store_url(value: Any, where: str) -> None:
    if not (isinstance(value, str) and (value == "memory" or value.startswith(STORE_SCHEMES))):
        raise SettingsError(f"{where} must be 'memory' or redis://HOST:PORT/DB, not {value!r} "
                            "(rediss://HOST:PORT/DB and unix:///PATH?db=N work too)", key=where)


def _store_prefix(value: Any, where: str) -> None:
    if not (isinstance(value, str) and value and "*" not in value and "?" not in value):
        raise SettingsError(f"{where} must be a non-empty string without '*' or '?' (e.g. bulkmock:), not {value!r}",
                            key=where)


@dataclass(frozen=True)
class StoreSettings(Section):
    url: str = setting("memory", "where state lives (`--store`): `memory` (this process), or `redis://HOST:PORT/DB` "
                                 "(also `rediss://`, `unix:///PATH?db=N`) shared by every process using it (see "
                                 "[scale-out](scale-out.md))", check=_store_url, flag="store")
    prefix: str = setting("bulkmock:", "the shared store's key prefix", check=_store_prefix)


def _profile_name(value: Any, where: str) -> None:
    if not isinstance(value, str) or not value:
        raise SettingsError(f"{where} must be a profile name such as 'ideal' or 'realistic'", key=where)


def _profile_map(value: Any, where: str) -> None:
    from ..profiles import CUSTOM, IDEAL
    if not isinstance(value, dict):
        raise SettingsError(f"{where} must be a mapping of profile names to profiles", key=where)
    for name in value:
        if not isinstance(name, str) or not name or name in (IDEAL, CUSTOM):
            raise SettingsError(f"{where}: {name!r} cannot be a profile name (ideal is the delivery.* settings; "
                                "custom is a profile given inline)", key=where)


@dataclass(frozen=True)
class DeliverySettings(Section):
    read_share: float = setting(0.5, "share of ordinary recipients that read (seeded, in steps of 1/256)",
                                check=lambda value, where: share()(_float(value), where))
    channel_after: float = setting(1.0, "when a sent message reaches the channel (mock seconds after it is sent)",
                                   shown="1 s")
    user_after: float = setting(2.0, "when it reaches the user (delivered); at least `channel_after`", shown="2 s")
    read_after: float = setting(30.0, "when a reading recipient reads it; at least `user_after`", shown="30 s")
    reply_after: float = setting(60.0, "when a replying recipient answers; at least `read_after`", shown="60 s")
    slow_user_after: float = setting(600.0, "when a `99906…` recipient is reached", shown="600 s")
    profile: str = setting("ideal", "the traffic profile of new sandboxes (`ideal`, `realistic`, `degraded` or one of "
                                    "`delivery.profiles`; see docs/profiles.md)", check=_profile_name)
    profiles: dict = setting({}, "`{NAME: profile}`: traffic profiles to add or override (every key optional, "
                                 "missing ones take the `ideal` values; see docs/profiles.md)", shown="none",
                             check=_profile_map)

    def validate(self, where: str) -> None:
        from ..profiles import Catalogue, ProfileError
        try:
            catalogue = Catalogue(self)
        except ProfileError as exc:
            raise SettingsError(str(exc), key=exc.field) from None
        if self.profile not in catalogue.profiles:
            raise SettingsError(f"delivery.profile {self.profile!r} is not a profile (known: "
                                f"{', '.join(catalogue.names())})", key="delivery.profile")
        if not 0 <= self.channel_after <= self.user_after <= self.read_after <= self.reply_after:
            raise SettingsError("delivery.channel_after <= delivery.user_after <= delivery.read_after <= "
                                "delivery.reply_after (all >= 0) is required")
        if self.slow_user_after < 0:
            raise SettingsError("delivery.slow_user_after must be >= 0")


def _float(value: Any) -> Any:
    """``value`` as a float when it reads as one (``"0.5"`` in a config file), else itself."""
    try:
        return float(value) if not isinstance(value, bool) else value
    except (TypeError, ValueError):
        return value


def _max_waiters(value: Any, where: str) -> None:
    if not (not isinstance(value, bool) and isinstance(value, int) and 0 <= value <= 1000):
        raise SettingsError(f"{where} must be a whole number from 0 to 1000", key=where)


@dataclass(frozen=True)
class InspectionSettings(Section):
    default_limit: int = setting(100, "`/_mock/messages` page size when none is asked")
    max_limit: int = setting(10000, "largest `/_mock/messages` page", shown="10000")
    max_wait_seconds: float = setting(60.0, "longest `/_mock/messages?wait_for` long-poll", shown="60")
    max_waiters: int = setting(16, "long-polls waiting at once (the server adds as many threads); more answer at "
                                   "once; 0: never wait", check=_max_waiters)


def idle_ttl(value: Any, where: str) -> float:
    try:
        duration = parse_duration(str(value))
        if duration.years or duration.months or duration.seconds <= 0:
            raise ValueError("use a positive duration in days, hours, minutes or seconds, e.g. PT24H")
    except ValueError as exc:
        raise SettingsError(f"{where}: {exc}", key=where) from None
    return duration.seconds


@dataclass(frozen=True)
class SandboxesSettings(Section):
    idle_ttl: str = setting("PT24H", "a sandbox unused this long (ISO 8601 duration, real time) is dropped",
                            check=lambda value, where: idle_ttl(value, where) and None)
    max_count: int = setting(1000, "sandboxes alive at once; creating one more is a 429 naming this setting",
                             shown="1,000", check=number(1, MAX_SANDBOXES, integer=True))

    @property
    def idle_ttl_seconds(self) -> float:
        return idle_ttl(self.idle_ttl, "sandboxes.idle_ttl")


def _reorder_window(value: Any, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise SettingsError(f"{where} must be a number of seconds >= 0", key=where)


@dataclass(frozen=True)
class WebhooksSettings(Section):
    timeout: float = setting(5.0, "a whole attempt (real time): connect, send, the answer's headers and at most "
                                  "64 KiB of its body; a 2xx within it is delivered", shown="5 s",
                             check=positive(integer=False))
    max_attempts: int = setting(6, "attempts before a delivery is dead", check=positive(integer=True))
    backoff: float = setting(1.0, "first retry delay (real seconds), doubling", shown="1 s",
                             check=positive(integer=False))
    concurrency: int = setting(8, "deliveries in flight at once", check=positive(integer=True))
    max_share: float = setting(0.5, "share of `webhooks.concurrency` one sandbox, or one receiver, may hold at once "
                                    "(at least one worker); above 0, at most 1",
                               check=share(above_zero=True, message="must be a number above 0 and at most 1 (the "
                                           "share of webhooks.concurrency one sandbox or one receiver may hold at once)"))
    rate: float = setting(500.0, "deliveries started per second, all receivers together", shown="500 per s",
                          check=positive(integer=False))
    duplicate_share: float = setting(0.0, "at-least-once emulation: share of events delivered twice (seeded)",
                                     shown="0", check=share())
    reorder_window: float = setting(0.0, "mock seconds within which a message's events may swap", shown="0 s",
                                    check=_reorder_window)
    window_events: int = setting(2000, "events derived per step", shown="2,000", check=positive(integer=True))
    max_records: int = setting(10000, "delivered and dead records kept each", shown="10,000",
                               check=positive(integer=True))
    lease: float = setting(30.0, "how long a process owns a delivery it has queued (renewed while it lives); a dead "
                                 "process's deliveries are taken over after it. Longer than `webhooks.timeout`",
                           shown="30 s", check=positive(integer=False))

    def validate(self, where: str) -> None:
        if self.lease <= self.timeout:
            raise SettingsError(f"webhooks.lease ({self.lease:g} s) must be longer than webhooks.timeout "
                                f"({self.timeout:g} s): an attempt must end within its lease")


def _journal_bytes(value: Any, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < JOURNAL_MIN_BYTES:
        raise SettingsError(f"{where} must be a whole number of bytes >= {JOURNAL_MIN_BYTES:,} (1 MiB: one "
                            f"entry may hold two 64 KiB bodies), not {value!r}", key=where)


@dataclass(frozen=True)
class JournalSettings(Section):
    max_entries: int = setting(10_000, "request-journal entries kept per sandbox", shown="10,000",
                               check=number(1, integer=True))
    max_bytes: int = setting(16 * MB, "request-journal bytes kept per sandbox (at least 1 MiB); beyond it the oldest "
                                      "entries are dropped, counted in `droppedBy`", shown="16 MiB",
                             check=_journal_bytes)


@dataclass(frozen=True)
class FaultsSettings(Section):
    max_rules: int = setting(1000, "fault rules per sandbox; one more is a 409 naming this setting", shown="1,000",
                             check=number(1, integer=True))


def _switch(value: Any, where: str) -> None:
    if not isinstance(value, bool):
        raise SettingsError(f"{where} must be true or false, not {value!r}", key=where)


@dataclass(frozen=True)
class MetricsSettings(Section):
    sandbox_label: bool = setting(False, "add a `sandbox` label to the `GET /_mock/metrics` series (one series per "
                                         "sandbox: mind the cardinality)", check=_switch)
