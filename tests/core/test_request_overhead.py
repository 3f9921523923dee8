"""Work a request does not repeat or do for nothing (issue 19, the upload path): Flask's
coroutine check once per function, the own origin parsed only when a request could be refused
for it, the outcome table built once per read share."""

from __future__ import annotations

import random

import flask.app

from mock_server import browsers, delivery
from support.jelou import send_form


def test_flask_asks_once_per_hook_or_view_whether_it_is_a_coroutine(client, monkeypatch):
    asked: list = []
    check = flask.app.iscoroutinefunction
    monkeypatch.setattr(flask.app, "iscoroutinefunction", lambda func: asked.append(func) or check(func))
    assert send_form(client).status_code == 200
    first = len(asked)
    assert first >= 4                              # the hooks and the view, asked on the first upload
    assert send_form(client).status_code == 200
    assert len(asked) == first                     # and never again


def test_the_own_origin_is_worked_out_only_for_a_change_to_the_control_plane(client, monkeypatch):
    parsed: list = []
    parse = browsers.parse_origin
    monkeypatch.setattr(browsers, "parse_origin", lambda text: parsed.append(text) or parse(text))
    assert send_form(client).status_code == 200                       # an API call: nothing to check
    assert client.get("/_mock/health").status_code == 200             # a read of the control plane
    assert parsed == []
    refused = client.post("/_mock/reset", headers={"Origin": "http://evil.example"})
    assert refused.status_code == 403 and "http://localhost" in parsed    # the own origin, to compare
    assert client.post("/_mock/reset").status_code == 200


def test_outcomes_use_one_table_per_read_share():
    delivery._read_table.cache_clear()
    reserved, invalid = {1: "99901000001"}, {2: "bad"}
    first = delivery.build_outcomes(300, random.Random(5), 0.7, reserved, invalid)
    again = delivery.build_outcomes(300, random.Random(5), 0.7, reserved, invalid)
    draws = random.Random(5).randbytes(300)
    expected = bytearray(delivery.ORDINARY_READ if value < round(0.7 * 256) else delivery.ORDINARY for value in draws)
    expected[1], expected[2] = delivery.reserved_outcome("99901000001"), delivery.INVALID
    assert first == again == expected
    assert delivery._read_table.cache_info().misses == 1
