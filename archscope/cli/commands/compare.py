"""`archscope compare A B ...`: networks side by side, with ratios to the first."""

from __future__ import annotations

from typing import Annotated

import typer

from archscope.cli.backend import backend_errors
from archscope.cli.commands import bench as bench_cli
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
from archscope.explore.compare import compare as run_compare
from archscope.render.emit import TABLE_FORMATS, OutputFormat


@handled
@backend_errors
def compare(
    specs: Annotated[
        list[str],
        typer.Argument(
            help="Two or more specs: paths, bundled names, or families (`resnet` → resnet50, `vgg` → vgg16)."
        ),
    ],
    fmt: Annotated[OutputFormat, format_option(*TABLE_FORMATS)] = OutputFormat.table,
    bench: Annotated[
        bool, typer.Option("--bench", help="Also time the networks (interleaved, round-robin); needs the torch extra.")
    ] = False,
    device: bench_cli.DeviceOpt = bench_cli.Device.auto,
    batch: bench_cli.BatchOpt = "1",
    dtype: bench_cli.DTypeOpt = bench_cli.DType.float32,
    channels_last: bench_cli.ChannelsLastOpt = False,
    compile_: bench_cli.CompileOpt = False,
    threads: bench_cli.ThreadsOpt = None,
    warmup: bench_cli.WarmupOpt = 5,
    min_time: bench_cli.MinTimeOpt = 10.0,
    min_runs: bench_cli.MinRunsOpt = 10,
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
    """Networks side by side: input, depth in weighted layers, params, MACs, activations, size.

    Ratios are to the first network. Static (no torch) unless --bench, which adds the median
    latency and images/s per batch size (JSON and CSV also carry the IQR and GFLOP/s), timed
    interleaved so that machine drift does not favour one network (options as `archscope bench`).
    --resolution, --input and --set apply to every network (listed under the table).
    --plot FILE.svg|png also draws params vs MACs (and MACs vs latency with --bench; matplotlib).

    Examples:
      archscope compare resnet18 resnet50 mobilenet_v2
      archscope compare resnet vgg --convention fvcore -f markdown
    """
    from archscope.render.compare import compare_table

    chart = check_plot(plot, force)
    given = freezing(freeze, unfreeze, overrides_from(resolution, input_, set_))
    result = run_compare(specs, given, convention_name(convention), extends_root, max_layers)
    if not result.ok:
        print_diagnostics([d for d in result.diagnostics if d.is_error])
        raise typer.Exit(max(exit_for(result.diagnostics), ExitCode.PROBLEMS))
    timed = None
    if bench:
        from archscope.torch_backend import bench_many

        config = bench_cli.make_config(
            device, batch, dtype, channels_last, compile_, threads, warmup, min_time, min_runs
        )
        with bench_cli.progress_display() as progress:
            timed = bench_many(list(result.analyses), config, progress=progress)
    notes = [a.note for a in result.analyses if a.note]
    if given.changes_network:
        notes.append(f"overrides: {given}")
    write_table(compare_table(result.rows(), notes, timed, convention_name(convention)), fmt)
    if plot is not None:
        from archscope.render.plots import scatter

        rows = result.rows()
        latency = [t.timings[0].median * 1e3 for t in timed] if timed else None
        write_plot(lambda: scatter(rows, latency, str(chart)), plot, force)
