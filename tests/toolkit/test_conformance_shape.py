"""Unit tests of what ``mock-harness conformance`` compares and of its safety parts (no server)."""
from __future__ import annotations

import base64
import copy
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.conformance import shape
from harness.conformance.runner import file_url_reason, is_loopback_host, plan
from harness.conformance.safety import Guard, Pacer, Redactor, Refused, consent, phone_like_cells
from harness.conformance.scenario import NOT_A_PHONE, Env, Setup, scenario


def diff(target, mock, lifecycle=None):
    return shape.compare(shape.shape_of(target), shape.shape_of(mock), lifecycle)


VALIDATOR = {"message": ["The values entered are not correct."], "statusMessage": "failed", "status": 0,
             "error": {"code": "E0422", "key": "VALIDATOR_ERROR", "description": "x"},
             "validationError": {"file": [{"en": "bad", "es": "mal"}]}}


def test_ids_times_counts_and_free_text_are_not_compared():
    target = {"data": {"id": "a1", "createdAt": "2026-01-01T00:00:00Z", "total": 3, "name": "x"},
              "message": ["Created"]}
    mock = {"data": {"id": "zz-9", "createdAt": "2027-05-05T10:10:10Z", "total": 99999, "name": "other"},
            "message": ["Something else entirely"]}
    assert diff(target, mock) == []


def test_a_changed_type_a_missing_key_and_an_extra_key_are_named_with_both_sides():
    target = {"data": {"id": "a", "total": 3}, "extra": True}
    mock = {"data": {"id": 7}}
    assert diff(target, mock) == [
        {"path": "$.data.id", "target": "string", "mock": "number"},
        {"path": "$.data.total", "target": "number", "mock": "(absent)"},
        {"path": "$.extra", "target": "boolean", "mock": "(absent)"},
    ]


def test_enumeration_values_are_compared_statuses_error_codes_and_keys():
    changed = copy.deepcopy(VALIDATOR)
    changed["error"]["key"] = "VALIDATION_FAILED"
    changed["statusMessage"] = "error"
    assert diff(VALIDATOR, changed) == [
        {"path": "$.error.key", "target": '"VALIDATOR_ERROR"', "mock": '"VALIDATION_FAILED"'},
        {"path": "$.statusMessage", "target": '"failed"', "mock": '"error"'},
    ]
    # an error-field name is a key path: another field is a difference
    moved = copy.deepcopy(VALIDATOR)
    moved["validationError"] = {"params": moved["validationError"].pop("file")}
    assert [d["path"] for d in diff(VALIDATOR, moved)] == ["$.validationError.file", "$.validationError.params"]


def test_arrays_are_the_union_of_their_elements_and_an_empty_array_proves_nothing():
    target = {"results": [{"id": "1", "error": None}, {"id": "2", "error": {"code": 131026}}]}
    mock = {"results": [{"id": "9", "error": {"code": 131026}}]}
    assert diff(target, mock) == []
    assert diff({"results": []}, mock) == []
    assert diff(target, {"results": [{"id": 3}]}) == [
        {"path": "$.results[].error", "target": "null|object", "mock": "(absent)"},
        {"path": "$.results[].id", "target": "string", "mock": "number"}]


def test_null_against_a_value_is_data_but_a_null_parent_hides_its_children():
    assert diff({"completedAt": None, "error": None}, {"completedAt": "2026-01-01", "error": {"code": 1}}) == []
    assert diff({"completedAt": None}, {"completedAt": 3}) == []      # nullability: not compared
    assert diff({"completedAt": "x"}, {"completedAt": 3}) == [
        {"path": "$.completedAt", "target": "string", "mock": "number"}]


def test_lifecycle_paths_compare_by_vocabulary_not_by_value():
    statuses = frozenset({"PENDING", "COMPLETED"})
    rules = {"$.data.status": statuses}
    assert diff({"data": {"status": "PENDING"}}, {"data": {"status": "COMPLETED"}}, rules) == []
    assert diff({"data": {"status": "DONE"}}, {"data": {"status": "COMPLETED"}}, rules) == [
        {"path": "$.data.status", "target": '"DONE" (unknown: "DONE")', "mock": '"COMPLETED"'}]
    # without the rule, the value itself is compared
    assert diff({"data": {"status": "PENDING"}}, {"data": {"status": "COMPLETED"}}) != []


def test_odd_keys_text_and_empty_bodies_and_the_http_status():
    assert diff({"a b": 1}, {"a b": "x"}) == [{"path": '$["a b"]', "target": "number", "mock": "string"}]
    text, empty = shape.shape_of(shape.Text("<html>")), shape.shape_of(None, empty=True)
    # the children of an object the other side does not have are not listed again
    assert shape.compare(text, shape.shape_of({"message": "x"})) == [{"path": "$", "target": "text", "mock": "object"}]
    assert shape.compare(empty, shape.shape_of({}))[0] == {"path": "$", "target": "empty", "mock": "object"}
    assert shape.compare_answers(401, empty, 400, empty) == [{"path": "HTTP status", "target": "401", "mock": "400"}]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(
        ["id", "name", "status", "code", "data", "items", "a b"]), inner, max_size=4),
    max_leaves=12)


def _retext(value, suffix, enumeration=False):
    """The same document with every string and number changed, except enumeration values."""
    if isinstance(value, dict):
        return {key: _retext(item, suffix, key in shape.ENUM_KEYS) for key, item in value.items()}
    if isinstance(value, list):
        return [_retext(item, suffix, enumeration) for item in value]
    if enumeration or isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return value + suffix
    return value + 1


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_a_document_conforms_to_itself_and_to_itself_with_other_data(document):
    assert diff(document, document) == []
    assert diff(document, _retext(document, "-changed")) == []


@settings(max_examples=100, deadline=None)
@given(st.lists(json_values, min_size=1, max_size=4), st.randoms(use_true_random=False))
def test_array_order_and_repetition_do_not_matter(items, rnd):
    shuffled = list(items) * 2
    rnd.shuffle(shuffled)
    assert diff({"items": items}, {"items": shuffled}) == []


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["id", "name", "data"]), json_values, max_size=3))
def test_one_added_key_is_exactly_one_difference_naming_it(document):
    grown = {**document, "addedKey": 1}
    assert diff(document, grown) == [{"path": "$.addedKey", "target": "(absent)", "mock": "number"}]


# -- safety --------------------------------------------------------------------------------------
def test_the_pacer_keeps_two_per_second_on_an_injected_clock():
    now, sleeps = [100.0], []
    pacer = Pacer(2.0, clock=lambda: now[0], sleep=lambda s: (sleeps.append(s), now.__setitem__(0, now[0] + s)))
    for _ in range(4):
        pacer.wait()
    assert sleeps == [0.5, 0.5, 0.5]
    now[0] += 10                          # a slow request: no extra wait
    pacer.wait()
    assert sleeps == [0.5, 0.5, 0.5]


def test_the_guard_counts_and_refuses_strangers_and_the_request_over_the_cap():
    guard = Guard(2, ["593987654321"])
    guard.admit(b"phone_number,name\n593987654321,Ana\n")
    with pytest.raises(Refused, match="not --recipient"):
        guard.admit(b"phone_number\n593987654321\n+34 666 777 888\n")
    guard.admit(f"phone\n{NOT_A_PHONE}\n".encode())
    with pytest.raises(Refused, match="--max-requests 2 reached"):
        guard.admit(None)
    assert guard.sent == 2
    assert phone_like_cells(b"a,b\nT-1,conformance-1\n") == set()


def test_every_step_csv_holds_only_recipients_or_no_phone_at_all():
    recipients = ("593987654321", "34666777888")
    served = []
    env = Env(Setup(jelou_placeholders=2), recipients, __import__("datetime").datetime(2026, 1, 5),
              found={"campaign_id": "c", "notification_id": "n", "task_id": "t"},
              file_url=lambda name, data: served.append(data) or "http://127.0.0.1:1/x.csv")
    for step in scenario():
        request = step.build(env)
        cells = phone_like_cells(request.csv) if request.csv else set()
        if step.sends_messages:
            assert cells == set(recipients), step.name
        else:
            assert cells == set(), step.name
    assert served and all(phone_like_cells(data) == set(recipients) for data in served)


def test_no_recipient_plans_only_steps_that_send_nothing_and_the_cap_skips_the_rest():
    steps = scenario()
    planned = plan(steps, recipients=(), file_url_reason=None, max_requests=3)
    running = [item.step for item in planned if item.skip is None]
    assert len(running) == 3 and not any(step.sends_messages for step in running)
    assert any(item.skip == "--max-requests 3 reached" for item in planned)
    assert all(item.skip.startswith("sends messages") for item in planned if item.step.sends_messages)


def test_file_url_is_skipped_unless_every_side_is_on_loopback():
    assert file_url_reason("127.0.0.1", "localhost", "::1") is None
    assert "api.jelou.ai cannot reach" in file_url_reason("api.jelou.ai", "127.0.0.1")
    for host in ("127.0.0.1", "127.9.9.9", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"):
        assert is_loopback_host(host), host
    for host in ("10.0.0.1", "192.168.1.1", "example.com", "::ffff:10.0.0.1", "0.0.0.0", "", None):
        assert not is_loopback_host(host), host


def test_the_redactor_masks_as_the_journal_and_every_literal_secret_and_recipient():
    secret, key = "s3cr3t-value", "0123-4567-89ab-cdef"
    token = base64.b64encode(f"my-id:{secret}".encode()).decode()
    redactor = Redactor([f"my-id:{secret}", secret, key], ["593987654321"])
    body = {"echo": f"Basic {token}", "password": "hunter2", "url": "https://u:p@host/x.csv",
            "error": {"key": "VALIDATOR_ERROR"}, "note": f"key {key} for 593987654321"}
    shown = json.dumps(redactor.value(body))
    for leaked in (secret, token, "hunter2", "u:p@", key, "593987654321"):
        assert leaked not in shown
    assert "VALIDATOR_ERROR" in shown and "<recipient-1>" in shown
    headers = redactor.headers({"Authorization": f"ServerKey {key}", "Content-Type": "application/json"})
    assert headers == {"Authorization": "ServerKey ***cdef", "Content-Type": "application/json"}


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_consent_needs_yes_or_a_y_on_a_terminal():
    err = io.StringIO()
    assert consent(3, "T", yes=True, stdin=io.StringIO(), stderr=err) is None
    assert "--yes" in consent(3, "T", yes=False, stdin=io.StringIO("y\n"), stderr=err)   # not a terminal
    assert consent(3, "T", yes=False, stdin=_Terminal("y\n"), stderr=err) is None
    assert consent(3, "T", yes=False, stdin=_Terminal("\n"), stderr=err) == "nothing sent: not confirmed"
    assert consent(0, "T", yes=False, stdin=io.StringIO(), stderr=err) is None            # nothing to send


def test_the_conformance_page_lists_every_step_of_the_scenario():
    from pathlib import Path

    section = (Path(__file__).resolve().parents[2] / "docs" / "conformance.md").read_text(encoding="utf-8")
    assert [step.name for step in scenario() if f"| `{step.name}` |" not in section] == []
    assert "never compared yet" in section or "last compared" in section
