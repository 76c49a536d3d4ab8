"""A fast column grid for long per-layer tables, printed through rich.

``rich.table.Table`` measures and wraps every cell; on this project's 2-core reference
machine it took 55–90 ms for a 69-row ResNet-18 table (≈ 1 ms per row), the largest part of
a 0.3 s budget for a whole ``archscope summary``. Layer tables have short, unwrappable
cells, so we lay them out once here (7 ms for the same table) and hand rich a styled
``Text``: colours, ``NO_COLOR`` and terminal handling stay rich's. Short tables (compare,
list, ops) still use ``rich.table.Table``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from rich.text import Text


@dataclass(frozen=True)
class Col:
    header: str
    right: bool = False
    footer: str = ""


def _cell(text: str, width: int, right: bool) -> str:
    return text.rjust(width) if right else text.ljust(width)


def grid(cols: Sequence[Col], rows: Sequence[Sequence[str]], title: str = "",
         header_style: str = "bold", dim: str = "·") -> Text:
    """A heavy-headed box table as one styled ``Text`` (dim placeholder cells)."""
    show_footer = any(c.footer for c in cols)
    widths = [len(c.header) for c in cols]
    for row in rows:
        for i, cell in enumerate(row):
            if len(cell) > widths[i]:
                widths[i] = len(cell)
    if show_footer:
        widths = [max(w, len(c.footer)) for w, c in zip(widths, cols)]

    def rule(left: str, mid: str, right: str, fill: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + right

    out = Text(no_wrap=True, overflow="ignore")
    if title:
        out.append(title + "\n", style="italic")
    out.append(rule("┏", "┳", "┓", "━") + "\n")
    out.append("┃")
    for c, w in zip(cols, widths):
        out.append(" ")
        out.append(_cell(c.header, w, c.right), style=header_style)
        out.append(" ┃")
    out.append("\n" + rule("┡", "╇", "┩", "━") + "\n")
    for row in rows:
        out.append("│")
        for cell, c, w in zip(row, cols, widths):
            out.append(" ")
            out.append(_cell(cell, w, c.right), style="dim" if cell == dim else "")
            out.append(" │")
        out.append("\n")
    if show_footer:
        out.append(rule("├", "┼", "┤", "─") + "\n│")
        for c, w in zip(cols, widths):
            out.append(" ")
            out.append(_cell(c.footer, w, c.right), style="bold")
            out.append(" │")
        out.append("\n")
    out.append(rule("└", "┴", "┘", "─"))
    return out
