"""The terminal emitter of a table model: a heavy-headed box table laid out as text.

Layout is :func:`archscope.render.grid.grid` (no rich: a 175-row table costs well under a
millisecond per row, where ``rich.table.Table`` cost ≈ 1 ms per row). Above the table: the
title (italic) and the preamble (dim); below it: the footer lines, the notes and the counting
convention (dim). Counts read ``1.81G`` unless ``exact``; the totals row is always exact.
Columns marked ``fit`` wrap, or are cut with ``…``, so that the table fits ``width``.
The title, each preamble and footer line and each cell are one line of text each
(:func:`~archscope.render.safe.oneline`): spec text never starts a line of its own; the notes
are prose, re-wrapped here, so a newline in them is a space.
"""

from __future__ import annotations

import textwrap

from archscope.render.grid import DIM, ITALIC, Col, grid, style
from archscope.render.numbers import cell
from archscope.render.safe import oneline, printable
from archscope.results.table import Column, Table

PLACEHOLDER = "·"
MIN_FIT_WIDTH = 12
PROSE_WIDTH = 100  # notes and the convention wrap here (or at the terminal's width, if narrower)


def _fit(widths: list[int], cols: list[Column], width: int) -> list[int]:
    """Narrow the ``fit`` columns, widest first, until the table is at most ``width`` wide."""
    widths = list(widths)
    flexible = [i for i, c in enumerate(cols) if c.fit]
    excess = sum(w + 3 for w in widths) + 1 - width
    while excess > 0 and flexible:
        i = max(flexible, key=lambda k: widths[k])
        if widths[i] <= MIN_FIT_WIDTH:
            break
        widths[i] -= 1
        excess -= 1
    return widths


def _squeeze(text: str, col: Column, limit: int) -> str:
    if len(text) <= limit:
        return text
    if col.fit == "wrap":
        return "\n".join(textwrap.wrap(text, limit)) or text[:limit]
    return text[: limit - 1] + "…"


def to_text(table: Table, *, exact: bool = False, color: bool = False, width: int = 160) -> str:
    idx = [i for i, c in enumerate(table.columns) if c.human]
    cols = [table.columns[i] for i in idx]
    rows = []
    for row in table.rows:
        cells = []
        for i, c in zip(idx, cols):
            value = row[i]
            cells.append(PLACEHOLDER if c.blank_zero and not value else oneline(cell(value, c.kind, exact)))
        rows.append(cells)
    total = [""] * len(cols) if table.total is None else [cell(table.total[i], c.kind, True) for i, c in zip(idx, cols)]
    if any(c.fit for c in cols):
        natural = [max([len(c.title), len(t)] + [len(r[k]) for r in rows]) for k, (c, t) in enumerate(zip(cols, total))]
        limits = _fit(natural, cols, width)
        for r in rows:
            for k, c in enumerate(cols):
                if c.fit:
                    r[k] = _squeeze(r[k], c, limits[k])
    out = [style(oneline(table.title), ITALIC, color)] if table.title else []
    out += [style(oneline(line), DIM, color) for line in table.preamble]
    layout = [Col(c.title, c.right, t) for c, t in zip(cols, total)]
    out.append(grid(layout, rows, color=color, placeholder=PLACEHOLDER))
    out += [oneline(line) for line in table.footer]
    prose = min(width, PROSE_WIDTH)
    for note in (*table.notes, table.convention):
        if note:
            out.append(style(textwrap.fill(printable(note), prose), DIM, color))
    return "\n".join(out)
