"""The provider contract, written once: everything the generic planes need from a provider package.

A provider is a package with the same files (``routes``, ``schemas``, ``backend``, ``errors``)
and, in its ``__init__``, one :class:`Provider` instance named ``PROVIDER``. Registering it is
one line in ``mock_server/app.py`` (``DEFAULT_PROVIDERS``), or ``create_app(providers=...)``.
The generic planes then only iterate over the registered providers, never name one:

- the factory mounts its blueprint, builds its backend, renders every error under its paths in
  its own envelope (longest matching path prefix wins) and lets ``/_mock/messages`` inspect it;
- settings: its section of the settings model (``settings_type``: a frozen dataclass whose fields
  carry defaults, the demo tenant, descriptions and checks; ``settings.<name>`` at run time);
- OpenAPI: its operations, security scheme, tag and custom field types (``openapi_*``);
- webhooks: :class:`WebhookSpec` and the backend's public ``webhook_sources``;
- faults and the journal: the credential of a request (``credential``), the rate-limit subjects,
  and the id of a created record, handed over by the route (:func:`hand_over_record`);
- the store: the codecs of its record types (``stored_types``), registered by the app factory;
- UI: its own blueprint and templates (``ui_blueprint``), its nav links, overview card, record
  links, example request and webhook subscription ways (``ui_*``);
- the CLI: its banner lines.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol, Sequence

from flask import Blueprint, Request, request

from .errors import ProviderError
from .paging import Source
from .sandbox import Sandbox
from .settings import Section, Settings

MESSAGES = "mock.messages"        # request environ key: how many messages that record accepted
CREATED = "mock.created"          # request environ key: the record a request created


class Backend(Protocol):
    """What the app and the control plane call on every provider's backend."""

    def settle(self, sb: Sandbox) -> None:
        """Apply the scheduled work due by the sandbox's now (called before each request)."""

    def inspect_count(self, sb: Sandbox, campaign: str | None, status: str | None) -> int:
        """How many sent messages ``/_mock/messages`` shows for these filters."""

    def inspect_sources(self, sb: Sandbox, campaign: str | None, status: str | None) -> Iterator[Source]:
        """Those messages as paginator sources, in the order they were sent."""

    def next_change(self, sb: Sandbox, campaign: str | None, after: float) -> float | None:
        """The first instant after ``after`` (mock epoch seconds) at which that answer can change
        by itself (a send, a delivery, a campaign start), or None if it cannot."""

    def transition_batches(self, sb: Sandbox) -> tuple[Iterable[Any], Mapping[str, str]]:
        """(Optional.) Every batch of the sandbox and the provider's status of each generic stage,
        for ``bulkmock_message_transitions_total`` (``mock_server.transition_counts``)."""

    def webhook_sources(self, sb: Sandbox, owners: Mapping[tuple[str, str], Any], after: float,
                        latest: float) -> list:
        """(Providers with webhooks.) Its batches of an owner in ``owners`` (keys ``(provider,
        owner)``) with transitions still to come after ``after``, as ``webhooks.events.Source``."""


@dataclass(frozen=True)
class NoSettings(Section):
    """The section of a provider with nothing to set."""


class Provider(ABC):
    """One emulated provider. Subclasses set the class attributes and ``path_prefixes``."""

    name: str
    title: str                           # as people write it ("Jelou"): OpenAPI tag, UI, banner
    blueprint: Blueprint
    record_kinds: Mapping[str, str]      # store record kind -> plural shown in GET /_mock/sandboxes
    backend_class: Callable[[Any], Backend]          # built with the app's ``MockState``
    error_for_status: Callable[[int, str], ProviderError]
    # settings: the type of the section ``<name>`` (``mock_server.settings.Section``; defaults, demo tenant, checks)
    settings_type: type[Section] = NoSettings
    # OpenAPI: a module-like object with ``operations(settings)`` and ``SECURITY_SCHEME`` (name, scheme)
    openapi: Any = None
    openapi_summary: str = ""            # what it emulates, for the document's description
    openapi_field_types: tuple[tuple[type, Any, str | None], ...] = ()   # custom field -> (type, format)
    record_phrase: str = ""              # "a Jelou campaign id": what /_mock/messages?campaign= takes
    # the journal: the key and marshmallow field type of the id a send hands over (hand_over_record)
    journal_record: tuple[str, type] | None = None
    # the journal masks these request headers (credentials besides Authorization, which is always masked)
    credential_headers: tuple[str, ...] = ()
    # faults: rate-limit subjects besides "credential" (per name -> the request's subject or None)
    rate_limit_subjects: Mapping[str, Callable[[Request], str | None]] = {}
    webhooks: WebhookSpec | None = None
    # the store: the frozen dataclasses its records hold, each with its stable codec tag (registered
    # by the app factory, so a shared store can encode and decode them)
    stored_types: tuple[tuple[type, str], ...] = ()
    # UI (mock_server.ui asks these, never names a provider): its blueprint and templates (pages
    # under /_mock/ui/...), its nav links (label, endpoint; a page marks its link current with
    # ``{% set active = endpoint %}``), its overview card (a template given ``overview``, whose
    # ``overview[name]`` is ``ui_overview``), links to its records' pages, a request to try (empty
    # pages' hints, the fault form's example) and its ways to subscribe a webhook (whose, what);
    # the method ``ui_search`` finds its records for the search box of the UI's home
    ui_blueprint: Blueprint | None = None
    ui_nav: tuple[tuple[str, str], ...] = ()
    ui_overview_template: str | None = None
    ui_record: RecordLink | None = None
    ui_example: tuple[str, str] | None = None            # (method, path), e.g. ("POST", "/v1/send")
    ui_webhook_ways: tuple[tuple[str, str], ...] = ()     # e.g. (("its API's", "POST /v1/hooks"),)

    def credential(self, request: Request) -> str | None:
        """The credential a request carries (fault rules and rate limits match it)."""
        return None

    def banner_lines(self, settings: Settings) -> list[str]:
        """What ``mock-server`` prints about it at start (its demo credentials)."""
        return []

    def ui_overview(self, state, sb: Sandbox) -> dict[str, Any]:
        """Its part of the UI overview (``GET /_mock/ui/api/overview``), ``{}`` for none: ``records``
        (its records by status; the overview's ``totals`` counts them under its record kind's plural)
        and ``messages`` (its messages by status)."""
        return {}

    def ui_search(self, state, sb: Sandbox, text: str, limit: int) -> list[dict[str, Any]]:
        """Its records of the sandbox matching ``text`` (an id, a name, a recipient's number) for the
        UI's search, newest first, at most ``limit``: each ``{"title", "url", "status", "detail"}``.
        It bounds its own work (stop at ``limit``; a number is looked for in C over each file)."""
        return []

    def url_prefix(self, settings: Settings) -> str:
        """Where the blueprint is mounted ("" for the root)."""
        return ""

    @abstractmethod
    def path_prefixes(self, settings: Settings) -> tuple[str, ...]:
        """Paths answered in this provider's error envelope: each prefix and everything below it."""

    def http_error(self, status: int, message: str) -> ProviderError:
        """The provider's error for an HTTP failure (unknown route, 405, 413, bad sandbox ...)."""
        return type(self).error_for_status(status, message)

    def backend(self, state) -> Backend:
        """The provider's backend over the app's services (``MockState``)."""
        return type(self).backend_class(state)



def join_words(parts: Sequence[str], last: str = " and ") -> str:
    """``a``, ``a and b``, ``a, b and c``: one phrase per provider in running text."""
    parts = list(parts)
    if len(parts) < 2:
        return "".join(parts)
    return ", ".join(parts[:-1]) + last + parts[-1]


def hand_over_record(key: str, record_id: Any, *, messages: int = 0) -> None:
    """Tell the journal which record this request created (``key``: e.g. ``campaignId``), and the
    metrics how many messages it accepted (``messages``: its recipients).

    Called by a provider's route or backend once the record is stored; the request journal and
    the access log read it after the answer (never from the answer's body). Kept in the request's
    WSGI environ: request-scoped even when a caller holds one app context over several requests.
    """
    request.environ[CREATED] = {key: record_id}
    request.environ[MESSAGES] = messages


def accepted_messages(environ: dict) -> int:
    """The messages :func:`hand_over_record` said this request accepted (0: none)."""
    return environ.get(MESSAGES, 0)


def created_record() -> dict[str, Any]:
    """What :func:`hand_over_record` handed over for the current request (``{}``: nothing)."""
    return dict(request.environ.get(CREATED) or {})


@dataclass(frozen=True)
class RecordLink:
    """How the UI links one of a provider's records: the id its ``journal_record`` key holds."""

    arg: str                      # /_mock/ui/requests?<arg>=<id> keeps the requests that created it
    noun: str                     # what people call it there ("campaign")
    endpoint: str                 # its page: ``url_for(endpoint, **{id_arg: id})``
    id_arg: str
    label_with_id: bool = False   # a journal row's link reads "<noun> <id>" (else "<noun>")


@dataclass(frozen=True)
class WebhookSpec:
    """A provider's delivery-status webhooks (``mock_server.webhooks`` reads only this)."""

    events: tuple[str, ...]                       # event names a subscription may ask for
    event_of: Mapping[str, str]                   # delivery stage (mock_server.delivery) -> event name
    signature_header: str                         # HMAC-SHA256 of the body, ``sha256=<hex>``
    owner_key: str                                # the owner's field in /_mock/webhooks (e.g. botId)
    owner_field: Callable[[], Any]                # a fresh marshmallow field for it (String, Integer ...)
    owner_problem: Callable[[Settings, str], str | None]   # (settings, owner) -> why it is unknown
    recipient: Callable[[dict], str | None]       # an event body -> its message's recipient
    # settings -> the subscriptions the settings declare, as (owner, position, raw entry, where)
    configured: Callable[[Settings], Iterable[tuple[str, int, Any, str]]] = lambda settings: ()
    configured_where: str = "the settings"        # where those live, for "change the config file" answers
    owner_value: Callable[[str], Any] = str       # the stored owner (text) as listings show it
    event_schema: Any = None                      # marshmallow schema of an event's body (OpenAPI ``webhooks``)
