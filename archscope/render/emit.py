"""The one output-format enum of the CLI, and :func:`emit`: a table model in a format.

Each format has one emitter module, imported only when it is used: ``terminal`` (the table
for people), ``machine`` (JSON, CSV) and ``markdown``. None of them imports rich; the JSON,
CSV and Markdown paths never load it. Lint's ``text``, ``concise`` and ``github`` formats
(and ``auto``) are members of the same enum; their emitters are in
:mod:`archscope.render.diagnostics`, since diagnostics are not tables.
"""

from __future__ import annotations

import enum

from archscope.results.table import Table


class OutputFormat(str, enum.Enum):
    table = "table"  # the terminal table (every table command's default)
    json = "json"
    csv = "csv"
    markdown = "markdown"
    text = "text"  # lint: a diagnostic with its source line and a caret
    concise = "concise"  # lint: path:line:col: CODE message
    github = "github"  # lint: GitHub Actions workflow commands
    auto = "auto"  # lint: `github` inside GitHub Actions, else `text`

    def __str__(self) -> str:  # typer maps the parsed value back through str()
        return self.value


TABLE_FORMATS = (OutputFormat.table, OutputFormat.json, OutputFormat.csv, OutputFormat.markdown)


def emit(table: Table, fmt: OutputFormat, *, exact: bool = False, color: bool = False, width: int = 160) -> str:
    """``table`` as text in ``fmt`` (``exact``: every count in full in the terminal table)."""
    if fmt is OutputFormat.json:
        from archscope.render.machine import to_json

        return to_json(table)
    if fmt is OutputFormat.csv:
        from archscope.render.machine import to_csv

        return to_csv(table)
    if fmt is OutputFormat.markdown:
        from archscope.render.markdown import to_markdown
        from archscope.render.safe import printable

        return printable(to_markdown(table))  # read in terminals too: no control character goes through
    if fmt is OutputFormat.table:
        from archscope.render.terminal import to_text

        return to_text(table, exact=exact, color=color, width=width)
    raise ValueError(f"`{fmt.value}` is not a table format")
