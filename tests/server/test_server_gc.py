"""The serving process tunes its garbage collector (``tune_gc``); an app built by ``create_app`` alone does not."""

from __future__ import annotations

import gc
import json
import subprocess
import sys

import pytest

import mock_server.__main__ as cli
from mock_server import create_app
from mock_server.httpserver import GC_GENERATION0, tune_gc
from support.servers import free_port

GC_STATE = "import gc, json; print(json.dumps([gc.get_threshold(), gc.get_freeze_count()]))"


@pytest.fixture
def restored_gc():
    """This test process's collector as it was, whatever the test did to it."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_tune_gc_raises_generation_0_and_freezes_what_exists(restored_gc):
    gc.unfreeze()
    generations = gc.get_threshold()[1:]
    tune_gc()
    assert gc.get_threshold() == (GC_GENERATION0, *generations)
    assert GC_GENERATION0 == 50_000
    assert gc.get_freeze_count() > 10_000          # the imports and everything built so far


def test_create_app_leaves_the_collector_alone(restored_gc):
    gc.unfreeze()
    before = gc.get_threshold()
    app = create_app()
    app.extensions["mock"].webhooks.stop()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_mock_server_tunes_the_collector_before_it_serves(monkeypatch, restored_gc):
    gc.unfreeze()
    seen = {}

    def serve(app, server, sock, say, **options):
        seen.update(threshold=gc.get_threshold(), frozen=gc.get_freeze_count(),
                    delivering=app.extensions["mock"].webhooks is not None)
        sock.close()
        app.extensions["mock"].webhooks.stop()
        return 0

    monkeypatch.setattr(cli, "serve_waitress", serve)
    assert cli.main(["--port", str(free_port()), "--quiet"]) == 0
    assert seen["threshold"][0] == GC_GENERATION0
    assert seen["frozen"] > 10_000


def test_each_granian_worker_tunes_its_collector(tmp_path):
    """``granian_app`` is what every ``--workers`` process runs to build its app (in its own process here)."""
    script = ("import json, sys\nfrom mock_server.httpserver import granian_app\n"
              "app = granian_app(sys.argv[1])\napp.extensions['mock'].webhooks.stop()\n" + GC_STATE)
    target = json.dumps({"config": {"seed": 3}, "metrics": str(tmp_path)})
    done = subprocess.run([sys.executable, "-c", script, target], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    threshold, frozen = json.loads(done.stdout.strip().splitlines()[-1])
    assert threshold[0] == GC_GENERATION0 and frozen > 10_000
