"""README.md and every docs/ page as checked transcripts (``tests/transcript.py``), the format's rules,
and what the pages must hold (a front page of at most 250 lines linking every page)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import transcript
from mock_server import create_app
from mock_server.settings import DEFAULTS

README = transcript.README
PAGES = transcript.pages()
SCRIPT = str(Path(transcript.__file__))


def test_format_commands_outputs_continuations_and_markers():
    text = "\n".join([
        "intro",
        "```sh",
        "curl -s x \\",
        "  -d '{\"a\":",
        "  1}'          # a remark, not output",
        "# {\"a\":1,",
        "#   \"b\":2}",
        "cat > f.csv <<'CSV'",
        "# not output: inside the here-document",
        "CSV",
        "true",
        "```",
        "<!-- transcript: skip needs a browser -->",
        "```sh",
        "open http://localhost:8080",
        "```",
        "<!-- transcript: file prelude.sh -->",
        "```sh",
        "#!/bin/sh",
        "```",
        "```python",
        "print('never run')",
        "```",
        "<!-- transcript: file test_x.py -->",
        "```python",
        "def test_x(): pass",
        "```",
        "<!-- transcript: cwd repository -->",
        "```sh",
        "ls fixtures",
        "```",
    ])
    first, skipped, written, python, in_repository = transcript.parse(text)
    assert [c.text.splitlines()[0] for c in first.commands] == ["curl -s x \\", "cat > f.csv <<'CSV'", "true"]
    assert first.commands[0].expected == ['{"a":1,', '  "b":2}'] and first.commands[0].line == 3
    assert first.commands[1].text.endswith("CSV") and first.commands[1].expected is None
    assert first.cwd == transcript.SCRATCH
    assert (skipped.skip, skipped.commands) == ("needs a browser", [])
    assert (written.file, written.body) == ("prelude.sh", "#!/bin/sh\n")
    assert (python.file, python.body, python.commands) == ("test_x.py", "def test_x(): pass\n", [])
    assert in_repository.cwd == transcript.REPOSITORY and in_repository.commands[0].text == "ls fixtures"


@pytest.mark.parametrize("text, message", [
    ("<!-- transcript: skip -->\n```sh\ntrue\n```\n", "bad marker"),
    ("<!-- transcript: ignore me -->\n```sh\ntrue\n```\n", "bad marker"),
    ("<!-- transcript: cwd /tmp -->\n```sh\ntrue\n```\n", "bad marker"),
    ("<!-- transcript: skip later -->\n```python\nx = 1\n```\n", "a python block is never run"),
    ("```sh\n# output first\ntrue\n```\n", "expected output before any command"),
    ("```sh\ntrue\n", "unclosed"),
    ("```sh\ncat <<EOF\nno end\n```\n", "never ends"),
])
def test_format_errors_name_the_page_and_line(text, message):
    with pytest.raises(transcript.TranscriptError, match=f"docs/x.md line .*{message}"):
        transcript.parse(text, "docs/x.md")


def test_matching_ellipsis_wrapping_and_line_breaks():
    assert transcript.matches(['{"a":1,', '  "b":2}'], '{"a":1,"b":2}\n')
    assert transcript.matches(['{"id":"5626…","n":3}'], '{"id":"56262435-3a13","n":3}')
    assert transcript.matches(["HTTP/1.1 200 OK", "…", "X-Id: 7", "…", "{}"],
                              "HTTP/1.1 200 OK\r\nServer: s\r\nX-Id: 7\r\n\r\n{}")
    assert not transcript.matches(['{"n":3}'], '{"n":4}')
    assert not transcript.matches(['{"id":"5626…","n":3}'], '{"id":"56262435","n":4}')
    assert not transcript.matches(["a"], "")
    # an unindented expected line is a new line of output: two answers glued together do not match
    assert transcript.matches(['{"a":1}', '{"b":2}'], '{"a":1}\n{"b":2}\n')
    assert not transcript.matches(['{"a":1}', '{"b":2}'], '{"a":1}{"b":2}\n')
    line = '{"message":"a, b, c","items":[' + ",".join(f'{{"n":{n}}}' for n in range(40)) + "]}"
    wrapped = transcript.wrap(line, width=40)
    assert len(wrapped) > 3 and all(part.startswith("#") for part in wrapped)
    assert transcript.matches([part[2:] for part in wrapped], line)
    assert wrapped[0].startswith('# {"message":"a, b, c",')  # never cut inside a string


def test_an_output_without_a_final_line_break_does_not_match():
    command = transcript.Command("curl -s x", 1, expected=['{"a":1}'])
    assert transcript.Result(command, '{"a":1}\n', 0).ok
    glued = transcript.Result(command, '{"a":1}', 0)
    assert not glued.ok and "does not end with a line break" in transcript.report([glued])
    assert transcript.Result(transcript.Command("true", 2), "", 0).ok


def test_update_rewrites_only_the_mismatching_outputs():
    text = "```sh\necho one\n# one\necho two\n# …\necho three\n# 3\n```\n"
    blocks = transcript.parse(text)
    results = [transcript.Result(command, output + "\n", 0)
               for command, output in zip(blocks[0].commands, ["one", "two", "three"])]
    assert [r.ok for r in results] == [True, True, False]
    assert transcript.update(text, results) == "```sh\necho one\n# one\necho two\n# …\necho three\n# three\n```\n"


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_each_page_is_its_own_transcript_in_its_own_scratch_directory(tmp_path):
    one, two = tmp_path / "one.md", tmp_path / "two.md"
    one.write_text("```sh\nX=5; echo $X > made.txt; cat made.txt\n# 5\n```\n\n```sh\necho $((X + 1))\n# 7\n```\n")
    two.write_text("```sh\necho \"x=${X:-unset}\"; ls\n# x=unset\n```\n"
                   "<!-- transcript: cwd repository -->\n```sh\npwd\n# " + str(transcript.ROOT) + "\n```\n"
                   "```sh\nbasename \"$PWD\"\n# two\n```\n")
    completed = _run(str(one), str(two), "--base-url", "http://127.0.0.1:9")
    out = completed.stdout
    assert completed.returncode == 1, out + completed.stderr
    assert f"{one} line 7 (runs in its scratch directory): echo $((X + 1))" in out and "    6" in out
    assert re.search(rf"^{re.escape(str(one))}: 2 commands run, 2 checked, 1 mismatched; 0 blocks skipped; "
                     r"in the scratch directory .*/one$", out, re.M)
    # nothing from the first page leaks into the second (no variable, no file), which runs in its own
    # directory, and in the repository for the marked block
    assert re.search(rf"^{re.escape(str(two))}: 3 commands run, 3 checked, 0 mismatched; 0 blocks skipped; "
                     r"in the scratch directory .*/two \(1 blocks in the repository root\)$", out, re.M)
    assert "total: 2 pages, 5 commands run, 5 checked, 1 mismatched" in out
    listing = _run("--list", str(two)).stdout
    assert f"{two}:1: 1 commands, 1 checked, run in " in listing and listing.splitlines()[0].endswith("/two")
    assert f"{two}:6: 1 commands, 1 checked, run in the repository root ({transcript.ROOT})" in listing
    one.write_text("```sh\nexit 3\n```\n")
    completed = _run(str(one), "--base-url", "http://127.0.0.1:9")
    assert completed.returncode == 1
    assert f"{one} line 2: exit 3: the shell exited" in completed.stderr


def test_file_blocks_of_any_language_are_written_for_later_commands(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("<!-- transcript: file hello.py -->\n```python\nprint('hello from a file')\n```\n\n"
                    "```sh\npython3 hello.py\n# hello from a file\n```\n")
    completed = _run(str(page), "--base-url", "http://127.0.0.1:9")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "1 commands run, 1 checked, 0 mismatched" in completed.stdout


def test_the_pages_are_every_md_of_docs_after_the_readme():
    assert PAGES[0] == README and PAGES[1:] == sorted((README.parent / "docs").glob("*.md"))
    assert len(PAGES) >= 15


def test_the_readme_is_a_front_page_linking_every_docs_page():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    linked = set(re.findall(r"\]\((docs/[\w.-]+\.md)(?:#[\w-]+)?\)", text))
    assert {f"docs/{page.name}" for page in PAGES[1:]} <= linked
    for command in ("make run", "make test"):
        assert command in text


def test_every_link_between_pages_points_at_a_page_that_exists():
    for page in PAGES:
        for target in re.findall(r"\]\(([\w./-]+\.md)(?:#[\w-]+)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).is_file(), f"{transcript.shown(page)} links to {target}, which does not exist"


def test_no_page_points_outside_the_repository():
    """Issue 22 item 8: `CONTRACT §...` and `../shared/` name files no reader of the repository has."""
    for page in [*PAGES, README.parent / "loadtests" / "README.md"]:
        text = page.read_text(encoding="utf-8")
        assert "CONTRACT" not in text and "../shared" not in text, transcript.shown(page)


def test_the_config_example_keeps_the_demo_templates():
    text = (README.parent / "docs" / "settings.md").read_text(encoding="utf-8")
    block = text.split("A config that adds a client and a template to the demo tenant", 1)[1]
    config = yaml.safe_load(re.search(r"```yaml\n(.*?)```", block, re.DOTALL).group(1))
    names = {t["element_name"] for t in create_app(config).extensions["mock"].settings.jelou.templates}
    assert names == {t["element_name"] for t in DEFAULTS["jelou"]["templates"]} | {"otp_code"}


def test_every_sh_block_is_run_written_or_skipped_with_a_reason():
    blocks = {page: transcript.parse(page.read_text(encoding="utf-8"), transcript.shown(page)) for page in PAGES}
    for page, found in blocks.items():
        assert all(b.commands or b.skip or b.file for b in found), transcript.shown(page)
    every = [b for found in blocks.values() for b in found]
    assert sum(1 for b in every if b.commands) >= 40
    assert sum(c.expected is not None for b in every for c in b.commands) >= 100
    assert sum(1 for b in blocks[README] if b.commands) >= 3      # the five-minute tour runs too


@pytest.fixture(scope="module")
def running_mock():
    """One ``mock-server --seed 0`` for every page (each page starts with its own reset)."""
    mock = transcript.FreshMock()
    yield mock.base_url
    mock.close()


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=transcript.shown)
def test_every_page_answers_as_shown_and_can_be_run_again(page, running_mock):
    """Every example of README.md and docs/, page by page, against one running mock (as `make
    readme-check` runs them against a fresh one each): twice, so the page starts from its own reset.
    One test per page, so a failure names its page (``make test``'s ``--dist loadfile`` keeps them
    on one worker with the rest of this file; ``pytest -n 2 --dist load`` would share them out)."""
    for run in ("first", "second"):
        completed = subprocess.run([sys.executable, SCRIPT, str(page), "--base-url", running_mock],
                                   capture_output=True, text=True, timeout=600, cwd=README.parent)
        assert completed.returncode == 0, (f"{run} run:\n" + completed.stdout[-6000:] + completed.stderr[-3000:]
                                           + "\n(run `make readme` to rewrite the expected outputs)")
        assert re.search(rf"^{re.escape(transcript.shown(page))}: \d+ commands run, .* 0 mismatched;",
                         completed.stdout, re.M)
