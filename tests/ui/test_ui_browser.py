"""The inspection UI in a real browser: Debian's chromium driven by Playwright, against a live server.

Records are created through the harness clients (as a user's test suite would), the clock is moved
through the harness and through the UI's own form, and each test saves a screenshot under
``$RESULTS/ui/`` (default ``results/ui/``, gitignored). Every request the page makes is checked to
stay on the mock's own address (the UI works offline: no CDN).
"""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import time
from pathlib import Path

import pytest
import requests

from harness.control import MockControl
from harness.indigitall_client import IndigitallClient
from harness.jelou_client import JelouClient
from harness.presets import INDIGITALL_TEXT_LAYOUT
from harness.server import BackgroundServer
from support.browser import CHROMIUM, launched_browser, need_chromium
from support.httpstub import serving

pytestmark = pytest.mark.slow

VIEWPORT = {"width": 1280, "height": 800}
ORDER_PARAMS = [{"param": 1, "column": "order_id"}, {"param": 2, "column": "amount"}, {"param": 3, "column": "delivery"}]


@pytest.fixture(scope="module")
def browser():
    with launched_browser() as launched:
        yield launched


@pytest.fixture
def server():
    with BackgroundServer({"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True}}) as running:
        yield running


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport=VIEWPORT)
    opened = context.new_page()
    foreign: list[str] = []
    opened.on("request", lambda request: None if request.url.startswith(server.base_url) else foreign.append(request.url))
    refused = watch_csp(opened)
    yield opened
    context.close()
    assert not foreign, f"the page requested something outside the mock: {foreign}"
    assert not refused, f"the Content-Security-Policy blocked something the page uses: {refused}"


def watch_csp(page) -> list[str]:
    """Console messages of Content-Security-Policy violations (and uncaught page errors) on ``page``."""
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text else None)
    page.on("pageerror", lambda error: seen.append(f"page error: {error}"))
    return seen


@pytest.fixture
def shots(request) -> Path:
    folder = Path(os.environ.get("RESULTS", "results")) / "ui"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(page, shots: Path, name: str) -> Path:
    path = shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def assert_no_horizontal_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORT["width"], f"the page is {width}px wide at 1280x800"


def order_csv(rows: int) -> bytes:
    lines = ["phone_number,order_id,amount,delivery"]
    lines += [f"5939{index:08d},A{index:05d},${index}.50,December {index % 28 + 1}" for index in range(rows)]
    lines.append("99901000001,B00001,$1.00,December 1")          # reserved: fails at send
    return ("\n".join(lines) + "\n").encode()


def jelou(server) -> JelouClient:
    return JelouClient(server.base_url, "demo-client-id", "demo-client-secret")


def test_root_redirects_and_counters_move_as_the_clock_advances(page, server, shots):
    sent = jelou(server).send_file(order_csv(40), campaign_name="december-orders", element_name="order_confirmation",
                                   bot_id="demo-bot", params=ORDER_PARAMS, filename="recipients.csv")
    page.goto(server.base_url + "/")
    assert page.url == server.base_url + "/_mock/ui/"
    page.get_by_role("link", name="Jelou campaigns").click()
    row = page.locator("tr", has_text="december-orders")
    status = row.locator("[data-bind$='.status']")
    assert status.inner_text() == "PENDING"
    read = row.locator("[data-bind$='.counts.DELIVERED_USER']")
    assert read.inner_text() == "0"

    MockControl(server.base_url).clock.advance("PT5S")          # the page is not reloaded: it polls
    from playwright.sync_api import expect
    expect(status).to_have_text("COMPLETED", timeout=10_000)     # (no wait_for_function: the CSP forbids eval)
    assert int(read.inner_text()) == 40
    assert row.locator("[data-bind$='.counts.FAILED']").inner_text() == "1"
    assert page.locator("#clock-now").inner_text() == "2026-01-05T10:00:05.000Z"

    page.focus("#advance")                                        # the UI's own form, by keyboard
    page.keyboard.type("PT1M")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == server.base_url + "/_mock/ui/jelou"
    assert page.locator("#clock-now").inner_text() == "2026-01-05T10:01:05.000Z"
    assert int(row.locator("[data-bind$='.counts.READ']").inner_text()) > 0
    assert_no_horizontal_scroll(page)
    screenshot(page, shots, "jelou-campaigns")
    assert jelou(server).get_campaign(sent.campaign_id)["name"] == "december-orders"


def test_overview_counts_and_a_bad_duration_is_explained(page, server, shots):
    jelou(server).send_file(order_csv(5), campaign_name="five", element_name="order_confirmation",
                            bot_id="demo-bot", params=ORDER_PARAMS, filename="five.csv")
    page.goto(server.base_url + "/_mock/ui/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    assert page.locator("[data-bind='jelou.records.PENDING']").inner_text() == "1"
    page.fill("#advance", "two hours")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    alert = page.get_by_role("alert")
    assert "duration" in alert.inner_text().lower()
    page.fill("#advance", "PT2H")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == server.base_url + "/_mock/ui/"
    assert page.locator("[data-bind='jelou.records.COMPLETED']").inner_text() == "1"
    assert page.locator("[data-bind='jelou.messages.FAILED']").inner_text() == "1"
    assert_no_horizontal_scroll(page)
    screenshot(page, shots, "overview")


def test_open_a_campaign_and_find_a_recipient(page, server, shots):
    sent = jelou(server).send_file(order_csv(120), campaign_name="search-me", element_name="order_confirmation",
                                   bot_id="demo-bot", params=ORDER_PARAMS, filename="recipients.csv")
    MockControl(server.base_url).clock.advance("PT1M")
    page.goto(server.base_url + "/_mock/ui/jelou")
    page.get_by_role("link", name="search-me").click()
    assert page.url.endswith(f"/_mock/ui/jelou/{sent.campaign_id}")
    assert "page 1 of 5" in page.locator("#main").inner_text()
    page.get_by_label("Find by phone").fill("593900000077")
    page.keyboard.press("Enter")
    page.wait_for_url("**phone=593900000077**")
    rows = page.locator("table.recipients tbody tr")
    assert rows.count() == 1
    row = rows.first
    assert "593900000077" in row.inner_text()
    assert "Your order A00077 for a total of $77.50 is confirmed. The expected delivery is December 22." in row.inner_text()
    stages = row.locator(".timeline li span").all_inner_texts()
    assert stages[:3] == ["sent", "delivered to channel", "delivered to user"]
    page.get_by_label("Find by phone").fill("99901")
    page.keyboard.press("Enter")
    page.wait_for_url("**phone=99901**")
    failed = page.locator("table.recipients tbody tr").first
    assert "FAILED" in failed.inner_text() and "Invalid recipient" in failed.inner_text()
    assert_no_horizontal_scroll(page)
    screenshot(page, shots, "jelou-campaign-recipient")


def test_recipients_move_through_their_statuses_live(page, server, shots):
    sent = jelou(server).send_file(order_csv(3), campaign_name="live", element_name="order_confirmation",
                                   bot_id="demo-bot", params=ORDER_PARAMS, filename="recipients.csv")
    page.goto(f"{server.base_url}/_mock/ui/jelou/{sent.campaign_id}")
    first = page.locator("#r1 .badge")
    assert first.inner_text() == "CREATED"
    assert page.locator("#r1 .timeline").inner_text() == "waiting to be sent"
    MockControl(server.base_url).clock.advance("PT3S")            # sent at 10:00:01, at the user 2 s later
    from playwright.sync_api import expect
    expect(first).to_have_text("DELIVERED_USER", timeout=10_000)
    page.wait_for_load_state()
    stages = page.locator("#r1 .timeline li span").all_inner_texts()
    assert stages == ["sent", "delivered to channel", "delivered to user"]
    assert page.locator("#r4 .badge").inner_text() == "FAILED"
    screenshot(page, shots, "jelou-recipients-live")


def test_slot_chart_of_a_sliced_task(page, server, shots):
    client = IndigitallClient(server.base_url, "demo-server-key")
    contacts = "contactCode,channelType,name\n" + "".join(f"{34600000000 + i},cloud_api,Name{i}\n" for i in range(2500))
    first = client.send_csv(100, contacts.encode(), INDIGITALL_TEXT_LAYOUT, delay="PT3H")
    second = client.send_csv(100, contacts.encode(), INDIGITALL_TEXT_LAYOUT, delay="PT3H")
    too_big = "contactCode,channelType,name\n" + "".join(f"{34700000000 + i},cloud_api,N{i}\n" for i in range(48_001))
    canceled = client.send_csv(100, too_big.encode(), INDIGITALL_TEXT_LAYOUT)
    assert first["sliced"] and second["sliced"] and canceled["status"] == "canceled"

    page.goto(server.base_url + "/_mock/ui/indigitall")
    assert "SLICING_WINDOW_EXCEEDED" in page.locator("tr", has_text=f"Task {canceled['taskId']}").inner_text()
    page.get_by_role("link", name=f"Task {second['taskId']}", exact=True).click()
    chart = page.locator("#slot-chart")
    assert chart.is_visible()
    assert chart.locator("g.slot").count() == 48
    mine = chart.locator("g.slot.mine")
    assert mine.count() == len(second["slots"]) == 3
    assert mine.first.get_attribute("data-slot") == second["slots"][0]["start"]
    assert chart.locator("rect.other").count() == 3             # the first task's three slots
    assert "1000 used (500 by this task), 0 free" in mine.first.locator("title").text_content()  # shared with it
    assert "this task" in mine.first.locator("title").text_content()
    assert_no_horizontal_scroll(page)
    screenshot(page, shots, "indigitall-slot-chart")


def test_the_sandbox_switcher(page, server, shots):
    client = JelouClient(server.base_url + "/sandboxes/ci-9", "demo-client-id", "demo-client-secret")
    client.send_file(order_csv(2), campaign_name="only-in-ci-9", element_name="order_confirmation",
                     bot_id="demo-bot", params=ORDER_PARAMS, filename="recipients.csv")
    page.goto(server.base_url + "/_mock/ui/jelou")
    assert "only-in-ci-9" not in page.locator("#main").inner_text()
    page.select_option("#sandbox", "ci-9")
    with page.expect_navigation():
        page.get_by_role("button", name="Switch").click()
    assert page.url == server.base_url + "/sandboxes/ci-9/_mock/ui/"
    page.get_by_role("link", name="Jelou campaigns").click()
    assert page.url == server.base_url + "/sandboxes/ci-9/_mock/ui/jelou"
    assert page.get_by_role("link", name="only-in-ci-9").is_visible()
    screenshot(page, shots, "sandbox-switcher")


def test_create_and_delete_a_fault_rule_and_see_the_request_journal(page, server, shots):
    page.goto(server.base_url + "/_mock/ui/")
    page.get_by_role("link", name="Faults").click()
    page.get_by_label("Rule (JSON").fill('{"match": {"provider": "jelou", "path": "/v1/hsm/file"}, "action": {"status": 503}, "times": 1}')
    with page.expect_navigation():
        page.get_by_role("button", name="Add rule").click()
    assert page.locator("#fault-1").is_visible()
    assert_no_horizontal_scroll(page)
    screenshot(page, shots, "faults")
    client = jelou(server)
    fields = client.fields(campaign_name="after-fault", element_name="order_confirmation", bot_id="demo-bot",
                           params=ORDER_PARAMS)
    assert client.post_file(fields, order_csv(3), "recipients.csv", check=False).status == 503
    sent = client.send_file(order_csv(3), campaign_name="after-fault", element_name="order_confirmation",
                            bot_id="demo-bot", params=ORDER_PARAMS, filename="recipients.csv")
    page.reload()
    assert page.locator("#fault-1 td.num").all_inner_texts() == ["2", "1"]         # matched twice, fired once
    page.get_by_role("button", name="Delete fault-1").click()
    page.wait_for_selector("text=No fault rules in this sandbox")
    assert requests.get(server.base_url + "/_mock/faults", timeout=10).json()["total"] == 0

    page.get_by_role("link", name="Requests").click()
    rows = page.locator("table.journal tbody tr")
    assert rows.count() == 2, rows.all_inner_texts()
    newest = rows.first
    assert "POST" in newest.inner_text() and "/v1/hsm/file" in newest.inner_text() and "200" in newest.inner_text()
    assert "fault fault-1" in rows.nth(1).inner_text() and "503" in rows.nth(1).inner_text()
    newest.locator("summary").click()
    assert "Basic demo-client-id:***" in newest.inner_text() and "demo-client-secret" not in page.content()
    assert_no_horizontal_scroll(page)
    screenshot(page, shots, "requests")
    newest.get_by_role("link", name="campaign").click()
    assert page.url.endswith(f"/_mock/ui/jelou/{sent.campaign_id}")

    page.get_by_role("link", name="the request that created it").click()       # and back: campaign -> request
    only = page.locator("table.journal tbody tr")
    assert only.count() == 1 and "200" in only.first.inner_text()
    only.first.locator("summary").click()
    assert "recipients.csv" in only.first.inner_text() and "sha256" in only.first.inner_text()
    screenshot(page, shots, "request-of-a-campaign")


def test_the_api_docs_render_offline(page, server, shots):
    page.goto(server.base_url + "/_mock/docs/")
    page.wait_for_selector("text=Send Bulk HSM", timeout=15_000)
    assert page.locator(".opblock").count() >= 15
    screenshot(page, shots, "api-docs")


def test_chromium_is_the_debian_one():
    need_chromium()
    assert shutil.which("chromium") == CHROMIUM


# -- a page on another origin cannot drive the mock (CONTRACT §18 "Browsers") -------------------------

# A text/plain form whose body is the JSON rule {"match": {"provider": "jelou"}, "action": {"status":
# 503, "message": "="}} (every Jelou request fails), and a no-cors fetch moving the clock 30 days.
FOREIGN_PAGE = """<!doctype html><html><head><title>innocent</title></head><body>
<form id="f" method="post" enctype="text/plain" action="MOCK/_mock/faults">
<input name='{"match": {"provider": "jelou"}, "action": {"status": 503, "message": "' value='"}}'></form>
<script>
fetch("MOCK/_mock/clock", {method: "POST", mode: "no-cors", body: '{"advance": "P30D"}'})
  .catch(function () {})
  .finally(function () { document.title = "fetched"; document.getElementById("f").submit(); });
</script></body></html>"""


@contextlib.contextmanager
def foreign_site(html: str):
    """A tiny web server on another loopback port serving one page: another origin than the mock."""
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    with serving(Page) as port:
        yield port


def open_foreign_page(browser, server, html: str, site_host: str, posted: str) -> dict[str, int]:
    """Open ``html`` (``MOCK`` standing for the mock's address) served by another origin, wait
    until its form was posted to ``posted`` on the mock; the mock's answers by URL."""
    context = browser.new_context()
    page = context.new_page()
    answers: dict[str, int] = {}
    page.on("response", lambda response: answers.__setitem__(response.url, response.status)
            if response.url.startswith(server.base_url) else None)
    with foreign_site(html.replace("MOCK", server.base_url)) as port:
        page.goto(f"http://{site_host}:{port}/")
        page.wait_for_url(server.base_url + posted, timeout=15_000)         # the form was posted
        page.wait_for_load_state()
    context.close()
    return answers


@pytest.mark.parametrize("site_host", ["localhost", "127.0.0.1"])        # cross-site, and same-site (another port)
def test_a_page_on_another_origin_cannot_change_the_mock(browser, server, site_host):
    control = MockControl(server.base_url)
    before = requests.get(server.base_url + "/_mock/clock", timeout=10).json()
    answers = open_foreign_page(browser, server, FOREIGN_PAGE, site_host, "/_mock/faults")
    assert answers == {server.base_url + "/_mock/clock": 403, server.base_url + "/_mock/faults": 403}
    assert requests.get(server.base_url + "/_mock/clock", timeout=10).json() == before
    assert requests.get(server.base_url + "/_mock/faults", timeout=10).json()["total"] == 0
    control.clock.advance("PT1S")                                   # a script (no Origin) still may
    assert requests.get(server.base_url + "/_mock/clock", timeout=10).json()["now"] == "2026-01-05T10:00:01.000Z"


# Images, a script and an iframe, each in a sandbox of its own: every GET creates its sandbox (CONTRACT §7),
# so a page could fill sandboxes.max_count and leave every test run that needs a new one a 429.
SANDBOX_FILLER = """<!doctype html><html><head><title>innocent</title></head><body>
<img src="MOCK/sandboxes/page-img-1/_mock/clock"><img src="MOCK/sandboxes/page-img-2/v1/campaigns">
<script src="MOCK/sandboxes/page-script/_mock/openapi.json"></script>
<iframe src="MOCK/sandboxes/page-frame/_mock/ui/"></iframe>
<img src="MOCK/sandboxes/page-existing/_mock/clock">
</body></html>"""
FILLED = ("page-img-1", "page-img-2", "page-script", "page-frame")


@pytest.mark.parametrize("site_host", ["localhost", "127.0.0.1"])        # cross-site, and same-site (another port)
def test_a_page_on_another_origin_cannot_create_sandboxes(browser, server, site_host):
    assert requests.get(server.base_url + "/sandboxes/page-existing/_mock/clock", timeout=10).status_code == 200
    context = browser.new_context()
    page = context.new_page()
    done: list[str] = []            # the mock's answers (Chromium blocks the opaque JSON ones: a failed request)
    for event in ("requestfinished", "requestfailed"):
        page.on(event, lambda request: done.append(request.url) if request.url.startswith(server.base_url) else None)
    with foreign_site(SANDBOX_FILLER.replace("MOCK", server.base_url)) as port:
        page.goto(f"http://{site_host}:{port}/")
        deadline = time.monotonic() + 30
        while len(done) < len(FILLED) + 1 and time.monotonic() < deadline:
            page.wait_for_timeout(100)
    context.close()
    assert sorted(url.split("/sandboxes/")[1].split("/")[0] for url in done) == sorted((*FILLED, "page-existing"))
    names = {item["name"] for item in requests.get(server.base_url + "/_mock/sandboxes", timeout=10).json()["sandboxes"]}
    assert names.isdisjoint(FILLED) and "page-existing" in names, names


# -- the home page's search, "set the clock to" and reset, by keyboard and mouse ----------------------
def test_search_set_the_clock_and_reset_from_the_home_page(page, server, shots):
    sent = jelou(server).send_file(order_csv(3), campaign_name="find-me-later", element_name="order_confirmation",
                                   bot_id="demo-bot", params=ORDER_PARAMS, filename="recipients.csv")
    page.goto(server.base_url + "/_mock/ui/")
    page.get_by_label("Find a campaign or task").fill("FIND-ME")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.get_by_role("link", name="find-me-later").click()
    assert page.url.endswith(f"/_mock/ui/jelou/{sent.campaign_id}")

    page.goto(server.base_url + "/_mock/ui/")
    page.get_by_label("Set the clock to").fill("2026-01-05T09:00:00Z")         # backwards: explained
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "never goes backwards" in page.get_by_role("alert").inner_text()
    page.get_by_label("Set the clock to").fill("2026-01-05T12:00:00Z")
    with page.expect_navigation():
        page.get_by_role("button", name="Set", exact=True).click()
    assert page.locator("#clock-now").inner_text() == "2026-01-05T12:00:00.000Z"

    page.get_by_role("link", name="Reset sandbox default…").click()
    assert "1 campaigns" in page.locator("#main").inner_text()
    assert jelou(server).get_campaign(sent.campaign_id)["name"] == "find-me-later"          # asked, not done
    page.get_by_label("also return the clock to its configured start").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Yes, reset sandbox default").click()        # the browser's own Origin
    assert "was reset" in page.get_by_role("status").inner_text()
    assert page.locator("#clock-now").inner_text() == "2026-01-05T10:00:00.000Z"
    assert requests.get(f"{server.base_url}/v1/campaigns/{sent.campaign_id}", auth=("demo-client-id", "demo-client-secret"),
                        timeout=10).status_code == 404
    screenshot(page, shots, "reset-done")


FOREIGN_RESET = """<!doctype html><html><head><title>innocent</title></head><body>
<form id="f" method="post" action="MOCK/_mock/ui/reset"><input name="confirm" value="default"></form>
<script>document.getElementById("f").submit();</script></body></html>"""


@pytest.mark.parametrize("site_host", ["localhost", "127.0.0.1"])        # cross-site, and same-site (another port)
def test_a_page_on_another_origin_cannot_press_reset(browser, server, site_host):
    sent = jelou(server).send_file(order_csv(2), campaign_name="stays", element_name="order_confirmation",
                                   bot_id="demo-bot", params=ORDER_PARAMS, filename="recipients.csv")
    answers = open_foreign_page(browser, server, FOREIGN_RESET, site_host, "/_mock/ui/reset")
    assert answers == {server.base_url + "/_mock/ui/reset": 403}
    assert jelou(server).get_campaign(sent.campaign_id)["name"] == "stays"
