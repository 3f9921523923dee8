"""The README as a checked transcript: every ``sh`` example, run in order, must answer as shown.

    python tests/transcript.py                 # run README.md against a fresh mock; exit 1 on a mismatch
    python tests/transcript.py --update        # rewrite the expected outputs that no longer match
    python tests/transcript.py --base-url http://127.0.0.1:8080 --blocks 2   # a running mock, 2 blocks

Format of the README's ```` ```sh ```` blocks (standard library only, so the container smoke test
can run it on any host with ``python3``, ``bash`` and ``curl``):

- Every ``sh`` block runs, in README order, in one ``bash`` session whose working directory is a
  scratch directory (files made by one example are there for the next), against one fresh mock
  started with ``--seed 0`` (or ``--base-url``).  ``localhost:8080`` / ``127.0.0.1:8080`` in a
  command is replaced by the mock's address, ``8765`` (the local file server) by a free port, and
  ``MOCK_BASE_URL`` / ``BASE`` point at the mock.
- A command is a line, with its ``\\``-continued lines, lines inside an open quote and its
  here-document.  The ``#`` lines right after it are its expected output (stdout and stderr, the
  ``# `` prefix removed).  Line breaks and the indentation after them are not significant, so long
  JSON can be wrapped anywhere outside a string; ``…`` stands for any text, also across lines.  A
  command with no ``#`` lines is run but its output is not compared; a ``# remark`` at the end of
  a command line is never compared.
- ``<!-- transcript: skip REASON -->`` on the line before a block: shown, not run (the reason is
  required).  ``<!-- transcript: file NAME -->``: the block is written to ``NAME`` in the scratch
  directory instead of being run.  Any other ``<!-- transcript: ... -->`` is an error, so is an
  ``sh`` block a later README edit adds without being runnable: it fails until it is fixed or
  explicitly skipped.
- ``--update`` replaces the expected lines of every mismatching command with what it printed
  (JSON wrapped at commas, no ``…``); matching commands keep their hand-made elisions.
"""
from __future__ import annotations

import argparse
import os
import queue
import re
import secrets
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
MARKER = re.compile(r"^<!-- transcript: (\w+)(?: (.*?))? -->$")
HEREDOC = re.compile(r"<<-?\s*'?\"?(\w+)'?\"?")
ELLIPSIS = "…"
WRAP_AT = 100


class TranscriptError(Exception):
    """The README breaks the transcript format (a bad marker, output before any command...)."""


@dataclass
class Command:
    text: str                      # the command as written (continuations and here-document included)
    line: int                      # 1-based README line of its first line
    expected: list[str] | None = None   # expected output lines (continuations joined); None: not compared
    expected_span: tuple[int, int] | None = None  # README line indexes [start, end) of the "# " lines


@dataclass
class Block:
    line: int                      # README line of the opening fence
    commands: list[Command] = field(default_factory=list)
    skip: str | None = None
    file: str | None = None
    body: str = ""


def parse(text: str) -> list[Block]:
    """The ``sh`` blocks of a README, with their commands and expected outputs."""
    lines = text.split("\n")
    blocks, index = [], 0
    while index < len(lines):
        if lines[index].strip() != "```sh":
            index += 1
            continue
        block = Block(line=index + 1)
        marker = MARKER.match(lines[index - 1].strip()) if index else None
        if marker:
            kind, argument = marker.groups()
            if kind not in ("skip", "file") or not argument:
                raise TranscriptError(f"README line {index}: bad marker {lines[index - 1].strip()!r} "
                                      "(use '<!-- transcript: skip REASON -->' or '<!-- transcript: file NAME -->')")
            setattr(block, kind, argument)
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if end == len(lines):
            raise TranscriptError(f"README line {index + 1}: unclosed ```sh block")
        block.body = "\n".join(lines[index + 1:end]) + "\n"
        if not block.skip and not block.file:
            block.commands = _commands(lines, index + 1, end)
        blocks.append(block)
        index = end + 1
    return blocks


def _commands(lines: list[str], start: int, end: int) -> list[Command]:
    commands: list[Command] = []
    index = start
    while index < end:
        line = lines[index]
        if not line.strip():
            index += 1
        elif line.startswith("#"):
            if not commands:
                raise TranscriptError(f"README line {index + 1}: expected output before any command")
            command, first = commands[-1], index
            if command.expected is not None:
                raise TranscriptError(f"README line {index + 1}: two output sections for one command")
            command.expected = []
            while index < end and lines[index].startswith("#"):
                content = lines[index][1:]
                command.expected.append(content[1:] if content.startswith(" ") else content)
                index += 1
            command.expected_span = (first, index)
        else:
            first, parts = index, [line]
            heredoc = HEREDOC.search(line)
            while (parts[-1].endswith("\\") or _open_quote("\n".join(parts))) and index + 1 < end:
                index += 1
                parts.append(lines[index])
                heredoc = heredoc or HEREDOC.search(lines[index])
            if heredoc:
                while index + 1 < end and lines[index + 1] != heredoc.group(1):
                    index += 1
                    parts.append(lines[index])
                index += 1
                if index >= end:
                    raise TranscriptError(f"README line {first + 1}: here-document {heredoc.group(1)} never ends")
                parts.append(lines[index])
            commands.append(Command("\n".join(parts), first + 1))
            index += 1
    return commands


def _open_quote(text: str) -> bool:
    """Whether a quote opened in ``text`` is still open (the command goes on on the next line)."""
    try:
        shlex.split(text, comments=True)
    except ValueError:
        return True
    return False


def _flat(text: str) -> str:
    """Line breaks and the indentation after them do not count (long JSON may be wrapped)."""
    return re.sub(r"[ \t]*\r?\n[ \t]*", "", text.strip())


def matches(expected: list[str], actual: str) -> bool:
    """Whether ``actual`` is ``expected`` with ``…`` as a wildcard, line breaks aside."""
    want, got = _flat("\n".join(expected)), _flat(actual)
    pattern = ".*?".join(re.escape(part) for part in want.split(ELLIPSIS))
    return re.fullmatch(pattern, got, re.DOTALL) is not None


def wrap(line: str, width: int = WRAP_AT) -> list[str]:
    """README lines for one output line: JSON is cut after commas outside strings, at about ``width``."""
    if len(line) <= width or not line.startswith(("{", "[")):
        return ["# " + line]
    pieces, start, in_string, escaped = [], 0, False, False
    for position, char in enumerate(line):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "," and position + 1 - start >= width:
            pieces.append(line[start:position + 1])
            start = position + 1
    pieces.append(line[start:])
    return ["# " + pieces[0]] + ["#   " + piece for piece in pieces[1:] if piece]  # indentation: see _flat


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Shell:
    """One ``bash`` session: run a command, get its output (stdout + stderr) and exit status."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.mark = f"__transcript_{secrets.token_hex(8)}__"
        self.process = subprocess.Popen(["bash", "--noprofile", "--norc"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd, env=env,
                                        text=True, encoding="utf-8", errors="replace", start_new_session=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def run(self, command: str, timeout: float) -> tuple[str, int]:
        self.process.stdin.write(f"{{\n{command}\n}} </dev/null 2>&1; printf '\\n{self.mark} %d\\n' $?\n")
        self.process.stdin.flush()
        output, deadline = [], time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"no answer within {timeout:.0f} s") from None
            if line is None:
                raise RuntimeError("the shell exited (a command ran `exit` or `set -e` stopped it)")
            if line.startswith(self.mark):
                text = "".join(output)
                return text[:-1] if text.endswith("\n") else text, int(line.split()[1])
            output.append(line)

    def close(self) -> None:
        try:
            os.killpg(self.process.pid, 15)  # the session and anything it left in the background
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)


class FreshMock:
    """``python -m mock_server --seed 0`` on a free port, as ``make run`` starts it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([sys.executable, "-m", "mock_server", "--port", str(self.port),
                                         "--seed", "0", "--quiet"], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, cwd=README.parent)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.base_url + "/_mock/health", timeout=1):
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError(f"the mock did not start on {self.base_url}") from None
                time.sleep(0.1)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@dataclass
class Result:
    command: Command
    output: str
    status: int

    @property
    def ok(self) -> bool:
        return self.command.expected is None or matches(self.command.expected, self.output)


def run(blocks: list[Block], base_url: str, workdir: Path, *, limit: int | None = None,
        timeout: float = 120.0, env: dict[str, str] | None = None) -> list[Result]:
    """Run the blocks' commands in order against ``base_url``; one ``Result`` per command run."""
    host = base_url.split("//", 1)[-1].rstrip("/")
    file_port = str(free_port())
    environment = {**os.environ, **(env or {}), "MOCK_BASE_URL": base_url, "BASE": base_url,
                   "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    fixtures = README.parent / "fixtures"
    if fixtures.is_dir() and not (workdir / "fixtures").exists():  # `mock-harness fixtures` / `send` examples
        (workdir / "fixtures").symlink_to(fixtures)
    shell, results = Shell(workdir, environment), []
    try:
        runnable = [block for block in blocks if not block.skip]
        for block in runnable[:limit]:
            if block.file:
                (workdir / block.file).write_text(block.body)
            for command in block.commands:
                text = command.text.replace("localhost:8080", host).replace("127.0.0.1:8080", host)
                text = re.sub(r"\b8765\b", file_port, text)
                try:
                    output, status = shell.run(text, timeout)
                except (TimeoutError, RuntimeError) as error:
                    raise TranscriptError(f"README line {command.line}: {command.text.splitlines()[0]}: {error}") from None
                results.append(Result(command, output, status))
    finally:
        shell.close()
    return results


def update(text: str, results: list[Result]) -> str:
    """``text`` with the expected lines of every mismatching command replaced by its output."""
    lines = text.split("\n")
    for result in sorted((r for r in results if not r.ok), key=lambda r: -r.command.expected_span[0]):
        start, end = result.command.expected_span
        new = [piece for line in result.output.replace("\r\n", "\n").rstrip("\n").split("\n") for piece in wrap(line)]
        lines[start:end] = new
    return "\n".join(lines)


def report(results: list[Result]) -> str:
    parts = []
    for result in results:
        if not result.ok:
            parts.append(f"README line {result.command.line}: {result.command.text.splitlines()[0]}\n"
                         f"  expected:\n" + "".join(f"    {line}\n" for line in result.command.expected) +
                         f"  got (exit {result.status}):\n" +
                         "".join(f"    {line}\n" for line in result.output.split("\n")))
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readme", type=Path, default=README)
    parser.add_argument("--base-url", help="a running mock (default: start a fresh one with --seed 0)")
    parser.add_argument("--blocks", type=int, help="run only the first N sh blocks that are not skipped")
    parser.add_argument("--update", action="store_true", help="rewrite the expected outputs that do not match")
    args = parser.parse_args(argv)
    text = args.readme.read_text(encoding="utf-8")
    mock = None
    try:
        blocks = parse(text)
        mock = None if args.base_url else FreshMock()
        with tempfile.TemporaryDirectory(prefix="transcript-") as workdir:
            results = run(blocks, args.base_url or mock.base_url, Path(workdir), limit=args.blocks)
    except (TranscriptError, RuntimeError) as error:
        print(f"transcript: error: {error}", file=sys.stderr)
        return 1
    finally:
        if mock:
            mock.close()
    failed = [r for r in results if not r.ok]
    checked = sum(r.command.expected is not None for r in results)
    skipped = sum(1 for b in blocks if b.skip)
    if failed and args.update:
        args.readme.write_text(update(text, results), encoding="utf-8")
        print(f"{args.readme}: rewrote the output of {len(failed)} of {checked} checked commands")
        return 0
    print(report(results), end="")
    print(f"{len(results)} commands run, {checked} checked, {len(failed)} mismatched; {skipped} blocks skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
