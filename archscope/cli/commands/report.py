"""`archscope report SPEC... -o report.html`: one self-contained HTML page of one or more networks."""

from __future__ import annotations

from typing import Annotated

import typer

from archscope.cli.backend import backend_errors
from archscope.cli.commands import bench as bench_cli
from archscope.cli.common import ExitCode, ExtendsRootOpt, MaxLayersOpt, exit_for, handled, print_diagnostics
from archscope.cli.overrides import InputOpt, ResolutionOpt, SetOpt, overrides_from
from archscope.cli.pictures import ForceOpt
from archscope.explore.compare import compare as run_compare


@handled
@backend_errors
def report(
    specs: Annotated[
        list[str], typer.Argument(help="One or more specs: paths, bundled names, or families (`resnet`).")
    ],
    output: Annotated[
        str,
        typer.Option("--output", "-o", help="The HTML file to write (atomically; an existing file only with --force)."),
    ],
    depth: Annotated[
        int,
        typer.Option("--depth", "-d", min=1, help="Group the layer table to this many levels (each group expands)."),
    ] = 1,
    force: ForceOpt = False,
    bench: Annotated[
        bool,
        typer.Option("--bench", help="Also time the networks (as `compare --bench`); needs the torch extra."),
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
    resolution: ResolutionOpt = None,
    input_: InputOpt = None,
    set_: SetOpt = None,
    extends_root: ExtendsRootOpt = None,
    max_layers: MaxLayersOpt = None,
) -> None:
    """One HTML file (no network fetches: styles, script and pictures inline) to mail or attach to a PR.

    Per network: the layer table (sortable; the --depth groups expand to their layers), the
    diagram (Graphviz), MACs / params / activations per layer (matplotlib) and the receptive
    field. For several networks, first a comparison table and a params-vs-MACs scatter (and
    MACs vs latency with --bench). A spec with errors writes nothing (its diagnostics, exit 1).

    Example:
      archscope report resnet50 mobilenet_v2 unet -o report.html
    """
    from archscope.render.html import Page, html_report

    result = run_compare(
        specs, overrides_from(resolution, input_, set_), extends_root=extends_root, max_layers=max_layers
    )
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
    page = Page()
    text = html_report(result.analyses, depth, result.rows() if len(specs) > 1 else None, timed, page)
    from archscope.cli.output import write_output

    written = write_output(output, text, force=force)
    for message in page.missing:
        typer.echo(f"archscope: note: {message} (the report says so where that part would be)", err=True)
    typer.echo(f"wrote {written} ({len(text.encode('utf-8')) / 1024:.0f} KiB)", err=True)
