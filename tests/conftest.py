"""Shared helpers of the static test suite: spec texts in, analyses and diagnostics out.

Helpers are plain functions (``from conftest import net, where``) so that a test reads as
the spec it checks; fixtures are only for what needs setting up (the CLI runner).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import archscope
from archscope.diagnostics import Diagnostic

# One thread per test process, set before a test module first imports torch (archscope does
# not): the suite runs a process per core (pytest-xdist), and OpenMP's threads spin-wait for each
# other when the cores are shared: a training step of regnet_y_400mf at 32×32 took 7.5 s with 2
# threads beside a busy neighbour, 0.08 s with 1. A user's own setting is kept.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def analyze_text(text: str, file: str = "t.yaml") -> archscope.Analysis:
    """Analyse a spec given as text (nothing is read from or written to disk)."""
    return archscope.analyze(file, text=text)


def net(*layers: str, input: str = "[3, 8, 8]", extra: str = "") -> str:
    """A spec text: ``input``, then one ``- LAYER`` line per argument, then ``extra`` lines."""
    return f"input: {input}\nlayers:\n" + "".join(f"  - {layer}\n" for layer in layers) + extra


def where(text: str, needle: str, nth: int = 1) -> tuple[int, int]:
    """1-based (line, column) of the ``nth`` occurrence of ``needle``: where an editor shows it."""
    i = -1
    for _ in range(nth):
        i = text.index(needle, i + 1)
    return text.count("\n", 0, i) + 1, i - (text.rfind("\n", 0, i) + 1) + 1


def codes(analysis: archscope.Analysis) -> list[str]:
    return [d.code for d in analysis.diagnostics]


def only(analysis: archscope.Analysis, code: str) -> Diagnostic:
    """The single diagnostic of the analysis, which must have ``code``."""
    assert codes(analysis) == [code], [f"{d.span}: {d.code} {d.message}" for d in analysis.diagnostics]
    return analysis.diagnostics[0]


def layer(analysis: archscope.Analysis, name: str):
    """The report row of the layer called ``name`` (the analysis must be clean)."""
    assert analysis.report is not None, [f"{d.span}: {d.code} {d.message}" for d in analysis.diagnostics]
    rows = {row.name: row for row in analysis.report.layers}
    return rows[name]


def no_traceback(text: str) -> None:
    assert "Traceback" not in text, text
    assert "archscope: internal error" not in text, text


@pytest.fixture(autouse=True)
def _no_terminal_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test sees what a pipe sees (archscope lays tables out at 160 columns there), whatever
    ran it: pytest-xdist's workers are given ``COLUMNS=80``, a user's shell may export its own."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch):
    """Run the CLI in-process: ``cli("lint", "x.yaml")`` returns the result (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from archscope.cli.app import app

    for var in ("NO_COLOR", "FORCE_COLOR", "GITHUB_ACTIONS", "ARCHSCOPE_DEBUG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None):
        result = runner.invoke(app, list(args), env=env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception  # surface a crash with its traceback in the test report
        no_traceback(result.output)
        return result

    return invoke


class Sandbox:
    """An empty working folder and a folder of input files. After the test, the working
    folder must still be empty and the inputs folder must hold only what the test made:
    archscope writes nothing to disk."""

    def __init__(self, root: Path):
        self.cwd = root / "cwd"
        self.inputs = root / "inputs"
        self.cwd.mkdir()
        self.inputs.mkdir()
        self.made: set[str] = set()

    def file(self, name: str, content: str | bytes) -> Path:
        path = self.inputs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, "utf-8")
        self.made.add(name)
        return path

    def folder(self, name: str) -> Path:
        path = self.inputs / name
        path.mkdir(parents=True)
        self.made.add(name)
        return path

    def check_untouched(self) -> None:
        assert list(self.cwd.iterdir()) == [], "something was written to the working folder"
        found = {str(p.relative_to(self.inputs)) for p in self.inputs.rglob("*")}
        made = self.made | {str(Path(m).parent) for m in self.made if Path(m).parent != Path(".")}
        assert found == made, f"something was written next to the inputs: {sorted(found - made)}"


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    box = Sandbox(tmp_path)
    monkeypatch.chdir(box.cwd)
    yield box
    box.check_untouched()


# ---- golden files (snapshot tests of printed output) ----------------------------------------

GOLDEN = Path(__file__).resolve().parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/*.txt from the current output instead of comparing with it",
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest):
    """``golden(name, text)``: ``text`` must equal ``tests/golden/<name>.txt`` (a diff otherwise);
    ``pytest --update-golden`` writes the file instead."""
    import difflib

    update = request.config.getoption("--update-golden")

    def check(name: str, text: str) -> None:
        path = GOLDEN / f"{name}.txt"
        if update:
            path.write_text(text, "utf-8")
            return
        if not path.is_file():
            pytest.fail(f"no golden file tests/golden/{path.name}: run `pytest --update-golden`", pytrace=False)
        expected = path.read_text("utf-8")
        if text != expected:
            diff = "".join(
                difflib.unified_diff(
                    expected.splitlines(keepends=True), text.splitlines(keepends=True), f"golden/{path.name}", "output"
                )
            )
            pytest.fail(
                f"output differs from tests/golden/{path.name} (`pytest --update-golden` rewrites it):\n{diff}",
                pytrace=False,
            )

    return check
