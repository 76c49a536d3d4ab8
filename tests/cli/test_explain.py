"""`archscope explain CODE`: every code the source can emit is explained, and every explanation's
example really triggers its code (and its fixed version does not), so the text cannot drift from
the checker."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import archscope
from archscope.cli.app import app
from archscope.codes import EXPLANATIONS, TABLE
from archscope.diagnostics import CODES

runner = CliRunner()
SOURCE = Path(archscope.__file__).parent
CODE_RE = re.compile(r"^[EW]\d{3}$")


def codes_in_source() -> set[str]:
    """Every string literal of the form E123/W123 in the package's source (the codes it can emit)."""
    found = set()
    for path in SOURCE.rglob("*.py"):
        if path.name == "codes.py":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE_RE.match(node.value):
                found.add(node.value)
    return found


def test_the_explained_codes_are_exactly_the_codes_the_source_emits():
    emitted = codes_in_source()
    assert len(emitted) >= 20  # the scan is real
    assert sorted(emitted - set(EXPLANATIONS)) == []  # a code with no explanation
    assert sorted(set(EXPLANATIONS) - emitted) == []  # an explanation of a code nothing emits
    assert set(CODES) == set(EXPLANATIONS)  # the diagnostics use the same table


@pytest.mark.parametrize("entry", [e for e in TABLE if e.subject == "spec"], ids=lambda e: e.code)
def test_the_example_triggers_exactly_its_code_and_the_fix_clears_it(entry):
    before = archscope.analyze("example.yaml", text=entry.example)
    assert {d.code for d in before.diagnostics} == {entry.code}
    assert entry.fixed is not None
    after = archscope.analyze("fixed.yaml", text=entry.fixed)
    assert after.diagnostics == []


@pytest.mark.parametrize("entry", [e for e in TABLE if e.subject == "sweep file"], ids=lambda e: e.code)
def test_a_sweep_file_example_gives_exactly_its_code_and_the_fix_clears_it(entry):
    from archscope.explore.sweepfile import example_diagnostics

    assert {d.code for d in example_diagnostics(entry.example)} == {entry.code}
    assert entry.fixed is not None and example_diagnostics(entry.fixed) == []


def test_the_w104_example_is_a_sweep_that_warns_w104():
    entry = EXPLANATIONS["W104"]
    result = runner.invoke(app, entry.example.split()[1:])
    assert result.exit_code == 1 and "W104" in result.output  # its only axis left out: nothing to sweep


def test_e000_example_is_a_command_that_gives_e000():
    entry = EXPLANATIONS["E000"]
    assert entry.example.startswith("archscope ")
    result = runner.invoke(app, entry.example.split()[1:])
    assert result.exit_code == 2 and "E000" in result.output


def test_explain_shows_meaning_example_live_diagnostic_and_fix():
    result = runner.invoke(app, ["explain", "e104"])  # case-insensitive
    assert result.exit_code == 0
    out = result.output
    assert out.startswith("E104 (error): shapes do not match at `add` / `mul`")
    assert "Example:" in out and "Fix:" in out
    # the live diagnostic of the example, as the checker reports it today
    assert "example.yaml:4:5: error E104 `add_1` (add): `add` needs equal shapes; the channels differ" in out


def test_explain_lists_every_code_and_has_json():
    listed = runner.invoke(app, ["explain"])
    assert listed.exit_code == 0
    assert [line.split()[0] for line in listed.output.splitlines()] == [e.code for e in TABLE]
    data = json.loads(runner.invoke(app, ["explain", "W101", "--json"]).output)
    assert data["code"] == "W101" and data["severity"] == "warning" and "padding: 1" in data["fixed"]


def test_unknown_code_is_a_usage_error_with_a_suggestion():
    result = runner.invoke(app, ["explain", "E1O4"])
    assert result.exit_code == 2
    assert "no diagnostic code `E1O4`; did you mean `E104`?" in result.output


def test_text_diagnostics_point_to_explain(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text(EXPLANATIONS["E103"].example)
    result = runner.invoke(app, ["lint", str(spec)])
    assert result.exit_code == 1
    assert "    help:     `archscope explain E103`" in result.output


def test_a_long_source_line_is_cut_around_the_caret(tmp_path):
    spec = tmp_path / "deep.yaml"
    spec.write_text("input: [3]\nlayers: [relu]\ntags: " + "[" * 5000 + "]" * 5000 + "\n")
    result = runner.invoke(app, ["lint", str(spec)])
    excerpt = [line for line in result.output.splitlines() if line.startswith(" 3 | ")]
    caret = [line for line in result.output.splitlines() if line.strip().endswith("^")]
    assert len(excerpt) == 1 and len(excerpt[0]) < 120
    assert len(caret) == 1 and excerpt[0][caret[0].index("^")] == "["


@pytest.mark.parametrize(
    "args",
    [["ops", "--no-color"], ["list", "--no-color"], ["lint", "--debug", "specs/lenet5.yaml"], ["--no-color", "ops"]],
)
def test_global_options_work_before_and_after_the_command(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "\x1b[" not in result.output
