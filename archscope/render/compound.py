"""The tables of `archscope sweep efficientnet_b0 --compound` (φ steps) and `--coefficients`."""

from __future__ import annotations

from archscope.explore.compound import ALPHA, BETA, GAMMA, Coefficients, CompoundRow
from archscope.results.report import CONVENTION
from archscope.results.table import Column, Table


def _scale(s: tuple[float, float, int] | None) -> str:
    return "" if s is None else f"{s[0]:.3g} / {s[1]:.3g} / {s[2]}"


def phi_table(rows: list[CompoundRow], alpha: float, beta: float, gamma: float) -> Table:
    columns = (
        Column("phi", "φ", "int"),
        Column("raw", "β^φ / α^φ / 224·γ^φ", align="right"),
        Column("raw_macs", "MACs", "count"),
        Column("released", "B-table w / d / res", align="right"),
        Column("params", "params", "count"),
        Column("macs", "MACs", "count"),
        Column("growth", "× prev", "ratio"),
        Column("reference", "bundled", "name"),
        Column("matches", "= expect", align="left"),
    )
    out = []
    for r in rows:
        match = "" if r.matches is None else ("yes" if r.matches else "NO")
        out.append(
            (r.phi, _scale(r.raw), r.raw_macs, _scale(r.released), r.params, r.macs, r.growth, r.reference or "", match)
        )
    checked = [r for r in rows if r.matches is not None and r.phi > 0]
    same = sum(bool(r.matches) for r in checked)
    notes = (
        f"raw: width β^φ, depth α^φ, resolution round(224·γ^φ) with α={alpha:g} (depth), β={beta:g} (width), "
        f"γ={gamma:g} (resolution); α·β²·γ² = {alpha * beta * beta * gamma * gamma:.3f}",
        "B-table: the released (width, depth, resolution) of B1–B7, as torchvision builds and evaluates them "
        "(the paper's resolutions, except B2: 260 in the paper, 288 in torchvision)",
        f"{same} of {len(checked)} φ steps give the bundled spec's `expect:` params and MACs exactly",
    )
    return Table(
        columns,
        tuple(out),
        title="EfficientNet compound scaling of efficientnet_b0",
        notes=notes,
        convention=CONVENTION,
    )


def coefficients_table(found: list[Coefficients]) -> Table:
    ranked = sorted(found, key=lambda c: (abs((c.growth or 0) - 2), c.alpha, c.beta, c.gamma))
    steps = max((len(c.macs) - 1 for c in found), default=0)
    columns = (
        Column("alpha", "α depth", "text", align="right"),
        Column("beta", "β width", "text", align="right"),
        Column("gamma", "γ res", "text", align="right"),
        Column("flops_factor", "α·β²·γ²", "text", align="right"),
        *(Column(f"macs_{phi}", f"MACs φ={phi}", "count") for phi in range(1, steps + 1)),
        Column("growth", "growth per φ", "ratio"),
        Column("paper", "", align="left", show="human"),
    )
    paper = (ALPHA, BETA, GAMMA)
    rows = tuple(
        (
            f"{c.alpha:g}",
            f"{c.beta:g}",
            f"{c.gamma:g}",
            f"{c.flops_factor:.3f}",
            *c.macs[1:],
            c.growth,
            "← the paper's" if (c.alpha, c.beta, c.gamma) == paper else "",
        )
        for c in ranked
    )
    notes = (
        f"{len(found)} (α, β, γ) in 1.0, 1.05, …, 1.4 with α·β²·γ² within 0.08 of 2, closest growth to 2× first; "
        f"growth = (MACs(φ={steps}) / MACs(φ=0))^(1/{steps}), after rounding channels to 8, repeats up and "
        "resolution to the pixel",
        "the paper chose α=1.2, β=1.1, γ=1.15 by accuracy (a small grid search at φ=1), which is not a static quantity",
    )
    return Table(columns, rows, title="compound coefficients of efficientnet_b0", notes=notes, convention=CONVENTION)
