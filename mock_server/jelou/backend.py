"""Jelou's rules: auth, ``POST /v1/hsm/file``, campaigns and the per-bot sending queue.

Deviations from the real service, on purpose: the success body adds nothing to the documented
``{"message", "status"}`` — the campaign id travels in the ``X-Mock-Campaign-Id`` header;
``params`` must number the template's placeholders exactly 1..n; ``date`` is read as an alias of
``scheduledAt`` (the old dashboard's field). Listing notifications, see ``notifications.py``; the
sending queue (when a campaign starts), ``queue.py``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from ..auth import find_match, parse_basic, same
from ..bodies import FilePart
from ..csvfile import CsvRejected, CsvRules, read_csv
from ..delivery import RESERVED_PREFIX
from ..fates import build_outcomes
from ..fetch import FetchError, check_url, fetch
from ..netpolicy import HostPolicy, redact_url
from . import schemas
from ..clock import to_us
from ..sandbox import Sandbox
from ..store.repository import Repository
from .campaigns import ALL, BY_BOT, CAMPAIGNS, LANES, Campaign, Lane
from .errors import BotNotFound, ForbiddenBot, JelouError, NotFound, Unauthorized, ValidationFailed, message
from .notifications import NotificationsMixin
from .queue import QueueMixin, started_on_lane
from .webhooks import WebhooksMixin

PHONE = re.compile(r"[1-9][0-9]{7,14}")
HEADER = re.compile(r"[A-Za-z0-9_]+")
PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")


class JelouBackend(QueueMixin, NotificationsMixin, WebhooksMixin):
    """Jelou's rules, a service over the store: every call names the sandbox it works in."""

    def __init__(self, state) -> None:
        self.state = state
        self.settings = state.settings.jelou
        self.store = state.store
        self._next_due: dict[str, tuple[tuple, float]] = {}   # sandbox -> ((created, generation, version), due)
        self.campaigns = Repository(state.store, CAMPAIGNS)
        self.policy = HostPolicy.from_settings(state.settings)
        self.timelines = state.timelines
        self.companies = {company["id"]: company for company in self.settings.companies}
        self.bots = {bot["id"]: bot for bot in self.settings.bots}
        self.templates = {(t["bot_id"], t["element_name"]): t for t in self.settings.templates}
        self.rules = CsvRules(
            max_rows=self.settings.max_rows, invalid_rows=self.settings.invalid_rows,
            max_cell_chars=self.settings.max_cell_chars,
            header_pattern=HEADER,
            header_reason="column names may only contain letters, numbers and underscores (_), with no spaces",
            first_column_pattern=PHONE,
            first_column_reason="the first column must be the phone number with its international code and no '+' (8 to 15 digits)",
        )

    # -- records ---------------------------------------------------------------------------
    def get(self, sb: Sandbox, campaign_id: str) -> Campaign | None:
        return self.campaigns.get(sb.name, campaign_id)

    def scan(self, sb: Sandbox, *, newest_first: bool = True):
        return self.campaigns.scan(sb.name, ALL, newest_first=newest_first)

    # -- auth and lookups ----------------------------------------------------------------
    def authenticate(self, header: str | None) -> dict:
        """The client (with its company) for a Basic header; raise 401 otherwise."""
        credentials = parse_basic(header)
        if credentials is None:
            raise Unauthorized()
        client_id, secret = credentials
        client = find_match(self.settings.clients,
                            lambda c: (same(client_id, c["client_id"]), same(secret, c["client_secret"])))
        if client is None:
            raise Unauthorized()
        return client

    def bot_for(self, client: dict, bot_id: str) -> dict:
        bot = self.bots.get(bot_id)
        if bot is None:
            raise BotNotFound(bot_id)
        if bot["company_id"] != client["company_id"]:
            raise ForbiddenBot(bot_id)
        return bot

    def campaign_for(self, sb: Sandbox, client: dict, campaign_id: str) -> Campaign:
        campaign = self.get(sb, campaign_id)
        if campaign is None or campaign.company_id != client["company_id"]:
            raise NotFound(f"Campaign {campaign_id} not found", 404)
        return campaign

    # -- POST /v1/hsm/file ---------------------------------------------------------------
    def send_bulk(self, sb: Sandbox, client: dict, data: dict[str, Any], upload: FilePart | None,
                  errors: dict[str, list[dict]]) -> Campaign:
        """Validate a bulk send and create its campaign (CONTRACT §4)."""
        data, json_errors = schemas.decode_json_fields(data)
        errors = {**errors, **json_errors}
        file_url = data.get("fileUrl")
        if upload is None and not file_url:
            errors.setdefault("file", []).append(message(
                "Attach the CSV as the multipart part 'file', or give 'fileUrl' in a JSON body.",
                "Adjunte el CSV en el campo 'file' o envíe 'fileUrl'."))
        elif upload is not None and file_url:
            errors.setdefault("file", []).append(message(
                "Send either 'file' or 'fileUrl', not both.", "Envíe 'file' o 'fileUrl', no ambos."))
        elif file_url and isinstance(file_url, str) and (problem := check_url(file_url)):
            errors.setdefault("fileUrl", []).append(message(f"fileUrl: {problem}."))
        fields = schemas.load(schemas.SEND, data, errors)
        bot = self.bot_for(client, fields["botId"])
        template = self._template(bot, fields)
        shown_url = redact_url(fields["fileUrl"]) if upload is None else None
        if upload is None:
            upload = FilePart(shown_url, self._download(fields["fileUrl"]))
        rows = self._read(upload)
        name = upload.filename
        param_indexes = self._param_columns(fields["params"], rows.header)
        return self._create(sb, client, bot, template, fields, rows, param_indexes, name, shown_url)

    def _template(self, bot: dict, fields: dict) -> dict:
        name = fields["elementName"]
        template = self.templates.get((bot["id"], name))
        if template is None:
            raise ValidationFailed.single("elementName", f"The template '{name}' does not exist on bot {bot['id']}.",
                                          f"La plantilla '{name}' no existe en el bot {bot['id']}.")
        if template["status"] != "APPROVED":
            raise ValidationFailed.single(
                "elementName", f"The template '{name}' is {template['status']}; only APPROVED templates can be sent.",
                f"La plantilla '{name}' está en estado {template['status']}; solo se pueden enviar plantillas aprobadas.")
        errors: dict[str, list[dict]] = {}
        placeholders = sorted({int(n) for n in PLACEHOLDER.findall(template.get("text", ""))})
        numbers = sorted(item["param"] for item in fields["params"])
        if numbers != list(range(1, len(placeholders) + 1)):
            wanted = f"params 1 to {len(placeholders)}" if placeholders else "an empty params array"
            errors["params"] = [message(
                f"The template '{name}' has {len(placeholders)} parameter(s): send {wanted}, got {numbers or 'none'}.",
                f"La plantilla '{name}' tiene {len(placeholders)} parámetro(s).")]
        media = template.get("type", "text") in schemas.MEDIA_TYPES
        if media and "type" in fields and fields["type"] != template["type"] and fields["type"] != "text":
            errors["type"] = [message(f"The template '{name}' is of type {template['type']}, not {fields['type']}.")]
        if (media or fields["type"] in schemas.MEDIA_TYPES) and not fields.get("mediaUrl"):
            kind = template["type"] if media else fields["type"]
            errors["mediaUrl"] = [message(f"mediaUrl is required for {kind} templates.",
                                          f"mediaUrl es obligatorio para plantillas de tipo {kind}.")]
        if template.get("buttons") and not fields.get("buttonPayloads"):
            errors["buttonPayloads"] = [message(
                f"The template '{name}' has quick-reply buttons: buttonPayloads is required.",
                f"La plantilla '{name}' tiene botones de respuesta rápida: buttonPayloads es obligatorio.")]
        if errors:
            raise ValidationFailed(errors)
        return template

    def _download(self, url: str) -> bytes:
        try:
            return fetch(url, timeout=float(self.settings.file_url_timeout),
                         max_bytes=int(self.settings.file_url_max_bytes), policy=self.policy,
                         max_redirects=int(self.settings.file_url_max_redirects))
        except FetchError as exc:
            raise JelouError(f"The file could not be downloaded from fileUrl: {exc}", 400) from None

    def _read(self, upload: FilePart):
        name = upload.filename
        path = name.split("?", 1)[0].split("#", 1)[0]
        if not path.lower().endswith(".csv"):
            raise ValidationFailed.single(
                "file", f"Only files with the .csv extension are supported (got '{path.rsplit('/', 1)[-1] or name}').",
                "Solo se admiten archivos con extensión .csv.")
        try:
            return read_csv(upload.data, self.rules, newlines=upload.newlines)
        except CsvRejected as exc:
            raise ValidationFailed.from_csv("file", exc.issues, exc.total) from None

    def _param_columns(self, params: list[dict], header: list[str]) -> list[int]:
        missing = [item["column"] for item in params if item["column"] not in header]
        if missing:
            raise ValidationFailed.single(
                "params", f"Column(s) {', '.join(missing)} are not in the CSV header ({', '.join(header)}).",
                f"Las columnas {', '.join(missing)} no están en el encabezado del CSV.")
        return [header.index(item["column"]) for item in params]

    def _create(self, sb: Sandbox, client, bot, template, fields, rows, param_indexes, name, file_url) -> Campaign:
        """Store the campaign: id, creation instant and index entries in one atomic step."""
        scheduled = fields.get("scheduledAt") or fields.get("date")
        order = {item["param"]: index for item, index in zip(fields["params"], param_indexes)}
        params = tuple(sorted((item["param"], item["column"]) for item in fields["params"]))
        reserved = rows.first_cells_starting(RESERVED_PREFIX)
        profile_text, profile = self.state.profiles.for_batch(sb)
        fates = self.timelines.for_profile(profile_text)
        kind = template.get("type", fields["type"]) if fields["type"] == "text" else fields["type"]

        def build(campaign_id: str, created_us: int) -> Campaign:
            outcomes = bytes(build_outcomes(len(rows), self.state.rng("jelou", campaign_id), self.timelines, reserved,
                                            rows.invalid, profile_text))
            all_fail, fail_after = Campaign.failing_profile(outcomes, fates)
            return Campaign(
                id=campaign_id, name=fields["campaignName"], element_name=fields["elementName"], bot_id=bot["id"],
                company_id=client["company_id"], template_text=template.get("text", ""), type=kind,
                params=params, param_indexes=tuple(order[number] for number, _ in params),
                media_url=fields.get("mediaUrl"), button_payloads=_json_text(fields.get("buttonPayloads")),
                actions=_json_text(fields.get("actions")), file_name=name.split("?", 1)[0].rsplit("/", 1)[-1],
                storage_url=file_url, rows=rows, outcomes=outcomes,
                rate=profile.mps or float(bot.get("sending_rate") or self.settings.sending_rate),
                scheduled_at=scheduled.timestamp() if scheduled else None, all_fail=all_fail, fail_after=fail_after,
                created_us=created_us, profile=profile_text)

        moment, delay = sb.now(), float(self.settings.start_delay)

        def start_at_once(campaign: Campaign, lane: Lane | None) -> tuple[Campaign, Lane | None]:
            started = started_on_lane(campaign, lane, max(moment, campaign.created_us / 1_000_000), delay)
            return (campaign, None) if started is None else started

        # due at once (the common case): created already started, with its bot's lane, in one step;
        # under a messaging tier the start also reads and writes the bot's tier ledger (_start_on_lane)
        due = (scheduled is None or scheduled.timestamp() <= moment) and profile.tier is None
        created = self.campaigns.create(sb.name, build, with_=(LANES, bot["id"], start_at_once) if due else None)
        return self._start_if_due(sb, created)

    # -- the sending queue ---------------------------------------------------------------
    def list_campaigns(self, sb: Sandbox, client: dict, query: dict) -> tuple[list[Campaign], int]:
        """Campaigns of a bot created in [startAt, endAt], newest first, one page."""
        bot = self.bot_for(client, query["botId"])
        low, high = query["startAt"].timestamp(), query["endAt"].timestamp()
        page, limit = query["page"], query["limit"]
        filtered = "elementName" in query or "status" in query or "name" in query
        if not filtered:
            return self.campaigns.page(sb.name, BY_BOT[bot["id"]], low=low, high=high, offset=(page - 1) * limit,
                                       limit=limit)
        now = sb.now()
        matches = [c for c in self.campaigns.scan(sb.name, BY_BOT[bot["id"]], low=low, high=high)
                   if _matches(c, query, now)]
        start = (page - 1) * limit
        return matches[start:start + limit], len(matches)

    def update_campaign(self, sb: Sandbox, client: dict, campaign_id: str, changes: dict) -> Campaign:
        """Cancel (``status=CANCELLED``) or reschedule (``scheduledAt``) a campaign not yet sending."""
        self.campaign_for(sb, client, campaign_id)

        def change(campaign: Campaign) -> Campaign:
            now = sb.now_dt()
            status = campaign.status(now.timestamp())
            if status not in ("SCHEDULED", "CANCELLED"):
                raise ValidationFailed.single(
                    "status", f"Only SCHEDULED or CANCELLED campaigns can be changed; this one is {status}.",
                    f"Solo se pueden modificar campañas SCHEDULED o CANCELLED; esta está en {status}.")
            updated = to_us(now)
            if changes.get("status") == "CANCELLED" and "scheduledAt" not in changes:
                new = dataclasses.replace(campaign, cancelled=True, updated_us=updated)
            else:
                scheduled = changes["scheduledAt"].timestamp() if changes.get("scheduledAt") else campaign.scheduled_at
                new = dataclasses.replace(campaign, cancelled=False, scheduled_at=scheduled, updated_us=updated)
            return new

        updated = self.campaigns.update(sb.name, campaign_id, change)
        if updated is None:                  # gone meanwhile (a reset of the sandbox)
            raise NotFound(f"Campaign {campaign_id} not found", 404)
        return self._start_if_due(sb, updated)

    def render(self, sb: Sandbox, campaign: Campaign) -> dict:
        now = sb.now()
        if self.settings.campaigns_shape == "legacy":
            bot = self.bots.get(campaign.bot_id, {"id": campaign.bot_id})
            company = self.companies.get(campaign.company_id, {"id": campaign.company_id})
            return campaign.to_legacy(self.timelines, now, bot, company)
        return campaign.to_current(self.timelines, now)


def _matches(campaign: Campaign, query: dict, now: float) -> bool:
    if "elementName" in query and campaign.element_name != query["elementName"]:
        return False
    if "status" in query and campaign.status(now) != query["status"]:
        return False
    return not ("name" in query and query["name"].lower() not in campaign.name.lower())


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)
