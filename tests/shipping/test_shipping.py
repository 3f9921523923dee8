"""How the project ships: MOCK_<FLAG> environment, container files, extras, the plugin's loader."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import bulk_messaging_mock
from harness import cli, fakes
from mock_server.__main__ import build_config, parse_args

ROOT = Path(__file__).resolve().parents[2]


def test_environment_sets_any_flag_and_the_command_line_wins(tmp_path):
    config = tmp_path / "mock.yaml"
    config.write_text("jelou:\n  sending_rate: 50\n")
    env = {"MOCK_PORT": "9001", "MOCK_SEED": "7", "MOCK_CONFIG": str(config), "MOCK_QUIET": "yes",
           "MOCK_HOST": "0.0.0.0", "PORT": "1", "MOCK_UNKNOWN": "x"}
    args = parse_args([], environ=env)
    assert (args.port, args.seed, args.quiet, args.host) == (9001, 7, True, "0.0.0.0")
    assert build_config(args) == {"seed": 7, "jelou": {"sending_rate": 50},
                                  "server": {"host": "0.0.0.0", "port": 9001}, "access_log": None}
    args = parse_args(["--port", "9002", "--seed", "3"], environ=env)
    assert (args.port, args.seed) == (9002, 3)
    assert parse_args([], environ={"MOCK_QUIET": "0"}).quiet is False
    assert parse_args([], environ={}).port is None          # the setting server.port decides (8080)


@pytest.mark.parametrize("env, message", [
    ({"MOCK_PORT": "eighty"}, "MOCK_PORT='eighty': --port must be a whole number, not 'eighty'"),
    ({"MOCK_STORE": "mongo://x"}, "MOCK_STORE='mongo://x': --store must be 'memory' or redis://"),
    ({"MOCK_QUIET": "maybe"}, "MOCK_QUIET='maybe': expected one of"),
])
def test_a_bad_environment_value_is_a_usage_error_naming_the_variable(env, message, capsys):
    with pytest.raises(SystemExit) as exited:
        parse_args([], environ=env)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def dockerfile() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [tuple(line.split(None, 1)) for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_dockerfile_slim_non_root_healthcheck_exec_form_and_env_names():
    instructions = dockerfile()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [arg for op, arg in instructions if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    health = " ".join(arg for op, arg in instructions if op == "HEALTHCHECK")
    assert "/_mock/health" in health and "CMD [" in health
    entrypoint = [arg for op, arg in instructions if op == "ENTRYPOINT"]
    assert json.loads(entrypoint[-1]) == ["mock-server"]           # exec form: PID 1 gets SIGTERM
    names = set(re.findall(r"\b(MOCK_[A-Z_]+)=", " ".join(arg for op, arg in instructions if op == "ENV")))
    assert names == {"MOCK_HOST", "MOCK_PORT"}
    args = parse_args([], environ={"MOCK_HOST": "0.0.0.0", "MOCK_PORT": "8080"})
    assert (args.host, args.port) == ("0.0.0.0", 8080)
    install = " ".join(arg for op, arg in instructions if op == "RUN")
    assert "pip install --quiet /tmp/src" in install and "[" not in install.split("/tmp/src")[1][:2]


def test_dockerignore_keeps_the_context_to_the_package_sources():
    lines = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert lines[0] == "*"
    kept = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert kept == {"pyproject.toml", "setup.py", "README.md", "bulk_messaging_mock", "mock_server", "harness"}


def test_compose_services():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    mock = services["mock"]
    assert mock["build"] == "." and mock["ports"] == ["127.0.0.1:8080:8080"] and "profiles" not in mock
    assert parse_args([], environ=mock["environment"]).seed == 0
    scaled = services["mock-scaled"]
    assert scaled["profiles"] == ["scale"] == services["redis"]["profiles"]
    assert scaled["image"] == mock["image"]
    command = scaled["command"]
    assert command[command.index("--workers") + 1] == "4"
    assert command[command.index("--store") + 1] == "redis://redis:6379/0"
    assert scaled["depends_on"]["redis"]["condition"] == "service_healthy"


def test_container_smoke_without_an_engine_says_what_to_install(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "env"):
        found = next((Path(d) / tool for d in os.environ["PATH"].split(os.pathsep) if (Path(d) / tool).exists()), None)
        if found:
            (bin_dir / tool).symlink_to(found)
    completed = subprocess.run([str(bin_dir / "bash"), str(ROOT / "scripts" / "container-smoke")],
                               env={"PATH": str(bin_dir)}, capture_output=True, text=True, timeout=30)
    assert completed.returncode == 3
    assert "install docker, or podman (apt-get install podman" in completed.stderr


def test_csv_generation_without_faker_names_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "faker", None)               # as if Faker were not installed
    monkeypatch.delitem(sys.modules, "harness.faker_pools", raising=False)
    fakes._build_pools.cache_clear()
    assert cli.main(["csv", "jelou", "--rows", "1", "--seed", "424242"]) == 1
    err = capsys.readouterr().err
    assert "mock-harness csv: error: generating CSVs (Faker) needs the [harness] extra" in err
    assert "pip install 'bulk-messaging-mock[harness]'" in err
    fakes._build_pools.cache_clear()


def test_the_loader_uses_the_top_level_packages_here():
    assert bulk_messaging_mock.top_level_is_ours()
    import harness.client
    assert bulk_messaging_mock.module("harness.client") is harness.client
    with pytest.raises(ValueError, match="unknown package 'loadtests'"):
        bulk_messaging_mock.package("loadtests")


def test_the_loader_loads_private_copies_when_a_name_is_taken(tmp_path):
    """A project whose own ``mock_server`` comes first on sys.path: ours is loaded under a private name."""
    (tmp_path / "mock_server").mkdir()
    (tmp_path / "mock_server" / "__init__.py").write_text("WHOSE = 'theirs'\n")
    script = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import mock_server, bulk_messaging_mock as b\n"
        "assert mock_server.WHOSE == 'theirs' and not b.top_level_is_ours()\n"
        "server = b.module('harness.server')\n"
        "assert server.__name__ == 'bulk_messaging_mock.harness.server'\n"
        "with server.BackgroundServer({'seed': 3}) as s:\n"
        "    assert type(s.app).__module__.startswith('flask')\n"
        "    assert s.app.extensions['mock'].settings.seed == 3\n"
        "assert 'bulk_messaging_mock.mock_server.app' in sys.modules and mock_server.WHOSE == 'theirs'\n"
        "print('ok')\n")
    completed = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True,
                               timeout=60, cwd=tmp_path)
    assert completed.stdout.strip() == "ok", completed.stderr
