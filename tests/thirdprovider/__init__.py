"""A minimal third provider that lives only in the tests: proof that the provider contract
(``mock_server/providers.py``) is complete. Nothing outside this package names it.

``POST /tp/send`` (header ``X-Tp-Key: <key>``, JSON ``{"account", "to": [numbers], "text"}``)
stores one *note* (one message per number, sent at once) and answers ``{"noteId"}``; every
message is delivered (event ``delivered``) per the ``delivery`` timelines. A note's value is a
frozen dataclass (:class:`NoteValue`) whose codec it declares (``stored_types``); its UI pages
(notes, one note), overview card and record links go through the ``ui_*`` hooks.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Iterator

from flask import Blueprint, Request, current_app, request
from marshmallow import Schema, fields, validate

from mock_server import delivery
from mock_server.batches import Batch
from mock_server.delivery import Schedule, Segment
from mock_server.errors import ProviderError
from mock_server.isotime import from_timestamp, isoformat
from mock_server.paging import Source as PageSource
from mock_server.providers import Provider, RecordLink, WebhookSpec, hand_over_record
from mock_server.sandbox import current
from mock_server.settings import Section, SettingsError, setting
from mock_server.store.repository import Index, RecordKind, Repository
from mock_server.ui import count_by, missing, render_page
from mock_server.webhooks.events import Source

NAME = "thirdprovider"
ALL = Index("thirdprovider.all")
bp = Blueprint(NAME, __name__)
ui_bp = Blueprint("thirdprovider_ui", __name__, url_prefix="/_mock/ui/thirdprovider", template_folder="templates")


class TpErrorSchema(Schema):
    tp_error = fields.String(required=True)
    code = fields.Integer(required=True)


class TpError(ProviderError):
    schema = TpErrorSchema

    def body(self) -> dict:
        return {"tp_error": self.message, "code": self.status}


@dataclass(frozen=True)
class NoteValue:
    """What the store keeps for a note (encoded with the codec the provider declares)."""

    account: str
    to: tuple[str, ...]
    outcomes: bytes
    start: float


@dataclass(frozen=True)
class Note(Batch):
    id: str
    account: str
    to: tuple[str, ...]
    outcomes: bytes
    start: float

    def build_schedule(self) -> Schedule:
        return Schedule([Segment(0, len(self.outcomes), self.start, 100.0)])


def _note(record) -> Note:
    value = record.value
    return Note(record.id, value.account, value.to, value.outcomes, value.start)


NOTES = RecordKind("thirdprovider.note", (ALL,), lambda value: (ALL.entry(),), load=_note)


class TpBackend:
    def __init__(self, state) -> None:
        self.state, self.store, self.timelines = state, state.store, state.timelines
        self.notes_kept = Repository(state.store, NOTES)

    def settle(self, sb) -> None:
        pass

    def notes(self, sb) -> list[Note]:
        return list(self.notes_kept.scan(sb.name, ALL, newest_first=False))

    def send(self, sb, body: Any) -> Note:
        section = self.state.settings.provider(NAME)
        if not isinstance(body, dict) or not isinstance(body.get("to"), list) or not body["to"]:
            raise TpError("to: give a non-empty list of numbers")
        if body.get("account") not in section.accounts:
            raise TpError(f"account: unknown account {body.get('account')!r}", 404)
        value = NoteValue(body["account"], tuple(str(n) for n in body["to"]),
                          bytes([delivery.ORDINARY] * len(body["to"])), sb.now())
        return self.notes_kept.create(sb.name, lambda note_id, created_us: value)

    def _messages(self, note: Note, now: float) -> list[dict]:
        return [{"provider": NAME, "id": f"{note.id}-{i + 1}", "campaign": note.id, "recipient": number,
                 "status": note.stage_of(i, self.timelines, now)[0]} for i, number in enumerate(note.to)]

    def inspect_sources(self, sb, campaign, status) -> Iterator[PageSource]:
        for note in self.notes(sb):
            if campaign in (None, note.id):
                items = self._messages(note, sb.now())
                yield PageSource(len(items), lambda skip, limit, items=items: items[skip:skip + limit])

    def inspect_count(self, sb, campaign, status) -> int:
        return sum(source.count for source in self.inspect_sources(sb, campaign, status))

    def next_change(self, sb, campaign, after):
        return min((m for note in self.notes(sb) if (m := note.next_change(self.timelines, after)) is not None),
                   default=None)

    def webhook_sources(self, sb, owners, after: float, latest: float) -> list[Source]:
        sources = []
        for record in self.store.scan(sb.name, ALL.name, newest_first=False):      # records: their ``seq``
            note = _note(record)
            if (NAME, note.account) not in owners:
                continue

            def render(index: int, moment: float, event: str, note=note) -> dict[str, Any]:
                return {"event": event, "at": isoformat(from_timestamp(moment)), "noteId": note.id,
                        "to": note.to[index]}

            sources.append(Source(NAME, note.id, record.seq, note.account, note, render))
        return sources


@bp.post("/tp/send")
def send():
    state = current_app.extensions["mock"]
    if request.headers.get("X-Tp-Key") not in state.settings.provider(NAME).keys:
        raise TpError("bad key", 401)
    note = state.backends[NAME].send(current(), request.get_json(silent=True))
    hand_over_record("noteId", note.id)
    return {"noteId": note.id}, 201


@ui_bp.get("")
def notes_page():
    state = current_app.extensions["mock"]
    return render_page("thirdprovider/notes.html", notes=state.backends[NAME].notes(current()))


@ui_bp.get("/<note_id>")
def note_page(note_id: str):
    state = current_app.extensions["mock"]
    found = [note for note in state.backends[NAME].notes(current()) if note.id == note_id]
    if not found:
        return missing(f"Third note {note_id}")
    now = current().now()
    return render_page("thirdprovider/note.html", note=found[0],
                       stages=[found[0].stage_of(i, state.timelines, now)[0] for i in range(len(found[0].to))])


def _operations(settings) -> dict:
    security = [{"tpKey": []}]
    return {"/tp/send": {"post": {"tags": ["Third"], "summary": "Send a note", "operationId": "tpSend",
                                  "security": security, "responses": {"201": {"description": "The note id"}}}}}


def _rate(value, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise SettingsError(f"{where} must be a number > 0, not {value!r}")


@dataclass(frozen=True)
class TpSettings(Section):
    keys: tuple[str, ...] = setting(["tp-key"], "keys a send may carry (X-Tp-Key)")
    accounts: tuple[str, ...] = setting(["acct-1"], "accounts notes may be sent from")
    rate: float = setting(10.0, "notes per second", check=_rate)


class ThirdProvider(Provider):
    name = NAME
    title = "Third"
    blueprint = bp
    record_kinds = {NOTES.kind: "notes"}
    backend_class = TpBackend
    error_for_status = staticmethod(lambda status, message: TpError(message, status))
    settings_type = TpSettings
    openapi = SimpleNamespace(operations=_operations,
                              SECURITY_SCHEME=("tpKey", {"type": "apiKey", "in": "header", "name": "X-Tp-Key"}))
    openapi_summary = "Third Send note"
    record_phrase = "a Third note id"
    journal_record = ("noteId", fields.String)
    credential_headers = ("X-Tp-Key",)
    rate_limit_subjects = {"account": lambda req: (req.get_json(silent=True) or {}).get("account")}
    webhooks = WebhookSpec(
        events=("delivered",), event_of={delivery.USER: "delivered"}, signature_header="X-Tp-Signature",
        owner_key="accountId", owner_field=lambda: fields.String(validate=validate.Length(min=1)),
        owner_problem=lambda settings, owner: None if owner in settings.provider(NAME).accounts
        else f"accountId: no account '{owner}' in the settings ({NAME}.accounts)",
        recipient=lambda body: body.get("to"))
    stored_types = ((NoteValue, "thirdprovider.note"),)
    ui_blueprint = ui_bp
    ui_nav = (("Third notes", "thirdprovider_ui.notes_page"),)
    ui_overview_template = "thirdprovider/overview_card.html"
    ui_record = RecordLink(arg="note", noun="note", endpoint="thirdprovider_ui.note_page", id_arg="note_id",
                           label_with_id=True)
    ui_example = ("POST", "/tp/send")

    def path_prefixes(self, settings):
        return ("/tp",)

    def credential(self, req: Request):
        return req.headers.get("X-Tp-Key")

    def ui_overview(self, state, sb):
        notes, now = state.backends[NAME].notes(sb), sb.now()
        stages = [note.stage_of(i, state.timelines, now)[0] for note in notes for i in range(len(note.to))]
        return {"records": count_by("sent" for _ in notes), "messages": count_by(stages)}

    def banner_lines(self, settings):
        return ["Third (X-Tp-Key: <key>): " + ", ".join(settings.provider(NAME).keys)]


PROVIDER = ThirdProvider()
