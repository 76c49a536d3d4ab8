"""`archscope rf SPEC`: the receptive field of every layer (static: no torch)."""

from __future__ import annotations

from typing import Annotated

import typer

from archscope.api import analyze
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
from archscope.cli.overrides import InputOpt, ResolutionOpt, SetOpt, overrides_from
from archscope.render.emit import TABLE_FORMATS, OutputFormat


@handled
def rf(
    spec: Annotated[str, typer.Argument(help="A spec file, a bundled name (`resnet50`) or a family (`resnet`).")],
    depth: Annotated[
        int | None,
        typer.Option(
            "--depth",
            "-d",
            min=1,
            help="Collapse layers to this many levels of the dotted name (each group shows its output's field).",
        ),
    ] = None,
    fmt: Annotated[
        OutputFormat, format_option(*TABLE_FORMATS, help="Output format (JSON has every layer, whatever --depth).")
    ] = OutputFormat.table,
    resolution: ResolutionOpt = None,
    input_: InputOpt = None,
    set_: SetOpt = None,
    extends_root: ExtendsRootOpt = None,
    max_layers: MaxLayersOpt = None,
) -> None:
    """Receptive field per layer and spatial dim: size, stride (jump) and centre of unit 0, in input units.

    Composed from each op's declared window (kernel, stride, padding, dilation; 1/s for transposed
    convs and upsampling) over every path; on merges the union, with a note when the branches'
    fields are not aligned. After a global op (global pooling, a linear layer, squeeze-excitation's
    scale) the field is `global`: every unit sees the whole input.

    Example:
      archscope rf resnet50 --depth 1
    """
    from archscope.render.receptive_field import field_table

    result = analyze(
        spec, overrides=overrides_from(resolution, input_, set_), extends_root=extends_root, max_layers=max_layers
    )
    field = result.passes.get("receptive_field")
    if result.report is None or field is None:
        print_diagnostics(result.diagnostics)
        raise typer.Exit(exit_for(result.diagnostics))
    if result.errors:
        print_diagnostics([d for d in result.diagnostics if d.is_error])
    write_table(field_table(result.report, field, depth, result.note), fmt)
    if result.errors:
        raise typer.Exit(ExitCode.PROBLEMS)
