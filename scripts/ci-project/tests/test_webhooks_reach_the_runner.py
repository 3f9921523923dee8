"""A team's project, as CI runs it (scripts/container-smoke): it has its own top-level ``harness``,
``mock_server`` and ``loadtests`` packages, uses the mock at ``MOCK_BASE_URL`` (a container) and
gets the mock's webhooks on this runner's ``webhook_receiver``."""
import os

import requests

import harness
import loadtests
import mock_server as my_mock_server
from bulk_messaging_mock import IndigitallClient, JelouClient, MockControl

LAYOUT = {"contactCode": "{{contactCode}}", "channelType": "cloud_api", "sendType": "proactive",
          "content": {"body": "Hi {{name}}!"}}


def test_my_own_packages_and_the_public_api(mock_server):
    assert harness.WHOSE == loadtests.WHOSE == my_mock_server.WHOSE == "mine"
    assert isinstance(mock_server.jelou, JelouClient) and isinstance(mock_server.control, MockControl)
    assert mock_server.app is None                        # the mock at MOCK_BASE_URL, not one of this process
    assert mock_server.service_url == os.environ["MOCK_BASE_URL"].rstrip("/")
    assert mock_server.control.health() == {"status": "ok"}


def test_the_mock_delivers_webhooks_to_this_runner(mock_server, mock_clock, webhook_receiver):
    mock_clock.freeze()
    subscription = requests.post(f"{mock_server.base_url}/_mock/webhooks", timeout=10, json={
        "provider": "indigitall", "applicationId": 200, "url": webhook_receiver.url, "events": ["sent"]})
    assert subscription.status_code == 201, subscription.text
    with IndigitallClient(mock_server.base_url, mock_server.indigitall_server_key,
                          path_prefix=mock_server.indigitall_path_prefix) as indigitall:
        task = indigitall.send_csv(200, b"contactCode,name\n34600000001,Ana\n", LAYOUT)
    mock_clock.advance("PT1M")
    webhook_receiver.wait_for(1, timeout=60)
    [event] = webhook_receiver.accepted()
    assert event.event == "sent" and event.recipient == "34600000001", event.data
    assert task["taskId"] >= 1
