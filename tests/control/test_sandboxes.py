"""Sandboxes (CONTRACT §7): selection by header or prefix, isolation, listing, dropping, TTL, reset."""

from __future__ import annotations

import io
import json
import threading

import pytest

from support.jelou import JELOU, ORDER_PARAMS, advance, order_csv, send_form
from support.indigitall import KEY, contacts, send as send_task
from mock_server import create_app
from mock_server.settings import SettingsError

START = "2026-01-05T10:00:00Z"


class Wall:
    def __init__(self, now: float = 1_767_607_200.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def upload(client, path_prefix: str = "", headers: dict | None = None, rows: int = 3) -> str:
    """A Jelou upload in the sandbox named by ``path_prefix`` (``/sandboxes/NAME``) or ``headers``."""
    data = {"campaignName": "promo", "elementName": "order_confirmation", "botId": "demo-bot",
            "params": json.dumps(ORDER_PARAMS), "file": (io.BytesIO(order_csv(rows)), "r.csv")}
    response = client.post(f"{path_prefix}/v1/hsm/file", data=data, content_type="multipart/form-data",
                           headers={**JELOU, **(headers or {})})
    assert response.status_code == 200, response.json
    return response.headers["X-Mock-Campaign-Id"]


def test_header_and_prefix_select_the_same_sandbox(client):
    by_header = upload(client, headers={"X-Mock-Sandbox": "ci-1"})
    assert client.get(f"/sandboxes/ci-1/v1/campaigns/{by_header}", headers=JELOU).status_code == 200
    assert client.get(f"/v1/campaigns/{by_header}", headers={**JELOU, "X-Mock-Sandbox": "ci-1"}).status_code == 200
    assert client.get(f"/v1/campaigns/{by_header}", headers=JELOU).status_code == 404          # default sandbox
    assert client.get(f"/sandboxes/ci-2/v1/campaigns/{by_header}", headers=JELOU).status_code == 404
    both = client.get(f"/sandboxes/ci-1/v1/campaigns/{by_header}", headers={**JELOU, "X-Mock-Sandbox": "ci-1"})
    assert both.status_code == 200


def test_the_same_requests_give_the_same_ids_in_every_fresh_sandbox(client):
    first = [upload(client, "/sandboxes/a") for _ in range(3)]
    assert [upload(client, "/sandboxes/b") for _ in range(3)] == first
    assert [upload(client) for _ in range(3)] == first


def test_each_sandbox_has_its_own_clock(client):
    advance(client, "PT1H")
    assert client.get("/sandboxes/other/_mock/clock").json == {"now": START.replace("Z", ".000Z"), "frozen": True}
    moved = client.post("/_mock/clock", json={"advance": "P1D"}, headers={"X-Mock-Sandbox": "other"}).json
    assert moved["now"] == "2026-01-06T10:00:00.000Z"
    assert client.get("/_mock/clock").json["now"] == "2026-01-05T11:00:00.000Z"
    assert client.get("/_mock/clock", headers={"X-Mock-Sandbox": "other"}).json["now"] == "2026-01-06T10:00:00.000Z"


@pytest.mark.parametrize("path, envelope", [
    ("/sandboxes/bad name!/v1/campaigns", "jelou"),
    ("/sandboxes/" + "x" * 65 + "/v1/campaigns", "jelou"),
    ("/sandboxes/ok/v2/chat/application/100/task", "indigitall-conflict"),
    ("/sandboxes/%C3%A9/_mock/clock", "control"),
    ("/sandboxes//_mock/clock", "control"),
])
def test_bad_names_and_conflicts_are_400_in_the_owners_envelope(client, path, envelope):
    headers = {"X-Mock-Sandbox": "other"} if envelope == "indigitall-conflict" else {}
    response = client.get(path, headers=headers)
    assert response.status_code == 400, response.json
    body = response.json
    if envelope == "jelou":
        assert body["status"] == "failed" and "invalid sandbox name" in body["message"][0]
        assert "1 to 64 characters" in body["message"][0]
    elif envelope == "control":
        assert body["error"]["status"] == 400 and "invalid sandbox name" in body["error"]["message"]
    else:
        assert body["statusCode"] == 400
        assert "'ok'" in body["message"] and "'other'" in body["message"]


def test_a_bad_header_is_400_too(client):
    response = client.get("/_mock/clock", headers={"X-Mock-Sandbox": "a/b"})
    assert response.status_code == 400 and "X-Mock-Sandbox header" in response.json["error"]["message"]


def test_list_and_drop_sandboxes(client):
    upload(client, "/sandboxes/one")
    assert send_task(client, contacts(3), headers={**KEY, "X-Mock-Sandbox": "two"}).status_code == 201
    client.post("/_mock/clock", json={"advance": "PT1H"}, headers={"X-Mock-Sandbox": "two"})
    listed = client.get("/_mock/sandboxes").json
    assert listed["total"] == 2 and listed["idleTtl"] == "PT24H"
    by_name = {item["name"]: item for item in listed["sandboxes"]}
    assert by_name["one"]["records"] == {"campaigns": 1, "tasks": 0}
    assert by_name["one"]["clock"] == {"now": "2026-01-05T10:00:00.000Z", "frozen": True}
    assert by_name["two"]["clock"]["now"] == "2026-01-05T11:00:00.000Z"
    assert by_name["two"]["records"] == {"campaigns": 0, "tasks": 1}
    assert client.delete("/_mock/sandboxes/one").json == {"status": "ok", "dropped": "one"}
    assert [item["name"] for item in client.get("/_mock/sandboxes").json["sandboxes"]] == ["two"]
    missing = client.delete("/_mock/sandboxes/one")
    assert missing.status_code == 404 and "no sandbox named 'one'" in missing.json["error"]["message"]
    assert client.delete("/_mock/sandboxes/bad%20name").status_code == 400
    assert client.get("/_mock/health").status_code == 200
    assert "default" not in [item["name"] for item in client.get("/_mock/sandboxes").json["sandboxes"]]


def test_reset_touches_only_the_selected_sandbox_and_may_rewind_its_clock(client):
    kept = upload(client, "/sandboxes/keep")
    dropped = upload(client, "/sandboxes/wipe")
    client.post("/sandboxes/wipe/_mock/clock", json={"advance": "PT2H"})
    answer = client.post("/sandboxes/wipe/_mock/reset")
    assert answer.json == {"status": "ok", "sandbox": "wipe", "now": "2026-01-05T12:00:00.000Z"}
    assert client.get(f"/sandboxes/wipe/v1/campaigns/{dropped}", headers=JELOU).status_code == 404
    assert client.get(f"/sandboxes/keep/v1/campaigns/{kept}", headers=JELOU).status_code == 200
    rewound = client.post("/sandboxes/wipe/_mock/reset", json={"clock": True})
    assert rewound.json["now"] == "2026-01-05T10:00:00.000Z"
    assert client.get("/sandboxes/wipe/_mock/clock").json["now"] == "2026-01-05T10:00:00.000Z"
    assert client.post("/_mock/reset", json={"clock": "yes"}).status_code == 400
    assert client.post("/_mock/reset", json={"speed": 1}).status_code == 400
    assert client.post("/_mock/reset", data="[1]", content_type="application/json").status_code == 400


def test_idle_sandboxes_are_dropped_after_the_ttl():
    wall = Wall()
    app = create_app({"clock": {"start": START, "frozen": True}, "sandboxes": {"idle_ttl": "PT1H"}}, time_source=wall)
    client = app.test_client()
    upload(client, "/sandboxes/old")
    wall.now += 1800
    upload(client, "/sandboxes/young")
    wall.now += 1900                  # old: idle 62 min; young: 32 min
    names = [item["name"] for item in client.get("/_mock/sandboxes").json["sandboxes"]]
    assert names == ["young"]
    assert client.get("/sandboxes/old/_mock/messages").json["total"] == 0        # a fresh one


@pytest.mark.parametrize("ttl", ["P1M", "PT0S", "soon"])
def test_idle_ttl_must_be_a_fixed_positive_duration(ttl):
    with pytest.raises(SettingsError, match="sandboxes.idle_ttl"):
        create_app({"sandboxes": {"idle_ttl": ttl}})


def test_two_sandboxes_in_parallel_keep_their_own_clocks_and_records(app):
    client_errors: list[str] = []

    def work(name: str, hours: int) -> None:
        client = app.test_client()
        headers = {"X-Mock-Sandbox": name}
        ids = []
        for _ in range(5):
            response = send_form(client, order_csv(2), headers={**JELOU, **headers})
            if response.status_code != 200:
                client_errors.append(response.get_data(as_text=True))
                return
            ids.append(response.headers["X-Mock-Campaign-Id"])
            client.post("/_mock/clock", json={"advance": f"PT{hours}H"}, headers=headers)
        listed = client.get("/v1/campaigns?botId=demo-bot&startAt=2000-01-01&endAt=2100-01-01&limit=50",
                            headers={**JELOU, **headers}).json["data"]
        if [item["id"] for item in listed["results"]] != ids[::-1]:
            client_errors.append(f"{name}: {listed}")
        now = client.get("/_mock/clock", headers=headers).json["now"]
        if now != f"2026-01-{5 + (10 + 5 * hours) // 24:02d}T{(10 + 5 * hours) % 24:02d}:00:00.000Z":
            client_errors.append(f"{name}: clock {now}")

    threads = [threading.Thread(target=work, args=("left", 1)), threading.Thread(target=work, args=("right", 3))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert client_errors == []


# -- bounds and names (CONTRACT §18 "Bounds"; issue 18 items 5, 10, 12) ------------------------------

def test_sandboxes_max_count_is_a_429_in_the_envelope_of_the_api_called():
    app = create_app({"clock": {"start": START, "frozen": True}, "sandboxes": {"max_count": 2}})
    client = app.test_client()
    upload(client, "/sandboxes/one")
    assert client.get("/sandboxes/two/_mock/clock").status_code == 200
    control = client.post("/sandboxes/three/_mock/clock", json={"advance": "PT1H"})
    assert control.status_code == 429
    assert control.json["error"]["status"] == 429 and "sandboxes.max_count" in control.json["error"]["message"]
    assert "'three'" in control.json["error"]["message"]
    jelou = client.get("/v1/campaigns", headers={**JELOU, "X-Mock-Sandbox": "three"})
    assert jelou.status_code == 429 and jelou.json["status"] == "failed"
    assert "sandboxes.max_count" in jelou.json["message"][0]
    indigitall = send_task(client, contacts(3), headers={**KEY, "X-Mock-Sandbox": "three"})
    assert indigitall.status_code == 429 and indigitall.json["statusCode"] == 429
    assert "sandboxes.max_count" in indigitall.json["message"]
    assert "Retry-After" not in indigitall.headers            # waiting frees nothing
    assert [item["name"] for item in client.get("/_mock/sandboxes").json["sandboxes"]] == ["one", "two"]
    assert client.get("/sandboxes/one/_mock/clock").status_code == 200           # the existing ones still work
    client.delete("/_mock/sandboxes/two")
    assert client.get("/sandboxes/three/_mock/clock").status_code == 200         # a freed place is taken


def test_a_full_store_drops_its_idle_sandboxes_before_refusing():
    wall = Wall()
    app = create_app({"clock": {"start": START, "frozen": True}, "sandboxes": {"max_count": 2, "idle_ttl": "PT30S"}},
                     time_source=wall)
    client = app.test_client()
    upload(client, "/sandboxes/old")              # the once-a-minute sweep runs now, the next one in 60 s
    upload(client, "/sandboxes/recent")
    wall.now += 10
    assert client.get("/sandboxes/recent/_mock/clock").status_code == 200
    assert client.get("/sandboxes/new/_mock/clock").status_code == 429        # nothing idle yet
    wall.now += 25                                # old: idle 35 s, recent: 25 s; no sweep due
    assert client.get("/sandboxes/new/_mock/clock").status_code == 200
    assert [item["name"] for item in client.get("/_mock/sandboxes").json["sandboxes"]] == ["new", "recent"]


@pytest.mark.parametrize("value", [0, -1, "10", 2.5, True, 10_000_000])
def test_sandboxes_max_count_is_validated(value):
    with pytest.raises(SettingsError, match="sandboxes.max_count must be an integer between 1 and"):
        create_app({"sandboxes": {"max_count": value}})


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_names_are_refused_in_the_prefix_the_header_the_switcher_and_delete(client, name):
    for response in (client.get(f"/sandboxes/{name}/_mock/clock"),
                     client.get("/_mock/clock", headers={"X-Mock-Sandbox": name}),
                     client.get(f"/v1/campaigns", headers={**JELOU, "X-Mock-Sandbox": name})):
        assert response.status_code == 400, response.json
        message = json.dumps(response.json)
        assert f"invalid sandbox name '{name}'" in message and "not '.' or '..'" in message
    switched = client.get(f"/_mock/ui/sandbox?sandbox={name}")
    assert switched.status_code == 400 and "Location" not in switched.headers
    assert f"invalid sandbox name &#39;{name}&#39;" in switched.get_data(as_text=True)
    assert client.delete(f"/_mock/sandboxes/{name}").status_code == 400
    assert name not in [item["name"] for item in client.get("/_mock/sandboxes").json["sandboxes"]]


def test_a_non_ascii_name_is_quoted_as_sent(client):
    raw_utf8 = "ñ".encode().decode("latin-1")                  # how WSGI hands over the header's bytes
    header = client.get("/_mock/clock", headers={"X-Mock-Sandbox": raw_utf8})
    assert header.status_code == 400
    assert "invalid sandbox name 'ñ' in the X-Mock-Sandbox header" in header.json["error"]["message"]
    assert "Ã" not in header.json["error"]["message"]
    latin1 = client.get("/_mock/clock", headers={"X-Mock-Sandbox": "ñ"})          # a latin-1 byte: read as such
    assert "invalid sandbox name 'ñ'" in latin1.json["error"]["message"]
    prefix = client.get("/sandboxes/%C3%B1/_mock/clock")
    assert prefix.status_code == 400 and "invalid sandbox name 'ñ' in the path prefix" in prefix.json["error"]["message"]
