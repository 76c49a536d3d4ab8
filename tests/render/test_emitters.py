"""The table model and its emitters: each format on a small table, the counting convention in
every output that counts, and no rich import on the way to any table."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT

from archscope.render.emit import TABLE_FORMATS, OutputFormat, emit
from archscope.results.report import CONVENTION
from archscope.results.table import Column, Table

COLUMNS = (
    Column("name", "layer", "name"),
    Column("shape", "output", "shape"),
    Column("macs", "MACs", "count", blank_zero=True),
    Column("share", "% MACs", "percent", show="human"),
    Column("flops", "FLOPs", "count", show="machine"),
    Column("ratio", "×", "ratio"),
)
SMALL = Table(
    COLUMNS,
    (("a|b", (3, 8, 8), 1_814_073_344, 99.5, 3_628_146_688, 1.0), ("c", (10,), 0, 0.5, 0, None)),
    title="Tiny",
    total=("total", (10,), 1_814_073_344, 100.0, 3_628_146_688, None),
    preamble=("from a test",),
    footer=("footer line",),
    notes=("a note",),
    convention="one MAC is one multiply-add",
)


def test_a_row_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="a row of 1 cells in a table of 6 columns"):
        Table(COLUMNS, (("only one",),))


TERMINAL = """\
Tiny
from a test
┏━━━━━━━┳━━━━━━━━┳━━━━━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━┓
┃ layer ┃ output ┃          MACs ┃ % MACs ┃     × ┃
┡━━━━━━━╇━━━━━━━━╇━━━━━━━━━━━━━━━╇━━━━━━━━╇━━━━━━━┩
│ a|b   │ 3×8×8  │         1.81G │   99.5 │ 1.00× │
│ c     │ 10     │             · │    0.5 │     — │
├───────┼────────┼───────────────┼────────┼───────┤
│ total │ 10     │ 1,814,073,344 │  100.0 │     — │
└───────┴────────┴───────────────┴────────┴───────┘
footer line
a note
one MAC is one multiply-add"""


def test_terminal_table():
    """Compact counts, a dim `·` for a blank zero, `—` for an undefined ratio, exact totals;
    the machine-only FLOPs column is not shown."""
    assert emit(SMALL, OutputFormat.table) == TERMINAL
    assert "│ 1,814,073,344 │   99.5 │" in emit(SMALL, OutputFormat.table, exact=True)


def test_terminal_colours_only_when_asked():
    coloured = emit(SMALL, OutputFormat.table, color=True)
    assert re.sub(r"\x1b\[\d+m", "", coloured) == TERMINAL
    assert "┃ \x1b[1mlayer\x1b[0m ┃" in coloured and "\x1b[2m            ·\x1b[0m" in coloured
    assert coloured.startswith("\x1b[3mTiny\x1b[0m\n\x1b[2mfrom a test\x1b[0m")


def test_terminal_fits_long_columns_to_the_width():
    long = "word " * 40
    table = Table(
        (Column("k", "key"), Column("w", "wrapped", fit="wrap"), Column("e", "cut", fit="ellipsis")),
        (("x", long.strip(), long.strip()),),
    )
    lines = emit(table, OutputFormat.table, width=80).splitlines()
    assert max(len(line) for line in lines) <= 80
    body = [line for line in lines if line.startswith("│")]
    assert len(body) > 1 and body[0].rstrip(" │").endswith("…")  # wrapped over several lines; cut with …


def test_markdown():
    text = emit(SMALL, OutputFormat.markdown)
    lines = text.splitlines()
    assert lines[:4] == ["## Tiny", "", "from a test", ""]
    assert lines[4] == "| layer | output | MACs | % MACs | × |"
    assert lines[5] == "|---|---|--:|--:|--:|"
    assert lines[6] == "| `a\\|b` | 3×8×8 | 1,814,073,344 | 99.5 | 1.00× |"
    assert lines[8] == "| **total** | **10** | **1,814,073,344** | **100.0** | **—** |"
    assert lines[-3:] == ["_a note_", "", "_one MAC is one multiply-add_"]
    assert "footer line" not in text  # the footer is for the terminal


def test_csv():
    text = emit(SMALL, OutputFormat.csv)
    first, _, rest = text.partition("\n")
    assert first == "# convention: one MAC is one multiply-add"
    rows = list(csv.DictReader(io.StringIO(rest)))
    assert list(rows[0]) == ["name", "shape", "macs", "flops", "ratio"]  # machine columns, no totals row
    assert rows == [
        {"name": "a|b", "shape": "3×8×8", "macs": "1814073344", "flops": "3628146688", "ratio": "1.0"},
        {"name": "c", "shape": "10", "macs": "0", "flops": "0", "ratio": ""},
    ]


def test_csv_with_a_convention_column_has_no_comment_line():
    table = Table((Column("n", "n"), Column("convention", "convention")), (("x", "c"),), convention="c")
    assert emit(table, OutputFormat.csv) == "n,convention\nx,c\n"


def test_json_rows_or_document():
    rows = json.loads(emit(SMALL, OutputFormat.json))
    assert rows[0] == {
        "name": "a|b",
        "shape": [3, 8, 8],
        "macs": 1_814_073_344,
        "flops": 3_628_146_688,
        "ratio": 1.0,
        "convention": "one MAC is one multiply-add",
    }
    doc = Table(COLUMNS[:1], (), document={"a": 1}, convention="c")
    assert json.loads(emit(doc, OutputFormat.json)) == {"a": 1, "convention": "c"}
    assert json.loads(emit(Table(COLUMNS[:1], (("x",),)), OutputFormat.json)) == [{"name": "x"}]


def test_lint_formats_are_not_table_formats():
    with pytest.raises(ValueError, match="`github` is not a table format"):
        emit(SMALL, OutputFormat.github)


# ---- the counting convention in every output that counts --------------------------------------


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("fmt", [f.value for f in TABLE_FORMATS])
@pytest.mark.parametrize(
    "args", [("summary", "lenet5"), ("summary", "resnet18", "-d", "1"), ("compare", "lenet5", "resnet18")]
)
def test_every_output_states_the_convention(cli, args, fmt):
    result = cli(*args, "--format", fmt, env={"NO_COLOR": "1"})
    assert result.exit_code == 0
    out = result.stdout
    if fmt == "table":
        assert CONVENTION in _flat(out)
    elif fmt == "json":
        data = json.loads(out)
        for item in data if isinstance(data, list) else [data]:
            assert item["convention"] == CONVENTION
    elif fmt == "csv":
        assert out.splitlines()[0] == f"# convention: {CONVENTION}"
    else:
        assert f"_{CONVENTION}_" in out.splitlines()


def test_formats_a_command_does_not_accept_are_usage_errors(cli):
    for args in (("summary", "lenet5", "-f", "github"), ("ops", "-f", "csv"), ("lint", "-f", "markdown", "specs")):
        result = cli(*args)
        assert result.exit_code == 2 and "is not a format of this command" in result.stderr
    assert "[table|json|csv|markdown]" in _flat(cli("summary", "--help").stdout)


# ---- no rich on the way to a table ------------------------------------------------------------


def test_no_table_output_imports_rich():
    """JSON, CSV, Markdown and the terminal table are all laid out without rich (whole process)."""
    script = textwrap.dedent("""
        import sys
        from typer.testing import CliRunner
        from archscope.cli.app import app

        runner = CliRunner()
        for fmt in ("json", "csv", "markdown", "table"):
            for args in (["summary", "resnet50"], ["summary", "resnet18", "-d", "1"], ["compare", "resnet", "vgg"],
                         ["list"], ["ops"] if fmt != "csv" else ["list"]):
                result = runner.invoke(app, [*args, "--format", fmt], env={"NO_COLOR": "1"})
                assert result.exit_code == 0, (args, fmt, result.output[-2000:])
        print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] == "rich")))
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "", f"imported: {proc.stdout.strip()[:500]}"
