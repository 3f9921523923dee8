"""The UI's request-journal and fault-rule pages (the faults package's instrument)."""

from __future__ import annotations

from support.jelou import JELOU, send_form
from support.indigitall import contacts, create


def test_the_journal_page_shows_the_request_that_created_a_campaign(client):
    campaign = send_form(client).headers["X-Mock-Campaign-Id"]
    client.get("/v1/campaigns/nope", headers=JELOU)
    html = client.get("/_mock/ui/requests").get_data(as_text=True)
    assert html.index("/v1/campaigns/nope") < html.index("/v1/hsm/file")          # newest first
    assert f'href="/_mock/ui/jelou/{campaign}"' in html
    assert "Basic demo-client-id:***" in html and "demo-client-secret" not in html
    assert "&#34;sha256&#34;" in html and "recipients.csv" in html
    assert client.get("/_mock/ui/api/requests").json["journal"]["total"] >= 2


def test_fault_rules_are_listed_added_and_deleted(client):
    added = client.post("/_mock/ui/faults", data={"rule": '{"match": {"provider": "jelou"}, "action": {"status": 503}, "times": 1}'})
    assert added.status_code == 303 and added.headers["Location"] == "/_mock/ui/faults"
    page = client.get("/_mock/ui/faults").get_data(as_text=True)
    assert 'id="fault-1"' in page and '<code>{"status": 503}</code>' in page
    assert send_form(client).status_code == 503                                  # the rule is live
    assert send_form(client).status_code == 200                                  # times: 1
    assert '<td class="num">2</td>' in client.get("/_mock/ui/faults").get_data(as_text=True)     # matched twice
    for bad, words in (('{"action": {}}', 'give &#34;status&#34;'), ("{nope", "not valid JSON")):
        response = client.post("/_mock/ui/faults", data={"rule": bad})
        assert response.status_code == 400 and words in response.get_data(as_text=True)
    assert client.post("/_mock/ui/faults/fault-1/delete").status_code == 303
    assert client.get("/_mock/faults").json == {"faults": [], "total": 0}
    assert client.post("/_mock/ui/faults/fault-1/delete").status_code == 404


def test_a_campaign_links_to_the_request_that_created_it(client):
    first = send_form(client).headers["X-Mock-Campaign-Id"]
    second = send_form(client).headers["X-Mock-Campaign-Id"]
    link = f'href="/_mock/ui/requests?campaign={second}"'
    assert link in client.get(f"/_mock/ui/jelou/{second}").get_data(as_text=True)
    html = client.get(f"/_mock/ui/requests?campaign={second}").get_data(as_text=True)
    assert html.count('<tr id="req-') == 1 and f"/_mock/ui/jelou/{second}" in html
    assert f"/_mock/ui/jelou/{first}" not in html and "data-poll" not in html     # filtered: no reload loop
    assert "recipients.csv" in html and "Show every request" in html
    missing = client.get("/_mock/ui/requests?campaign=no-such").get_data(as_text=True)
    assert '<tr id="req-' not in missing and "no longer holds" in missing


def test_a_task_links_to_the_request_that_created_it(client):
    task = create(client, contacts(3), application=100)
    page = client.get(f"/_mock/ui/indigitall/{task['taskId']}").get_data(as_text=True)
    assert f'href="/_mock/ui/requests?task={task["taskId"]}"' in page
    html = client.get(f"/_mock/ui/requests?task={task['taskId']}").get_data(as_text=True)
    assert html.count('<tr id="req-') == 1 and f"/_mock/ui/indigitall/{task['taskId']}" in html


def test_the_panels_stay_in_their_sandbox(client):
    rule = '{"match": {"provider": "jelou"}, "action": {"status": 500}}'
    added = client.post("/sandboxes/ui-7/_mock/ui/faults", data={"rule": rule})
    assert added.status_code == 303 and added.headers["Location"] == "/sandboxes/ui-7/_mock/ui/faults"
    assert client.get("/sandboxes/ui-7/_mock/faults").json["total"] == 1
    assert client.get("/_mock/faults").json["total"] == 0
    assert 'id="fault-1"' not in client.get("/_mock/ui/faults").get_data(as_text=True)
    assert send_form(client, headers={"X-Mock-Sandbox": "ui-7"}).status_code == 500
    journal = client.get("/sandboxes/ui-7/_mock/ui/requests").get_data(as_text=True)
    assert journal.count('<tr id="req-') == 1 and "fault fault-1" in journal
    assert '<tr id="req-' not in client.get("/_mock/ui/requests").get_data(as_text=True)
    assert client.post("/sandboxes/ui-7/_mock/ui/faults/fault-1/delete").status_code == 303
    assert client.get("/sandboxes/ui-7/_mock/faults").json["total"] == 0
