"""The generic planes never name a provider (issue 17 item 1): outside ``mock_server/jelou/`` and
``mock_server/indigitall/``, the code and the UI's templates and script hold no provider name,
docstrings and comments aside; ``app.py`` registers them (its import and its ``PROVIDERS`` line)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "mock_server"
PROVIDER_PACKAGES = ("jelou", "indigitall")
NAMES = re.compile("jelou|indigitall", re.IGNORECASE)
REGISTRATION = {"from . import indigitall, jelou", "PROVIDERS: tuple[Provider, ...] = (jelou.PROVIDER, indigitall.PROVIDER)"}


def generic_files(*suffixes: str) -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*") if path.suffix in suffixes
                  and path.relative_to(PACKAGE).parts[0] not in PROVIDER_PACKAGES)


def code_without_docstrings(path: Path) -> list[str]:
    """The module's code as ``ast.unparse`` writes it: comments gone, docstrings dropped."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            node.body = [stmt for stmt in body if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
                                                       and isinstance(stmt.value.value, str))] or [ast.Pass()]
    return ast.unparse(tree).splitlines()


def test_generic_code_names_no_provider():
    found = [f"{path.relative_to(PACKAGE)}: {line.strip()}" for path in generic_files(".py")
             for line in code_without_docstrings(path)
             if NAMES.search(line) and not (path.name == "app.py" and line.strip() in REGISTRATION)]
    assert found == []


def test_generic_templates_and_script_name_no_provider():
    found = [f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}" for path in generic_files(".html", ".js")
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if NAMES.search(line)]
    assert found == []


def test_the_check_sees_a_name_in_code_but_not_in_a_docstring(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('"""About Jelou."""\n# indigitall\nX = "jelou"\n', encoding="utf-8")
    assert [line for line in code_without_docstrings(module) if NAMES.search(line)] == ["X = 'jelou'"]
