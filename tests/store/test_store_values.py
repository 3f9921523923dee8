"""The store's record values keep their dataclass behaviour with their one-step constructors."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from mock_server.store.base import NewRecord, Record


def test_record_and_new_record_are_frozen_dataclasses_built_by_position_or_keyword():
    record = Record("kind", "id-1", 3, 1_000_000, 1, {"a": 1}, (("idx", 1.0),))
    assert record == Record(kind="kind", id="id-1", seq=3, created_us=1_000_000, version=1, value={"a": 1},
                            indexes=(("idx", 1.0),))
    assert Record("k", "i", 1, 2, 1, "v").indexes == () and NewRecord("v").indexes == ()
    assert [field.name for field in dataclasses.fields(Record)] == ["kind", "id", "seq", "created_us", "version",
                                                                    "value", "indexes"]
    assert dataclasses.replace(record, version=2) == Record("kind", "id-1", 3, 1_000_000, 2, {"a": 1}, (("idx", 1.0),))
    assert record.created == 1.0
    assert pickle.loads(pickle.dumps(record)) == record == copy.deepcopy(record)
    assert hash(NewRecord("v", (("i", None),))) == hash(NewRecord("v", (("i", None),)))
    assert repr(NewRecord("v")) == "NewRecord(value='v', indexes=())"
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.version = 5
    with pytest.raises(TypeError):
        Record("k", "i", 1, 2, 1)          # value missing
