"""The per-layer report of one network: a rich table, or JSON / CSV / Markdown."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

from ..report import LayerRow, Report
from .numbers import compact, exact, shape, size_bytes


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
    key = None

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


def render_table(report: Report, depth: int | None = None, exact_numbers: bool = False, color: bool = False) -> str:
    """The per-layer table, the totals and the counting convention, as text."""
    import textwrap

    from .grid import DIM, Col, grid, style

    fmt = exact if exact_numbers else compact
    t = report.totals
    total_macs = t.macs or 1
    cols = [
        Col("layer", footer="total"),
        Col("op"),
        Col("output", footer=shape(report.output_shape)),
        Col("params", True, exact(t.params)),
        Col("MACs", True, exact(t.macs)),
        Col("% MACs", True, "100.0"),
        Col("other ops", True, fmt(t.ops)),
        Col("activations", True, fmt(t.activations)),
    ]
    rows = [
        (
            row.name,
            row.op,
            shape(row.output_shape),
            fmt(row.params) if row.params else "·",
            fmt(row.macs) if row.macs else "·",
            f"{100 * row.macs / total_macs:.1f}" if row.macs else "·",
            fmt(row.ops) if row.ops else "·",
            fmt(row.activations),
        )
        for row in grouped_rows(report, depth)
    ]
    parts = []
    meta = [str(report.meta[k]) for k in ("paper", "source") if report.meta.get(k)]
    if meta:
        parts.append(style("  ·  ".join(meta), DIM, color))
    parts.append(grid(cols, rows, title=f"{report.title}  ·  input {shape(report.input)}", color=color))
    parts += [
        f"params      {exact(t.params):>16}  ({compact(t.params)})   buffers {exact(t.buffers)}",
        f"MACs        {exact(t.macs):>16}  ({compact(t.macs)})   FLOPs = 2 × MACs = {compact(t.flops)}",
        f"other ops   {exact(t.ops):>16}  ({compact(t.ops)})   BN, activations, pooling, adds, bias",
        f"activations {exact(t.activations):>16}  ({size_bytes(t.activation_bytes)} at float32, batch 1)",
        f"model size  {size_bytes(t.model_bytes):>16}   weighted layers (depth): {t.depth}",
        style(textwrap.fill(report.convention, 100), DIM, color),
    ]
    return "\n".join(parts)


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2)


CSV_FIELDS = ("name", "op", "output_shape", "params", "buffers", "macs", "flops", "ops", "activations")


def to_csv(report: Report, depth: int | None = None) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for r in grouped_rows(report, depth):
        w.writerow([r.name, r.op, shape(r.output_shape), r.params, r.buffers, r.macs, 2 * r.macs, r.ops, r.activations])
    return buf.getvalue()


def to_markdown(report: Report, depth: int | None = None) -> str:
    t = report.totals
    lines = [
        f"## {report.title}",
        "",
        f"Input `{shape(report.input)}`, output `{shape(report.output_shape)}`.",
        "",
        "| layer | op | output | params | MACs | other ops | activations |",
        "|---|---|---|--:|--:|--:|--:|",
    ]
    for r in grouped_rows(report, depth):
        lines.append(
            f"| `{r.name}` | {r.op} | {shape(r.output_shape)} | {exact(r.params)} | {exact(r.macs)} | "
            f"{exact(r.ops)} | {exact(r.activations)} |"
        )
    lines.append(
        f"| **total** | | | **{exact(t.params)}** | **{exact(t.macs)}** | **{exact(t.ops)}** | "
        f"**{exact(t.activations)}** |"
    )
    lines += ["", f"_{report.convention}_", ""]
    return "\n".join(lines)
