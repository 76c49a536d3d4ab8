"""`archscope sweep compound [SPEC]`: EfficientNet's compound scaling (Tan & Le 2019, §3.3) of
efficientnet_b0, step by step in φ against the bundled B1–B7, or `--coefficients`, the search for
(α, β, γ) (static: no torch)."""

from __future__ import annotations

from typing import Annotated

import typer

from archscope.cli.common import ExitCode, format_option, handled, write_table
from archscope.cli.pictures import usage_error
from archscope.cli.sweep_options import WorkersOpt, progress
from archscope.render.emit import TABLE_FORMATS, OutputFormat

BaseArg = Annotated[
    str, typer.Argument(help="The network to scale: `efficientnet_b0`, the base of the EfficientNet family.")
]
PhiOpt = Annotated[
    str,
    typer.Option("--phi", rich_help_panel="Scaling", metavar="LO..HI", help="The φ steps (or one φ), from 0 to 12."),
]
AlphaOpt = Annotated[
    float, typer.Option("--alpha", rich_help_panel="Scaling", min=1.0, help="Depth coefficient (paper: 1.2).")
]
BetaOpt = Annotated[
    float, typer.Option("--beta", rich_help_panel="Scaling", min=1.0, help="Width coefficient (paper: 1.1).")
]
GammaOpt = Annotated[
    float, typer.Option("--gamma", rich_help_panel="Scaling", min=1.0, help="Resolution coefficient (paper: 1.15).")
]
CoefficientsOpt = Annotated[
    bool,
    typer.Option(
        "--coefficients",
        rich_help_panel="Search",
        help="Instead: MACs growth per φ for each (α, β, γ) in 1.0, 1.05, …, 1.4 with α·β²·γ² ≈ 2.",
    ),
]


@handled
def compound(
    spec: BaseArg = "efficientnet_b0",
    phi: PhiOpt = "1..7",
    alpha: AlphaOpt = 1.2,
    beta: BetaOpt = 1.1,
    gamma: GammaOpt = 1.15,
    coefficients: CoefficientsOpt = False,
    fmt: Annotated[OutputFormat, format_option(*TABLE_FORMATS)] = OutputFormat.table,
    workers: WorkersOpt = None,
) -> None:
    """EfficientNet's compound scaling of efficientnet_b0: each φ step against the bundled B1–B7.

    Step φ scales depth by α^φ, width by β^φ and resolution by γ^φ (Tan & Le 2019, §3.3). For each φ
    the table shows that raw step's MACs, then the released B-table's (width, depth, resolution) with
    its params and MACs, checked against the bundled efficientnet_b1 … b7's `expect:`. --coefficients
    searches the other way: every (α, β, γ) with α·β²·γ² near 2, and how much the MACs grow per φ
    once channels and repeats are rounded.

    Exit codes: 0 done; 1 a φ step does not reproduce its bundled network; 2 bad usage.

    Examples:
      archscope sweep compound --phi 0..7
      archscope sweep compound efficientnet_b0 --phi 1..3 --alpha 1.3 --beta 1.05
      archscope sweep compound --coefficients --format json
    """
    from archscope.explore.compound import BASE, coefficient_search, compound_table
    from archscope.render.compound import coefficients_table, phi_table

    if spec != BASE:
        raise usage_error(f"compound scaling scales `{BASE}` (the base of the EfficientNet family), not `{spec}`")
    if coefficients:
        with progress("analysing coefficients") as bar:
            found = coefficient_search(workers=workers, progress=bar)
        write_table(coefficients_table(found), fmt)
        return
    low, dots, high = phi.partition("..")
    try:
        phis = list(range(int(low), int(high) + 1)) if dots else [int(low)]
    except ValueError:
        raise usage_error(f"--phi: `{phi}` is not LO..HI") from None
    if not phis or min(phis) < 0 or max(phis) > 12:
        raise usage_error(f"--phi: `{phi}`: φ runs from 0 to 12")
    with progress("analysing φ steps") as bar:
        rows = compound_table(phis, alpha, beta, gamma, bar)
    write_table(phi_table(rows, alpha, beta, gamma), fmt)
    if any(r.matches is False for r in rows):
        raise typer.Exit(ExitCode.PROBLEMS)
