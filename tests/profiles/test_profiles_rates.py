"""Throughput shared per bot / application and messaging tiers under a profile (CONTRACT §14)."""

from __future__ import annotations

from collections import Counter

import pytest

from mock_server.isotime import parse_datetime

from support.jelou import JELOU, START
from support.profiles import messages, phones, send_indigitall, send_jelou

T0 = parse_datetime(START).timestamp()


def _sends(items: list[dict]) -> list[float]:
    return sorted(parse_datetime(item["timestamps"]["sentAt"]).timestamp() for item in items
                  if item["timestamps"]["sentAt"])


def test_two_jelou_campaigns_of_800_on_one_bot_at_80_mps_finish_sending_20_s_after_they_start(client):
    client.put("/_mock/profile", json={"profile": {"throughput": {"mps": 80}}})
    first, second = send_jelou(client, phones(800)), send_jelou(client, phones(800, first=1000))
    client.post("/_mock/clock", json={"advance": "PT1M"})
    one, two = _sends(messages(client, first)), _sends(messages(client, second))
    assert len(one) == len(two) == 800
    assert two[0] == pytest.approx(one[-1] + 1 / 80, abs=1e-3)            # one after the other
    assert two[-1] - one[0] == pytest.approx(1599 / 80, abs=1e-3)         # 20 s for 1,600 at 80 per second


def test_two_indigitall_tasks_of_one_application_share_its_80_mps(client):
    client.put("/_mock/profile", json={"profile": {"throughput": {"mps": 80}}})
    first, second = send_indigitall(client, phones(800)), send_indigitall(client, phones(800, first=1000))
    other = send_indigitall(client, phones(80, first=5000), application=100)     # another application: its own rate
    client.post("/_mock/clock", json={"advance": "PT1M"})
    one, two = _sends(messages(client, str(first))), _sends(messages(client, str(second)))
    assert len(one) == len(two) == 800
    assert two[0] >= one[-1] and two[-1] - one[0] == pytest.approx(1599 / 80, abs=1e-3)
    assert _sends(messages(client, str(other)))[0] == pytest.approx(T0, abs=1e-3)


def test_the_ideal_profile_keeps_tasks_of_one_application_in_parallel(client):
    first, second = send_indigitall(client, phones(100)), send_indigitall(client, phones(100, first=1000))
    client.post("/_mock/clock", json={"advance": "PT1M"})
    assert _sends(messages(client, str(first)))[0] == _sends(messages(client, str(second)))[0] == T0


def _tier(client, limit: int, overflow: str = "fail"):
    answer = client.put("/_mock/profile", json={"profile": {"tier": {"unique_recipients_24h": limit,
                                                                     "overflow": overflow}}})
    assert answer.status_code == 200


def test_a_tier_fails_new_recipients_beyond_it_in_a_rolling_24_hours(client):
    _tier(client, 5)
    numbers = phones(8)
    campaign = send_jelou(client, numbers + [numbers[0], numbers[4], "99901000001"])
    client.post("/_mock/clock", json={"advance": "PT1H"})
    items = messages(client, campaign)
    failed = [item for item in items if item["status"] == "FAILED"]
    assert [item["recipient"] for item in failed] == numbers[5:] + ["99901000001"]
    assert [item["error"]["code"] for item in failed] == [131048] * 3 + [131026]
    # an hour later: a recipient already reached passes, a new one does not
    later = send_jelou(client, [numbers[1], "593911111111"])
    client.post("/_mock/clock", json={"advance": "PT1H"})
    assert [item["status"] for item in messages(client, later)] != ["FAILED", "FAILED"]
    assert messages(client, later)[1]["status"] == "FAILED"
    # a day after the first sends, the window has room again
    client.post("/_mock/clock", json={"advance": "PT23H"})
    fresh = send_jelou(client, phones(3, first=100))
    client.post("/_mock/clock", json={"advance": "PT1H"})
    assert Counter(item["status"] for item in messages(client, fresh))["FAILED"] == 0


def test_a_queueing_tier_holds_new_recipients_until_the_window_lets_them_through(client):
    _tier(client, 3, "queue")
    campaign = send_jelou(client, phones(5))
    client.post("/_mock/clock", json={"advance": "P3D"})
    sends = [parse_datetime(item["timestamps"]["sentAt"]).timestamp() for item in messages(client, campaign)]
    assert all(item["status"] != "FAILED" for item in messages(client, campaign))
    assert sends[3] == pytest.approx(sends[0] + 86400, abs=1e-3)
    assert sends[4] == pytest.approx(sends[1] + 86400, abs=1e-3)
    detail = client.get(f"/v1/campaigns/{campaign}", headers=JELOU).json["data"]
    assert detail["status"] == "COMPLETED" and detail["completedAt"].startswith("2026-01-06T10:00:01")


def test_an_indigitall_tier_counts_the_contact_code(client):
    _tier(client, 2)
    task = send_indigitall(client, ["5939000001", "5939000002", "5939000001", "5939000003"])
    client.post("/_mock/clock", json={"advance": "PT1H"})
    statuses = [(item["recipient"], item["status"], (item["error"] or {}).get("code"))
                for item in messages(client, str(task))]
    assert statuses[3] == ("5939000003", "failed", 131048)
    assert all(status != "failed" for _, status, _ in statuses[:3])
