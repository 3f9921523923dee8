"""The README and every page of docs/ as checked transcripts: every ``sh`` example, run in order, must answer as shown.

    python tests/transcript.py                 # README.md and docs/*.md, each against a fresh mock; exit 1 on a mismatch
    python tests/transcript.py docs/jelou.md   # one page
    python tests/transcript.py --update        # rewrite the expected outputs that no longer match
    python tests/transcript.py --list          # every block of every page: run, skipped or written, and where
    python tests/transcript.py --base-url http://127.0.0.1:8080 --blocks 2 README.md   # a running mock, 2 blocks

Format of a page's ```` ```sh ```` blocks (standard library only, so the container smoke test
can run it on any host with ``python3``, ``bash`` and ``curl``):

- Each page is one transcript: its ``sh`` blocks run, in page order, in one ``bash`` session whose
  working directory is a scratch directory of its own (files made by one example are there for the
  next; nothing is shared between pages), against one fresh mock started with ``--seed 0`` (or
  ``--base-url``, shared by the pages, each of which starts with a reset).  ``localhost:8080`` /
  ``127.0.0.1:8080`` in a command is replaced by the mock's address, ``8765`` (the local file
  server) and ``8099`` (the webhook listener) by free ports, and ``MOCK_BASE_URL`` / ``BASE`` point
  at the mock.
- A command is a line, with its ``\\``-continued lines, lines inside an open quote and its
  here-document.  The ``#`` lines right after it are its expected output (stdout and stderr, the
  ``# `` prefix removed).  A ``#`` line indented after the ``# `` continues the line above (long JSON
  can be wrapped anywhere outside a string: the line break and the indentation do not count); an
  unindented one is a new line of output, and the output must break there too.  ``…`` stands for
  any text, also across lines.  An output must end with a line break (in a terminal it would glue
  onto what comes next).  A command with no ``#`` lines is run but its output is not compared; a
  ``# remark`` at the end of a command line is never compared.
- Markers, on the line before a block: ``<!-- transcript: skip REASON -->``: shown, not run (the
  reason is required).  ``<!-- transcript: file NAME -->``: the block (``sh``, ``python``, ``yaml``,
  any language) is written to ``NAME`` in the scratch directory instead of being run, so a later
  command can use it (run a pytest example, load a config).  ``<!-- transcript: cwd repository -->``:
  the block runs in the repository's root (examples that read committed files such as
  ``fixtures/``); the next block without it is back in the scratch directory.  Any other
  ``<!-- transcript: ... -->`` is an error, so is an ``sh`` block a later edit adds without being
  runnable: it fails until it is fixed or explicitly skipped.
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

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```(\w*)\s*$")
MARKER = re.compile(r"^<!-- transcript: (\w+)(?: (.*?))? -->$")
HEREDOC = re.compile(r"<<-?\s*'?\"?(\w+)'?\"?")
ELLIPSIS = "…"
WRAP_AT = 100
SCRATCH, REPOSITORY = "scratch", "repository"
PORTS = {"8765": "the local file server", "8099": "the webhook listener"}


class TranscriptError(Exception):
    """A page breaks the transcript format (a bad marker, output before any command...)."""


@dataclass
class Command:
    text: str                      # the command as written (continuations and here-document included)
    line: int                      # 1-based page line of its first line
    expected: list[str] | None = None   # expected output lines; None: not compared
    expected_span: tuple[int, int] | None = None  # page line indexes [start, end) of the "# " lines


@dataclass
class Block:
    line: int                      # page line of the opening fence
    commands: list[Command] = field(default_factory=list)
    skip: str | None = None
    file: str | None = None
    cwd: str = SCRATCH             # where it runs: the page's scratch directory or the repository root
    body: str = ""


def pages() -> list[Path]:
    """Every page the transcript checks: README.md, then docs/*.md in name order."""
    return [README, *sorted(DOCS.glob("*.md"))]


def shown(path: Path) -> str:
    """A page's name as the reports print it (relative to the repository when inside it)."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def parse(text: str, name: str = "README.md") -> list[Block]:
    """The blocks of a page the transcript uses: every ``sh`` block, and any block marked ``file``."""
    lines = text.split("\n")
    blocks, index = [], 0
    while index < len(lines):
        fence = FENCE.match(lines[index].strip())
        if not fence or not fence.group(1):
            index += 1
            continue
        language = fence.group(1)
        block = Block(line=index + 1)
        marker = MARKER.match(lines[index - 1].strip()) if index else None
        if marker:
            kind, argument = marker.groups()
            if kind not in ("skip", "file", "cwd") or not argument or (kind == "cwd" and argument not in (REPOSITORY, SCRATCH)):
                raise TranscriptError(f"{name} line {index}: bad marker {lines[index - 1].strip()!r} (use "
                                      "'<!-- transcript: skip REASON -->', '<!-- transcript: file NAME -->' "
                                      "or '<!-- transcript: cwd repository -->')")
            if language != "sh" and kind != "file":
                raise TranscriptError(f"{name} line {index}: a {language} block is never run: "
                                      "only '<!-- transcript: file NAME -->' applies to it")
            setattr(block, kind, argument)
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if end == len(lines):
            raise TranscriptError(f"{name} line {index + 1}: unclosed ```{language} block")
        if language == "sh" or block.file:
            block.body = "\n".join(lines[index + 1:end]) + "\n"
            if not block.skip and not block.file:
                block.commands = _commands(lines, index + 1, end, name)
            blocks.append(block)
        index = end + 1
    return blocks


def _commands(lines: list[str], start: int, end: int, name: str) -> list[Command]:
    commands: list[Command] = []
    index = start
    while index < end:
        line = lines[index]
        if not line.strip():
            index += 1
        elif line.startswith("#"):
            if not commands:
                raise TranscriptError(f"{name} line {index + 1}: expected output before any command")
            command, first = commands[-1], index
            if command.expected is not None:
                raise TranscriptError(f"{name} line {index + 1}: two output sections for one command")
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
                    raise TranscriptError(f"{name} line {first + 1}: here-document {heredoc.group(1)} never ends")
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


def _pattern(expected: list[str]) -> str:
    """The regular expression an output must match: ``…`` is any text; an indented line continues the
    line above (the line break may be there or not), an unindented one starts a new line of output."""
    pattern = []
    for number, line in enumerate(expected):
        if number:
            pattern.append(r"[ \t]*\n?[ \t]*" if line[:1] in (" ", "\t") else r"[ \t]*\n[ \t]*")
        pattern.append(".*?".join(re.escape(part) for part in line.strip().split(ELLIPSIS)))
    return "".join(pattern)


def matches(expected: list[str], actual: str) -> bool:
    """Whether ``actual`` is ``expected``: ``…`` any text, indented lines continuing the line above."""
    got = actual.replace("\r\n", "\n").strip()
    return re.fullmatch(_pattern(expected), got, re.DOTALL) is not None


def wrap(line: str, width: int = WRAP_AT) -> list[str]:
    """Page lines for one output line: JSON is cut after commas outside strings, at about ``width``."""
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
    return ["# " + pieces[0]] + ["#   " + piece for piece in pieces[1:] if piece]  # indented: continues


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
        """The command's output, as printed (an output that ends without a line break keeps it so)."""
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
                return "".join(output)[:-1], int(line.split()[1])  # the printf's own line break
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
                                        stderr=subprocess.DEVNULL, cwd=ROOT)
        deadline = time.monotonic() + 60
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
    cwd: str = SCRATCH

    @property
    def ended(self) -> bool:
        """Whether the output is empty or ends with a line break (never glued onto what follows)."""
        return not self.output or self.output.endswith("\n")

    @property
    def ok(self) -> bool:
        return self.command.expected is None or (self.ended and matches(self.command.expected, self.output))


def run(blocks: list[Block], base_url: str, workdir: Path, *, limit: int | None = None,
        timeout: float = 120.0, env: dict[str, str] | None = None, name: str = "README.md") -> list[Result]:
    """Run the blocks' commands in order against ``base_url``; one ``Result`` per command run."""
    host = base_url.split("//", 1)[-1].rstrip("/")
    ports = {port: str(free_port()) for port in PORTS}
    shown_as = {f"{where}:{free}": f"127.0.0.1:{port}" for port, free in ports.items()
                for where in ("127.0.0.1", "localhost")}
    shown_as[host] = "127.0.0.1:8080"
    environment = {**os.environ, **(env or {}), "MOCK_BASE_URL": base_url, "BASE": base_url,
                   "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    directories = {SCRATCH: workdir, REPOSITORY: ROOT}
    shell, results, here = Shell(workdir, environment), [], SCRATCH
    try:
        runnable = [block for block in blocks if not block.skip]
        for block in runnable[:limit]:
            if block.file:
                (workdir / block.file).write_text(block.body)
            if block.commands and block.cwd != here:
                shell.run(f"cd {shlex.quote(str(directories[block.cwd]))}", timeout)
                here = block.cwd
            for command in block.commands:
                text = command.text.replace("localhost:8080", host).replace("127.0.0.1:8080", host)
                for port, free in ports.items():
                    text = re.sub(rf"\b{port}\b", free, text)
                try:
                    output, status = shell.run(text, timeout)
                except (TimeoutError, RuntimeError) as error:
                    raise TranscriptError(f"{name} line {command.line}: {command.text.splitlines()[0]}: {error}") from None
                for actual, original in shown_as.items():
                    output = output.replace(actual, original)
                results.append(Result(command, output, status, block.cwd))
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


def report(results: list[Result], name: str = "README.md") -> str:
    parts = []
    for result in results:
        if not result.ok:
            where = "the repository root" if result.cwd == REPOSITORY else "its scratch directory"
            ending = "" if result.ended else "  (the output does not end with a line break)\n"
            parts.append(f"{name} line {result.command.line} (runs in {where}): {result.command.text.splitlines()[0]}\n"
                         f"  expected:\n" + "".join(f"    {line}\n" for line in result.command.expected) +
                         f"  got (exit {result.status}):\n" +
                         "".join(f"    {line}\n" for line in result.output.split("\n")) + ending)
    return "\n".join(parts)


def listing(blocks: list[Block], name: str, workdir: str) -> str:
    """One line per block: where it runs, or that it is skipped / written as a file."""
    lines = []
    for block in blocks:
        if block.skip:
            what = f"skipped: {block.skip}"
        elif block.file:
            what = f"written to {workdir}/{block.file}"
        else:
            where = f"the repository root ({ROOT})" if block.cwd == REPOSITORY else workdir
            what = f"{len(block.commands)} commands, {sum(c.expected is not None for c in block.commands)} checked, run in {where}"
        lines.append(f"{name}:{block.line}: {what}")
    return "\n".join(lines)


@dataclass
class Outcome:
    name: str
    results: list[Result]
    skipped: int
    directory: Path
    in_repository: int

    @property
    def checked(self) -> int:
        return sum(r.command.expected is not None for r in self.results)

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if not r.ok]

    def summary(self) -> str:
        where = f"in the scratch directory {self.directory}"
        if self.in_repository:
            where += f" ({self.in_repository} blocks in the repository root)"
        return (f"{self.name}: {len(self.results)} commands run, {self.checked} checked, {len(self.failed)} mismatched; "
                f"{self.skipped} blocks skipped; {where}")


def check_page(path: Path, base_url: str | None, scratch: Path, *, limit: int | None, update_page: bool) -> Outcome:
    """Run one page as a transcript (against ``base_url`` or a fresh mock of its own)."""
    name, text = shown(path), path.read_text(encoding="utf-8")
    blocks = parse(text, name)
    workdir = scratch / path.stem
    workdir.mkdir(parents=True, exist_ok=True)
    runnable = [b for b in blocks if not b.skip][:limit]
    mock = None if base_url or not any(b.commands for b in runnable) else FreshMock()
    try:
        results = run(blocks, base_url or (mock.base_url if mock else "http://127.0.0.1:9"), workdir,
                      limit=limit, name=name)
    finally:
        if mock:
            mock.close()
    outcome = Outcome(name, results, sum(1 for b in blocks if b.skip), workdir,
                      sum(1 for b in runnable if b.commands and b.cwd == REPOSITORY))
    if update_page and outcome.failed:
        path.write_text(update(text, results), encoding="utf-8")
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", nargs="*", type=Path, help="pages to run (default: README.md and docs/*.md)")
    parser.add_argument("--readme", type=Path, action="append", dest="more", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help="a running mock (default: a fresh one per page, --seed 0)")
    parser.add_argument("--blocks", type=int, help="run only the first N sh blocks of each page that are not skipped")
    parser.add_argument("--update", action="store_true", help="rewrite the expected outputs that do not match")
    parser.add_argument("--list", action="store_true", help="list every block and where it runs; run nothing")
    args = parser.parse_args(argv)
    paths = [*args.pages, *(args.more or [])] or pages()
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="transcript-") as scratch:
        try:
            if args.list:
                for path in paths:
                    print(listing(parse(path.read_text(encoding="utf-8"), shown(path)), shown(path),
                                  f"{scratch}/{path.stem}"))
                return 0
            for path in paths:
                outcome = check_page(path, args.base_url, Path(scratch), limit=args.blocks, update_page=args.update)
                outcomes.append(outcome)
                if args.update and outcome.failed:
                    print(f"{outcome.name}: rewrote the output of {len(outcome.failed)} of {outcome.checked} checked commands")
                else:
                    print(report(outcome.results, outcome.name), end="")
                    print(outcome.summary(), flush=True)
        except (TranscriptError, RuntimeError, OSError) as error:
            print(f"transcript: error: {error}", file=sys.stderr)
            return 1
    failed = sum(len(o.failed) for o in outcomes)
    if len(outcomes) > 1:
        print(f"total: {len(outcomes)} pages, {sum(len(o.results) for o in outcomes)} commands run, "
              f"{sum(o.checked for o in outcomes)} checked, {failed} mismatched; {sum(o.skipped for o in outcomes)} blocks skipped")
    return 1 if failed and not args.update else 0


if __name__ == "__main__":
    sys.exit(main())
