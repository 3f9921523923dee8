"""A 1,000,000-recipient campaign advanced by a day: events are derived as they are delivered,
never all at once, so memory stays flat (the throughput figure is in loadtests/webhook_bench.py)."""

from __future__ import annotations

import io
import os
import time

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from harness.webhooks import WebhookReceiver
from mock_server import create_app

ROWS = 1_000_000
EVENTS = 30_000
WARM = 12_000        # by then the delivered records have reached their cap (webhooks.max_records, 10,000)
MB = 1024 * 1024


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.slow
def test_million_recipients_advanced_a_day_deliver_with_flat_memory():
    data = "phone_number,name\n" + "".join(f"59390{i:07d},N{i}\n" for i in range(ROWS))
    with WebhookReceiver(keep=False) as receiver:
        app = create_app({"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True},
                          "webhooks": {"rate": 1_000_000}})
        client = app.test_client()
        assert client.post("/_mock/webhooks", json={"provider": "jelou", "botId": "demo-bot", "url": receiver.url,
                                                    "events": ["all"]}).status_code == 201
        boundary, body = encode_multipart({"campaignName": "big", "elementName": "welcome_message", "botId": "demo-bot",
                                           "params": "[]", "file": FileStorage(io.BytesIO(data.encode()), filename="big.csv")})
        del data
        answer = client.post("/v1/hsm/file", data=body, content_type=f"multipart/form-data; boundary={boundary}",
                             headers={"Authorization": "Basic ZGVtby1jbGllbnQtaWQ6ZGVtby1jbGllbnQtc2VjcmV0"})
        assert answer.status_code == 200, answer.json
        del body
        assert client.post("/_mock/clock", json={"advance": "P1D"}).status_code == 200
        state = app.extensions["mock"]
        dispatcher = state.webhooks
        start_rss, baseline, peak_rss, peak_live = _rss(), None, 0, 0
        with dispatcher:
            deadline = time.monotonic() + 180
            while receiver.total < EVENTS and time.monotonic() < deadline:
                time.sleep(0.1)
                if baseline is None and receiver.total >= WARM:
                    baseline = _rss()
                if baseline is not None:
                    peak_rss = max(peak_rss, _rss())
                peak_live = max(peak_live, dispatcher.deliveries.counts("default")["pending"])
        cursor = dispatcher.cursor("default")
        now = state.clock.now().timestamp()
    assert receiver.total >= EVENTS, receiver.stats()
    # Every message is due (about 2.5 million events), yet only a few windows were ever derived:
    # the cursor is still inside the campaign's first hours, and in-flight deliveries stay bounded.
    assert cursor < now - 12 * 3600
    window = state.settings.webhooks.window_events
    assert peak_live <= 5 * window
    # 2.5 million materialised events would take gigabytes. What grows at first is the CSV's row
    # index (built on first read), the bounded queue and the records kept up to their cap; after
    # that, delivering 18,000 more events adds (next to) nothing.
    assert peak_rss - start_rss < 120 * MB, f"RSS grew {(peak_rss - start_rss) / MB:.0f} MB in all"
    assert peak_rss - baseline < 12 * MB, f"RSS grew {(peak_rss - baseline) / MB:.0f} MB after the warm-up"
