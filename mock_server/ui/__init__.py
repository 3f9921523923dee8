"""The inspection web UI at ``/_mock/ui/`` (CONTRACT §11): server-rendered pages plus cheap JSON
endpoints the pages poll (``/_mock/ui/api/...``). No CDN, no build step: templates, one CSS file
and one small script ship in this package. ``/`` redirects here.

Generic pages: overview (clock controls, counts), requests (the journal), fault rules, webhooks;
their reads live in ``data.py``, ``instruments.py`` and ``deliveries.py``. Each provider adds its own
pages with ``Provider.ui_blueprint`` (its views and templates in its package, rendered in the same
frame by :func:`render_page`), links them in the nav with ``Provider.ui_nav`` and fills the generic
pages through the other ``Provider.ui_*`` hooks.
"""

from __future__ import annotations

from flask import Flask, redirect, url_for

from .data import NotFound, clock, count_by, summary
from .views import bp, here, missing, page_arg, render_page, rows_arg


def init_app(app: Flask, providers=()) -> None:
    app.register_blueprint(bp)
    for provider in providers:
        if provider.ui_blueprint is not None:
            app.register_blueprint(provider.ui_blueprint)
    app.add_url_rule("/", "root", lambda: redirect(url_for("ui.overview"), code=302))


__all__ = ["NotFound", "clock", "count_by", "here", "init_app", "missing", "page_arg", "render_page", "rows_arg", "summary"]
