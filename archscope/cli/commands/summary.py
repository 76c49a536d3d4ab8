"""`archscope summary SPEC`: the per-layer report of one network."""

from __future__ import annotations

from typing import Annotated

import typer

from archscope.api import analyze
from archscope.cli.commands.conventions import ConventionOpt, convention_name
from archscope.cli.common import (
    ExitCode,
    ExtendsRootOpt,
    MaxLayersOpt,
    exit_for,
    format_option,
    handled,
    print_diagnostics,
    write_table,
)
from archscope.cli.freezing import FreezeOpt, UnfreezeOpt, freezing
from archscope.cli.overrides import InputOpt, ResolutionOpt, SetOpt, overrides_from
from archscope.cli.pictures import PlotForceOpt, PlotOpt, check_plot, write_plot
from archscope.render.emit import TABLE_FORMATS, OutputFormat


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
            rich_help_panel="Output",
            min=1,
            help="Collapse layers to this many levels of the dotted name (1 = top-level layers and blocks).",
        ),
    ] = None,
    fmt: Annotated[
        OutputFormat,
        format_option(*TABLE_FORMATS, help="Output format (JSON has every layer, whatever --depth)."),
    ] = OutputFormat.table,
    exact: Annotated[
        bool, typer.Option("--exact", rich_help_panel="Output", help="Exact numbers in every row, not 1.81G.")
    ] = False,
    warnings: Annotated[
        bool, typer.Option("--warnings/--no-warnings", rich_help_panel="Output", help="Show shape warnings.")
    ] = True,
    train: Annotated[
        bool,
        typer.Option(
            "--train",
            help="A training step's MACs: forward, and backward for the input and the weight gradients (honours --freeze).",
        ),
    ] = False,
    plot: PlotOpt = None,
    force: PlotForceOpt = False,
    convention: ConventionOpt = None,
    # transfer learning
    freeze: FreezeOpt = None,
    unfreeze: UnfreezeOpt = None,
    resolution: ResolutionOpt = None,
    input_: InputOpt = None,
    set_: SetOpt = None,
    extends_root: ExtendsRootOpt = None,
    max_layers: MaxLayersOpt = None,
) -> None:
    """Per-layer output shapes, params, MACs and activations of one network (static: no torch).

    MACs count conv and linear multiply-accumulates (FLOPs = 2 × MACs); other work (BN,
    activations, pooling, adds) is counted separately as `ops`. Batch 1. With --resolution,
    --input or --set the network is another one: the header lists the overrides, and the
    spec's `expect:` numbers are not checked. --convention counts as fvcore, ptflops, thop,
    torchinfo or PyTorch's FlopCounterMode count (`archscope conventions` says how each differs).
    --plot FILE.svg|png also charts MACs, params and activations per layer (matplotlib, the `plot` extra).

    Examples:
      archscope summary resnet50 --depth 1
      archscope summary resnet18 -r 160 --train --freeze '*' --unfreeze fc
    """
    from archscope.render.summary import summary_table
    from archscope.render.training import training_table

    chart = check_plot(plot, force)
    result = analyze(
        spec,
        overrides=freezing(freeze, unfreeze, overrides_from(resolution, input_, set_)),
        extends_root=extends_root,
        max_layers=max_layers,
    )
    if result.report is None:
        print_diagnostics(result.diagnostics)
        raise typer.Exit(exit_for(result.diagnostics))
    if warnings or result.errors:
        print_diagnostics([d for d in result.diagnostics if d.is_error or warnings])
    training = result.report.training  # (set whenever `train` is)
    if train and training is not None and not training.trains:
        print_diagnostics(result.diagnostics if warnings else result.errors)
        typer.echo(
            "archscope: error: `--train`: no layer of the network trains (every parameter is frozen, "
            "or it has none), so a training step has no backward; unfreeze a layer with `--unfreeze PATTERN`",
            err=True,
        )
        raise typer.Exit(ExitCode.USAGE)
    report = result.report
    if convention_name(convention) != "torchvision":
        if train:
            typer.echo(
                "archscope: error: `--train` counts in archscope's own convention; drop `--convention`", err=True
            )
            raise typer.Exit(ExitCode.USAGE)
        from archscope.results.report import with_convention

        assert result.graph is not None
        report = with_convention(report, result.graph, convention_name(convention))
    make = training_table if train else summary_table
    write_table(make(report, depth, result.note, result.overrides), fmt, exact)
    if plot is not None:
        from archscope.render.plots import layer_chart

        write_plot(lambda: layer_chart(report, str(chart)), plot, force)
    if result.errors:
        raise typer.Exit(ExitCode.PROBLEMS)
