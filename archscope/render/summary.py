"""The table model of `archscope summary`: one row per layer, or per group under ``--depth``."""

from __future__ import annotations

from dataclasses import dataclass, replace

from archscope.overrides import Overrides
from archscope.passes.receptive_field import field_words
from archscope.render.numbers import compact, exact, shape, size_bytes
from archscope.results.report import LayerRow, Report
from archscope.results.table import Column, Table


@dataclass(frozen=True)
class Row:
    name: str
    op: str
    level: int
    output_shape: tuple[int, ...]
    params: int
    buffers: int
    macs: int
    ops: int
    activations: int
    trainable_params: int = 0
    backward_input_macs: int = 0
    backward_weight_macs: int = 0
    counted: int | float = 0  # under `--convention`


def _group_label(key: str, rows: list[LayerRow]) -> str:
    """The block type of a collapsed group: `basic` for `layer1.0`, `basic ×2` for `layer1`."""
    first = rows[0]
    for instance, block in zip(first.path, first.blocks):
        if instance == key:
            return block
        rest = instance[len(key) + 1 :]
        if instance.startswith(key + ".") and rest.isdigit():  # `key` is a repeated entry
            count = len({r.path[first.path.index(instance)] for r in rows if len(r.path) > first.path.index(instance)})
            return f"{block} ×{count}" if count > 1 else block
    return "group"


def grouped_rows(report: Report, depth: int | None) -> list[Row]:
    """Rows collapsed to ``depth`` components of the dotted layer name (None: every layer)."""
    out: list[Row] = []
    current: list[LayerRow] = []
    key = ""  # the current group's name (there is none while `current` is empty)

    def flush() -> None:
        if not current:
            return
        first, last = current[0], current[-1]
        level = key.count(".")
        op = first.op if len(current) == 1 and first.name == key else _group_label(key, current)
        out.append(
            Row(
                key,
                op,
                level,
                last.output_shape,
                sum(r.params for r in current),
                sum(r.buffers for r in current),
                sum(r.macs for r in current),
                sum(r.ops for r in current),
                sum(r.activations for r in current),
                sum(r.trainable_params for r in current),
                sum(r.backward_input_macs for r in current),
                sum(r.backward_weight_macs for r in current),
                sum(r.counted or 0 for r in current),
            )
        )

    for row in report.layers:
        parts = row.name.split(".")
        k = ".".join(parts[:depth]) if depth else row.name
        if k != key:
            flush()
            current, key = [], k
        current.append(row)
    flush()
    return out


COLUMNS = (
    Column("name", "layer", "name"),
    Column("op", "op"),
    Column("output_shape", "output", "shape"),
    Column("params", "params", "count", blank_zero=True),
    Column("buffers", "buffers", "count", show="machine"),
    Column("macs", "MACs", "count", blank_zero=True),
    Column("macs_share", "% MACs", "percent", show="human", blank_zero=True),
    Column("flops", "FLOPs", "count", show="machine"),
    Column("ops", "other ops", "count", blank_zero=True),
    Column("activations", "activations", "count"),
)


def counted_columns(name: str, unit: str) -> tuple[Column, ...]:
    """`--convention NAME`: its count and share in place of the MACs (which JSON and CSV keep)."""
    return (
        Column("counted", f"{unit} ({name})", "count", blank_zero=True),
        Column("counted_share", f"% {unit}", "percent", show="human", blank_zero=True),
        Column("macs", "MACs", "count", show="machine"),
    )


def _with_counted(table: Table, report: Report, depth: int | None) -> Table:
    """The table of another convention: its count replaces the MACs, its total the footer's MACs line."""
    counted = report.counted
    assert counted is not None and table.total is not None
    at = [c.key for c in table.columns].index("macs")
    columns = table.columns[:at] + counted_columns(counted.convention.name, counted.convention.unit)
    columns += tuple(c for c in table.columns[at + 1 :] if c.key not in ("macs_share", "flops"))
    keep = [i for i, c in enumerate(table.columns) if i > at and c.key not in ("macs_share", "flops")]
    total = counted.total or 1
    groups = grouped_rows(report, depth)

    def row(cells: tuple, count: int | float) -> tuple:
        return cells[:at] + (count, 100 * count / total, cells[at]) + tuple(cells[i] for i in keep)

    unit = counted.convention.unit
    line = (
        f"{unit:<12}{exact(counted.total):>16}  ({compact(counted.total)})   as {counted.convention.tool} counts them"
    )
    return replace(
        table,
        columns=columns,
        rows=tuple(row(cells, g.counted) for cells, g in zip(table.rows, groups, strict=True)),
        total=row(table.total, counted.total),
        footer=(table.footer[0], line, f"MACs        {exact(report.totals.macs):>16}  (torchvision's convention)")
        + table.footer[2:],
    )


TRAINABLE = Column("trainable_params", "trainable", "count", blank_zero=True)  # only when a layer is frozen


def summary_table(
    report: Report, depth: int | None = None, note: str | None = None, overrides: Overrides | None = None
) -> Table:
    """The per-layer table with its totals, the totals in words and the counting convention.

    JSON is ``report.to_dict()`` (every layer, whatever ``depth``); CSV and Markdown have the
    rows of the table (``depth`` applies). When parameters are frozen, a `trainable` column
    follows `params`, and the footer and a note give the trainable and frozen totals. ``overrides``
    (what the caller changed) show in the header and, when there are any, as the JSON's
    ``overrides`` object."""
    table = _summary_table(report, depth, note, overrides)
    if report.counted is not None:
        table = _with_counted(table, report, depth)
    t = report.totals
    if not t.frozen_params:
        return table
    at = [c.key for c in table.columns].index("params") + 1
    groups = [r.trainable_params for r in grouped_rows(report, depth)]
    assert table.total is not None
    split = (
        f"trainable {exact(t.trainable_params)} · frozen {exact(t.frozen_params)} params "
        "(every layer trains unless a `freeze` pattern matches it and no `unfreeze` pattern does); "
        "buffers (BatchNorm running statistics) are not parameters and never train"
    )
    return replace(
        table,
        columns=table.columns[:at] + (TRAINABLE,) + table.columns[at:],
        rows=tuple(row[:at] + (n,) + row[at:] for row, n in zip(table.rows, groups, strict=True)),
        total=table.total[:at] + (t.trainable_params,) + table.total[at:],
        footer=table.footer[:1]
        + (
            f"trainable   {exact(t.trainable_params):>16}  ({compact(t.trainable_params)})   frozen {exact(t.frozen_params)}",
        )
        + table.footer[1:],
        notes=table.notes + (split,),
    )


def _summary_table(report: Report, depth: int | None, note: str | None, overrides: Overrides | None) -> Table:
    t = report.totals
    changed = overrides is not None and overrides.changes_network
    total_macs = t.macs or 1
    rows = tuple(
        (
            r.name,
            r.op,
            r.output_shape,
            r.params,
            r.buffers,
            r.macs,
            100 * r.macs / total_macs,
            2 * r.macs,
            r.ops,
            r.activations,
        )
        for r in grouped_rows(report, depth)
    )
    total = ("total", "", report.output_shape, t.params, t.buffers, t.macs, 100.0, t.flops, t.ops, t.activations)
    meta = "  ·  ".join(str(report.meta[k]) for k in ("paper", "source") if report.meta.get(k))
    if report.meta.get("extends"):  # another network built on a parent: the parent's citation is not its own
        cited = report.meta.get("extends_citation")
        meta = f"extends {report.meta['extends']}" + (f" ({cited})" if cited else "")
    footer = (
        f"params      {exact(t.params):>16}  ({compact(t.params)})   buffers {exact(t.buffers)}",
        f"MACs        {exact(t.macs):>16}  ({compact(t.macs)})   FLOPs = 2 × MACs = {compact(t.flops)}",
        f"other ops   {exact(t.ops):>16}  ({compact(t.ops)})   BN, activations, pooling, adds, bias",
        f"activations {exact(t.activations):>16}  ({size_bytes(t.activation_bytes)} at float32, batch 1)",
        f"model size  {size_bytes(t.model_bytes):>16}   weighted layers (depth): {t.depth}",
    ) + ((f"receptive field {field_words(report.receptive_field)}",) if report.receptive_field is not None else ())
    return Table(
        COLUMNS,
        rows,
        title=report.title,
        total=total,
        preamble=tuple(
            line for line in (note, meta, f"overrides: {overrides}" if changed else "", _io_line(report)) if line
        ),
        footer=footer,
        convention=report.convention,
        document={**report.to_dict(), "overrides": overrides.describe()} if overrides and changed else report.to_dict(),
    )


def _io_line(report: Report) -> str:
    """`input 3×224×224, output 1000`; with several: `inputs p3 256×80×80, p4 …, outputs aux 1000, fc 1000`."""
    if len(report.inputs) > 1:
        ins = "inputs " + ", ".join(f"{name} {shape(s)}" for name, s in report.inputs)
    else:
        ins = f"input {shape(report.input)}"
    if len(report.outputs) > 1:
        return ins + ", outputs " + ", ".join(f"{name} {shape(s)}" for name, s in report.outputs)
    return f"{ins}, output {shape(report.output_shape)}"
