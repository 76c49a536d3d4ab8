"""The Markdown emitter of a table model (GitHub-flavoured: pipes, aligned columns).

``## title``, the preamble lines as paragraphs, the table of the human columns with every
number in full (``1,814,073,344``), the totals row in bold, then the notes and the counting
convention in italics.
"""

from __future__ import annotations

from ..table import Column, Table
from .numbers import cell


def _cell(value: object, col: Column) -> str:
    text = cell(value, col.kind, exact_numbers=True).replace("|", "\\|")
    return f"`{text}`" if col.kind == "name" and text else text


def to_markdown(table: Table) -> str:
    cols = [(i, c) for i, c in enumerate(table.columns) if c.human]
    lines: list[str] = []
    if table.title:
        lines += [f"## {table.title}", ""]
    for line in table.preamble:
        lines += [line, ""]
    lines.append("| " + " | ".join(c.title.replace("|", "\\|") for _, c in cols) + " |")
    lines.append("|" + "|".join("--:" if c.right else "---" for _, c in cols) + "|")
    for row in table.rows:
        lines.append("| " + " | ".join(_cell(row[i], c) for i, c in cols) + " |")
    if table.total is not None:
        cells = [cell(table.total[i], c.kind, exact_numbers=True).replace("|", "\\|") for i, c in cols]
        lines.append("| " + " | ".join(f"**{text}**" if text else "" for text in cells) + " |")
    for note in table.notes:
        lines += ["", f"_{note}_"]
    if table.convention:
        lines += ["", f"_{table.convention}_"]
    return "\n".join(lines) + "\n"
