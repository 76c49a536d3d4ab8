"""A table model as a sortable HTML table (used by the report page and by a notebook's view of
an analysis); imports no analysis code."""

from __future__ import annotations

import html
from typing import Any

from archscope.render.numbers import cell
from archscope.results.table import Table


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _sort_value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (tuple, list)) and all(isinstance(v, int) for v in value):
        n = 1
        for v in value:
            n *= v
        return str(n)  # shapes sort by element count
    return ""


def table_html(table: Table, caption: str = "") -> str:
    """A table model as a sortable HTML table (the human columns, as the terminal shows them)."""
    columns = [c for c in table.columns if c.human]
    index = [table.columns.index(c) for c in columns]
    head = "".join(f'<th class="{"num" if c.right else ""}">{_e(c.title)}</th>' for c in columns)
    bodies = []
    for row in table.rows:
        cells = "".join(
            f'<td class="{"num" if c.right else ""}" data-v="{_e(_sort_value(row[i]))}">{_e(cell(row[i], c.kind))}</td>'
            for c, i in zip(columns, index)
        )
        bodies.append(f"<tbody><tr>{cells}</tr></tbody>")
    notes = "".join(f"<p class=note>{_e(n)}</p>" for n in (*table.preamble, *table.notes))
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    return f'<table class="sortable">{cap}<thead><tr>{head}</tr></thead>{"".join(bodies)}</table>{notes}'
