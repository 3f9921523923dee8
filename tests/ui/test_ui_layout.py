"""The UI's layout in a real browser: at 1280x800 and 1400x900, on every page, with realistic data
(long names, every status badge, webhook attempts, a journal with a fault), no two text boxes
overlap, nothing sticks out of its table cell and the page never scrolls sideways.

One server and its data for the module; a screenshot of each page under pytest's tmp dir.
"""

from __future__ import annotations

import requests
import pytest

from harness.control import MockControl
from harness.indigitall_client import IndigitallClient
from harness.jelou_client import JelouClient
from harness.presets import INDIGITALL_TEXT_LAYOUT
from harness.server import BackgroundServer
from harness.webhooks import WebhookReceiver
from support.browser import horizontal_overflow, launched_browser, layout_problems
from support.webhooks import subscribe, wait_deliveries

pytestmark = pytest.mark.slow

VIEWPORTS = [{"width": 1280, "height": 800}, {"width": 1400, "height": 900}]
ORDER_PARAMS = [{"param": 1, "column": "order_id"}, {"param": 2, "column": "amount"}, {"param": 3, "column": "delivery"}]
LONG_NAME = "black-friday-2026-loyalty-customers-second-reminder-wave-with-a-rather-long-campaign-name"
# One recipient per delivery path (docs/demo-tenant.md): every Jelou status badge on the first page.
RESERVED = ["99901000001", "99902000002", "99903000003", "99904000004", "99905000005", "99906000006", "99907000007"]


def order_csv(phones: list[str]) -> bytes:
    lines = ["phone_number,order_id,amount,delivery"]
    lines += [f"{phone},A{index:05d},${index}.50,December {index % 28 + 1} between 9:00 and 18:00 at the back door"
              for index, phone in enumerate(phones)]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def browser():
    with launched_browser() as launched:
        yield launched


@pytest.fixture(scope="module")
def site():
    """A mock with two campaigns, two tasks, signed webhooks to a receiver that answers 204 and to
    one that answers 500, and a journal with a fault; the pages to look at."""
    with WebhookReceiver() as good, WebhookReceiver(status=500) as bad, \
            BackgroundServer({"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True},
                              "webhooks": {"backoff": 0.05, "max_attempts": 2}}) as server:
        base = server.base_url
        subscribe(base, provider="jelou", botId="demo-bot", url=good.url + "/hooks/jelou/a-rather-long-path",
                  events=["all"], signing_secret="s3cret-signing")
        subscribe(base, provider="indigitall", applicationId=200, url=bad.url + "/broken", events=["all"])
        requests.post(base + "/_mock/faults", json={"match": {"provider": "jelou", "path": "/v1/hsm/file"},
                                                    "action": {"status": 503}, "times": 1}, timeout=10)
        jelou = JelouClient(base, "demo-client-id", "demo-client-secret")
        fields = jelou.fields(campaign_name=LONG_NAME, element_name="order_confirmation", bot_id="demo-bot",
                              params=ORDER_PARAMS)
        assert jelou.post_file(fields, order_csv(RESERVED), "recipients.csv", check=False).status == 503
        phones = RESERVED + [f"5939{index:08d}" for index in range(60)]
        campaign = jelou.send_file(order_csv(phones), campaign_name=LONG_NAME, element_name="order_confirmation",
                                   bot_id="demo-bot", params=ORDER_PARAMS, filename="customers-with-a-long-file-name.csv")
        indigitall = IndigitallClient(base, "demo-server-key")
        codes = ["99901000001", "99902000002", "99903000003", "99904000004"] + [str(34600000000 + i) for i in range(40)]
        contacts = "contactCode,channelType,name\n" + "".join(f"{code},cloud_api,Name {code}\n" for code in codes)
        task = indigitall.send_csv(200, contacts.encode(), INDIGITALL_TEXT_LAYOUT)
        MockControl(base).clock.advance("PT65S")
        later = jelou.send_file(order_csv(phones[:3]), campaign_name="short", element_name="order_confirmation",
                                bot_id="demo-bot", params=ORDER_PARAMS, filename="r.csv")     # still CREATED
        indigitall.send_csv(200, contacts.encode(), INDIGITALL_TEXT_LAYOUT, delay="PT3H")
        wait_deliveries(base, "delivered", 5, timeout=30)
        wait_deliveries(base, "dead", 1, timeout=30)
        ui = base + "/_mock/ui"
        yield base, {"overview": ui + "/", "campaigns": ui + "/jelou", "campaign": f"{ui}/jelou/{campaign.campaign_id}",
                     "campaign-created": f"{ui}/jelou/{later.campaign_id}", "tasks": ui + "/indigitall",
                     "task": f"{ui}/indigitall/{task['taskId']}", "webhooks": ui + "/webhooks",
                     "webhooks-dead": ui + "/webhooks?status=dead", "requests": ui + "/requests",
                     "requests-filtered": ui + "/requests?provider=jelou&method=POST&path=hsm&status=5xx",
                     "campaign-failed": f"{ui}/jelou/{campaign.campaign_id}?status=FAILED",
                     "task-failed": f"{ui}/indigitall/{task['taskId']}?status=failed",
                     "search": ui + "/search?q=5939", "reset": ui + "/reset",
                     "search-error": ui + "/search?q="}


PAGES = ["overview", "campaigns", "campaign", "campaign-created", "campaign-failed", "tasks", "task", "task-failed",
         "webhooks", "webhooks-dead", "requests", "requests-filtered", "search", "reset", "search-error"]


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda size: f"{size['width']}x{size['height']}")
@pytest.mark.parametrize("name", PAGES)
def test_no_text_overlaps_and_no_sideways_scroll(browser, site, name, viewport, tmp_path):
    base, pages = site
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    try:
        response = page.goto(pages[name])
        assert response.status == (400 if name == "search-error" else 200)
        for summary in page.locator("details > summary").all()[:4]:      # open a few: their bodies too
            summary.click()
        page.screenshot(path=str(tmp_path / f"{name}-{viewport['width']}.png"), full_page=True)
        problems = layout_problems(page)
        wide = horizontal_overflow(page, viewport["width"])
    finally:
        context.close()
    assert not problems, f"{name} at {viewport['width']}x{viewport['height']}:\n" + "\n".join(problems)
    assert wide is None, f"{name} is {wide}px wide at {viewport['width']}x{viewport['height']}"


def test_every_jelou_status_badge_is_on_the_campaign_page(browser, site):
    """The data above really shows the badges whose overlap this module checks."""
    base, pages = site
    context = browser.new_context(viewport=VIEWPORTS[0])
    page = context.new_page()
    try:
        page.goto(pages["campaign"])
        shown = set(page.locator("table.recipients .badge").all_inner_texts())
        page.goto(pages["campaign-created"])
        shown |= set(page.locator("table.recipients .badge").all_inner_texts())
    finally:
        context.close()
    assert shown == {"CREATED", "DELIVERED_CHANNEL", "DELIVERED_USER", "READ", "REPLY", "FAILED"}
