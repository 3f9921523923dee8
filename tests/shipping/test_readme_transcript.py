"""The README's examples as a checked transcript (``tests/transcript.py``), and the format's rules."""
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
    ])
    first, skipped, written = transcript.parse(text)
    assert [c.text.splitlines()[0] for c in first.commands] == ["curl -s x \\", "cat > f.csv <<'CSV'", "true"]
    assert first.commands[0].expected == ['{"a":1,', '  "b":2}'] and first.commands[0].line == 3
    assert first.commands[1].text.endswith("CSV") and first.commands[1].expected is None
    assert (skipped.skip, skipped.commands) == ("needs a browser", [])
    assert (written.file, written.body) == ("prelude.sh", "#!/bin/sh\n")


@pytest.mark.parametrize("text, message", [
    ("<!-- transcript: skip -->\n```sh\ntrue\n```\n", "bad marker"),
    ("<!-- transcript: ignore me -->\n```sh\ntrue\n```\n", "bad marker"),
    ("```sh\n# output first\ntrue\n```\n", "expected output before any command"),
    ("```sh\ntrue\n", "unclosed"),
    ("```sh\ncat <<EOF\nno end\n```\n", "never ends"),
])
def test_format_errors_name_the_line(text, message):
    with pytest.raises(transcript.TranscriptError, match=message):
        transcript.parse(text)


def test_matching_ellipsis_and_wrapping():
    assert transcript.matches(['{"a":1,', '  "b":2}'], '{"a":1,"b":2}\n')
    assert transcript.matches(['{"id":"5626…","n":3}'], '{"id":"56262435-3a13","n":3}')
    assert transcript.matches(["HTTP/1.1 200 OK", "…", "X-Id: 7", "…", "{}"],
                              "HTTP/1.1 200 OK\r\nServer: s\r\nX-Id: 7\r\n\r\n{}")
    assert not transcript.matches(['{"n":3}'], '{"n":4}')
    assert not transcript.matches(['{"id":"5626…","n":3}'], '{"id":"56262435","n":4}')
    assert not transcript.matches(["a"], "")
    line = '{"message":"a, b, c","items":[' + ",".join(f'{{"n":{n}}}' for n in range(40)) + "]}"
    wrapped = transcript.wrap(line, width=40)
    assert len(wrapped) > 3 and all(part.startswith("#") for part in wrapped)
    assert transcript.matches([part[2:] for part in wrapped], line)
    assert wrapped[0].startswith('# {"message":"a, b, c",')  # never cut inside a string


def test_update_rewrites_only_the_mismatching_outputs():
    text = "```sh\necho one\n# one\necho two\n# …\necho three\n# 3\n```\n"
    blocks = transcript.parse(text)
    results = [transcript.Result(command, output, 0)
               for command, output in zip(blocks[0].commands, ["one", "two", "three"])]
    assert [r.ok for r in results] == [True, True, False]
    assert transcript.update(text, results) == "```sh\necho one\n# one\necho two\n# …\necho three\n# three\n```\n"


def test_the_runner_keeps_state_between_commands_and_reports_a_changed_answer(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("```sh\nX=5; echo $X\n# 5\n```\n\n```sh\necho $((X + 1))\n# 7\n```\n")
    completed = subprocess.run([sys.executable, str(Path(transcript.__file__)), "--readme", str(readme),
                                "--base-url", "http://127.0.0.1:9"], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "README line 7: echo $((X + 1))" in completed.stdout and "    6" in completed.stdout
    assert "1 mismatched" in completed.stdout
    readme.write_text("```sh\nexit 3\n```\n")
    completed = subprocess.run([sys.executable, str(Path(transcript.__file__)), "--readme", str(readme),
                                "--base-url", "http://127.0.0.1:9"], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 1
    assert "README line 2: exit 3: the shell exited" in completed.stderr


def test_the_config_example_keeps_the_demo_templates():
    text = README.read_text(encoding="utf-8")
    block = text.split("A config that adds a client and a template to the demo tenant", 1)[1]
    config = yaml.safe_load(re.search(r"```yaml\n(.*?)```", block, re.DOTALL).group(1))
    names = {t["element_name"] for t in create_app(config).extensions["mock"].settings.jelou.templates}
    assert names == {t["element_name"] for t in DEFAULTS["jelou"]["templates"]} | {"otp_code"}


def test_every_sh_block_is_run_written_or_skipped_with_a_reason():
    blocks = transcript.parse(README.read_text(encoding="utf-8"))
    assert sum(1 for b in blocks if b.commands) >= 15
    assert all(b.commands or b.skip or b.file for b in blocks)
    checked = sum(c.expected is not None for b in blocks for c in b.commands)
    assert checked >= 50


@pytest.mark.slow
def test_the_readme_answers_as_shown_and_can_be_run_again():
    """Every example in README.md, in order, against a fresh mock (`make readme-check`), twice."""
    mock = transcript.FreshMock()
    try:
        for run in ("first", "second"):
            completed = subprocess.run([sys.executable, str(Path(transcript.__file__)), "--base-url", mock.base_url],
                                       capture_output=True, text=True, timeout=600, cwd=README.parent)
            assert completed.returncode == 0, (f"{run} run:\n" + completed.stdout[-6000:] + completed.stderr[-3000:]
                                               + "\n(run `make readme` to rewrite the expected outputs)")
            assert " 0 mismatched" in completed.stdout
    finally:
        mock.close()
