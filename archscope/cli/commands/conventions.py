"""`archscope conventions`: what each peer counting tool counts; and the `--convention` option of
`summary` and `compare` (static: no torch)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from archscope.cli.common import format_option, handled, write_table
from archscope.passes.conventions import DEFAULT, NAMES
from archscope.render.emit import TABLE_FORMATS, OutputFormat

# typer needs an Enum for a choice; its members come from the registry's convention names, which
# mypy cannot read members from a comprehension (misc: "Second argument of Enum() must be string,
# tuple, list or dict literal")
ConventionName = Enum("ConventionName", {name: name for name in NAMES}, type=str)  # type: ignore[misc]

ConventionOpt = Annotated[
    ConventionName | None,
    typer.Option(
        "--convention",
        help="Count MACs (or FLOPs) as this tool does, so the total equals its headline number: "
        f"{DEFAULT} (the default: archscope's own), fvcore, ptflops, thop, torchinfo, flop_counter "
        "(PyTorch's FlopCounterMode). `archscope conventions` shows how they differ.",
        show_default=False,
    ),
]


def convention_name(value: ConventionName | None) -> str:
    return DEFAULT if value is None else str(value.value)


@handled
def conventions(
    fmt: Annotated[OutputFormat, format_option(*TABLE_FORMATS)] = OutputFormat.table,
    spec: Annotated[
        str | None,
        typer.Option("--spec", help="Also give each convention's total for this spec (default: resnet50)."),
    ] = "resnet50",
) -> None:
    """What each counting tool counts: BN, activations, pooling, bias, upsample, adds, MACs or FLOPs.

    One row per `--convention` of `summary` and `compare`, with its total for a spec (resnet50
    unless --spec), so that a user can see why one tool says 4.09G and another 4.14G. Every rule
    is declared per op and proven equal to the tool's own number on every bundled spec.

    Example:
      archscope conventions --spec mobilenet_v2
    """
    from archscope.api import analyze
    from archscope.cli.common import ExitCode, exit_for, print_diagnostics
    from archscope.render.conventions import conventions_table

    totals = None
    name = None
    if spec:
        result = analyze(spec)
        if result.report is None or result.graph is None or result.errors:
            print_diagnostics([d for d in result.diagnostics if d.is_error])
            raise typer.Exit(max(exit_for(result.diagnostics), ExitCode.PROBLEMS))
        from archscope.passes.conventions import CONVENTIONS_PASS, ConventionOptions

        name = result.report.name
        totals = {c: result.run_pass(CONVENTIONS_PASS, ConventionOptions(c)).total for c in NAMES}
    write_table(conventions_table(name, totals), fmt)
