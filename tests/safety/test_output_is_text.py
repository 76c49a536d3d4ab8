"""Untrusted specs: spec text in the output is text, never a command.

A title, `paper`, `source`, an attribute key or a file name may hold a newline, an escape
sequence, HTML, a spreadsheet formula or a `$`. None of them may forge a CI log line
(``::warning ::``, ``##vso[``), drive the terminal, run in a spreadsheet, render as HTML in
Markdown, or crash a chart.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from conftest import no_traceback

from archscope.diagnostics import Diagnostic, Span
from archscope.render.diagnostics import format_concise, format_text
from archscope.render.emit import OutputFormat, emit
from archscope.render.machine import to_csv
from archscope.results.table import Column, Table

# every line separator that str.splitlines() (and so a CI runner, an editor or a terminal) honours
SEPARATORS = ("\n", "\r", "\r\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
FORGED = ("::", "##vso[")  # GitHub workflow commands, Azure Pipelines logging commands
TITLE = "T\n::warning file=x::forged\n##vso[task.setvariable variable=x]y\r::add-mask::s\x1b]0;pwned\x07\x1b[2J"


def spec_text(title: str = TITLE, extra: str = "") -> str:
    """A lint-clean spec whose title (and ``extra`` lines) are hostile (JSON strings are YAML)."""
    return f"name: net\ntitle: {json.dumps(title)}\n{extra}input: [3, 8, 8]\nlayers:\n  - {{op: conv2d, out: 4, kernel: 3}}\n"


def forged_lines(text: str) -> list[str]:
    """The lines of ``text`` that a CI runner would read as a command: GitHub's a line that starts
    with ``::`` after leading spaces; Azure's ``##[`` at the start and ``##vso[`` anywhere."""
    return [line for line in text.splitlines() if line.lstrip().startswith(("::", "##[")) or "##vso[" in line]


def assert_inert(text: str) -> None:
    """No forged CI command, no raw escape sequence or bell."""
    assert forged_lines(text) == [], forged_lines(text)
    assert "\x1b" not in text and "\x07" not in text, ascii(text)


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    path = tmp_path / "net.yaml"
    paper, source = json.dumps("P\n::error file=README.md::forged"), json.dumps("S\u2028::add-mask::x")
    path.write_text(spec_text(extra=f"paper: {paper}\nsource: {source}\n"))
    return path


# ---- item 3 and 9: no spec text starts a line, no escape reaches the terminal -----------------------


ESCAPE = "\\x1b]0;pwned\\x07"  # how the title's escape sequence is shown: as written, not sent


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (("summary",), ESCAPE),
        (("summary", "-f", "markdown"), ESCAPE),
        (("rf",), ESCAPE),
        (("memory",), ESCAPE),
        (("draw", "-f", "dot"), ESCAPE.replace("\\", "\\\\")),  # inside a DOT string: a backslash is `\\`
        (("compare", "-f", "csv"), ESCAPE),
    ],
    ids=lambda a: "-".join(a) if isinstance(a, tuple) else "",
)
def test_spec_text_never_starts_a_line(cli, hostile: Path, args: tuple[str, ...], shown: str):
    result = cli(*args, str(hostile))
    assert result.exit_code == 0, result.output
    assert_inert(result.output)
    assert "::warning file=x::forged" in result.stdout  # shown, on the title's line
    assert shown in result.stdout


def test_exported_pytorch_keeps_the_title_in_its_docstrings(cli, hostile: Path):
    pytest.importorskip("torch")
    result = cli("export", str(hostile), "--to", "pytorch")
    assert result.exit_code == 0, result.output
    assert_inert(result.stdout)
    module = compile(result.stdout, "net.py", "exec")  # still Python, and the title is in its docstring
    namespace: dict = {}
    exec(module, namespace)  # noqa: S102 - the file the test just generated
    doc = namespace["__doc__"]
    assert doc.startswith(r"T\n::warning file=x::forged\n\x23#vso[") and r"\x1b]0;pwned\x07" in doc
    assert "Paper: P\\n::error file=README.md::forged" in doc and "Source: S\\u2028::add-mask::x" in doc


def test_an_attribute_key_with_a_newline_is_one_line_on_stderr(cli, tmp_path: Path):
    path = tmp_path / "net.yaml"
    path.write_text('input: [3, 8, 8]\nlayers:\n  - {op: conv2d, out: 4, kernel: 3, "x\\n::stop-commands::tok": 1}\n')
    result = cli("summary", str(path))
    assert result.exit_code == 1 and result.stdout == ""
    assert_inert(result.stderr)
    assert f"{path}:3:37: error E003 `conv2d` has no attribute `x\\n::stop-commands::tok`" in result.stderr
    assert "    found:    x\\n::stop-commands::tok" in result.stderr
    lint = cli("lint", str(path))
    assert lint.exit_code == 1 and forged_lines(lint.output) == []


def test_a_file_name_with_a_newline_is_one_line_in_diagnostics(cli, tmp_path: Path):
    path = tmp_path / "README.md\n::error file=README.md,line=1::forged.yaml"
    path.write_text("name: net\ninput: [3, 8, 8]\nlayers:\n  - {op: conv2d, out: 4, kernel: 30}\n")
    shown = f"{tmp_path}/README.md\\n::error file=README.md,line=1::forged.yaml:4:5: "
    for args in (("summary",), ("lint",), ("lint", "-f", "concise")):
        result = cli(*args, str(path))
        assert result.exit_code == 1 and forged_lines(result.output) == [], result.output
        assert shown in result.output
    github = cli("lint", "-f", "github", str(path))  # one workflow command, its own, with the LF as %0A
    assert github.exit_code == 1 and len(github.stdout.splitlines()) == 1
    assert (
        github.stdout.startswith("::error file=") and "README.md%0A%3A%3Aerror file=README.md%2Cline=1" in github.stdout
    )


def test_every_line_separator_is_escaped_in_every_human_format():
    """The rule, format by format: a title or a diagnostic part holding any line separator adds
    no line (the same table with a plain title has as many)."""
    cols = (Column("name", "layer", "name"), Column("note", "note"))

    def table(text: str) -> Table:
        return Table(cols, (("a", text),), title=text, preamble=(text,), notes=(text,))

    for sep in SEPARATORS:
        text = f"x{sep}::error ::forged"
        for fmt in (OutputFormat.table, OutputFormat.markdown, OutputFormat.csv):
            plain, shown = emit(table("x"), fmt), emit(table(text), fmt)
            assert len(shown.splitlines()) == len(plain.splitlines()), (fmt, ascii(sep), shown)
            assert forged_lines(shown) == []
        d = Diagnostic("E003", f"bad `{text}`", Span(f"{text}.yaml", 1, 1), expected=text, found=text, notes=(text,))
        plain = Diagnostic("E003", "bad `x`", Span("x.yaml", 1, 1), expected="x", found="x", notes=("x",))
        assert len(format_text(d).splitlines()) == len(format_text(plain).splitlines()), ascii(sep)
        assert len(format_concise(d).splitlines()) == 1


# ---- item 7: CSV formula injection ------------------------------------------------------------------


def test_csv_text_cells_never_start_a_formula(cli, tmp_path: Path):
    titles = ['=HYPERLINK("http://x","click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "=2+5+cmd|calc!A0"]
    paths = []
    for i, title in enumerate(titles):
        paths.append(tmp_path / f"n{i}.yaml")
        paths[-1].write_text(spec_text(title).replace("name: net", f"name: n{i}"))
    result = cli("compare", *map(str, paths), "-f", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(line for line in io.StringIO(result.stdout) if not line.startswith("#")))
    assert [r["title"] for r in rows] == ["'" + t for t in titles]
    assert [r["params"] for r in rows] == ["112"] * 5  # numbers are numbers
    for row in rows:  # no text cell starts a formula
        assert not any(str(v).startswith(("=", "+", "-", "@")) for v in row.values()), row
    data = json.loads(cli("compare", *map(str, paths), "-f", "json").stdout)  # JSON keeps the text as it is
    assert [r["title"] for r in data] == titles


def test_csv_keeps_negative_numbers_and_quotes_text_that_looks_like_one():
    cols = (Column("name", "name", "name"), Column("delta", "delta", "int"), Column("shape", "shape", "list"))
    table = Table(cols, (("-1", -1, [-1, 2]), ("=1+1", -2.5, ["@x", "y"]), ("a", 0, [1])))
    assert to_csv(table) == "name,delta,shape\n'-1,-1,-1|2\n'=1+1,-2.5,'@x|y\na,0,1\n"


def test_a_file_name_must_be_a_valid_name_when_the_spec_gives_none(cli, tmp_path: Path):
    bad = tmp_path / "=2+5+cmd|calc!A0.yaml"
    bad.write_text("input: [3, 8, 8]\nlayers: [relu]\n")
    result = cli("compare", str(bad), "lenet5", "-f", "csv")
    assert result.exit_code == 1 and result.stdout == ""
    assert f"{bad}:1:1: error E004 the spec has no `name:` and its file's name `=2+5+cmd|calc!A0` is not a valid" in (
        result.stderr
    )
    assert "note:     give the spec a `name:`, or rename the file" in result.stderr
    bad.write_text("name: fine\ninput: [3, 8, 8]\nlayers: [relu]\n")  # a `name:` makes any file name fine
    result = cli("summary", str(bad), "-f", "csv")
    assert result.exit_code == 0 and result.stdout.splitlines()[2].startswith("relu_1,relu,")


# ---- item 8: Markdown injection ---------------------------------------------------------------------


def test_markdown_shows_html_links_and_headings_as_text(cli, tmp_path: Path):
    path = tmp_path / "net.yaml"
    paper = "<img src=x onerror=alert(1)>"
    source = "## forged ![t](http://tracker/p.png) [click](javascript:alert(1)) a\\](x)"
    path.write_text(
        spec_text("<script>alert(1)</script>\n## forged", f"paper: {json.dumps(paper)}\nsource: '{source}'\n")
    )
    result = cli("summary", str(path), "-f", "markdown")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "<" not in out  # no HTML element at all
    assert out.startswith("## &lt;script>alert(1)&lt;/script>\\n## forged\n")
    assert [line for line in out.splitlines() if line.startswith("#")] == [out.splitlines()[0]]  # one heading
    assert re.search(r"(?<!\\)\]\(", out) is None  # no link or image: every `](` is escaped
    assert "&lt;img src=x onerror=alert(1)>  ·  ## forged ![t\\](http://tracker/p.png) [click\\](javascript" in out


# ---- item 12: `$` is a dollar sign in charts ----------------------------------------------------------


def test_a_dollar_in_a_title_is_text_in_the_charts(cli, tmp_path: Path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "net.yaml"
    path.write_text(spec_text("$\\frac{$ costs $5$"))
    png = tmp_path / "layers.png"
    result = cli("summary", str(path), "--plot", str(png))
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = tmp_path / "layers.svg"
    assert cli("summary", str(path), "--plot", str(svg)).exit_code == 0
    assert "$\\frac{$ costs $5$: per layer (batch 1)" in svg.read_text("utf-8")  # as written, not typeset
    report = tmp_path / "r.html"
    result = cli("report", str(path), "-o", str(report))
    assert result.exit_code == 0, result.output
    no_traceback(result.output)
    assert "$\\frac{$ costs $5$: per layer (batch 1)" in report.read_text("utf-8")


def test_a_dollar_in_a_name_is_text_in_the_scatter():
    pytest.importorskip("matplotlib")
    from archscope.render.plots import scatter

    rows = [{"name": "$\\frac{$", "params": 10, "macs": 100}, {"name": "b$x^2$", "params": 20, "macs": 300}]
    svg = scatter(rows, fmt="svg").decode("utf-8")
    assert ">$\\frac{$<" in svg and ">b$x^2$<" in svg


# ---- spec text that a line starts with: a title, a file's name --------------------------------------


@pytest.mark.parametrize(
    "title", ["::warning file=x::forged", "  ::add-mask::s", "##vso[task.complete]x", "##[group]x"]
)
@pytest.mark.parametrize("args", [(), ("-f", "markdown"), ("--depth", "1")])
def test_a_title_that_is_a_ci_command_is_not_one_in_the_output(cli, tmp_path: Path, title: str, args: tuple[str, ...]):
    path = tmp_path / "net.yaml"
    path.write_text(spec_text(title))
    for command in ("summary", "rf", "memory"):
        result = cli(command, str(path), *args)
        assert result.exit_code == 0, result.output
        assert_inert(result.output)


def test_a_file_name_that_is_a_ci_command_is_not_one_in_diagnostics(cli, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative name, as `lint specs/` in CI gives: the line starts with it
    name = "::error file=README.md,line=1::forged.yaml"
    (tmp_path / name).write_text(spec_text("t").replace("out: 4, kernel: 3", "out: 4, kernel: 30"))  # E102
    for fmt in ("text", "concise"):
        result = cli("lint", "--format", fmt, name)
        assert result.exit_code == 1 and "E102" in result.output, result.output
        assert_inert(result.output)
        assert "\\x3a:error file=README.md,line=1::forged.yaml:5:5" in result.output  # its first colon escaped


def test_a_long_title_is_cut_in_the_charts(cli, tmp_path: Path, monkeypatch):
    """A 1 MB title made matplotlib lay the text out for minutes (and 700 MB) in `summary --plot`
    and `report`: a chart is given the first 120 characters, one line, escapes shown."""
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    titles: list[str] = []
    original = Figure.suptitle

    def spy(self, text, *args, **kwargs):
        titles.append(text)
        return original(self, text, *args, **kwargs)

    monkeypatch.setattr(Figure, "suptitle", spy)
    path = tmp_path / "net.yaml"
    path.write_text(spec_text("\x1b" + "x" * 200_000))
    out = tmp_path / "c.png"
    result = cli("summary", str(path), "--plot", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\x89PNG")
    # the escape's 4 characters, 115 x's, the ellipsis: 120
    assert titles == ["\\x1b" + "x" * 115 + "…: per layer (batch 1)"]
