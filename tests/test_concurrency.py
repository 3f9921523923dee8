"""Concurrency correctness against a live server, with real threads (issue 9).

Today's measured defects, each a property here: creation order and timestamps assigned together
(listing strictly newest first, every campaign found by a window of its own ``createdAt``), reset
never interleaving with a write (acknowledged after the last reset → found; before it → gone, never
half-kept), ids unique within a generation, and no 500 when inspection iterates while uploads land.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import datetime, timedelta

import pytest
import requests

from harness.server import BackgroundServer
from mock_server.isotime import parse_datetime

AUTH = {"Authorization": "Basic " + base64.b64encode(b"demo-client-id:demo-client-secret").decode()}
KEY = {"Authorization": "ServerKey demo-server-key"}
PARAMS = json.dumps([{"param": 1, "column": "order_id"}, {"param": 2, "column": "amount"},
                     {"param": 3, "column": "delivery"}])
CONFIG = {"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True}}


def csv(rows: int) -> bytes:
    lines = ["phone_number,order_id,amount,delivery"] + [f"5939{i:08d},A{i},1,Dec" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def upload(session: requests.Session, base: str, name: str, rows: int = 2) -> requests.Response:
    return session.post(f"{base}/v1/hsm/file", headers=AUTH, timeout=60,
                        data={"campaignName": name, "elementName": "order_confirmation", "botId": "demo-bot",
                              "params": PARAMS},
                        files={"file": ("r.csv", csv(rows))})


def listing(session: requests.Session, base: str, start: str = "2000-01-01", end: str = "2100-12-31") -> list[dict]:
    """Every campaign in [start, end], newest first, through the pages."""
    items, page = [], 1
    while True:
        answer = session.get(f"{base}/v1/campaigns", headers=AUTH, timeout=30,
                             params={"botId": "demo-bot", "startAt": start, "endAt": end, "limit": 50, "page": page})
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        items += data["results"]
        if page >= data["pagination"]["totalPages"]:
            return items
        page += 1


def window(session, base, around: datetime, millis: float = 1) -> tuple[list[dict], int]:
    low, high = around - timedelta(milliseconds=millis), around + timedelta(milliseconds=millis)
    answer = session.get(f"{base}/v1/campaigns", headers=AUTH, timeout=30,
                         params={"botId": "demo-bot", "startAt": _iso(low), "endAt": _iso(high), "limit": 50})
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    return data["results"], data["pagination"]["total"]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_windows(session, base, items: list[dict]) -> None:
    """Each campaign is in the window of its own createdAt ±1 ms, and every window holds only its own."""
    for item in items:
        created = parse_datetime(item["createdAt"])
        found, total = window(session, base, created)
        assert item["id"] in {other["id"] for other in found}, item
        for other in found:
            assert abs(parse_datetime(other["createdAt"]) - created) <= timedelta(milliseconds=1)
        assert total == sum(1 for other in items if abs(parse_datetime(other["createdAt"]) - created)
                            <= timedelta(milliseconds=1))


def assert_newest_first(items: list[dict]) -> None:
    stamps = [parse_datetime(item["createdAt"]) for item in items]
    assert all(a >= b for a, b in zip(stamps, stamps[1:])), "listing is not newest first"


@pytest.fixture
def live():
    with BackgroundServer(CONFIG) as server:
        yield server.base_url


@pytest.mark.slow
def test_uploads_clock_moves_and_resets_from_many_clients(live):
    clients, per_client = 8, 12
    resets: list[tuple[float, float]] = []            # (started, returned), monotonic
    acks: list[tuple[float, float, str, str]] = []    # (sent, answered, name, id)
    errors: list[str] = []
    done = threading.Event()
    lock = threading.Lock()

    def uploader(slot: int) -> None:
        with requests.Session() as session:
            for number in range(per_client):
                name = f"c{slot}-{number}"
                sent = time.monotonic()
                answer = upload(session, live, name, rows=1 + (number % 3) * 200)
                answered = time.monotonic()
                if answer.status_code != 200:
                    errors.append(f"{name}: {answer.status_code} {answer.text[:200]}")
                    continue
                with lock:
                    acks.append((sent, answered, name, answer.headers["X-Mock-Campaign-Id"]))

    def mover() -> None:
        with requests.Session() as session:
            count = 0
            while not done.is_set():
                count += 1
                if count % 5 == 0 and len(resets) < 4:
                    started = time.monotonic()
                    assert session.post(f"{live}/_mock/reset", timeout=30).status_code == 200
                    resets.append((started, time.monotonic()))
                else:
                    answer = session.post(f"{live}/_mock/clock", json={"advance": "PT0.0005S"}, timeout=30)
                    assert answer.status_code == 200
                time.sleep(0.01)

    threads = [threading.Thread(target=uploader, args=(slot,)) for slot in range(clients)]
    moving = threading.Thread(target=mover)
    moving.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    done.set()
    moving.join(timeout=60)
    assert not errors, errors[:5]
    assert len(resets) >= 2, "the clients finished before the resets: make them slower"

    with requests.Session() as session:
        items = listing(session, live)
        assert_newest_first(items)
        ids = [item["id"] for item in items]
        assert len(ids) == len(set(ids)), "duplicate ids"
        last_started, last_returned = resets[-1]
        found = {item["name"]: item["id"] for item in items}
        after = [(name, record) for sent, answered, name, record in acks if sent > last_returned]
        before = {name for sent, answered, name, record in acks if answered < last_started}
        assert after, "no upload after the last reset"
        for name, record in after:                       # acknowledged after the last reset: kept
            assert found.get(name) == record, name
        assert not before & set(found), "an upload answered before the last reset survived it"
        check_windows(session, live, items)


@pytest.mark.slow
def test_a_large_upload_in_flight_while_the_clock_moves(live):
    """The deterministic A/B case: A (large) in flight, clock + 1 h, B (small) uploaded."""
    answers: dict[str, requests.Response] = {}

    def send_a() -> None:
        with requests.Session() as session:
            answers["A"] = upload(session, live, "A", rows=200_000)

    thread = threading.Thread(target=send_a)
    thread.start()
    time.sleep(0.3)
    with requests.Session() as session:
        assert session.post(f"{live}/_mock/clock", json={"advance": "PT1H"}, timeout=30).status_code == 200
        answers["B"] = upload(session, live, "B")
        thread.join(timeout=120)
        assert answers["A"].status_code == 200 and answers["B"].status_code == 200
        items = listing(session, live)
        assert {item["name"] for item in items} == {"A", "B"}
        assert_newest_first(items)
        check_windows(session, live, items)
        by_name = {item["name"]: item for item in items}
        a_window, _ = window(session, live, parse_datetime(by_name["A"]["createdAt"]))
        b_window, _ = window(session, live, parse_datetime(by_name["B"]["createdAt"]))
        assert by_name["A"]["id"] in {item["id"] for item in a_window}
        assert by_name["B"]["id"] in {item["id"] for item in b_window}
        for item in a_window + b_window:            # a window holds only what was created in it
            assert item["name"] in ("A", "B")


@pytest.mark.slow
def test_inspection_while_uploads_land_never_fails(live):
    """``_inspected`` used to iterate the live task dict: an upload at the same moment raised a 500."""
    stop = threading.Event()
    statuses: list[int] = []

    def uploader(slot: int) -> None:
        with requests.Session() as session:
            for number in range(15):
                files = {"file": ("c.csv", b"contactCode,channelType,name\n34600000001,cloud_api,A\n")}
                layout = json.dumps({"channelType": "{{channelType}}", "contactCode": "{{contactCode}}",
                                     "sendType": "proactive", "content": {"type": "text", "body": "Hi {{name}}"}})
                answer = session.post(f"{live}/v2/chat/application/200/message/csv", headers=KEY, timeout=30,
                                      data={"layout": layout}, files=files)
                statuses.append(answer.status_code)
                statuses.append(upload(session, live, f"u{slot}-{number}").status_code)

    def reader() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                statuses.append(session.get(f"{live}/_mock/messages", timeout=30).status_code)
                statuses.append(session.get(f"{live}/v1/bots/demo-bot/notifications", headers=AUTH,
                                            timeout=30).status_code)
                statuses.append(session.post(f"{live}/_mock/clock", json={"advance": "PT1S"}, timeout=30).status_code)

    readers = [threading.Thread(target=reader) for _ in range(3)]
    writers = [threading.Thread(target=uploader, args=(slot,)) for slot in range(6)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join(timeout=120)
    stop.set()
    for thread in readers:
        thread.join(timeout=60)
    assert statuses and all(status < 400 for status in statuses), sorted(set(statuses))
    with requests.Session() as session:
        sent = session.get(f"{live}/_mock/messages", params={"provider": "indigitall"}, timeout=30).json()
        assert sent["total"] == 6 * 15
