"""Jelou's rules: auth, ``POST /v1/hsm/file``, campaigns and the per-bot sending queue.

Deviations from the real service, on purpose: the success body adds nothing to the documented
``{"message", "status"}`` — the campaign id travels in the ``X-Mock-Campaign-Id`` header;
``params`` must number the template's placeholders exactly 1..n; ``date`` is read as an alias of
``scheduledAt`` (the old dashboard's field). Listing notifications, see ``notifications.py``.
"""

from __future__ import annotations

import bisect
import heapq
import math
import re
from datetime import datetime
from typing import Any

from ..auth import find_match, parse_basic, same
from ..csvfile import CsvRejected, CsvRules, read_csv
from ..delivery import RESERVED_PREFIX, build_outcomes
from ..fetch import FetchError, check_url, fetch
from ..netpolicy import HostPolicy, redact_url
from . import schemas
from .campaigns import Campaign
from .errors import BotNotFound, ForbiddenBot, JelouError, NotFound, Unauthorized, ValidationFailed, message
from .notifications import NotificationsMixin

PHONE = re.compile(r"[1-9][0-9]{7,14}")
HEADER = re.compile(r"[A-Za-z0-9_]+")
PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")


class JelouBackend(NotificationsMixin):
    def __init__(self, state) -> None:
        self.state = state
        self.settings = state.settings["jelou"]
        self.store = state.store
        self.policy = HostPolicy.from_settings(state.settings)
        self.companies = {company["id"]: company for company in self.settings["companies"]}
        self.bots = {bot["id"]: bot for bot in self.settings["bots"]}
        self.templates = {(t["bot_id"], t["element_name"]): t for t in self.settings["templates"]}
        self.rules = CsvRules(
            max_rows=self.settings["max_rows"], invalid_rows=self.settings["invalid_rows"],
            header_pattern=HEADER,
            header_reason="column names may only contain letters, numbers and underscores (_), with no spaces",
            first_column_pattern=PHONE,
            first_column_reason="the first column must be the phone number with its international code and no '+' (8 to 15 digits)",
        )

    # -- buckets -------------------------------------------------------------------------
    @property
    def campaigns(self) -> dict[str, Campaign]:
        return self.store.bucket("jelou.campaigns")

    def _by_bot(self, bot_id: str) -> tuple[list[float], list[str]]:
        """Per bot, creation timestamps and ids in creation order (the clock never goes back)."""
        return self.store.bucket("jelou.by_bot").setdefault(bot_id, ([], []))

    # -- auth and lookups ----------------------------------------------------------------
    def authenticate(self, header: str | None) -> dict:
        """The client (with its company) for a Basic header; raise 401 otherwise."""
        credentials = parse_basic(header)
        if credentials is None:
            raise Unauthorized()
        client_id, secret = credentials
        client = find_match(self.settings["clients"],
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

    def campaign_for(self, client: dict, campaign_id: str) -> Campaign:
        campaign = self.campaigns.get(campaign_id)
        if campaign is None or campaign.company["id"] != client["company_id"]:
            raise NotFound(f"Campaign {campaign_id} not found", 404)
        return campaign

    # -- POST /v1/hsm/file ---------------------------------------------------------------
    def send_bulk(self, client: dict, data: dict[str, Any], upload: tuple[bytes, str] | None,
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
        content, name = upload if upload is not None else (self._download(fields["fileUrl"]), shown_url)
        rows = self._read(content, name)
        param_indexes = self._param_columns(fields["params"], rows.header)
        return self._create(client, bot, template, fields, rows, param_indexes, name, shown_url)

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
            return fetch(url, timeout=float(self.settings["file_url_timeout"]),
                         max_bytes=int(self.settings["file_url_max_bytes"]), policy=self.policy,
                         max_redirects=int(self.settings["file_url_max_redirects"]))
        except FetchError as exc:
            raise JelouError(f"The file could not be downloaded from fileUrl: {exc}", 400) from None

    def _read(self, content: bytes, name: str):
        path = name.split("?", 1)[0].split("#", 1)[0]
        if not path.lower().endswith(".csv"):
            raise ValidationFailed.single(
                "file", f"Only files with the .csv extension are supported (got '{path.rsplit('/', 1)[-1] or name}').",
                "Solo se admiten archivos con extensión .csv.")
        try:
            return read_csv(content, self.rules)
        except CsvRejected as exc:
            raise ValidationFailed.from_csv("file", exc.issues, exc.total) from None

    def _param_columns(self, params: list[dict], header: list[str]) -> list[int]:
        missing = [item["column"] for item in params if item["column"] not in header]
        if missing:
            raise ValidationFailed.single(
                "params", f"Column(s) {', '.join(missing)} are not in the CSV header ({', '.join(header)}).",
                f"Las columnas {', '.join(missing)} no están en el encabezado del CSV.")
        return [header.index(item["column"]) for item in params]

    def _create(self, client, bot, template, fields, rows, param_indexes, name, file_url) -> Campaign:
        now = self.state.clock.now()
        scheduled = fields.get("scheduledAt") or fields.get("date")
        campaign_id = self.store.new_uuid()
        outcomes = build_outcomes(len(rows), self.state.rng("jelou", campaign_id),
                                  float(self.state.settings["delivery"]["read_share"]),
                                  rows.first_cells_starting(RESERVED_PREFIX), rows.invalid)
        campaign = Campaign(
            id=campaign_id, seq=self.store.next_number("jelou.campaign"), name=fields["campaignName"],
            element_name=fields["elementName"], bot=bot, company=self.companies.get(client["company_id"], {"id": client["company_id"]}),
            template=template, type=template.get("type", fields["type"]) if fields["type"] == "text" else fields["type"],
            params=sorted(fields["params"], key=lambda item: item["param"]), param_indexes=[],
            media_url=fields.get("mediaUrl"), button_payloads=fields.get("buttonPayloads"), actions=fields.get("actions"),
            file_name=name.split("?", 1)[0].rsplit("/", 1)[-1], storage_url=file_url, rows=rows, outcomes=outcomes,
            rate=float(bot.get("sending_rate") or self.settings["sending_rate"]),
            created_at=now, scheduled_at=scheduled, updated_at=now,
            due_at=max(now.timestamp(), scheduled.timestamp() if scheduled else 0.0),
        )
        campaign.settle_failures(self.state.timelines)
        order = {item["param"]: index for item, index in zip(fields["params"], param_indexes)}
        campaign.param_indexes = [order[item["param"]] for item in campaign.params]
        with self.store.lock:
            self.campaigns[campaign.id] = campaign
            stamps, ids = self._by_bot(bot["id"])
            stamps.append(now.timestamp())
            ids.append(campaign.id)
            self._enqueue(campaign)
            self.settle(now)
            self.store.notify()
        return campaign

    # -- the sending queue ---------------------------------------------------------------
    def _enqueue(self, campaign: Campaign) -> None:
        heap = self.store.bucket("jelou.queue").setdefault("heap", [])
        heapq.heappush(heap, (campaign.due_at, campaign.seq, campaign.id))

    def settle(self, now: datetime) -> None:
        """Start every campaign whose time has come, in order of due time, one bot at a time."""
        moment = now.timestamp()
        with self.store.lock:
            heap = self.store.bucket("jelou.queue").setdefault("heap", [])
            lanes = self.store.bucket("jelou.lanes")
            delay = float(self.settings["start_delay"])
            while heap and heap[0][0] <= moment:
                due_at, _, campaign_id = heapq.heappop(heap)
                campaign = self.campaigns.get(campaign_id)
                if campaign is None or campaign.cancelled or campaign.started_at is not None or campaign.due_at != due_at:
                    continue
                bot_id = campaign.bot["id"]
                campaign.started_at = max(due_at + delay, lanes.get(bot_id, -math.inf))
                lanes[bot_id] = campaign.started_at + campaign.total / campaign.rate

    # -- campaigns -------------------------------------------------------------------------
    def list_campaigns(self, client: dict, query: dict) -> tuple[list[Campaign], int]:
        """Campaigns of a bot created in [startAt, endAt], newest first, one page."""
        bot = self.bot_for(client, query["botId"])
        stamps, ids = self._by_bot(bot["id"])
        low = bisect.bisect_left(stamps, query["startAt"].timestamp())
        high = bisect.bisect_right(stamps, query["endAt"].timestamp())
        page, limit = query["page"], query["limit"]
        now = self.state.clock.now().timestamp()
        filtered = "elementName" in query or "status" in query or "name" in query
        if not filtered:
            total = max(0, high - low)
            top = high - (page - 1) * limit
            chosen = ids[max(low, top - limit):max(low, top)][::-1]
            return [self.campaigns[i] for i in chosen], total
        matches = [c for c in (self.campaigns[i] for i in reversed(ids[low:high])) if _matches(c, query, now)]
        start = (page - 1) * limit
        return matches[start:start + limit], len(matches)

    def update_campaign(self, client: dict, campaign_id: str, changes: dict) -> Campaign:
        """Cancel (``status=CANCELLED``) or reschedule (``scheduledAt``) a campaign not yet sending."""
        campaign = self.campaign_for(client, campaign_id)
        now = self.state.clock.now()
        with self.store.lock:
            status = campaign.status(now.timestamp())
            if status not in ("SCHEDULED", "CANCELLED"):
                raise ValidationFailed.single(
                    "status", f"Only SCHEDULED or CANCELLED campaigns can be changed; this one is {status}.",
                    f"Solo se pueden modificar campañas SCHEDULED o CANCELLED; esta está en {status}.")
            if changes.get("status") == "CANCELLED" and "scheduledAt" not in changes:
                campaign.cancelled = True
            else:
                scheduled = changes.get("scheduledAt", campaign.scheduled_at)
                campaign.cancelled = False
                campaign.scheduled_at = scheduled
                campaign.due_at = max(now.timestamp(), scheduled.timestamp() if scheduled else 0.0)
                self._enqueue(campaign)
            campaign.updated_at = now
            self.settle(now)
            self.store.notify()
        return campaign

    def render(self, campaign: Campaign) -> dict:
        shape = self.settings["campaigns_shape"]
        now = self.state.clock.now().timestamp()
        if shape == "legacy":
            return campaign.to_legacy(self.state.timelines, now)
        return campaign.to_current(self.state.timelines, now)


def _matches(campaign: Campaign, query: dict, now: float) -> bool:
    if "elementName" in query and campaign.element_name != query["elementName"]:
        return False
    if "status" in query and campaign.status(now) != query["status"]:
        return False
    return not ("name" in query and query["name"].lower() not in campaign.name.lower())

