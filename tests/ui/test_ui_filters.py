"""The UI's filters and actions without a browser (issue 22 item 10): a recipients' status filter on
a campaign and a task page, the search across records, the reset and "set the clock to" forms,
each webhook attempt's request and answer, and the journal's filters."""

from __future__ import annotations

import re

import pytest
from support.jelou import JELOU, advance, send_form
from support.indigitall import contacts, create

from mock_server.indigitall.tasks import Task
from mock_server.jelou.campaigns import Campaign

# Two failures (99901 at send, 99907 after the channel) among 60 ordinary numbers, and one that stays at the channel.
PHONES = [f"5939{index:08d}" for index in range(60)]
PHONES[3], PHONES[41], PHONES[50] = "99901000003", "99907000041", "99902000050"


def campaign_id(client, phones=PHONES, **fields) -> str:
    lines = ["phone_number,order_id,amount,delivery"] + [f"{p},A{i},${i},Dec {i}" for i, p in enumerate(phones)]
    response = send_form(client, ("\n".join(lines) + "\n").encode(), **fields)
    assert response.status_code == 200, response.json
    return response.headers["X-Mock-Campaign-Id"]


def rows_shown(html: str) -> list[int]:
    return [int(row) for row in re.findall(r'<tr id="r(\d+)">', html)]


def counting(monkeypatch, cls) -> list[int]:
    """Count the calls of ``cls.status_of`` (one per row a filter reads)."""
    calls: list[int] = []
    original = cls.status_of

    def status_of(self, index, timelines, now):
        calls.append(index)
        return original(self, index, timelines, now)
    monkeypatch.setattr(cls, "status_of", status_of)
    return calls


# -- the recipients' status filter ------------------------------------------------------------------
def test_a_campaigns_recipients_filtered_by_status(client):
    found = campaign_id(client)
    advance(client, "PT2M")
    page = client.get(f"/_mock/ui/jelou/{found}?status=FAILED")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert rows_shown(html) == [4, 42]
    assert "2 recipients FAILED" in html and "page 1 of 1" in html
    assert '<option selected>FAILED</option>' in html
    assert rows_shown(client.get(f"/_mock/ui/jelou/{found}?status=delivered_channel").get_data(as_text=True)) == [51]
    both = client.get(f"/_mock/ui/jelou/{found}?status=FAILED&phone=99907").get_data(as_text=True)
    assert rows_shown(both) == [42]


def test_a_status_filter_pages_like_the_full_list(client):
    phones = [f"5939{index:08d}" for index in range(60)]
    found = campaign_id(client, phones)
    advance(client, "PT2M")
    statuses = {}
    for row in range(1, 61):
        statuses[row] = client.get(f"/_mock/ui/api/jelou/{found}?rows={row}").json["rows"][str(row)]
    read = [row for row, status in statuses.items() if status == "READ"]
    assert 25 < len(read) < 60                                          # a seeded share is read
    first = client.get(f"/_mock/ui/jelou/{found}?status=READ").get_data(as_text=True)
    second = client.get(f"/_mock/ui/jelou/{found}?status=READ&page=2").get_data(as_text=True)
    assert rows_shown(first) + rows_shown(second) == read[:50]
    assert f"{len(read)} recipients READ" in first and "page 1 of 2" in first
    assert 'href="?phone=&amp;status=READ&amp;page=2"' in first                 # the pager keeps the filter


def test_a_status_filter_stops_walking_when_the_page_is_full(client, monkeypatch):
    """The rows are read lazily: the first page of FAILED in a 3,000-row file whose failures come
    first reads the rows up to its last one, never the whole file (nor a list of its rows)."""
    phones = [f"99901{index:06d}" for index in range(30)] + [f"5939{index:08d}" for index in range(2970)]
    found = campaign_id(client, phones)
    advance(client, "PT2M")
    calls = counting(monkeypatch, Campaign)
    html = client.get(f"/_mock/ui/jelou/{found}?status=FAILED").get_data(as_text=True)
    assert rows_shown(html) == list(range(1, 26)) and "30 recipients FAILED" in html
    assert max(calls) < 30 and len(calls) < 100, len(calls)
    calls.clear()
    html = client.get(f"/_mock/ui/jelou/{found}?status=FAILED&page=2").get_data(as_text=True)
    assert rows_shown(html) == list(range(26, 31))
    assert max(calls) < 30, max(calls)                          # all 30 found: no walk to the end


def test_an_unknown_status_is_a_400_naming_the_argument(client):
    found = campaign_id(client)
    response = client.get(f"/_mock/ui/jelou/{found}?status=LOST")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert 'role="alert"' in html and "status must be one of CREATED, DELIVERED_CHANNEL" in html and "not “LOST”" in html
    task = create(client, contacts(3), application=200)
    response = client.get(f"/_mock/ui/indigitall/{task['taskId']}?status=lost")
    assert response.status_code == 400 and "status must be one of queued, sent" in response.get_data(as_text=True)


def test_a_tasks_messages_filtered_by_status(client, monkeypatch):
    codes = ["99901000001", "34600000001", "99902000002", "34600000002", "99901000003"]
    body = "contactCode,channelType,name\n" + "".join(f"{code},cloud_api,N{i}\n" for i, code in enumerate(codes))
    task = create(client, body.encode(), application=200)
    advance(client, "PT1M")
    calls = counting(monkeypatch, Task)
    html = client.get(f"/_mock/ui/indigitall/{task['taskId']}?status=failed").get_data(as_text=True)
    assert re.findall(r"<code>(\d+)</code></td>", html) == ["99901000001", "99901000003"]
    assert "2 failed rows" in html and '<option selected>failed</option>' in html
    assert len(calls) <= len(codes) + 25                        # the walk, and the page's own rows
    sent = client.get(f"/_mock/ui/indigitall/{task['taskId']}?status=sent").get_data(as_text=True)
    assert re.findall(r"<code>(\d+)</code></td>", sent) == ["99902000002"]


def test_a_campaign_not_started_counts_its_recipients_as_created(client):
    found = campaign_id(client, scheduledAt="2026-01-06T10:00:00Z")
    html = client.get(f"/_mock/ui/jelou/{found}?status=CREATED").get_data(as_text=True)
    assert "60 recipients CREATED" in html and rows_shown(html) == list(range(1, 26))


# -- the journal's filters ----------------------------------------------------------------------------
def journal_rows(html: str) -> list[str]:
    """(method path status) of each journal row shown."""
    rows = re.findall(r'<tr id="req-\d+">.*?<code>(\w+)</code>.*?<summary><code>([^<]+)</code>.*?'
                      r'<span class="badge [^"]+">(\w+)</span>', html, re.S)
    return [" ".join(row) for row in rows]


def test_the_journal_page_filters_by_provider_method_path_and_status(client):
    campaign_id(client)
    client.get("/v1/campaigns/nope", headers={"Authorization": "Basic eDp5"})          # 401
    create(client, contacts(2), application=200)
    client.get("/v2/chat/application/200/task/999", headers={"Authorization": "ServerKey demo-server-key"})   # 404
    every = journal_rows(client.get("/_mock/ui/requests").get_data(as_text=True))
    assert len(every) == 4
    jelou = client.get("/_mock/ui/requests?provider=jelou").get_data(as_text=True)
    assert journal_rows(jelou) == ["GET /v1/campaigns/nope 401", "POST /v1/hsm/file 200"]
    assert "2 matching" in jelou and '<option value="jelou" selected>' in jelou and "data-poll" not in jelou
    assert journal_rows(client.get("/_mock/ui/requests?method=post").get_data(as_text=True)) == [
        "POST /v2/chat/application/200/message/csv 201", "POST /v1/hsm/file 200"]
    assert journal_rows(client.get("/_mock/ui/requests?path=hsm").get_data(as_text=True)) == ["POST /v1/hsm/file 200"]
    assert journal_rows(client.get("/_mock/ui/requests?path=/v2/*/task/*").get_data(as_text=True)) == [
        "GET /v2/chat/application/200/task/999 404"]
    errors = client.get("/_mock/ui/requests?status=4xx&provider=indigitall").get_data(as_text=True)
    assert journal_rows(errors) == ["GET /v2/chat/application/200/task/999 404"]
    assert "No request matches these filters." in client.get("/_mock/ui/requests?status=503").get_data(as_text=True)


def test_a_bad_journal_filter_is_a_400_page_naming_it(client):
    response = client.get("/_mock/ui/requests?status=teapot")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert 'role="alert"' in html and "&#39;status&#39; must be a status such as 503" in html


def test_the_journal_pager_keeps_the_filters(client):
    for _ in range(55):
        client.get("/v1/campaigns/nope", headers={"Authorization": "Basic eDp5"})
    html = client.get("/_mock/ui/requests?provider=jelou&status=401").get_data(as_text=True)
    assert "55 matching" in html and 'href="?provider=jelou&amp;status=401&amp;page=2"' in html
    second = client.get("/_mock/ui/requests?provider=jelou&status=401&page=2").get_data(as_text=True)
    assert len(journal_rows(second)) == 5


# -- "set the clock to" ------------------------------------------------------------------------------
def test_set_the_clock_to_an_instant_or_by_a_duration(client):
    found = campaign_id(client)
    response = client.post("/_mock/ui/clock", data={"to": "2026-01-05T12:30:00+01:00", "back": f"/_mock/ui/jelou/{found}"})
    assert response.status_code == 303 and response.headers["Location"] == f"/_mock/ui/jelou/{found}"
    assert client.get("/_mock/clock").json == {"now": "2026-01-05T11:30:00.000Z", "frozen": True}
    assert client.get(f"/v1/campaigns/{found}", headers=JELOU).json["data"]["status"] == "COMPLETED"  # settled
    assert client.post("/_mock/ui/clock", data={"to": "PT30M"}).status_code == 303        # a duration advances
    assert client.get("/_mock/clock").json["now"] == "2026-01-05T12:00:00.000Z"
    page = client.get("/_mock/ui/").get_data(as_text=True)
    assert 'id="clock-to" name="to"' in page and "Set the clock to" in page


@pytest.mark.parametrize("value, says", [
    ("2026-01-05T09:00:00Z", "backwards"),                 # before now
    ("yesterday", "the instant to set the clock to"),
    ("2026-13-45T99:00:00Z", "the instant to set the clock to"),
    ("P-1D", "the duration"),
    ("99999-01-01T00:00:00Z", "the instant to set the clock to"),
    ("", "give an instant to set the clock to"),
])
def test_a_bad_instant_is_explained_and_changes_nothing(client, value, says):
    before = client.get("/_mock/clock").json
    response = client.post("/_mock/ui/clock", data={"to": value})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert 'role="alert"' in html and says in html, html[html.find('role="alert"'):][:300]
    assert f'value="{value}"' in html                          # what was typed stays in the field
    assert client.get("/_mock/clock").json == before


# -- the reset button ----------------------------------------------------------------------------------
OWN = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}          # the test client's own origin


def test_reset_asks_first_then_resets_the_sandbox(client):
    found = campaign_id(client)
    advance(client, "PT1H")
    overview = client.get("/_mock/ui/").get_data(as_text=True)
    assert 'href="/_mock/ui/reset"' in overview
    ask = client.get("/_mock/ui/reset")
    html = ask.get_data(as_text=True)
    assert ask.status_code == 200 and "1 campaigns" in html and 'name="confirm" value="default"' in html
    assert client.get(f"/v1/campaigns/{found}", headers=JELOU).status_code == 200       # nothing happened yet
    done = client.post("/_mock/ui/reset", data={"confirm": "default"}, headers=OWN)
    assert done.status_code == 303 and done.headers["Location"] == "/_mock/ui/?done=reset"
    assert client.get(f"/v1/campaigns/{found}", headers=JELOU).status_code == 404
    assert client.get("/_mock/clock").json["now"] == "2026-01-05T11:00:00.000Z"         # the clock stays
    assert "was reset" in client.get("/_mock/ui/?done=reset").get_data(as_text=True)
    client.post("/_mock/ui/reset", data={"confirm": "default", "clock": "true"}, headers=OWN)
    assert client.get("/_mock/clock").json["now"] == "2026-01-05T10:00:00.000Z"         # rewound


def test_reset_without_the_confirmation_changes_nothing(client):
    found = campaign_id(client)
    for form in ({}, {"confirm": "other"}):
        response = client.post("/_mock/ui/reset", data=form, headers=OWN)
        assert response.status_code == 400 and "confirm the reset of sandbox" in response.get_data(as_text=True)
    assert client.get(f"/v1/campaigns/{found}", headers=JELOU).status_code == 200


def test_reset_of_another_sandbox_from_its_own_ui(client):
    lines = "phone_number,order_id,amount,delivery\n593900000001,A,$1,Dec\n".encode()
    response = send_form(client, lines, headers={**JELOU, "X-Mock-Sandbox": "ci-7"})
    kept = campaign_id(client)
    done = client.post("/sandboxes/ci-7/_mock/ui/reset", data={"confirm": "ci-7"}, headers=OWN)
    assert done.status_code == 303 and done.headers["Location"] == "/sandboxes/ci-7/_mock/ui/?done=reset"
    gone = client.get(f"/v1/campaigns/{response.headers['X-Mock-Campaign-Id']}", headers={**JELOU, "X-Mock-Sandbox": "ci-7"})
    assert gone.status_code == 404
    assert client.get(f"/v1/campaigns/{kept}", headers=JELOU).status_code == 200       # default untouched


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "http://localhost:3000", "Sec-Fetch-Site": "same-site"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
])
def test_a_page_on_another_origin_cannot_reset(client, headers):
    found = campaign_id(client)
    response = client.post("/_mock/ui/reset", data={"confirm": "default"}, headers=headers)
    assert response.status_code == 403
    assert "another origin" in response.json["error"]["message"]
    assert client.get(f"/v1/campaigns/{found}", headers=JELOU).status_code == 200


# -- the search across campaigns and tasks --------------------------------------------------------------
def hits(html: str) -> list[str]:
    return re.findall(r'<li><a href="[^"]+">([^<]+)</a>', html)


def test_search_finds_campaigns_and_tasks_by_id_name_or_number(client):
    first = campaign_id(client, campaignName="Spring Sale")
    second = campaign_id(client, [f"5938{index:08d}" for index in range(5)], campaignName="winter-news")
    task = create(client, contacts(4, first=77), application=200)          # contacts 34600000077 ..
    by_name = client.get("/_mock/ui/search?q=SALE").get_data(as_text=True)
    assert hits(by_name) == ["Spring Sale"] and "matched by name" in by_name
    by_id = client.get(f"/_mock/ui/search?q={second[:8]}").get_data(as_text=True)
    assert hits(by_id) == ["winter-news"]
    by_number = client.get("/_mock/ui/search?q=%2B593-9000000").get_data(as_text=True)
    assert hits(by_number) == ["Spring Sale"]
    assert f'href="/_mock/ui/jelou/{first}?phone=5939000000"' in by_number          # opens the recipient search
    both = client.get("/_mock/ui/search?q=593").get_data(as_text=True)
    assert hits(both) == ["winter-news", "Spring Sale"]                           # newest first
    by_task = client.get(f"/_mock/ui/search?q={task['taskId']}").get_data(as_text=True)
    assert f"Task {task['taskId']}" in hits(by_task)
    by_contact = client.get("/_mock/ui/search?q=34600000078").get_data(as_text=True)
    assert hits(by_contact) == [f"Task {task['taskId']}"] and "matched by a contact code" in by_contact
    none = client.get("/_mock/ui/search?q=nothing-like-this").get_data(as_text=True)
    assert "0 matches" in none and "Nothing in Jelou matches." in none


def test_search_is_per_sandbox_and_lists_at_most_its_limit(client, monkeypatch):
    from mock_server.ui import data
    monkeypatch.setattr(data, "SEARCH_LIMIT", 3)
    for index in range(5):
        campaign_id(client, campaignName=f"promo-{index}")
    html = client.get("/_mock/ui/search?q=promo").get_data(as_text=True)
    assert hits(html) == ["promo-4", "promo-3", "promo-2"] and "3 or more: refine the search" in html
    assert hits(client.get("/sandboxes/other/_mock/ui/search?q=promo").get_data(as_text=True)) == []


@pytest.mark.parametrize("query", ["", "   ", "x" * 101])
def test_an_empty_or_huge_search_is_a_400_saying_so(client, query):
    response = client.get("/_mock/ui/search", query_string={"q": query})
    assert response.status_code == 400 and "search for 1 to 100 characters" in response.get_data(as_text=True)


def test_the_search_box_is_on_the_home_page(client):
    html = client.get("/_mock/ui/").get_data(as_text=True)
    assert 'action="/_mock/ui/search"' in html and 'name="q"' in html


def test_a_rare_status_reads_only_the_rows_that_can_reach_it(client, monkeypatch):
    """FAILED at the end of a 3,000-row file: the rows whose outcome can fail are found in C, and
    only those are read (not the 2,990 before them)."""
    phones = [f"5939{index:08d}" for index in range(2990)] + [f"99901{index:06d}" for index in range(10)]
    found = campaign_id(client, phones)
    advance(client, "PT2M")
    calls = counting(monkeypatch, Campaign)
    html = client.get(f"/_mock/ui/jelou/{found}?status=FAILED").get_data(as_text=True)
    assert rows_shown(html) == list(range(2991, 3001)) and "10 recipients FAILED" in html
    assert sorted(set(calls)) == list(range(2990, 3000)), len(calls)
    calls.clear()
    html = client.get(f"/_mock/ui/jelou/{found}?status=REPLY").get_data(as_text=True)
    assert "0 recipients REPLY" in html and calls == []                # no outcome replies: nothing to read
