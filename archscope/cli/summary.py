"""`archscope summary SPEC`: the per-layer report of one network."""

from __future__ import annotations

import enum
from typing import Annotated

import typer

from ..api import analyze
from .common import ExitCode, exit_for, handled, print_diagnostics, write


class SummaryFormat(str, enum.Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


@handled
def summary(
    spec: Annotated[
        str,
        typer.Argument(
            help="A spec file, a bundled name (`resnet50`), a bundled file "
            "name (`mobilenet_v2.yaml`) or a family (`resnet`)."
        ),
    ],
    depth: Annotated[
        int | None,
        typer.Option(
            "--depth",
            "-d",
            min=1,
            help="Collapse layers to this many levels of the dotted name (1 = top-level layers and blocks).",
        ),
    ] = None,
    fmt: Annotated[SummaryFormat, typer.Option("--format", "-f", help="Output format.")] = SummaryFormat.table,
    exact: Annotated[bool, typer.Option("--exact", help="Exact numbers in every row, not 1.81G.")] = False,
    warnings: Annotated[bool, typer.Option("--warnings/--no-warnings", help="Show shape warnings.")] = True,
) -> None:
    """Per-layer output shapes, params, MACs and activations of one network (static: no torch).

    MACs count conv and linear multiply-accumulates (FLOPs = 2 × MACs); other work (BN,
    activations, pooling, adds) is counted separately as `ops`. Batch 1.
    """
    result = analyze(spec)
    if result.report is None:
        print_diagnostics(result.diagnostics)
        raise typer.Exit(exit_for(result.diagnostics))
    if warnings or result.errors:
        print_diagnostics([d for d in result.diagnostics if d.is_error or warnings])
    report = result.report
    if fmt is SummaryFormat.table:
        from ..render.grid import DIM, style, use_color
        from ..render.summary import render_table

        color = use_color()
        if result.note:
            write(style(result.note, DIM, color))
        write(render_table(report, depth, exact, color))
    elif fmt is SummaryFormat.json:
        from ..render.summary import to_json

        write(to_json(report))
    elif fmt is SummaryFormat.csv:
        from ..render.summary import to_csv

        write(to_csv(report, depth))
    else:
        from ..render.summary import to_markdown

        write(to_markdown(report, depth))
    if result.errors:
        raise typer.Exit(ExitCode.PROBLEMS)
