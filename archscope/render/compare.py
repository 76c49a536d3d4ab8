"""The table model of `archscope compare`: one row per network, ratios to the first."""

from __future__ import annotations

from typing import Any

from archscope.passes.conventions import BY_NAME, DEFAULT
from archscope.results.report import CONVENTION
from archscope.results.table import Column, Table

COLUMNS = (
    Column("name", "name"),
    Column("title", "title", show="machine"),
    Column("requested", "requested", show="machine"),
    Column("resolved_from", "resolved_from", show="machine"),
    Column("input", "input", "shape", show="machine"),
    Column("inputs_label", "input", show="human"),  # every input's shape (a neck has several)
    Column("depth", "depth", "int"),
    Column("params", "params", "count"),
    Column("params_ratio", "×", "ratio"),
    Column("macs", "MACs", "count"),
    Column("macs_ratio", "×", "ratio"),
    Column("flops", "FLOPs", "count", show="machine"),
    Column("activations", "activations", "count"),
    Column("activations_ratio", "×", "ratio"),
    Column("model_bytes", "size (fp32)", "bytes"),
    Column("receptive_field", "receptive field", align="right"),
)


def _columns(convention: str) -> tuple[Column, ...]:
    """Under another convention its total (and ratio) replace the MACs, which JSON and CSV keep."""
    if convention == DEFAULT:
        return COLUMNS
    unit = BY_NAME[convention].unit
    at = [c.key for c in COLUMNS].index("macs")
    counted = (Column("counted", f"{unit} ({convention})", "count"), Column("counted_ratio", "×", "ratio"))
    machine = tuple(Column(c.key, c.header, c.kind, show="machine") for c in COLUMNS[at : at + 2])
    return COLUMNS[:at] + counted + machine + COLUMNS[at + 2 :]


def compare_table(
    rows: list[dict[str, Any]], notes: list[str], timed: list[Any] | None = None, convention: str = DEFAULT
) -> Table:
    """``rows``: :meth:`Comparison.rows`; ``notes``: families resolved to a spec; ``timed``:
    the bench results of `compare --bench`, one per network; ``convention``: the counting
    convention of the MACs column (`--convention`)."""
    columns = _columns(convention)
    cells = [tuple(r[c.key] for c in columns) for r in rows]
    preamble = list(notes)
    if timed:
        from archscope.render.bench import compare_bench_columns, environment_line

        extra, timing = compare_bench_columns(timed)
        columns += extra
        cells = [row + more for row, more in zip(cells, timing, strict=True)]
        preamble.append("timing: " + environment_line(timed[0].environment))
    return Table(
        columns,
        tuple(cells),
        preamble=tuple(preamble),
        notes=(f"ratios (×) are to {rows[0]['name']}",),
        convention=CONVENTION if convention == DEFAULT else BY_NAME[convention].statement(),
    )
