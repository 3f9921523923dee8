"""harness.client against a live mock: every method of both clients, and every typed error."""
from __future__ import annotations

import io
import threading
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import requests

from harness import client as hc
from harness.client import (AuthenticationError, BadRequestError, ConflictError, ForbiddenError,
                            IndigitallClient, JelouClient, MockControl, NotFoundError,
                            PayloadTooLargeError, ProviderError, ServerError, ValidationError)
from harness.control import MockControl as ControlModuleMockControl
from harness.fileserver import FileServer
from harness.presets import INDIGITALL_TEXT_LAYOUT, SEED_TEXT_CSV
from harness.server import BackgroundServer

ROOT = Path(__file__).resolve().parents[2] / "fixtures"
START = "2026-01-05T10:00:00Z"
ORDER = dict(campaign_name="promo", element_name="order_confirmation", bot_id="demo-bot",
             params=[{"param": 1, "column": "order_id"}, {"param": 2, "column": "order_amount"},
                     {"param": 3, "column": "delivery_date"}])
VALID = ROOT / "jelou" / "valid.csv"
CONFIG = {"clock": {"start": START, "frozen": True}, "max_request_bytes": 256 * 1024}


@pytest.fixture
def server():
    """A fresh mock per test: its clock starts at START, so tests can name dates."""
    with BackgroundServer(CONFIG) as running:
        yield running


@pytest.fixture
def control(server):
    with MockControl(server.base_url) as ctl:
        yield ctl


@pytest.fixture
def jelou(server, control):
    with JelouClient(server.base_url, "demo-client-id", "demo-client-secret") as client:
        yield client


@pytest.fixture
def indigitall(server, control):
    with IndigitallClient(server.base_url, "demo-server-key") as client:
        yield client


def order_csv(rows: int) -> bytes:
    lines = ["phone_number,order_id,order_amount,delivery_date"]
    lines += [f"5939{i:08d},A{i:05d},$1.00,May {i % 28 + 1}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


# -- Jelou --------------------------------------------------------------------------------------

def test_send_file_from_a_path_bytes_or_a_file_object(jelou):
    by_path = jelou.send_file(VALID, **ORDER)
    by_bytes = jelou.send_file(VALID.read_bytes(), **ORDER)
    with open(VALID, "rb") as handle:
        by_handle = jelou.send_file(handle, filename="other.csv", **ORDER)
    ids = {by_path.campaign_id, by_bytes.campaign_id, by_handle.campaign_id}
    assert len(ids) == 3 and None not in ids
    assert by_path.status == 200 and by_path.body["status"] == "success"
    assert jelou.get_campaign(by_path.campaign_id)["fileName"] == "valid.csv"
    assert jelou.get_campaign(by_bytes.campaign_id)["fileName"] == "recipients.csv"
    assert jelou.get_campaign(by_handle.campaign_id)["fileName"] == "other.csv"


def test_send_file_with_every_option(jelou):
    result = jelou.send_file(ROOT / "jelou" / "valid-survey_quick_reply.csv", campaign_name="survey",
                             element_name="survey_quick_reply", bot_id="demo-bot",
                             params=[{"param": 1, "column": "first_name"}], type="text",
                             button_payloads=[{"flowId": 1, "action": "yes"}], actions={"tag": "x"},
                             scheduled_at=datetime(2026, 1, 6, 9, 0, tzinfo=timezone.utc))
    campaign = jelou.get_campaign(result.campaign_id)
    assert campaign["status"] == "SCHEDULED" and campaign["scheduledAt"].startswith("2026-01-06T09:00:00")
    image = jelou.send_file(ROOT / "jelou" / "valid-promo_image.csv", campaign_name="img", element_name="promo_image",
                            bot_id="demo-bot", params=[{"param": 1, "column": "first_name"}], type="image",
                            media_url="https://example.com/a.jpg")
    assert jelou.get_campaign(image.campaign_id)["type"] == "image"


def test_send_url_fetches_the_csv(jelou):
    with FileServer(ROOT) as files:
        result = jelou.send_url(files.url("jelou/valid.csv"), **ORDER)
    assert jelou.get_campaign(result.campaign_id)["totalMessages"] == 5


def test_list_get_cancel_and_reschedule(jelou, control):
    first = jelou.send_file(VALID, **ORDER).campaign_id
    control.clock.advance("PT1S")
    later = jelou.send_file(VALID, **{**ORDER, "campaign_name": "later"}, scheduled_at="2026-01-07T00:00:00Z").campaign_id
    listed = jelou.list_campaigns("demo-bot", date(2026, 1, 5), "2026-01-05")
    assert [c["id"] for c in listed["results"]] == [later, first] and listed["pagination"]["total"] == 2
    assert [c["id"] for c in jelou.list_campaigns("demo-bot", "2026-01-05", "2026-01-05", limit=1, page=2)["results"]] == [first]
    assert [c["id"] for c in jelou.list_campaigns("demo-bot", "2026-01-05", "2026-01-05", status="SCHEDULED")["results"]] == [later]
    assert jelou.list_campaigns("demo-bot", "2026-01-05", "2026-01-05", element_name="welcome_message")["results"] == []
    assert jelou.cancel_campaign(later)["status"] == "CANCELLED"
    moved = jelou.reschedule_campaign(later, datetime(2026, 1, 8))
    assert moved["status"] == "SCHEDULED" and moved["scheduledAt"].startswith("2026-01-08T00:00:00")
    control.clock.advance("PT1M")
    with pytest.raises(ValidationError) as caught:
        jelou.cancel_campaign(first)            # already sent: only SCHEDULED/CANCELLED may change
    assert "status" in caught.value.fields and caught.value.status == 422


def test_notifications_one_page_one_item_and_every_page(jelou, control):
    campaign_id = jelou.send_file(order_csv(120), **ORDER).campaign_id
    control.clock.advance("PT1H")
    page = jelou.notifications("demo-bot", campaign_id=campaign_id, limit=5, page=2)
    assert page["pagination"]["total"] == 120 and len(page["results"]) == 5
    assert page["_metadata"]["total"] == 120
    one = jelou.notification("demo-bot", page["results"][0]["id"])
    assert one["campaignId"] == campaign_id and one["origin"] == "BULK"
    every = list(jelou.iter_notifications("demo-bot", campaign_id=campaign_id, limit=3))
    assert len(every) == 120 and len({n["id"] for n in every}) == 120
    delivered = list(jelou.iter_notifications("demo-bot", campaignId=campaign_id, status="READ"))
    assert delivered and all(n["sentStatus"] == "READ" for n in delivered)
    assert list(jelou.iter_notifications("demo-bot", campaign_id="nope")) == []


def test_wait_for_campaign(jelou, control):
    campaign_id = jelou.send_file(VALID, **ORDER).campaign_id
    with pytest.raises(TimeoutError, match="still PENDING"):
        jelou.wait_for_campaign(campaign_id, timeout=0.1, interval=0.02)
    mover = threading.Timer(0.1, control.clock.advance, args=("PT1M",))
    mover.start()
    seen = []
    try:
        final = jelou.wait_for_campaign(campaign_id, timeout=10, interval=0.02, on_poll=seen.append)
    finally:
        mover.join()
    assert final["status"] == "COMPLETED" and seen[-1] == final and len(seen) >= 2


def test_jelou_typed_errors(server, jelou):
    with JelouClient(server.base_url, "demo-client-id", "wrong") as bad:
        with pytest.raises(AuthenticationError) as caught:
            bad.get_campaign("x")
    assert caught.value.body == {"message": ["Authentication failed"], "status": "failed"}
    with pytest.raises(ForbiddenError) as caught:
        jelou.send_file(VALID, **{**ORDER, "bot_id": "foreign-bot"})
    assert caught.value.code == "forbidden_bot" and caught.value.provider == "jelou"
    with pytest.raises(NotFoundError, match="Campaign nope not found"):
        jelou.get_campaign("nope")
    with pytest.raises(ValidationError) as caught:
        jelou.send_file(ROOT / "jelou" / "phone-plus.csv", **ORDER)
    error = caught.value
    assert error.fields["file"][0]["line"] == 2 and error.code == "E0422"
    assert "file: line 2, column 'phone_number': the first column must be" in str(error)
    with pytest.raises(BadRequestError, match="could not be downloaded"):
        jelou.send_url("http://127.0.0.1:9/nothing.csv", **ORDER)
    with pytest.raises(PayloadTooLargeError) as caught:
        jelou.send_file(order_csv(12_000), **ORDER)
    assert caught.value.status == 413 and caught.value.body["status"] == "failed"


# -- indigitall -----------------------------------------------------------------------------------

def test_send_csv_get_and_list_tasks(indigitall):
    task = indigitall.send_csv(100, SEED_TEXT_CSV, INDIGITALL_TEXT_LAYOUT)
    assert task["taskId"] == 1 and task["total"] == 3 and task["status"] == "scheduled"
    as_dict = {"contactCode": "{{contactCode}}", "channelType": "cloud_api", "sendType": "proactive",
               "content": {"body": "Hola {{name}}"}}
    second = indigitall.send_csv(100, io.BytesIO(SEED_TEXT_CSV), as_dict, delay="PT1H",
                                 slicing_condition="deferredConsecutiveSlots", filename="x.csv")
    assert second["slicingCondition"] == "deferredConsecutiveSlots" and second["scheduledAt"].startswith("2026-01-05T11:00")
    third = indigitall.send_csv(200, ROOT / "indigitall" / "valid.csv", INDIGITALL_TEXT_LAYOUT,
                                scheduled_at=datetime(2026, 1, 6, tzinfo=timezone.utc))
    assert third["applicationId"] == 200 and third["scheduledAt"].startswith("2026-01-06T00:00:00")
    assert indigitall.get_task(100, 2)["status"] == "scheduled"
    listed = indigitall.list_tasks(100)
    assert [t["taskId"] for t in listed["data"]] == [2, 1] and listed["count"] == 2
    assert [t["taskId"] for t in indigitall.list_tasks(100, limit=1, page=2)["data"]] == [1]


def test_cancel_and_wait_for_task(indigitall, control):
    scheduled = indigitall.send_csv(100, SEED_TEXT_CSV, INDIGITALL_TEXT_LAYOUT, delay="PT1H")
    canceled = indigitall.cancel_task(100, scheduled["taskId"])
    assert canceled["status"] == "canceled" and "CANCELED_BY_REQUEST" in canceled["canceledReason"]
    with pytest.raises(ConflictError) as caught:
        indigitall.cancel_task(100, scheduled["taskId"])
    assert caught.value.code == "TASK_NOT_CANCELABLE"
    now = indigitall.send_csv(100, SEED_TEXT_CSV, INDIGITALL_TEXT_LAYOUT)
    with pytest.raises(TimeoutError):
        indigitall.wait_for_task(100, now["taskId"], timeout=0.05, interval=0.02)
    control.clock.advance("PT1M")
    final = indigitall.wait_for_task(100, now["taskId"], timeout=5, interval=0.02)
    assert final["status"] == "finished" and sum(final["messages"].values()) == 3


def test_indigitall_typed_errors(server, indigitall):
    with IndigitallClient(server.base_url, "wrong-key") as bad:
        with pytest.raises(AuthenticationError) as caught:
            bad.list_tasks(100)
    assert caught.value.body == {"statusCode": 401, "message": "Access token is not valid", "errorCode": "INVALID_ACCESS_TOKEN"}
    with pytest.raises(ForbiddenError, match="FORBIDDEN_APPLICATION"):
        indigitall.send_csv(300, SEED_TEXT_CSV, INDIGITALL_TEXT_LAYOUT)
    with pytest.raises(NotFoundError):
        indigitall.get_task(100, 99)
    with pytest.raises(ValidationError) as caught:
        indigitall.send_csv(100, ROOT / "indigitall" / "row-channel-not-allowed.csv", INDIGITALL_TEXT_LAYOUT)
    error = caught.value
    assert error.fields[0]["line"] == 3 and error.code == "INVALID_ROWS"
    assert "file: line 3, column 'channelType': channelType 'sms' is not allowed" in str(error)
    with IndigitallClient(server.base_url, "demo-server-key", path_prefix="/v9") as elsewhere:
        with pytest.raises(NotFoundError, match="Route GET:/v9/chat/application/100/task not found"):
            elsewhere.list_tasks(100)


# -- shared ------------------------------------------------------------------------------------------

def test_error_classes_by_status_and_the_base_class():
    assert isinstance(hc.error_for("jelou", 503, "<html>down</html>"), ServerError)
    assert type(hc.error_for("indigitall", 405, {"message": "x"})) is ProviderError
    assert type(hc.error_for("jelou", 400, {"message": ["x"]})) is BadRequestError
    assert type(hc.error_for("indigitall", 400, {"message": "x"})) is ValidationError
    error = hc.error_for("jelou", 503, "<html>down</html>")
    assert str(error) == "jelou answered 503 Service Unavailable: <html>down</html>"
    assert error.fields if isinstance(error, ValidationError) else error.details() == []
    assert hc.error_for("jelou", 422, "not json").fields == {}


def test_mock_control_is_reexported_and_a_given_session_stays_open(server):
    assert MockControl is ControlModuleMockControl
    with requests.Session() as session:
        with JelouClient(server.base_url, "a", "b", session=session) as client, \
                MockControl(server.base_url, session=session) as ctl:
            assert client.session is session and ctl.health() == {"status": "ok"}
        assert session.get(f"{server.base_url}/_mock/health", timeout=5).json() == {"status": "ok"}
    assert "demo" not in repr(JelouClient(server.base_url, "a", "b"))
