"""The table model of `archscope conventions`: what each counting convention counts, side by side.

One column per convention (``--convention NAME``), one row per kind of work; JSON has one object
per convention instead (its ``conventions`` list), with the spec's total under each.
"""

from __future__ import annotations

from dataclasses import asdict

from archscope.passes.conventions import CONVENTIONS
from archscope.results.table import Column, Table

ROWS = (  # (key, label): the Convention field each row shows
    ("unit", "unit"),
    ("total", "total"),
    ("conv", "conv, linear"),
    ("bias", "bias"),
    ("batch_norm", "batch norm"),
    ("activations", "activations"),
    ("pooling", "pooling"),
    ("upsample", "upsample"),
    ("merges", "add, mul, concat"),
    ("norms", "LN, GN, IN"),
    ("unknown", "no rule"),
    ("tool", "tool"),
    ("headline", "headline number"),
)

CONVENTION = (
    "what each tool adds to its headline number, by kind of layer (`--convention NAME` on `summary` and "
    "`compare` counts so). MACs: 1 fused multiply-add = 1; FLOPs: 2 per multiply-add; /element: per "
    "element of the layer's output unless said; affine: a norm's learned γ, β. Batch 1."
)


def conventions_table(spec: str | None, totals: dict[str, int] | None) -> Table:
    """``totals``: each convention's total for ``spec`` (None: no total row)."""
    columns = (Column("what", "counts"),) + tuple(Column(c.name, c.name, fit="wrap", align="left") for c in CONVENTIONS)
    rows = []
    for key, label in ROWS:
        if key == "total":
            if totals is None:
                continue
            rows.append((f"total ({spec})", *(f"{totals[c.name]:,}" for c in CONVENTIONS)))
            continue
        rows.append((label, *(getattr(c, key) for c in CONVENTIONS)))
    document = [asdict(c) | ({"total": totals[c.name]} if totals is not None else {}) for c in CONVENTIONS]
    return Table(
        columns,
        tuple(rows),
        title="counting conventions" + (f" ({spec}: the total under each)" if spec else ""),
        convention=CONVENTION,
        document={"convention": CONVENTION, "spec": spec, "conventions": document},
    )
