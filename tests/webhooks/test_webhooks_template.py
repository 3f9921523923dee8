"""A body's :class:`Template` gives the bytes :func:`encode` gives the same body built whole."""

from __future__ import annotations

import pytest

from mock_server.webhooks.events import Slots, Template, encode

SLOTS = Slots()


def _shape(values):
    return {"event": values["event"], "n": 3, "list": [1, "a"], "inner": {"text": values["text"], "flag": values["flag"],
            "none": values["none"], "const": "é\"\\\n", "deep": {"number": values["number"], "obj": values["obj"]}},
            "empty": {}}


@pytest.mark.parametrize("values", [
    {"event": "read", "text": "plain", "flag": True, "none": None, "number": 12, "obj": {"code": 1, "m": "x"}},
    {"event": "ünïcødé ✓", "text": "quote \" backslash \\ newline \n tab \t nul \x00 \u2028", "flag": False,
     "none": "not none", "number": 1.5, "obj": [None, True, "é"]},
    {"event": "", "text": "", "flag": 0, "none": None, "number": -7, "obj": None},
])
def test_template_bytes_are_encode_of_the_whole_body(values):
    template = Template(_shape(SLOTS))
    assert template.encode(values) == encode(_shape(values))


def test_template_looks_up_each_slot_by_name():
    template = Template({"a": SLOTS["x"], "b": {"c": SLOTS["x"], "d": SLOTS["y"]}})
    assert template.encode({"x": "1", "y": None, "unused": object()}) == b'{"a":"1","b":{"c":"1","d":null}}'
    with pytest.raises(KeyError):
        template.encode({"x": "1"})
