"""`--help`: the command list in five panels, one summary line per command, options grouped in
panels, and an example in every command's and subcommand's help, laid out by rich at the terminal's width."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

from archscope.cli.app import COMMANDS, SUBCOMMANDS, command_help

PANELS = {
    "Analyse": ["summary", "lint", "compare", "rf", "memory", "predict", "conventions"],
    "Pictures": ["draw", "report"],
    "PyTorch": ["verify", "bench", "calibrate", "export", "import"],
    "Explore": ["sweep"],
    "Reference": ["list", "ops", "schema", "explain"],
}
# every command and subcommand (`sweep compound`), as typed
NAMES = [*COMMANDS, *(f"{name} {sub}" for name, subs in SUBCOMMANDS.items() for sub in subs)]
TITLE = re.compile(r"^╭─ (.+?) ─")


def _panels(text: str) -> dict[str, list[str]]:
    """Each panel's title → its rows (the text between the borders), in order."""
    panels: dict[str, list[str]] = {}
    rows: list[str] = []
    for line in text.splitlines():
        if title := TITLE.match(line):
            rows = panels.setdefault(title.group(1), [])
        elif line.startswith("│"):
            rows.append(line.strip("│ \n"))
    return panels


def _doc(name: str) -> str:
    command, _, sub = name.partition(" ")
    module, function = SUBCOMMANDS[command][sub] if sub else COMMANDS[name][:2]
    return inspect.cleandoc(
        getattr(importlib.import_module(f"archscope.cli.commands.{module}"), function).__doc__ or ""
    )


def _examples(name: str) -> list[str]:
    paragraph = next(p for p in _doc(name).split("\n\n") if p.startswith("Example"))
    return [line.strip() for line in paragraph.splitlines()[1:]]


def test_main_help_shows_the_commands_in_five_panels(cli):
    result = cli("--help")
    assert result.exit_code == 0
    panels = _panels(result.stdout)
    assert list(panels) == ["Options", *PANELS]
    for title, commands in PANELS.items():
        assert [row.split()[0] for row in panels[title]] == commands, title


def test_the_command_list_has_one_line_per_command(cli):
    """At 200 columns every summary fits on its row: a second line is a docstring's line break."""
    panels = _panels(cli("--help").stdout)
    rows = [row for title, rows in panels.items() if title != "Options" for row in rows]
    assert len(rows) == len(COMMANDS), rows


@pytest.mark.parametrize("name", NAMES)
def test_every_docstring_starts_with_one_line_then_a_blank_line(name):
    lines = _doc(name).splitlines()
    assert len(lines) > 2 and lines[0].strip() and lines[1] == "", lines[:3]


@pytest.mark.parametrize("name", NAMES)
def test_every_command_shows_an_example_line_by_line(cli, name):
    """At 80 columns the examples keep their lines, and the prose is filled to the width: a short
    line inside a paragraph would be a docstring's line break, not rich's."""
    examples = _examples(name)
    assert examples and all(e.startswith("archscope " + name) for e in examples), examples
    text = cli(*name.split(), "--help", env={"COLUMNS": "80"}).stdout
    before_panels = text.split("╭─")[0]
    lines = [line.strip() for line in before_panels.splitlines()]
    for example in examples:
        assert example in lines, (example, before_panels)
    for line, after in zip(lines, lines[1:], strict=False):
        if line and after and line not in examples and after not in examples and not line.startswith("Example"):
            assert len(line) + len(after.split()[0]) >= 76, f"a broken line in `{name} --help`: {line!r}"


def test_the_big_commands_group_their_options(cli):
    expected = {
        "summary": {"Output", "Overrides", "Limits", "Transfer learning"},
        "sweep": {"Axes", "Metrics", "Output", "Timing", "Executor", "Limits", "Commands"},
        "sweep compound": {"Scaling", "Search", "Output", "Limits"},
        "bench": {"Timing", "Output", "Overrides", "Limits", "Transfer learning", "Executor"},
        "export": {"Output", "Overrides", "Limits"},
        "import": {"Output", "Source"},
        "lint": {"Output", "Rules", "Limits"},
    }
    for name, titles in expected.items():
        panels = _panels(cli(*name.split(), "--help").stdout)
        assert set(panels) == {"Arguments", "Options"} | titles, name
    summary = _panels(cli("summary", "--help").stdout)
    assert [row.split()[0] for row in summary["Overrides"]] == ["--resolution", "--input", "--set"]
    assert [row.split()[0] for row in summary["Transfer learning"]] == ["--freeze", "--unfreeze"]
    sweep = _panels(cli("sweep", "--help").stdout)
    assert [row.split()[0] for row in sweep["Axes"] if row.startswith("--")] == ["--grid", "--random", "--seed"]
    assert [row.split()[0] for row in sweep["Commands"]] == ["compound"]


def test_command_help_reflows_prose_and_keeps_examples():
    doc = """Count it.

    The first
    paragraph.

    Example:
      archscope x --a
      archscope x --b
    """
    assert command_help(doc) == "Count it.\n\nThe first paragraph.\n\nExample:\n  archscope x --a\n  archscope x --b"
