"""Layout rendering: the seed's examples, injection safety, per-row templates, send-time failures."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from support.indigitall import TEMPLATE_CSV, TEMPLATE_LAYOUT, TEXT_CSV, TEXT_LAYOUT, advance, create, messages
from mock_server.indigitall.layout import Layout, Text

PEOPLE = [("34666777888", "John", "5123", "new_ticket"), ("34666555666", "Jane", "5528", "new_ticket"),
          ("34666111222", "Alice", "4125", "error_ticket")]


def template_message(contact: str, name: str, ticket: str, template: str) -> dict:
    return {
        "contactCode": contact,
        "channelType": "cloud_api",
        "sendType": "proactive",
        "content": {"template": {
            "name": template,
            "language": {"policy": "deterministic", "code": "es"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": name}]},
                {"index": "0", "type": "button", "subType": "quickReply",
                 "parameters": [{"type": "payload", "payload": ticket}]},
            ],
        }},
    }


def to_csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


# -- the seed's examples, sent as written -----------------------------------------------------
def test_seed_text_layout_with_seed_csv(client):
    task = create(client, TEXT_CSV, layout=TEXT_LAYOUT)
    advance(client, "PT1M")
    found = messages(client, campaign=str(task["taskId"]))
    assert found["total"] == 3
    assert [m["content"] for m in found["messages"]] == [
        {"contactCode": contact, "channelType": "cloud_api", "sendType": "proactive",
         "content": {"body": f"Hi there {name}!"}} for contact, name, _, _ in PEOPLE]
    assert [m["recipient"] for m in found["messages"]] == [p[0] for p in PEOPLE]
    assert {m["provider"] for m in found["messages"]} == {"indigitall"}
    assert [m["id"] for m in found["messages"]] == ["1-1", "1-2", "1-3"]
    assert all(m["status"] in ("delivered", "read") and m["error"] is None for m in found["messages"])


def test_seed_template_layout_with_seed_csv(client):
    task = create(client, TEMPLATE_CSV, layout=TEMPLATE_LAYOUT)
    advance(client, "PT1M")
    found = messages(client, campaign=str(task["taskId"]))["messages"]
    assert [m["content"] for m in found] == [template_message(*person) for person in PEOPLE]
    button = found[0]["content"]["content"]["template"]["components"][1]
    assert button["index"] == "0" and button["parameters"][0]["payload"] == "5123"   # strings stay strings
    assert [m["content"]["content"]["template"]["name"] for m in found] == ["new_ticket", "new_ticket", "error_ticket"]
    assert all(m["status"] != "failed" for m in found)


# -- rendering rules ------------------------------------------------------------------------
TRICKY = [
    'She said "hi" and left',
    "two\nlines\r\nand more",
    "comma, inside",
    "back\\slash and \\n (not a newline) \\u0041",
    "emoji 🎉 ñandú 中文 ✓",
    "{{name}} {{1}} {{contactCode}} {{ channelType }}",
    '{"json": "looking", "n": 1}',
    '", "contactCode": "999", "x": "',
    "=SUM(A1:A2);'quote'\ttab",
    "",
    "   spaced   ",
]


def test_tricky_cells_render_exactly_and_never_break_json(client):
    layout = json.dumps({"contactCode": "{{contactCode}}", "channelType": "cloud_api", "sendType": "proactive",
                         "content": {"body": "<{{text}}>"}, "exact": "{{text}}", "meta": {"{{text}}": "{{text}}"}})
    rows = [[f"3466600{i:04d}", value] for i, value in enumerate(TRICKY)]
    task = create(client, to_csv(["contactCode", "text"], rows), layout=layout)
    advance(client, "PT1S")
    found = messages(client, campaign=str(task["taskId"]))["messages"]
    assert len(found) == len(TRICKY)
    for message, (contact, value) in zip(found, rows):
        content = message["content"]
        assert content["contactCode"] == contact
        assert content["exact"] == value
        assert content["content"]["body"] == f"<{value}>"
        assert content["meta"] == {"{{text}}": value}        # keys are not substituted


def test_placeholders_spaces_empty_cells_and_literal_braces(client):
    layout = json.dumps({"contactCode": "{{ contactCode }}", "channelType": "{{channelType}}", "sendType": "proactive",
                         "content": {"body": "{{name}}|{{  name}}|{{}}|{{ }}|{{{name}}}"},
                         "n": 1, "flag": True, "none": None, "list": ["{{name}}", 2]})
    task = create(client, b"contactCode,channelType,name\n34666777888,cloud_api,\n", layout=layout)
    content = messages(client, campaign=str(task["taskId"]))["messages"][0]["content"]
    assert content["contactCode"] == "34666777888"
    assert content["content"]["body"] == "||{{}}|{{ }}|{}"
    assert content["n"] == 1 and content["flag"] is True and content["none"] is None
    assert content["list"] == ["", 2]


def test_a_value_that_is_one_placeholder_stays_a_string(client):
    layout = json.dumps({"contactCode": "{{contactCode}}", "channelType": "cloud_api", "sendType": "proactive",
                         "content": {"body": "x"}, "index": "{{n}}", "ok": "{{b}}"})
    task = create(client, b"contactCode,n,b\n34666777888,0,true\n", layout=layout)
    content = messages(client, campaign=str(task["taskId"]))["messages"][0]["content"]
    assert content["index"] == "0" and content["ok"] == "true"


@hsettings(max_examples=200, deadline=None)
@given(st.text(), st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1))
def test_rendered_value_is_the_cell_text(cell, literal):
    layout = Layout({"a": "{{v}}", "b": literal + "{{v}}" + literal, "c": ["{{ v }}"]})
    rendered = layout.render({"v": cell})
    assert rendered["a"] == cell and rendered["c"] == [cell]
    assert rendered["b"] == Text(literal).render({}) + cell + Text(literal).render({})
    assert json.loads(json.dumps(rendered)) == rendered


def test_bound_renderer_matches_the_tree_renderer():
    text = Text("A {{x}} B {{ y }} C {{x}}")
    assert text.names == ["x", "y", "x"]
    render = text.bind(["y", "x"])
    assert render(["2", "1"]) == text.render({"x": "1", "y": "2"}) == "A 1 B 2 C 1"


# -- templates named per row; unknown ones fail at send time ----------------------------------
def test_unknown_template_fails_that_message_at_send_time(client):
    csv_bytes = TEMPLATE_CSV + b"34666999000,no_such_template,Bob,7000\n"
    task = create(client, csv_bytes, layout=TEMPLATE_LAYOUT)
    assert task["total"] == 4 and task["status"] == "scheduled"
    advance(client, "PT1M")
    found = messages(client, campaign=str(task["taskId"]))["messages"]
    assert [m["status"] for m in found[:3]] != ["failed"] * 3
    assert all(m["status"] != "failed" for m in found[:3])
    failed = found[3]
    assert failed["status"] == "failed" and failed["recipient"] == "34666999000"
    assert "no_such_template" in failed["error"]["message"] and "does not exist" in failed["error"]["message"]
    assert failed["timestamps"]["failedAt"] == "2026-01-05T10:00:00.030Z"
    assert failed["content"]["content"]["template"]["name"] == "no_such_template"


def test_unknown_template_in_the_layout_fails_every_message(client):
    layout = TEMPLATE_LAYOUT.replace("{{templateName}}", "ghost")
    task = create(client, TEMPLATE_CSV, layout=layout)
    advance(client, "PT1M")
    assert messages(client, campaign=str(task["taskId"]), status="failed")["total"] == 3


def test_templates_are_per_application():
    from mock_server import create_app
    app = create_app({"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True}, "indigitall": {"applications": [
        {"id": 100, "templates": ["error_ticket"], "slicing": {"enabled": False}}]}})
    client = app.test_client()
    create(client, TEMPLATE_CSV, layout=TEMPLATE_LAYOUT)
    advance(client, "PT1M")
    assert [m["status"] == "failed" for m in messages(client)["messages"]] == [True, True, False]


# -- invalid_rows: skip --------------------------------------------------------------------------
@pytest.mark.parametrize("app_config", [{"indigitall": {"invalid_rows": "skip"}}])
def test_skip_keeps_bad_rows_as_failed_messages(client):
    csv_bytes = (b"contactCode,channelType,name\n34666777888,cloud_api,John\n,cloud_api,Nobody\n"
                 b"34666555666,sms,Jane\n34666111222,cloud_api\n34666000111,cloud_api,Zoe\n")
    task = create(client, csv_bytes)
    assert task["total"] == 5
    advance(client, "PT1M")
    found = messages(client, campaign=str(task["taskId"]))["messages"]
    assert [m["status"] == "failed" for m in found] == [False, True, True, True, False]
    assert found[1]["error"]["message"] == "contactCode is empty"
    assert "channelType 'sms' is not allowed" in found[2]["error"]["message"]
    assert "2 cells but the header has 3" in found[3]["error"]["message"]
    assert found[3]["line"] == 5 and found[3]["content"]["content"]["body"] == "Hi there !"
