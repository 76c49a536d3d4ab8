"""`archscope verify SPEC|PATH...`: prove the static numbers against the built PyTorch network."""

from __future__ import annotations

from typing import Annotated

import typer

from archscope.cli.backend import backend_errors
from archscope.cli.common import (
    ExitCode,
    ExtendsRootOpt,
    MaxLayersOpt,
    exit_for,
    format_option,
    handled,
    print_diagnostics,
    write,
    write_table,
)
from archscope.cli.freezing import FreezeOpt, UnfreezeOpt, freezing
from archscope.cli.overrides import InputOpt, ResolutionOpt, SetOpt, overrides_from
from archscope.render.emit import OutputFormat


@handled
@backend_errors
def verify(
    paths: Annotated[list[str], typer.Argument(help="Spec files, folders (searched for .yaml), or bundled names.")],
    fmt: Annotated[OutputFormat, format_option(OutputFormat.table, OutputFormat.json)] = OutputFormat.table,
    layers: Annotated[bool, typer.Option("--layers", "-l", help="Print every layer's measured numbers.")] = False,
    resolution: ResolutionOpt = None,
    input_: InputOpt = None,
    set_: SetOpt = None,
    # transfer learning
    freeze: FreezeOpt = None,
    unfreeze: UnfreezeOpt = None,
    extends_root: ExtendsRootOpt = None,
    max_layers: MaxLayersOpt = None,
) -> None:
    """Build each network and check every layer's static shape, params and MACs against PyTorch.

    Per layer: static output shape = a real forward pass, static params = the module's numel,
    static MACs = fvcore's count.

    What fvcore counts besides multiply-adds (BN, pooling) and the ops it does not support are
    listed per spec, never mixed into the comparison. Needs the `torch` extra.
    Exit codes: 0 all agree; 1 a disagreement or a spec error; 2 bad usage, torch missing.

    Example:
      archscope verify resnet18 lenet5
    """
    from archscope.api import analyze, collect_files
    from archscope.render.grid import use_color
    from archscope.render.verify import closing_lines, json_table, layer_table, status_lines
    from archscope.torch_backend import verify as run_verify

    files, problems = collect_files(paths)
    if problems:
        print_diagnostics(problems)
        raise typer.Exit(ExitCode.USAGE)
    given = freezing(freeze, unfreeze, overrides_from(resolution, input_, set_))
    color = use_color()
    reports, failed, unreadable = [], False, False
    for path in files:
        analysis = analyze(path, overrides=given, extends_root=extends_root, max_layers=max_layers)
        if analysis.errors or analysis.report is None:
            print_diagnostics(analysis.errors or analysis.diagnostics)
            failed = True
            unreadable |= exit_for(analysis.diagnostics) is ExitCode.USAGE  # E000: as every command, 2
            continue
        report = run_verify(analysis)
        reports.append(report)
        failed |= not report.ok
        if fmt is OutputFormat.table:  # each spec as soon as it is verified
            if layers:
                write_table(layer_table(report), fmt)
            write("\n".join(status_lines(report, color)))
    if fmt is OutputFormat.json:
        write_table(json_table(reports), fmt)
    elif reports:
        write("\n".join(closing_lines(reports, len(files), color)))
    if failed:
        raise typer.Exit(ExitCode.USAGE if unreadable else ExitCode.PROBLEMS)
