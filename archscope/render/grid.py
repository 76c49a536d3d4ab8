"""A fast text grid for long per-layer tables.

``rich.table.Table`` measures and wraps every cell; on this project's 2-core reference machine
it took 55–90 ms for a 69-row ResNet-18 table (≈ 1 ms per row), and importing and printing
through ``rich.console`` cost another 80 ms: together more than half of the 300 ms budget of
a whole ``archscope summary``. Layer tables have short cells that never wrap, so we lay them
out here with the same box characters as rich's heavy-headed tables and add the few styles
(bold header, dim placeholders) as ANSI codes ourselves, only when :func:`use_color` says
so (a terminal or ``FORCE_COLOR``; never with ``NO_COLOR`` or ``--no-color``). Every table is laid out
here (:mod:`archscope.render.terminal`); only progress bars still use rich. A cell may hold
several lines (a wrapped column).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

BOLD, DIM, ITALIC, RESET = "\x1b[1m", "\x1b[2m", "\x1b[3m", "\x1b[0m"
RED, GREEN, YELLOW = "\x1b[31m", "\x1b[32m", "\x1b[33m"


def use_color(stream: TextIO | None = None) -> bool:
    from archscope.render.console import colors_disabled

    stream = stream or sys.stdout
    if colors_disabled():
        return False
    if os.environ.get("FORCE_COLOR"):  # as rich honours it
        return True
    return stream.isatty() and os.environ.get("TERM") != "dumb"


@dataclass(frozen=True)
class Col:
    header: str
    right: bool = False
    footer: str = ""


def style(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{RESET}" if color and text else text


def grid(
    cols: Sequence[Col], rows: Sequence[Sequence[str]], title: str = "", color: bool = False, placeholder: str = "·"
) -> str:
    """A heavy-headed box table as text (with ANSI styles when ``color``)."""
    show_footer = any(c.footer for c in cols)
    if any("\n" in cell for row in rows for cell in row):
        rows = [line for row in rows for line in _lines(row)]
    widths = [len(c.header) for c in cols]
    for row in rows:
        for i, cell in enumerate(row):
            if len(cell) > widths[i]:
                widths[i] = len(cell)
    if show_footer:
        widths = [max(w, len(c.footer)) for w, c in zip(widths, cols)]

    def rule(left: str, mid: str, right: str, fill: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + right

    def line(cells: Sequence[str], bar: str, code: str = "") -> str:
        parts = []
        for cell, c, w in zip(cells, cols, widths):
            padded = cell.rjust(w) if c.right else cell.ljust(w)
            if color and (code or cell == placeholder):
                padded = style(padded, code or DIM, True)
            parts.append(padded)
        return f"{bar} " + f" {bar} ".join(parts) + f" {bar}"

    out = [style(title, ITALIC, color)] if title else []
    out.append(rule("┏", "┳", "┓", "━"))
    out.append(line([c.header for c in cols], "┃", BOLD))
    out.append(rule("┡", "╇", "┩", "━"))
    out.extend(line(row, "│") for row in rows)
    if show_footer:
        out.append(rule("├", "┼", "┤", "─"))
        out.append(line([c.footer for c in cols], "│", BOLD))
    out.append(rule("└", "┴", "┘", "─"))
    return "\n".join(out)


def _lines(row: Sequence[str]) -> list[list[str]]:
    """A row whose cells hold several lines, as that many rows of one line each."""
    split = [cell.split("\n") for cell in row]
    height = max(len(parts) for parts in split)
    return [[parts[i] if i < len(parts) else "" for parts in split] for i in range(height)]
