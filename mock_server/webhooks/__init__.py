"""Delivery-status webhooks (CONTRACT §10): subscriptions, the dispatcher and ``/_mock/webhooks``."""

from __future__ import annotations

from flask import Flask

from ..fetch import check_url, policy_connector
from ..netpolicy import HostPolicy
from ..settings import SettingsError
from .dispatcher import Dispatcher
from .routes import bp


def init_app(app: Flask, state) -> Dispatcher:
    """Build the app's dispatcher (not started) and mount ``/_mock/webhooks``."""
    policy = HostPolicy.from_settings(state.settings)           # CONTRACT §13, as for fileUrl
    # listening on loopback only the policy allows everything: the sender's loop connects itself
    connect = None if policy.open else policy_connector(policy, float(state.settings.webhooks.timeout))
    try:
        dispatcher = Dispatcher(state, policy=lambda url: check_url(url) or policy.check(url), connect=connect)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    app.register_blueprint(bp)
    return dispatcher


__all__ = ["Dispatcher", "init_app"]
