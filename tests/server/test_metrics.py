"""``GET /_mock/metrics`` (CONTRACT §17): Prometheus text, counters that move, no sandbox label by
default, and with ``--workers N`` one scrape sums the processes (real processes on a private Redis)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from support.jelou import JELOU, ORDER_PARAMS, order_csv, send_form
from loadtests.redisserver import free_port

ROOT = Path(__file__).resolve().parents[2]
UPLOAD = {"provider": "jelou", "route": "/v1/hsm/file", "method": "POST", "status": "200"}


def samples(text: str) -> list:
    """Every sample of the exposition, parsed by prometheus_client's own parser."""
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def value(found: list, name: str, **labels) -> float:
    """The sum of ``name``'s samples whose labels include ``labels`` (0 when none)."""
    return sum(s.value for s in found if s.name == name and labels.items() <= s.labels.items())


def scrape(client) -> list:
    response = client.get("/_mock/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return samples(response.get_data(as_text=True))


def test_the_exposition_parses_and_every_name_is_prefixed(client):
    found = scrape(client)
    assert found and all(s.name.startswith("bulkmock_") for s in found)
    names = {s.name for s in found}
    assert {"bulkmock_webhook_delivery_delay_seconds_count", "bulkmock_store_operation_duration_seconds_count"} <= names


def test_counters_move_with_requests(client):
    before = scrape(client)
    assert send_form(client, order_csv(7)).status_code == 200
    assert send_form(client, order_csv(5)).status_code == 200
    assert client.get("/v1/campaigns/no-such-campaign", headers=JELOU).status_code == 404
    after = scrape(client)
    assert value(after, "bulkmock_requests_total", **UPLOAD) - value(before, "bulkmock_requests_total", **UPLOAD) == 2
    assert value(after, "bulkmock_request_duration_seconds_count", provider="jelou", route="/v1/hsm/file") == 2
    assert value(after, "bulkmock_messages_accepted_total", provider="jelou") == 12
    assert value(after, "bulkmock_requests_total", route="/v1/campaigns/<campaign_id>", status="404") == 1
    assert value(after, "bulkmock_requests_total", provider="mock", route="/_mock/metrics", status="200") == 1
    assert value(after, "bulkmock_store_operation_duration_seconds_count", operation="create") >= 2


def test_fault_rules_fired_are_counted(client):
    rule = {"match": {"provider": "jelou", "method": "POST", "path": "/v1/hsm/file"}, "action": {"status": 503}}
    assert client.post("/_mock/faults", json=rule).status_code == 201
    assert send_form(client).status_code == 503
    found = scrape(client)
    assert value(found, "bulkmock_fault_rules_fired_total", provider="jelou") == 1
    assert value(found, "bulkmock_requests_total", provider="jelou", route="/v1/hsm/file", status="503") == 1
    assert value(found, "bulkmock_messages_accepted_total") == 0            # a faulted send stores nothing


def test_no_sandbox_label_by_default(client):
    assert send_form(client, headers={**JELOU, "X-Mock-Sandbox": "team-a"}).status_code == 200
    found = scrape(client)
    assert value(found, "bulkmock_requests_total", **UPLOAD) == 1
    assert not any("sandbox" in s.labels for s in found)


@pytest.mark.parametrize("app_config", [{"metrics": {"sandbox_label": True}}])
def test_sandbox_label_when_asked(client):
    assert send_form(client, headers={**JELOU, "X-Mock-Sandbox": "team-a"}).status_code == 200
    found = scrape(client)
    assert value(found, "bulkmock_requests_total", sandbox="team-a", **UPLOAD) == 1
    assert value(found, "bulkmock_messages_accepted_total", sandbox="team-a") == 3


def test_sandbox_label_setting_is_checked():
    from mock_server import create_app
    from mock_server.settings import SettingsError

    with pytest.raises(SettingsError, match="metrics.sandbox_label"):
        create_app({"metrics": {"sandbox_label": "yes please"}})


# one of each fate that reserved recipients pick (README): 2 fail at send, 2 reach the channel only,
# 2 are never read, 2 read, 2 reply, 1 fails after the channel
FATES = [f"999{code}{n:06d}" for code in ("01", "02", "03", "04", "05") for n in (1, 2)] + ["99907000001"]
AT_2_5_S = {"CREATED": 11, "FAILED": 2, "DELIVERED_CHANNEL": 9}
AT_1_H = {"CREATED": 11, "FAILED": 3, "DELIVERED_CHANNEL": 9, "DELIVERED_USER": 6, "READ": 4, "REPLY": 2}


def transitions(found: list, provider: str, **labels) -> dict[str, float]:
    """``bulkmock_message_transitions_total`` of ``provider`` by status (zeros left out)."""
    out: dict[str, float] = {}
    for s in found:
        if s.name == "bulkmock_message_transitions_total" and s.labels["provider"] == provider \
                and labels.items() <= s.labels.items() and s.value:
            out[s.labels["status"]] = out.get(s.labels["status"], 0) + s.value
    return out


def test_message_transitions_count_the_statuses_messages_entered_by_the_clock(client):
    assert transitions(scrape(client), "jelou") == {}
    assert send_form(client, order_csv(phones=FATES)).status_code == 200     # sends from T0 + 1 s at 100/s
    assert transitions(scrape(client), "jelou") == {"CREATED": 11}
    client.post("/_mock/clock", json={"advance": "PT2.5S"})
    assert transitions(scrape(client), "jelou") == AT_2_5_S
    client.post("/_mock/clock", json={"advance": "PT1H"})
    assert transitions(scrape(client), "jelou") == AT_1_H
    assert transitions(scrape(client), "jelou") == AT_1_H                   # final: kept, the same
    # another sandbox adds its own; a reset takes its part away (Prometheus: a counter reset)
    other = {**JELOU, "X-Mock-Sandbox": "other"}
    assert send_form(client, order_csv(phones=FATES), headers=other).status_code == 200
    assert transitions(scrape(client), "jelou") == {**AT_1_H, "CREATED": 22}
    assert client.post("/_mock/reset", headers={"X-Mock-Sandbox": "other"}).status_code == 200
    assert transitions(scrape(client), "jelou") == AT_1_H
    # a sandbox whose batches were all final is read again once it changes
    assert send_form(client, order_csv(phones=FATES)).status_code == 200
    assert transitions(scrape(client), "jelou") == {**AT_1_H, "CREATED": 22}


def test_message_transitions_of_indigitall_tasks_agree_with_their_counts_and_never_go_down(client):
    from support.profiles import phones, send_indigitall

    task = send_indigitall(client, phones(300))                 # 100 per second from T0
    key = {"Authorization": "ServerKey demo-server-key"}
    seen: list[dict] = []
    for advance in ("PT0.5S", "PT1S", "PT20S", "PT1M"):
        client.post("/_mock/clock", json={"advance": advance})
        seen.append(transitions(scrape(client), "indigitall"))
    assert client.delete(f"/v2/chat/application/200/task/{task}", headers=key).status_code == 409   # finished
    counts = client.get(f"/v2/chat/application/200/task/{task}", headers=key).json["data"]["messages"]
    assert seen[-1] == {"queued": 300, "sent": 300, "delivered": 300, "read": counts["read"]} and counts["read"]
    for earlier, later in zip(seen, seen[1:]):
        assert all(later.get(status, 0) >= number for status, number in earlier.items())
    assert seen[0] == {"queued": 300, "sent": 51}                # sent at T0, T0 + 0.01 s ... T0 + 0.5 s
    # a canceled task: its unsent messages enter canceled
    second = send_indigitall(client, phones(300, first=1000))
    client.post("/_mock/clock", json={"advance": "PT1S"})
    assert client.delete(f"/v2/chat/application/200/task/{second}", headers=key).status_code == 200
    client.post("/_mock/clock", json={"advance": "PT1H"})
    found = transitions(scrape(client), "indigitall")
    assert found["queued"] == 600 and found["canceled"] == 199 and found["sent"] == 401


def test_a_sandbox_dropped_during_a_scrape_stays_dropped(client, monkeypatch):
    """The scrape lists the sandboxes, then reads each one's batches: one dropped in between is read
    as empty and is not created again by the reading."""
    assert send_form(client, order_csv(phones=FATES), headers={**JELOU, "X-Mock-Sandbox": "gone"}).status_code == 200
    store = client.application.extensions["mock"].store
    listing = store.sandboxes

    def listed_then_dropped():
        found = listing()
        assert store.drop("gone") is True
        return found
    monkeypatch.setattr(store, "sandboxes", listed_then_dropped)
    assert transitions(scrape(client), "jelou") == {}
    monkeypatch.setattr(store, "sandboxes", listing)
    assert "gone" not in [info.name for info in store.sandboxes()]
    assert transitions(scrape(client), "jelou") == {}


@pytest.mark.parametrize("app_config", [{"metrics": {"sandbox_label": True}}])
def test_message_transitions_by_sandbox_when_asked(client):
    assert send_form(client, order_csv(phones=FATES), headers={**JELOU, "X-Mock-Sandbox": "team-a"}).status_code == 200
    client.post("/_mock/clock", json={"advance": "PT1H"}, headers={"X-Mock-Sandbox": "team-a"})
    assert transitions(scrape(client), "jelou", sandbox="team-a") == AT_1_H


def _per_worker(directory: Path, route: str) -> list[float]:
    """``bulkmock_requests_total`` for ``route`` in each worker's own metric file."""
    counts = []
    for path in directory.glob("counter_*.db"):
        alone = directory.parent / f"alone-{path.stem}"
        alone.mkdir(exist_ok=True)
        shutil.copy(path, alone / path.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        counts.append(sum(s.value for metric in registry.collect() for s in metric.samples
                          if s.name == "bulkmock_requests_total" and s.labels.get("route") == route))
        shutil.rmtree(alone)
    return counts


@pytest.mark.slow
def test_with_workers_one_scrape_sums_the_processes(redis_url, tmp_path):
    """Two granian workers on one Redis: whichever answers the scrape, it counts both workers' requests,
    and the temporary directory of their metric files is removed when the server stops."""
    port, log = free_port(), tmp_path / "server.log"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "mock_server", "--port", str(port), "--quiet", "--workers", "2",
                                   "--store", redis_url], cwd=ROOT, stdout=out, stderr=out,
                                  env={**os.environ, "TMPDIR": str(scratch)})
    base = f"http://127.0.0.1:{port}"
    sent = 0
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/_mock/health", timeout=2).status_code == 200:
                    sent += 1
                    break
            except requests.ConnectionError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        directory = next(scratch.glob("bulkmock-metrics-*"))
        lock = threading.Lock()

        def hit(count: int) -> None:
            nonlocal sent
            for _ in range(count):      # a new connection each time: the kernel spreads them over the workers
                assert requests.get(f"{base}/_mock/health", timeout=10).status_code == 200
                with lock:
                    sent += 1

        while True:                    # until both workers have answered some (they share one socket)
            threads = [threading.Thread(target=hit, args=(10,)) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            shares = _per_worker(directory, "/_mock/health")
            if len(shares) == 2 and min(shares) > 0:
                break
            assert time.monotonic() < deadline, f"one worker answered everything: {shares}"
        for _ in range(6):             # several scrapes, answered by either worker: each shows the sum
            text = requests.get(f"{base}/_mock/metrics", timeout=10).text
            assert value(samples(text), "bulkmock_requests_total", route="/_mock/health", status="200") == sent
        # derived from the shared store: each scrape gives one process's view, never the sum
        form = {"campaignName": "w", "elementName": "order_confirmation", "botId": "demo-bot",
                "params": json.dumps(ORDER_PARAMS)}
        assert requests.post(f"{base}/v1/hsm/file", headers=JELOU, data=form, timeout=30,
                             files={"file": ("r.csv", order_csv(phones=FATES))}).status_code == 200
        assert requests.post(f"{base}/_mock/clock", json={"advance": "PT1H"}, timeout=10).status_code == 200
        for _ in range(6):
            text = requests.get(f"{base}/_mock/metrics", timeout=10).text
            assert transitions(samples(text), "jelou") == AT_1_H
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert server.returncode == 0, log.read_text()[-3000:]
    assert not list(scratch.glob("bulkmock-metrics-*")), "the metrics directory was left behind"
