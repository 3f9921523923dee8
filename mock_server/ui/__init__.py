"""The inspection web UI at ``/_mock/ui/`` (CONTRACT §11): server-rendered pages plus cheap JSON
endpoints the pages poll (``/_mock/ui/api/...``). No CDN, no build step: templates, one CSS file
and one small script ship in this package. ``/`` redirects here.

Pages: overview (clock controls, counts), Jelou campaigns, one campaign's recipients, indigitall
tasks, one task with its application's slot ledger. Data access lives in ``data.py`` only.
A provider adds its own pages with ``Provider.ui_blueprint`` (rendered in the same frame by
:func:`render_page`) and links them in the nav with ``Provider.ui_nav``.
"""

from __future__ import annotations

from flask import Flask, redirect, url_for

from .views import bp, render_page


def init_app(app: Flask, providers=()) -> None:
    app.register_blueprint(bp)
    for provider in providers:
        if provider.ui_blueprint is not None:
            app.register_blueprint(provider.ui_blueprint)
    app.add_url_rule("/", "root", lambda: redirect(url_for("ui.overview"), code=302))


__all__ = ["init_app", "render_page"]
