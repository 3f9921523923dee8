"""The in-process metrics cost (``loadtests/metricscost.py``): switching one app's metrics off must
really silence them (no counter moves, the store's operations untimed) and on must restore them."""

from __future__ import annotations

import re

from loadtests import bench, metricscost
from mock_server import create_app

HOST = {"HTTP_HOST": "localhost"}


def _count(app, name: str) -> float:
    text = app.extensions["mock"].metrics.exposition().decode()
    return sum(float(value) for value in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


def test_the_switch_silences_and_restores_one_apps_metrics():
    app = create_app({"store": {"url": "memory"}})
    switch, client = metricscost.Switch(app), app.test_client()
    body, headers = bench.upload(bench.jelou_csv(20))
    timed = sorted(switch.timed)
    assert {"touch", "create"} <= set(timed)           # the store's operations are timed when metrics are on

    def upload():
        assert client.post("/v1/hsm/file", data=body, headers=headers, environ_base=HOST).status_code == 200

    upload()
    counts = (_count(app, "bulkmock_requests_total"), _count(app, "bulkmock_store_operation_duration_seconds_count"),
              _count(app, "bulkmock_messages_accepted_total"))
    assert counts[0] == 1 and counts[1] > 0 and counts[2] == 20
    switch.off()
    switch.off()                                        # idempotent
    # (the store reads of the scrapes above, made for bulkmock_message_transitions_total while the
    # metrics were on, were timed: the baseline is read once they are off)
    silenced = tuple(_count(app, name) for name in ("bulkmock_requests_total",
                                                    "bulkmock_store_operation_duration_seconds_count",
                                                    "bulkmock_messages_accepted_total"))
    assert (silenced[0], silenced[2]) == (counts[0], counts[2])
    upload()
    assert (_count(app, "bulkmock_requests_total"), _count(app, "bulkmock_store_operation_duration_seconds_count"),
            _count(app, "bulkmock_messages_accepted_total")) == silenced
    assert not any(name in vars(app.extensions["mock"].store) for name in timed)
    switch.on()
    upload()
    assert _count(app, "bulkmock_requests_total") == 2 and _count(app, "bulkmock_messages_accepted_total") == 40
    assert _count(app, "bulkmock_store_operation_duration_seconds_count") > counts[1]


def test_measure_gives_both_costs_and_their_ratio():
    body, headers = bench.upload(bench.jelou_csv(20))
    overhead, with_cpu, without_cpu = metricscost.measure(body, headers, blocks=3, block=2)
    assert with_cpu > 0 and without_cpu > 0 and -1 < overhead < 10
