"""Webhook delivery obeys the same host policy as fileUrl (CONTRACT §13): static check and connect-time check."""

from __future__ import annotations

from harness.server import BackgroundServer
from mock_server import create_app
from support.webhooks import advance, config, send_indigitall, subscribe, wait_deliveries


def serve_as_if_public(allow: list[str]) -> BackgroundServer:
    """The mock on loopback, with settings saying it listens on every address (policy on)."""
    return BackgroundServer(app=create_app(config({"max_attempts": 1}, server={"host": "0.0.0.0"},
                                                  net={"allow": allow})))


def test_a_loopback_receiver_is_refused_when_the_server_is_public(webhook_receiver):
    with serve_as_if_public([]) as server:
        server.app.extensions["mock"].webhooks.start()
        subscribe(server.base_url, provider="indigitall", applicationId=200, url=webhook_receiver.url, events=["sent"])
        send_indigitall(server.base_url, ["34600000001"])
        advance(server.base_url, "PT1M")
        dead = wait_deliveries(server.base_url, "dead", 1)["deliveries"]
        server.app.extensions["mock"].webhooks.stop()
    error = dead[0]["history"][0]["error"]
    assert error.startswith("refused by the host policy: 127.0.0.1 is a loopback address"), error
    assert webhook_receiver.events == []


def test_a_listed_receiver_is_reached_through_the_connect_time_check(webhook_receiver):
    with serve_as_if_public(["localhost"]) as server:
        dispatcher = server.app.extensions["mock"].webhooks
        assert dispatcher.lanes.connect is not None          # the policy connector, not http.client's own
        dispatcher.start()
        url = webhook_receiver.url.replace("127.0.0.1", "localhost")
        subscribe(server.base_url, provider="indigitall", applicationId=200, url=url, events=["sent"])
        send_indigitall(server.base_url, ["34600000001"])
        advance(server.base_url, "PT1M")
        webhook_receiver.wait_for(1)
        assert wait_deliveries(server.base_url, "delivered", 1)["total"] == 1
        dispatcher.stop()
    assert [event.recipient for event in webhook_receiver.events] == ["34600000001"]


def test_on_loopback_webhooks_keep_the_plain_connection():
    app = create_app(config())
    assert app.extensions["mock"].webhooks.lanes.connect is None
