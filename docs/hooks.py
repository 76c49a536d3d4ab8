"""mkdocs hooks: the pages' generated parts, computed from the code when the site is built.

A page holds a placeholder where a table must follow the code; nothing generated is committed:

- ``<!-- archscope:codes -->``: every diagnostic code of ``archscope.codes`` (a table, then a
  section per code with its meaning, an example and the fix, as ``archscope explain`` prints);
- ``<!-- archscope:ops -->``: every op of ``archscope.ops.REGISTRY`` with its attributes and
  defaults (the table of ``archscope ops --format markdown``);
- ``<!-- archscope:help CMD [SUB] -->``: the ``--help`` of a command (or subcommand), at :data:`HELP_COLUMNS` columns;
- ``<!-- archscope:bundled -->``: the bundled specs with their input, params and MACs, computed.

archscope is imported inside the functions (mkdocs loads this file before the build starts), by its
public names only. ``tests/test_docs.py`` imports this file by path and checks the tables.
"""

from __future__ import annotations

import os
import re
from typing import Any

HELP_COLUMNS = 100
PLACEHOLDER = re.compile(r"<!-- archscope:(codes|ops|bundled|help ([a-z]+(?: [a-z]+)?)) -->")


def _cell(text: str) -> str:
    """Text for one Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def codes_table() -> str:
    """A table of every diagnostic code, then one section per code (what `archscope explain` says)."""
    from archscope.codes import TABLE

    lines = ["| code | severity | what the example is | meaning |", "|---|---|---|---|"]
    lines += [f"| [`{c.code}`](#{c.code.lower()}) | {c.severity} | {c.subject} | {_cell(c.summary)} |" for c in TABLE]
    for c in TABLE:
        lines += ["", f"### {c.code}", "", f"**{c.severity}**: {c.summary}", "", c.meaning, ""]
        lines += [f"Example ({c.subject}):", "", "```" + ("yaml" if c.subject != "command" else "text")]
        lines += [c.example.rstrip("\n"), "```", "", f"Fix: {c.fix}"]
        if c.fixed is not None:
            lines += ["", "```yaml", c.fixed.rstrip("\n"), "```"]
    return "\n".join(lines)


def ops_table() -> str:
    """Every registered op: what it does, how many inputs it takes, its attributes and defaults."""
    from archscope.ops import REGISTRY

    lines = ["| op | what it does | inputs | attributes (default) |", "|---|---|---|---|"]
    for name in sorted(REGISTRY):
        op = REGISTRY[name]
        low, high = op.inputs
        inputs = str(low) if low == high else f"{low}–{high}" if high is not None else f"{low} or more"
        attrs = ", ".join(a.name if a.required else f"{a.name}={a.default}" for a in op.attrs)
        lines.append(f"| `{name}` | {_cell(op.summary)} | {inputs} | {_cell(attrs)} |")
    return "\n".join(lines)


def bundled_rows() -> list[tuple[str, str, str, int, int, str]]:
    """(name, title, input, params, MACs, the keys its ``expect:`` pins) of every bundled spec,
    computed from the spec."""
    from archscope.api import list_specs, load, summarize

    rows = []
    for spec in sorted(list_specs(), key=lambda s: s.name):
        report = summarize(spec.name)
        shape = "×".join(map(str, report.input))
        pinned = ", ".join(load(spec.name).expect)
        rows.append((spec.name, spec.title, shape, report.totals.params, report.totals.macs, pinned))
    return rows


def bundled_table() -> str:
    lines = ["| spec | network | input | params | MACs | `expect:` checks |", "|---|---|---|--:|--:|---|"]
    lines += [f"| `{n}` | {_cell(t)} | {i} | {p:,} | {m:,} | {e} |" for n, t, i, p, m, e in bundled_rows()]
    return "\n".join(lines)


def help_text(command: str) -> str:
    """``archscope COMMAND [SUBCOMMAND] --help`` as a terminal of :data:`HELP_COLUMNS` columns shows it,
    uncoloured."""
    from typer.testing import CliRunner

    from archscope.cli.app import build_app

    env = {"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": str(HELP_COLUMNS), "FORCE_COLOR": None}
    saved = dict(os.environ)
    try:
        words = command.split()
        result = CliRunner().invoke(build_app(words[:1]), [*words, "--help"], prog_name="archscope", env=env)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    if result.exit_code != 0:
        raise RuntimeError(f"`archscope {command} --help` exited {result.exit_code}: {result.output}")
    text = "\n".join(line.rstrip() for line in result.output.splitlines()).strip("\n")
    return f"```text\n{text}\n```"


def render(markdown: str) -> str:
    """The page with every placeholder replaced by what it stands for."""

    def replace(match: re.Match[str]) -> str:
        what = match.group(1)
        if what == "codes":
            return codes_table()
        if what == "ops":
            return ops_table()
        if what == "bundled":
            return bundled_table()
        return help_text(match.group(2))

    return PLACEHOLDER.sub(replace, markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:  # noqa: ARG001  mkdocs passes these by keyword
    return render(markdown)
