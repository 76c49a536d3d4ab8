"""The console examples of README.md and docs/: find them, run them, compare or rewrite their output.

A fenced block whose info string is ``console`` holds commands (lines starting ``$ ``), each
followed by its output. The commands run in-process (the CLI through typer's ``CliRunner``) in an
empty temporary folder, with ``NO_COLOR=1``, ``TERM=dumb`` and ``COLUMNS`` = :data:`COLUMNS`, so a
page shows what a pipe shows. Before a page's blocks run, every fenced block of that page with a
``title="NAME"`` (``yaml title="broken.yaml"``) is written to that folder as ``NAME``, so a page's
example files are the text the page shows. The commands understood: ``archscope ...`` (optionally
``| head -N``), ``cat FILE`` and ``head -N FILE``.

A block preceded by ``<!-- output varies: REASON -->`` (timings, what the machine has installed) is
neither compared nor rewritten: it is a record of one run. A block that runs a command that needs
torch (:func:`needs_torch`) is compared only where torch is installed.

    python docs/examples.py --update    # rewrite every output in place
    python docs/examples.py             # list the blocks whose output differs (exit 1 if any)

``tests/test_docs.py`` imports this file and compares every block.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = 120
# the environment every example runs in: no colour, a fixed width, no user calibration or config
ENV = {
    "NO_COLOR": "1",
    "TERM": "dumb",
    "COLUMNS": str(COLUMNS),
    "HOME": "/home/you",
    "XDG_CACHE_HOME": None,
    "ARCHSCOPE_CALIBRATION": None,
    "GITHUB_ACTIONS": None,
    "FORCE_COLOR": None,
    "ARCHSCOPE_DEBUG": None,
}
FENCE = re.compile(r"^(?P<fence>```+)(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S)
TITLE = re.compile(r'title="([^"]+)"')
VARIES = re.compile(r"<!-- output varies: (.+?) -->\s*$")
# commands that build, run or time a network, or read a PyTorch model: they import torch
TORCH_COMMANDS = {"verify", "bench", "calibrate", "export"}


def pages() -> list[Path]:
    """README.md and every Markdown page under docs/, in a stable order."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


@dataclass(frozen=True)
class Block:
    """One ``console`` block: where it is, its text, and the example files of its page."""

    path: Path
    line: int  # 1-based line of the opening fence
    start: int  # offsets of the body in the page's text
    end: int
    body: str
    varies: str | None
    files: tuple[tuple[str, str], ...]

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    def commands(self) -> list[str]:
        return [line[2:] for line in self.body.splitlines() if line.startswith("$ ")]


def blocks(path: Path, text: str | None = None) -> list[Block]:
    """The ``console`` blocks of a page that run ``archscope``."""
    text = path.read_text("utf-8") if text is None else text
    fences = list(FENCE.finditer(text))
    files = tuple(
        (title.group(1), m.group("body")) for m in fences if (title := TITLE.search(m.group("info"))) is not None
    )
    found = []
    for m in fences:
        if m.group("info").strip() != "console":
            continue
        body = m.group("body")
        if not any(line.startswith("$ archscope") for line in body.splitlines()):
            continue
        before = text[: m.start()].rstrip("\n").rpartition("\n")[2]
        varies = VARIES.search(before)
        found.append(
            Block(
                path,
                text.count("\n", 0, m.start()) + 1,
                m.start("body"),
                m.end("body"),
                body,
                varies.group(1) if varies else None,
                files,
            )
        )
    return found


def all_blocks() -> list[Block]:
    return [b for page in pages() for b in blocks(page)]


def needs_torch(block: Block) -> bool:
    """Whether a command of the block imports torch: a PyTorch command, or `import` of a model."""
    for command in block.commands():
        words = shlex.split(command, comments=True)
        if words[:1] != ["archscope"] or len(words) < 2:
            continue
        if words[1] in TORCH_COMMANDS or "--bench" in words:
            return True
        if words[1] == "import" and not words[2].endswith((".yaml", ".yml")):
            return True
    return False


@contextmanager
def _environment(cwd: Path) -> Iterator[None]:
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    for key, value in ENV.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def _archscope(args: list[str]) -> str:
    from typer.testing import CliRunner

    from archscope.cli.app import app

    result = CliRunner().invoke(app, args, prog_name="archscope", env={k: v for k, v in ENV.items()})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.output


def _head_count(options: list[str]) -> int | None:
    """N of head's ``-N`` or ``-n N``; None for anything else."""
    if len(options) == 1 and options[0][1:].isdigit() and options[0].startswith("-"):
        return int(options[0][1:])
    if len(options) == 2 and options[0] == "-n" and options[1].isdigit():
        return int(options[1])
    return None


def run_command(command: str, cwd: Path) -> str:
    """The output of one command line of a block, run in ``cwd``."""
    words = shlex.split(command, comments=True)
    head = None
    if "|" in words:
        pipe = words.index("|")
        rest = words[pipe + 1 :]
        if rest[:1] != ["head"] or _head_count(rest[1:]) is None:
            raise ValueError(f"only `| head -N` can follow a command: {command}")
        words, head = words[:pipe], _head_count(rest[1:])
    if words[0] == "archscope":
        with _environment(cwd):
            output = _archscope(words[1:])
    elif words[0] == "cat" and len(words) == 2:
        output = (cwd / words[1]).read_text("utf-8")
    elif words[0] == "head" and _head_count(words[1:-1]) is not None:
        output, head = (cwd / words[-1]).read_text("utf-8"), _head_count(words[1:-1])
    else:
        raise ValueError(f"not a command the examples can run: {command}")
    lines = output.splitlines()
    return "".join(line.rstrip() + "\n" for line in (lines if head is None else lines[:head]))


def run_block(block: Block) -> str:
    """The block's text as the commands print it today: each ``$ command`` line, then its output."""
    with tempfile.TemporaryDirectory(prefix="archscope-docs-") as tmp:
        folder = Path(tmp)
        for name, content in block.files:
            (folder / name).write_text(content, "utf-8")
        return "".join(f"$ {command}\n" + run_command(command, folder) for command in block.commands())


def normalized(text: str) -> str:
    return "".join(line.rstrip() + "\n" for line in text.splitlines())


def update(paths: list[Path], with_torch: bool) -> list[str]:
    """Rewrite the output of every comparable block in ``paths``; the ids of the blocks changed."""
    changed = []
    for path in paths:
        text = path.read_text("utf-8")
        new = text
        for block in reversed(blocks(path, text)):
            if block.varies or (needs_torch(block) and not with_torch):
                continue
            output = run_block(block)
            if output != normalized(block.body):
                changed.append(block.id)
                new = new[: block.start] + output + new[block.end :]
        if new != text:
            path.write_text(new, "utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help="rewrite the outputs in place")
    parser.add_argument("pages", nargs="*", type=Path, help="pages to process (default: README.md and docs/)")
    args = parser.parse_args(argv)
    try:
        import torch  # noqa: F401

        with_torch = True
    except ImportError:
        with_torch = False
    paths = [p.resolve() for p in args.pages] or pages()
    if args.update:
        for block_id in update(paths, with_torch):
            print(f"updated {block_id}")
        return 0
    differ = 0
    for path in paths:
        for block in blocks(path):
            if block.varies or (needs_torch(block) and not with_torch):
                continue
            if run_block(block) != normalized(block.body):
                differ += 1
                print(f"differs: {block.id}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
