"""The table model of `archscope summary --train`: a training step's MACs per layer (or group).

Forward MACs, then the backward's: the input gradient and the weight gradient (passes/training.py
decides which a layer pays, from ``freeze``). JSON is the report's, as without ``--train``: its
rows and totals always carry the backward MACs.
"""

from __future__ import annotations

from dataclasses import replace

from archscope.overrides import Overrides
from archscope.render.numbers import compact, exact
from archscope.render.summary import grouped_rows, summary_table
from archscope.results.report import Report
from archscope.results.table import Column, Table

COLUMNS = (
    Column("name", "layer", "name"),
    Column("op", "op"),
    Column("output_shape", "output", "shape"),
    Column("trainable_params", "trainable", "count", blank_zero=True),
    Column("macs", "forward MACs", "count", blank_zero=True),
    Column("backward_input_macs", "∂input MACs", "count", blank_zero=True),
    Column("backward_weight_macs", "∂weight MACs", "count", blank_zero=True),
    Column("step_macs", "step MACs", "count", blank_zero=True),
    Column("step_share", "% step", "percent", show="human", blank_zero=True),
)

RULE = (
    "a training step = forward + backward; backward MACs = the input gradient (∂input: only where a "
    "trainable parameter lies upstream, so never for the first layer) + the weight gradient "
    "(∂weight: only for layers that train, not frozen ones); a conv's or linear's gradients each "
    "cost its forward MACs; norms, activations, pooling and merges add no MACs (their work is `ops`). "
    "FLOPs = 2 × MACs, as torch.utils.flop_counter counts them (it counts a grouped conv's weight "
    "gradient `groups` × over)"
)


def training_table(
    report: Report, depth: int | None = None, note: str | None = None, overrides: Overrides | None = None
) -> Table:
    """The per-layer training-cost table with its totals (the summary's header and JSON)."""
    training = report.training
    assert training is not None, "a report with totals has a training cost"
    step = training.forward_macs + training.backward_macs
    rows = tuple(
        (
            r.name,
            r.op,
            r.output_shape,
            r.trainable_params,
            r.macs,
            r.backward_input_macs,
            r.backward_weight_macs,
            r.macs + r.backward_input_macs + r.backward_weight_macs,
            100 * (r.macs + r.backward_input_macs + r.backward_weight_macs) / (step or 1),
        )
        for r in grouped_rows(report, depth)
    )
    t = report.totals
    total = (
        "total",
        "",
        report.output_shape,
        t.trainable_params,
        training.forward_macs,
        training.backward_input_macs,
        training.backward_weight_macs,
        step,
        100.0,
    )
    footer = (
        f"trainable   {exact(t.trainable_params):>16}  ({compact(t.trainable_params)})   frozen {exact(t.frozen_params)}",
        f"forward     {exact(training.forward_macs):>16}  ({compact(training.forward_macs)}) MACs",
        f"backward    {exact(training.backward_macs):>16}  ({compact(training.backward_macs)}) MACs   "
        f"∂input {compact(training.backward_input_macs)} + ∂weight {compact(training.backward_weight_macs)}",
        f"step        {exact(step):>16}  ({compact(step)}) MACs   FLOPs = 2 × MACs = {compact(2 * step)}"
        + (f"   ({step / training.forward_macs:.2f} × forward)" if training.forward_macs else ""),
    )
    base = summary_table(report, depth, note, overrides)
    return replace(base, columns=COLUMNS, rows=rows, total=total, footer=footer, notes=(RULE,))
