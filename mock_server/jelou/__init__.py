"""Jelou "Send Bulk HSM" and its campaign and notification endpoints."""

from __future__ import annotations

from flask import Request
from marshmallow import fields

from ..auth import parse_basic
from ..providers import Provider, RecordLink
from . import openapi, schemas, settings, ui, webhooks
from .backend import JelouBackend
from .campaigns import CAMPAIGNS, Campaign, Lane
from .errors import http_error
from .routes import bot_of_request, bp


class Jelou(Provider):
    name = "jelou"
    title = "Jelou"
    blueprint = bp
    record_kinds = {CAMPAIGNS.kind: "campaigns"}
    backend_class = JelouBackend
    error_for_status = staticmethod(http_error)
    settings_type = settings.JelouSettings
    openapi = openapi
    openapi_summary = "Jelou Send Bulk HSM"
    openapi_field_types = ((schemas.IsoDateTime, "string", "date-time"), (schemas.DateOrDateTime, "string", None),
                           (schemas.FlowId, ["integer", "string"], None))
    record_phrase = "a Jelou campaign id"
    journal_record = ("campaignId", fields.String)
    rate_limit_subjects = {"bot": bot_of_request}
    webhooks = webhooks.SPEC
    stored_types = ((Campaign, "jelou.campaign"), (Lane, "jelou.lane"))
    ui_blueprint = ui.bp
    ui_nav = (("Jelou campaigns", "jelou_ui.campaigns_page"),)
    ui_overview_template = "jelou/overview_card.html"
    ui_record = RecordLink(arg="campaign", noun="campaign", endpoint="jelou_ui.campaign_page", id_arg="campaign_id")
    ui_example = ("POST", "/v1/hsm/file")
    ui_webhook_ways = (("Jelou's", "POST /v1/bots/{botId}/events/webhook"), ("the settings'", "notification_urls"))

    def path_prefixes(self, settings):
        return ("/v1",)

    def credential(self, request: Request) -> str | None:
        """The clientId of ``Authorization: Basic base64(clientId:clientSecret)``."""
        basic = parse_basic(request.headers.get("Authorization"))
        return basic[0] if basic is not None else None

    def ui_overview(self, state, sb):
        return ui.overview(state, sb)

    def ui_search(self, state, sb, text, limit):
        return ui.search(state, sb, text, limit)

    def banner_lines(self, config):
        section = config.jelou
        lines = ["Jelou (Authorization: Basic base64(clientId:clientSecret)):"]
        for client in section.clients:
            lines.append(f"  clientId {client['client_id']}  clientSecret {client['client_secret']}  company {client['company_id']}")
        lines.append("  bots: " + ", ".join(bot["id"] for bot in section.bots))
        return lines


PROVIDER = Jelou()

__all__ = ["PROVIDER"]
