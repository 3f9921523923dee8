"""Jelou's settings section (``jelou``): the demo tenant and the behaviour the docs leave open."""

from __future__ import annotations

from dataclasses import dataclass

from ..settings import (MB, Section, invalid_rows_setting, max_cell_chars_setting, max_rows_setting,
                        sending_rate_setting, setting)
from ..settings.model import data_file, number, one_of

demo = data_file(__package__, "demo.yaml")          # the demo tenant (CONTRACT §2)


@dataclass(frozen=True)
class JelouSettings(Section):
    invalid_rows: str = invalid_rows_setting("`skip`: rows with a bad phone/width become FAILED messages")
    max_rows: int = max_rows_setting()
    max_cell_chars: int = max_cell_chars_setting("characters in one CSV cell, header names included; a longer one "
                                                 "is a 422 naming line and column")
    campaigns_shape: str = setting("current", "`legacy`: the older `GET /v1/campaigns` shape (top-level `results`, "
                                              "`_id`)", check=one_of("current", "legacy"))
    file_url_timeout: float = setting(10.0, "`fileUrl` fetch bound; the timeout is total: connect, redirects, whole "
                                            "body", shown="10 s", check=number(0.1))
    file_url_max_redirects: int = setting(5, "redirects a `fileUrl` fetch follows", check=number(0, integer=True))
    file_url_max_bytes: int = setting(100 * MB, "`fileUrl` fetch bound: the body's size", shown="100 MB")
    sending_rate: float = sending_rate_setting("messages per second per bot (a bot may set its own `sending_rate`)")
    start_delay: float = setting(1.0, "how long a due campaign stays PENDING", shown="1 s")
    success_message: str = setting("The campaign has been created and will be sent shortly.", "the 200 body's text",
                                   shown='"The campaign has been created and will be sent shortly."')
    # the demo tenant (mock_server/jelou/demo.yaml); a config's list replaces the demo's whole
    companies: tuple[dict, ...] = setting(None, "tenant companies `{id, name}` (the list replaces the demo's)",
                                          factory=demo("companies"), shown="the demo tenant")
    clients: tuple[dict, ...] = setting(None, "API clients `{client_id, client_secret, company_id}` (the list "
                                              "replaces the demo's)", factory=demo("clients"), shown="the demo tenant")
    bots: tuple[dict, ...] = setting(None, "bots `{id, name, company_id}`, optional `sending_rate` (the list replaces "
                                           "the demo's)", factory=demo("bots"), shown="the demo tenant")
    templates: tuple[dict, ...] = setting(None, "templates `{bot_id, element_name, status, type, text, buttons}` (the "
                                                "list replaces the demo's)", factory=demo("templates"),
                                          shown="the demo tenant")

    table_notes = (("bots[].notification_urls", "none",
                    "per bot `[{url, events, auth, signing_secret}]` (see [webhooks](webhooks.md))"),)
