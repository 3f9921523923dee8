"""The serving process tunes its garbage collector (``tune_gc``); an app built by ``create_app`` alone does not."""

from __future__ import annotations

import gc
import json
import subprocess
import sys

import pytest
from support.servers import free_port

import mock_server.__main__ as cli
from mock_server import create_app
from mock_server.httpserver import GC_GENERATION0, tune_gc


@pytest.fixture
def restored_gc():
    """This test process's collector as it was, whatever the test did to it."""
    threshold = gc.get_threshold()
    yield threshold
    gc.set_threshold(*threshold)


def test_tune_gc_raises_generation_0_only(restored_gc):
    tune_gc()
    assert gc.get_threshold() == (GC_GENERATION0, *restored_gc[1:])
    assert GC_GENERATION0 == 50_000 > restored_gc[0]
    assert gc.isenabled()


def test_create_app_leaves_the_collector_alone(restored_gc):
    frozen = gc.get_freeze_count()
    app = create_app()
    app.extensions["mock"].webhooks.stop()
    assert gc.get_threshold() == restored_gc and gc.isenabled()
    assert gc.get_freeze_count() == frozen


def test_mock_server_tunes_the_collector_before_it_serves(monkeypatch, restored_gc):
    seen = {}

    def serve(app, server, sock, say, **options):
        seen["threshold"] = gc.get_threshold()
        sock.close()
        app.extensions["mock"].webhooks.stop()
        return 0

    monkeypatch.setattr(cli, "serve_waitress", serve)
    assert cli.main(["--port", str(free_port()), "--quiet"]) == 0
    assert seen["threshold"] == (GC_GENERATION0, *restored_gc[1:])


def test_each_granian_worker_tunes_its_collector(tmp_path):
    """``granian_app`` is what every ``--workers`` process runs to build its app (in its own process here)."""
    script = ("import gc, json, sys\nfrom mock_server.httpserver import granian_app\n"
              "app = granian_app(sys.argv[1])\napp.extensions['mock'].webhooks.stop()\nprint(gc.get_threshold()[0])")
    target = json.dumps({"config": {"seed": 3}, "metrics": str(tmp_path)})
    done = subprocess.run([sys.executable, "-c", script, target], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == str(GC_GENERATION0)
