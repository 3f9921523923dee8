"""Jelou's settings section (``jelou``): the demo tenant and the behaviour the docs leave open."""

from __future__ import annotations

from typing import Any, Mapping

from ..settings import MB, SettingsError, check_batch_section, number

DEFAULTS: dict[str, Any] = {
    "invalid_rows": "reject",          # reject | skip (skip: bad-phone rows become FAILED messages)
    "max_rows": 1_000_000,
    "max_cell_chars": 131_072,         # longest CSV cell (header names too), in characters
    "campaigns_shape": "current",      # current (OpenAPI data.results) | legacy (top-level results, _id)
    "file_url_timeout": 10.0,          # total seconds for a fileUrl download: connect, redirects, whole body
    "file_url_max_redirects": 5,
    "file_url_max_bytes": 100 * MB,
    "sending_rate": 100.0,             # messages per second of mock time, per bot, unless the bot sets one
    "start_delay": 1.0,                # seconds a due campaign stays PENDING before IN_PROGRESS
    "success_message": "The campaign has been created and will be sent shortly.",
    "companies": [{"id": 1, "name": "Demo Company"}, {"id": 2, "name": "Other Company"}],
    "clients": [{"client_id": "demo-client-id", "client_secret": "demo-client-secret", "company_id": 1}],
    "bots": [
        {"id": "demo-bot", "name": "Demo Bot", "company_id": 1},
        {"id": "foreign-bot", "name": "Foreign Bot", "company_id": 2},
    ],
    "templates": [
        {"bot_id": "demo-bot", "element_name": "order_confirmation", "status": "APPROVED", "type": "text",
         "text": "Your order {{1}} for a total of {{2}} is confirmed. The expected delivery is {{3}}.",
         "buttons": 0},
        {"bot_id": "demo-bot", "element_name": "welcome_message", "status": "APPROVED", "type": "text",
         "text": "Welcome to Demo Company! Reply to this message to talk to us.", "buttons": 0},
        {"bot_id": "demo-bot", "element_name": "promo_image", "status": "APPROVED", "type": "image",
         "text": "Hi {{1}}, this offer is for you.", "buttons": 0},
        {"bot_id": "demo-bot", "element_name": "survey_quick_reply", "status": "APPROVED", "type": "text",
         "text": "Hi {{1}}, how was your last purchase?", "buttons": 2},
        {"bot_id": "demo-bot", "element_name": "draft_template", "status": "PENDING", "type": "text",
         "text": "Draft for {{1}}.", "buttons": 0},
    ],
}


def check(settings: Mapping[str, Any]) -> None:
    """Raise ``SettingsError`` naming ``jelou.<key>``."""
    check_batch_section("jelou", settings["jelou"])
    if settings["jelou"]["campaigns_shape"] not in ("current", "legacy"):
        raise SettingsError("jelou.campaigns_shape must be 'current' or 'legacy'")
    number(settings, "jelou", "file_url_timeout", minimum=0.1)
    number(settings, "jelou", "file_url_max_redirects", minimum=0, integer=True)
