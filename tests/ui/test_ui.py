"""The inspection UI without a browser: pages, polling endpoints, the clock form, search, paging, the ledger."""

from __future__ import annotations

import re
import time

import pytest
from support.jelou import JELOU, advance, send_form
from support.indigitall import cancel, contacts, create

from mock_server.csvfile import CsvRules, read_csv
from mock_server.jelou import ui as jelou_ui


def campaign_id(client, **fields) -> str:
    response = send_form(client, **fields)
    assert response.status_code == 200, response.json
    return response.headers["X-Mock-Campaign-Id"]


def test_root_redirects_to_the_ui(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/_mock/ui/"


@pytest.mark.parametrize("path", ["/_mock/ui/", "/_mock/ui/jelou", "/_mock/ui/indigitall", "/_mock/ui/requests", "/_mock/ui/faults"])
def test_pages_render_empty_with_a_hint(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "2026-01-05T10:00:00.000Z" in html
    assert "<option selected>default</option>" in html
    assert "http://" not in html and "https://" not in html        # offline: nothing from elsewhere


def test_overview_counts_follow_the_clock(client):
    campaign_id(client)
    create(client, contacts(3), application=200)
    before = client.get("/_mock/ui/api/overview").json
    assert before["jelou"]["records"] == {"PENDING": 1}
    assert before["indigitall"]["records"] == {"processing": 1}
    assert before["totals"] == {"campaigns": 1, "tasks": 1}
    advance(client, "PT1M")
    after = client.get("/_mock/ui/api/overview").json
    assert after["clock"] == {"now": "2026-01-05T10:01:00.000Z", "frozen": True}
    assert after["jelou"]["records"] == {"COMPLETED": 1}
    assert sum(after["jelou"]["messages"].values()) == 3
    assert after["indigitall"]["records"] == {"finished": 1}
    assert after["indigitall"]["messages"]["delivered"] + after["indigitall"]["messages"]["read"] == 3


def test_campaign_list_and_detail_json(client):
    first = campaign_id(client, campaignName="first")
    second = campaign_id(client, campaignName="second")
    advance(client, "PT1S")
    listed = client.get("/_mock/ui/api/jelou").json["campaigns"]
    assert [item["id"] for item in listed] == [second, first]
    assert listed[1]["status"] == "IN_PROGRESS" and listed[1]["sent"] == 1 and listed[1]["progress"] == 33.3
    detail = client.get(f"/_mock/ui/api/jelou/{first}").json["campaign"]
    assert detail["template"].startswith("Your order {{1}}")
    assert client.get("/_mock/ui/api/jelou/nope").status_code == 404


def test_recipients_are_paged_searchable_and_rendered(client):
    phones = [f"5939{index:08d}" for index in range(60)] + ["99901000001"]
    lines = ["phone_number,order_id,amount,delivery"] + [f"{p},A{i},${i},Dec {i}" for i, p in enumerate(phones)]
    found = campaign_id(client, csv=("\n".join(lines) + "\n").encode())
    advance(client, "PT1M")
    page = client.get(f"/_mock/ui/jelou/{found}?page=3").get_data(as_text=True)
    assert "page 3 of 3" in page and 'id="r51"' in page and 'id="r50"' not in page
    search = client.get(f"/_mock/ui/jelou/{found}?phone=+593-900000042").get_data(as_text=True)
    assert "1 recipient matching “593900000042”" in search
    assert "Your order A42 for a total of $42 is confirmed. The expected delivery is Dec 42." in search
    assert re.search(r"<span>delivered to user</span> <time>10:00:03", search)
    failed = client.get(f"/_mock/ui/jelou/{found}?phone=99901").get_data(as_text=True)
    assert "Invalid recipient" in failed and "FAILED" in failed
    none = client.get(f"/_mock/ui/jelou/{found}?phone=12345678&page=1").get_data(as_text=True)
    assert "No recipient matches." in none and "page 1 of 1" in none
    bad = client.get(f"/_mock/ui/jelou/{found}?phone=12345678&page=abc")      # a hand-edited URL: say what is wrong
    assert bad.status_code == 400 and "'page' must be between 1 and" in bad.json["error"]["message"]


def test_unknown_records_are_html_404s(client):
    for path in ("/_mock/ui/jelou/nope", "/_mock/ui/indigitall/12", "/_mock/ui/indigitall/abc"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.mimetype == "text/html" and "Not found" in response.get_data(as_text=True)
    assert client.get("/_mock/ui/api/indigitall/9").status_code == 404


def test_the_clock_form_advances_freezes_and_explains_errors(client):
    response = client.post("/_mock/ui/clock", data={"advance": "PT2H", "back": "/_mock/ui/jelou"})
    assert response.status_code == 303 and response.headers["Location"] == "/_mock/ui/jelou"
    assert client.get("/_mock/clock").json["now"] == "2026-01-05T12:00:00.000Z"
    response = client.post("/_mock/ui/clock", data={"frozen": "false", "back": "https://elsewhere.example/"})
    assert response.headers["Location"] == "/_mock/ui/"                  # never redirects off the UI
    assert client.get("/_mock/clock").json["frozen"] is False
    client.post("/_mock/ui/clock", data={"frozen": "true"})
    frozen_at = client.get("/_mock/clock").json
    assert frozen_at["frozen"] is True and frozen_at["now"] >= "2026-01-05T12:00:00.000Z"
    for bad in ("two hours", "PT0S"):
        response = client.post("/_mock/ui/clock", data={"advance": bad})
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert 'role="alert"' in html and "duration" in html.lower()
    assert client.get("/_mock/clock").json == frozen_at


def test_the_slot_ledger_shows_own_other_and_free_capacity(client):
    first = create(client, contacts(2500), application=100, delay="PT3H")
    second = create(client, contacts(2500), application=100, delay="PT3H")
    ledger = client.get(f"/_mock/ui/api/indigitall/{second['taskId']}").json["ledger"]
    assert ledger["capacity"] == 1000 and len(ledger["slots"]) == 48
    assert ledger["windowStart"] == "2026-01-05T13:00:00.000Z" and ledger["windowEnd"] == "2026-01-07T13:00:00.000Z"
    head = [(slot["used"], slot["own"], slot["free"]) for slot in ledger["slots"][:6]]
    assert head == [(1000, 0, 0), (1000, 0, 0), (1000, 500, 0), (1000, 1000, 0), (1000, 1000, 0), (0, 0, 1000)]
    page = client.get(f"/_mock/ui/indigitall/{second['taskId']}").get_data(as_text=True)
    assert page.count('class="slot mine"') == 3
    assert "2026-01-05T15:00:00.000Z–16:00: 1000 used (500 by this task), 0 free" in page
    assert cancel(client, first["taskId"]).status_code == 200            # capacity given back
    ledger = client.get(f"/_mock/ui/api/indigitall/{second['taskId']}").json["ledger"]
    assert [(slot["used"], slot["own"]) for slot in ledger["slots"][:3]] == [(0, 0), (0, 0), (500, 500)]
    canceled = client.get(f"/_mock/ui/indigitall/{first['taskId']}").get_data(as_text=True)
    assert "CANCELED_BY_REQUEST" in canceled and 'class="slot mine"' not in canceled


def test_a_task_that_is_not_sliced_draws_an_empty_ledger(client):
    task = create(client, contacts(3), application=200)
    ledger = client.get(f"/_mock/ui/api/indigitall/{task['taskId']}").json["ledger"]
    assert ledger["sliced"] is False and all(slot["used"] == 0 for slot in ledger["slots"])
    page = client.get(f"/_mock/ui/indigitall/{task['taskId']}").get_data(as_text=True)
    assert "not sliced" in page and "Hi there" in page


def test_static_assets_ship_in_the_package(client):
    for asset in ("ui.css", "ui.js"):
        response = client.get(f"/_mock/ui/static/{asset}")
        assert response.status_code == 200 and len(response.data) > 1000
        response.close()


def test_polling_reads_the_statuses_of_the_rows_on_screen(client):
    found = campaign_id(client)
    rows = client.get(f"/_mock/ui/api/jelou/{found}?rows=1,3,99").json["rows"]
    assert rows == {"1": "CREATED", "3": "CREATED"}                      # row 99 does not exist
    bad = client.get(f"/_mock/ui/api/jelou/{found}?rows=1,3,x")
    assert bad.status_code == 400 and "'rows' must be between 1 and" in bad.json["error"]["message"]
    advance(client, "PT1M")
    assert set(client.get(f"/_mock/ui/api/jelou/{found}?rows=1,2,3").json["rows"].values()) <= {"DELIVERED_USER", "READ"}
    page = client.get(f"/_mock/ui/jelou/{found}").get_data(as_text=True)
    assert "rows=1,2,3" in page and 'data-bind="rows.2"' in page
    task = create(client, contacts(3), application=200)
    assert client.get(f"/_mock/ui/api/indigitall/{task['taskId']}?rows=1,2").json["rows"] == {"1": "sent", "2": "queued"}


def test_each_sandbox_has_its_own_ui(client):
    campaign_id(client, campaignName="in-default")
    response = send_form(client, campaignName="in-ci", headers={**JELOU, "X-Mock-Sandbox": "ci-7"})
    assert response.status_code == 200
    default = client.get("/_mock/ui/jelou").get_data(as_text=True)
    other = client.get("/sandboxes/ci-7/_mock/ui/jelou").get_data(as_text=True)
    assert "in-default" in default and "in-ci" not in default
    assert "in-ci" in other and "in-default" not in other
    assert '<option selected>ci-7</option>' in other and "<option>default</option>" in other
    assert 'href="/sandboxes/ci-7/_mock/ui/jelou/' in other                      # links stay in the sandbox
    assert client.get("/sandboxes/ci-7/").headers["Location"] == "/sandboxes/ci-7/_mock/ui/"
    switched = client.get("/_mock/ui/sandbox?sandbox=ci-7")
    assert switched.status_code == 303 and switched.headers["Location"] == "/sandboxes/ci-7/_mock/ui/"
    assert client.get("/sandboxes/ci-7/_mock/ui/sandbox?sandbox=default").headers["Location"] == "/_mock/ui/"
    assert client.get("/_mock/ui/sandbox?sandbox=no%20spaces").status_code == 400
    moved = client.post("/sandboxes/ci-7/_mock/ui/clock", data={"advance": "PT1H", "back": "/sandboxes/ci-7/_mock/ui/jelou"})
    assert moved.headers["Location"] == "/sandboxes/ci-7/_mock/ui/jelou"
    assert client.get("/_mock/clock", headers={"X-Mock-Sandbox": "ci-7"}).json["now"] == "2026-01-05T11:00:00.000Z"
    assert client.get("/_mock/clock").json["now"] == "2026-01-05T10:00:00.000Z"


def test_phone_search_reads_the_raw_file_and_stops_at_its_cap(client, monkeypatch):
    rows = read_csv(b'phone,note\n593911111111,"two\n593922222222 lines"\n"593933333333",x\n593944444444,5939\n',
                    CsvRules(max_rows=10, invalid_rows="reject"))
    assert rows.find_in_first_cells("5939", 10) == [0, 1, 2]          # the quoted cell counts, the note does not
    assert rows.find_in_first_cells("22222", 10) == []                 # inside a multi-line cell
    assert rows.find_in_first_cells("5939", 2) == [0, 1]
    assert rows.find_in_first_cells("59,39", 10) == []
    phones = [f"5939{index:08d}" for index in range(30)]
    lines = ["phone_number,order_id,amount,delivery"] + [f"{p},A{i},${i},Dec {i}" for i, p in enumerate(phones)]
    found = campaign_id(client, csv=("\n".join(lines) + "\n").encode())
    monkeypatch.setattr(jelou_ui, "MAX_MATCHES", 12)
    html = client.get(f"/_mock/ui/jelou/{found}?phone=5939").get_data(as_text=True)
    assert "more than 12 recipients matching “5939” (the first 12 are listed: type more digits)" in html
    assert 'id="r12"' in html and 'id="r13"' not in html


def test_the_webhooks_page_lists_subscriptions_and_deliveries(client):
    hook = {"provider": "indigitall", "applicationId": 200, "url": "http://127.0.0.1:9/hook", "events": ["sent"],
            "auth": {"type": "bearer", "token": "s3cret-token"}}
    assert client.post("/_mock/webhooks", json=hook).status_code == 201
    page = client.get("/_mock/ui/webhooks").get_data(as_text=True)
    assert "http://127.0.0.1:9/hook" in page and "bearer" in page and "s3cret-token" not in page
    create(client, contacts(2), application=200)
    advance(client, "PT1S")
    counts = {}
    for _ in range(100):                                  # the dispatcher works in the background: 5 s at most
        counts = client.get("/_mock/ui/api/webhooks").json["counts"]
        if sum(counts.values()) >= 2:
            break
        time.sleep(0.05)
    assert sum(counts.values()) >= 2 and set(counts) == {"pending", "retrying", "delivered", "dead"}
    page = client.get("/_mock/ui/webhooks").get_data(as_text=True)
    assert page.count('<tr id="') >= 2
    assert client.get("/_mock/ui/webhooks?status=delivered").get_data(as_text=True).count('<tr id="') == 0
