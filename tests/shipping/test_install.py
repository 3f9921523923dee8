"""``make dist`` and ``pip install`` of the wheel into a fresh venv, used by a project that has its own ``harness/``.

The fresh venv gets this project's wheel with ``--no-deps`` (``make dist`` in a copy of the source:
sdist, then the wheel built from it) and, through a ``.pth`` file, only the distributions the core
requirements pull in (plus the user's own pytest), linked from this venv: so the test needs no
package index for them, and anything the slim install forgot (Faker, Locust, tqdm...) is missing
there for real.  ``pip check`` proves the linked set satisfies the core requirements.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "setup.py", "Makefile", "README.md", "bulk_messaging_mock", "mock_server", "harness")
HEAVY = ("faker", "locust", "gevent", "zmq", "tqdm", "hypothesis")


def requirement_closure(names: list[str]) -> set[str]:
    """Distribution names reached from ``names`` through their unconditional requirements."""
    seen: set[str] = set()
    todo = [Requirement(name) for name in names]
    while todo:
        requirement = todo.pop()
        key = requirement.name.lower().replace("_", "-")
        if key in seen or (requirement.marker and not requirement.marker.evaluate({"extra": ""})):
            continue
        seen.add(key)
        todo += [Requirement(text) for text in metadata.requires(requirement.name) or []]
    return seen


def link_distributions(names: set[str], target: Path) -> None:
    """Symlink each distribution's top-level files and its .dist-info into ``target``."""
    target.mkdir()
    for name in names:
        dist = metadata.distribution(name)
        site = Path(dist.locate_file(""))
        for top in {Path(str(f)).parts[0] for f in dist.files or []}:
            source, link = site / top, target / top
            if top.endswith(".pth") or top == ".." or not source.exists() or link.exists():
                continue
            link.symlink_to(source)


def run(args, cwd, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600, **kwargs)


USER_TEST = '''
import requests

import harness
import loadtests
import mock_server as users_mock_server_package
from bulk_messaging_mock import IndigitallClient, JelouClient, MockControl, ValidationError


def test_the_plugin_next_to_my_own_packages(mock_server, mock_clock):
    assert harness.WHOSE == loadtests.WHOSE == users_mock_server_package.WHOSE == "mine"
    mock_clock.freeze()
    answer = requests.post(f"{mock_server.base_url}/v1/hsm/file", auth=mock_server.jelou_credentials,
                           files={"file": ("r.csv", b"phone_number\\n593987654321\\n")},
                           data={"campaignName": "t", "elementName": "welcome_message",
                                 "botId": "demo-bot", "params": "[]"})
    assert answer.status_code == 200, answer.text
    mock_clock.advance("PT1M")
    sent = mock_server.control.messages(campaign=answer.headers["X-Mock-Campaign-Id"])
    assert [m["recipient"] for m in sent["messages"]] == ["593987654321"]
    assert type(mock_server.jelou) is JelouClient and type(mock_server.control) is MockControl
    assert type(mock_server.indigitall) is IndigitallClient
    with __import__("pytest").raises(ValidationError):
        mock_server.jelou.send_file(b"phone_number\\n+1\\n", campaign_name="t", element_name="welcome_message",
                                    bot_id="demo-bot", params=[])
'''

# The installed package's UI pages (generic and each provider's), its asset and the API docs page.
PAGES = """
from bulk_messaging_mock import create_app
app = create_app()
client = app.test_client()
for path in ("/_mock/ui/", "/_mock/ui/jelou", "/_mock/ui/indigitall", "/_mock/ui/requests",
             "/_mock/ui/static/ui.css", "/_mock/docs/"):
    print(client.get(path).status_code)
app.extensions["mock"].webhooks.stop()
"""


@pytest.mark.slow
def test_slim_install_serves_and_the_plugin_works_in_a_project_with_its_own_harness(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path).check_returncode()
    python = venv / "bin" / "python"
    site = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                    tmp_path).stdout.strip())
    core = [r for r in metadata.requires("bulk-messaging-mock") if "extra ==" not in r]  # the slim set
    deps = tmp_path / "deps"
    link_distributions(requirement_closure(core + ["pytest", "pip"]), deps)
    (site / "linked-deps.pth").write_text(f"{deps}\n")

    dist = run(["make", "-C", str(source), "dist", f"VENV={sys.prefix}", "STAMP="], tmp_path)
    assert dist.returncode == 0, dist.stdout[-2000:] + dist.stderr[-2000:]
    [wheel] = (source / "dist").glob("bulk_messaging_mock-*.whl")
    assert len(list((source / "dist").glob("bulk_messaging_mock-*.tar.gz"))) == 1
    with zipfile.ZipFile(wheel) as archive:   # one top-level name: nothing to clash with a project's own
        tops = {name.split("/")[0] for name in archive.namelist()}
    assert tops == {"bulk_messaging_mock", wheel.name.split("-py3")[0] + ".dist-info"}
    install = run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)], tmp_path)
    assert install.returncode == 0, install.stdout + install.stderr
    assert not [name for name in ("harness", "mock_server", "loadtests") if (site / name).exists()]
    check = run([str(python), "-m", "pip", "check"], tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr      # the core requirements are all there
    found = run([str(python), "-c", "import importlib.util as u, sys; "
                 f"print([n for n in {HEAVY!r} if u.find_spec(n)])"], tmp_path)
    assert found.stdout.strip() == "[]", found.stdout + found.stderr
    pages = run([str(python), "-c", PAGES], tmp_path)              # templates and assets ship in the package
    assert pages.stdout.split() == ["200"] * 6, pages.stdout + pages.stderr[-2000:]

    project = tmp_path / "project"
    for package in ("harness", "mock_server", "loadtests"):
        (project / package).mkdir(parents=True)
        (project / package / "__init__.py").write_text('WHOSE = "mine"\n')
    (project / "harness" / "pytest_plugin.py").write_text("raise ImportError('not the plugin')\n")
    (project / "tests").mkdir()
    (project / "tests" / "test_mine.py").write_text(USER_TEST)
    (project / "pytest.ini").write_text("[pytest]\nfilterwarnings =\n    error\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "VIRTUAL_ENV"))}
    # `python -m pytest` puts the project first on sys.path: its harness/ shadows ours
    result = run([str(python), "-m", "pytest", "-p", "no:cacheprovider", "-v"], project, env=env)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "test_the_plugin_next_to_my_own_packages PASSED" in result.stdout
    plugins = re.search(r"^plugins: (.*)$", result.stdout, re.MULTILINE).group(1)
    assert plugins.startswith("bulk-messaging-mock-0.2.0") and "locust" not in plugins.lower()
    fixtures = run([str(python), "-m", "pytest", "-p", "no:cacheprovider", "--fixtures"], project, env=env)
    assert "mock_clock" in fixtures.stdout and "fastsession" not in fixtures.stdout

    venv_bin = venv / "bin"
    generate = run([str(venv_bin / "mock-harness"), "csv", "jelou", "--rows", "1"], tmp_path, env=env)
    assert generate.returncode == 1
    assert "needs the [harness] extra: pip install 'bulk-messaging-mock[harness]'" in generate.stderr
    server = run([str(venv_bin / "mock-server"), "--help"], tmp_path, env=env)
    assert server.returncode == 0 and "MOCK_<FLAG>" in server.stdout


def test_make_run_installs_the_runtime_only_and_test_and_load_add_their_extras(tmp_path):
    """``make run`` on a fresh clone: the core requirements only, at most 35 packages with pip itself."""
    venv = tmp_path / "fresh-venv"                           # never created: `make -n` only prints
    def commands(target: str) -> list[str]:
        printed = run(["make", "-n", "-C", str(ROOT), target, f"VENV={venv}"], tmp_path)
        assert printed.returncode == 0, printed.stderr
        return [line for line in printed.stdout.splitlines() if "pip install" in line and "--upgrade pip" not in line]

    assert commands("run") == [f"{venv}/bin/python -m pip install --quiet -e ."]
    assert commands("load") == [f"{venv}/bin/python -m pip install --quiet -e '.[load]'"]
    assert commands("test") == [f"{venv}/bin/python -m pip install --quiet -e '.[dev]'"]
    core = [r for r in metadata.requires("bulk-messaging-mock") if "extra ==" not in r]
    installed = requirement_closure(core + ["pip", "setuptools"]) | {"bulk-messaging-mock"}
    assert len(installed) <= 35, sorted(installed)
    assert not installed & {"faker", "locust", "pytest", "hypothesis", "playwright", "schemathesis", "build"}
