"""Typed repositories (``mock_server/store/repository.py``) over both stores: a record kind binds
its value type and declared indexes; builders get the creation instant; values come back typed.
And the store's boundary: it imports no domain type, and the app registers the stored types."""

from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

import mock_server.store
from mock_server.store import MemoryStore, codec
from mock_server.store.repository import Index, IndexFamily, RecordKind, Repository, whole

START_US = 1_767_607_200_000_000
ALL = Index("t.all")
BY_OWNER = IndexFamily("t.owner")
OPEN = Index("t.open")


@dataclass(frozen=True)
class Job:
    id: str
    owner: str
    due: float
    done: bool = False
    created_us: int = 0


codec.register_dataclass(Job, "tests.repository.job")


def _entries(job: Job):
    entries = [ALL.entry(), BY_OWNER[job.owner].entry()]
    if not job.done:
        entries.append(OPEN.entry(job.due))
    return entries


JOBS: RecordKind[Job, Job] = RecordKind("t.job", (ALL, BY_OWNER, OPEN), _entries)


@pytest.fixture(params=["memory", "redis"])
def jobs(request) -> Repository:
    if request.param == "memory":
        store = MemoryStore(clock_start_us=START_US, clock_frozen=True)
    else:
        from mock_server.store.redis import RedisStore

        store = RedisStore(request.getfixturevalue("redis_url"), clock_start_us=START_US, clock_frozen=True)
        request.addfinalizer(store.close)
    return Repository(store, JOBS)


def test_create_gives_the_builder_its_id_and_creation_instant(jobs):
    job = jobs.create("a", lambda job_id, created_us: Job(job_id, "ann", 5.0, created_us=created_us))
    assert isinstance(job, Job) and job.created_us == START_US
    assert jobs.get("a", job.id) == job
    record = jobs.store.get("a", JOBS.kind, job.id)
    assert record.created_us == job.created_us and record.value == job           # stored as built


def test_declared_entries_are_kept_in_step_with_the_value(jobs):
    ids = [jobs.create("a", lambda job_id, created_us, owner=owner, due=due: Job(job_id, owner, due)).id
           for owner, due in (("ann", 30.0), ("bob", 10.0), ("ann", 20.0))]
    assert [job.id for job in jobs.scan("a", BY_OWNER["ann"], newest_first=False)] == [ids[0], ids[2]]
    found, total = jobs.page("a", OPEN, newest_first=False, limit=2)
    assert [job.due for job in found] == [10.0, 20.0] and total == 3
    done = jobs.update("a", ids[1], lambda job: dataclasses.replace(job, done=True))
    assert done.done and jobs.count("a", OPEN) == 2 and jobs.count("a", ALL) == 3
    assert jobs.update("a", ids[1], lambda job: None) == done                   # no change
    assert jobs.update("a", "no-such-id", lambda job: job) is None


def test_update_many_may_create_and_gives_values(jobs):
    made = jobs.create("a", lambda job_id, created_us: Job(job_id, "ann", 1.0))
    out = jobs.update_many("a", [made.id, "extra"],
                           lambda current: [dataclasses.replace(current[0], done=True),
                                            Job("extra", "cid", 2.0) if current[1] is None else None])
    assert [job.done for job in out] == [True, False] and out[1].owner == "cid"
    assert [job.id for job in jobs.scan("a", OPEN)] == ["extra"]


def test_a_kind_loading_whole_records_gives_the_stored_records(jobs):
    """``load=whole``: readers and update functions get the store's records as they are."""
    kind = RecordKind("t.whole", (ALL,), lambda value: [ALL.entry()], load=whole)
    records = Repository(jobs.store, kind)
    made = records.create_missing("a", [("r1", {"n": 1}), ("r2", {"n": 2})])
    assert [(record.id, record.value, record.version) for record in made] == [("r1", {"n": 1}, 1), ("r2", {"n": 2}, 1)]
    assert records.create_missing("a", [("r1", {"n": 9}), ("r3", {"n": 3})])[0] is None
    seen = []

    def bump(current):
        seen.extend(current)
        return [None if record is None else {"n": record.value["n"] + 10} for record in current]
    out = records.update_many("a", ["r1", "gone", "r3"], bump)
    assert isinstance(out, tuple) and [type(record).__name__ for record in seen] == ["Record", "NoneType", "Record"]
    assert [(record.id, record.value, record.version) for record in out if record is not None] == \
        [("r1", {"n": 11}, 2), ("r3", {"n": 13}, 2)] and out[1] is None
    assert records.get("a", "r1").value == {"n": 11}


def test_an_undeclared_index_is_refused(jobs):
    with pytest.raises(ValueError, match="t.job records declare no index 'other'"):
        jobs.page("a", Index("other"))
    with pytest.raises(ValueError):
        list(jobs.scan("a", IndexFamily("t.ownerx")["ann"]))


# -- the store boundary ------------------------------------------------------------------------------

def test_the_store_imports_no_domain_type():
    """``mock_server/store`` imports only itself (and libraries): a domain type such as ``Rows``
    opts in through ``store.base.Blob`` instead of being known to the store."""
    package = Path(mock_server.store.__file__).parent
    outside = []
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.level > 1 or node.level == 0 and (node.module or "").startswith(
                    "mock_server") and not (node.module or "").startswith("mock_server.store")):
                outside.append(f"{path.name}: from {'.' * node.level}{node.module or ''} import ...")
            elif isinstance(node, ast.Import):
                outside += [f"{path.name}: import {alias.name}" for alias in node.names
                            if alias.name.startswith("mock_server") and not alias.name.startswith("mock_server.store")]
    assert outside == []


def test_stored_types_are_registered_by_the_app_not_by_importing_a_provider():
    """Importing the providers registers nothing with the codec; ``create_app`` registers the
    types the registered providers declare (``Provider.stored_types``) and the core's ``Rows``."""
    script = textwrap.dedent("""
        from mock_server.indigitall.tasks import Task
        from mock_server.jelou.campaigns import Campaign
        from mock_server.rows import Rows
        from mock_server.store import codec
        before = [codec.registered(cls) for cls in (Campaign, Task, Rows)]
        from mock_server import create_app
        create_app()
        print(before, [codec.registered(cls) for cls in (Campaign, Task, Rows)])
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[0] == "[False, False, False] [True, True, True]"
