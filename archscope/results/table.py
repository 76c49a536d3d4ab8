"""The table model: what a command's output is before it becomes a format.

Every command (summary, compare, bench, verify, list, ops) builds one :class:`Table` and hands
it to the emitter of the chosen format (:mod:`archscope.render.emit`): the terminal table,
JSON, CSV or Markdown. The model is plain data: rows hold raw values (ints, floats, shapes,
strings), and each :class:`Column` says how people should see them (its ``kind``) and which
formats show it. Nothing here formats a number or imports rich.

Who sees a column (``show``):

* ``all``: every format;
* ``human``: the terminal table and Markdown only (``% MACs``, a ``p10–p90`` range);
* ``machine``: JSON and CSV only (``flops``, ``buffers``, the raw quantiles).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["text", "name", "count", "int", "percent", "ratio", "shape", "list", "bytes", "ms", "rate"]
"""How a value reads to people (see :func:`archscope.render.numbers.cell`):

text     as is                         name     as is; `code` in Markdown
count    1.81G (exact with --exact)    int      1,814,073,344
percent  28.2                          ratio    7.29× (— when undefined)
shape    3×224×224 (also in CSV)       list     1|8|32 (also in CSV)
bytes    97.70 MiB                     ms       12.34
rate     1,234.5
"""

Show = Literal["all", "human", "machine"]
Align = Literal["left", "right"]
Fit = Literal["", "wrap", "ellipsis"]

NUMERIC: frozenset[str] = frozenset({"count", "int", "percent", "ratio", "bytes", "ms", "rate"})


@dataclass(frozen=True)
class Column:
    """One column: ``key`` names it in JSON and CSV, ``header`` (and ``unit``) on screen."""

    key: str
    header: str
    kind: Kind = "text"
    unit: str = ""  # shown after the header: `latency ms`; part of the data, not of the number
    align: Align | None = None  # default: right for numbers, left for the rest
    show: Show = "all"
    blank_zero: bool = False  # the terminal shows 0 as a dim `·`, so that the non-zero cells stand out
    fit: Fit = ""  # a long text column that may wrap, or be cut with `…`, to fit the terminal

    @property
    def title(self) -> str:
        return f"{self.header} {self.unit}" if self.unit else self.header

    @property
    def right(self) -> bool:
        return self.align == "right" if self.align else self.kind in NUMERIC

    @property
    def human(self) -> bool:
        return self.show != "machine"

    @property
    def machine(self) -> bool:
        return self.show != "human"


@dataclass(frozen=True)
class Table:
    """A titled table with an optional totals row, the lines around it and the convention.

    ``preamble``: lines above the table (where the spec comes from, a family resolved to a
    spec, the timing environment). ``footer``: terminal-only lines below it, laid out for a
    fixed-width font (the totals in words). ``notes``: remarks under the table in the terminal
    and in Markdown. ``convention``: the counting convention (``report.CONVENTION``), which
    every format states (a note, a ``# convention:`` CSV comment, a JSON ``convention`` key).
    ``document``: the JSON output where it is richer than the rows (``Report.to_dict()``).
    """

    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    title: str = ""
    total: tuple[Any, ...] | None = None
    preamble: tuple[str, ...] = ()
    footer: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    convention: str = ""
    document: Any = None

    def __post_init__(self) -> None:
        width = len(self.columns)
        for row in self.rows + ((self.total,) if self.total is not None else ()):
            if len(row) != width:
                raise ValueError(f"a row of {len(row)} cells in a table of {width} columns: {row!r}")

    def records(self) -> list[dict[str, Any]]:
        """The rows as dicts of the machine columns (JSON, CSV), in column order."""
        keep = [(i, c.key) for i, c in enumerate(self.columns) if c.machine]
        return [{key: row[i] for i, key in keep} for row in self.rows]
