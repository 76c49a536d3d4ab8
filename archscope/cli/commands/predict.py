"""`archscope predict SPEC`: static latency from the calibrated roofline (no torch: it reads the
calibration cache only; the model is in :mod:`archscope.perf.roofline`)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from archscope.api import analyze
from archscope.cli.commands.bench import DType
from archscope.cli.commands.calibrate import CalDevice, calibration_errors
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
from archscope.render.summary import grouped_rows


@handled
@calibration_errors
def predict(
    spec: Annotated[str, typer.Argument(help="A spec file, a bundled name (`resnet50`) or a family (`resnet`).")],
    batch: Annotated[int, typer.Option("--batch", "-b", min=1, help="Batch size.")] = 1,
    device: Annotated[CalDevice, typer.Option("--device", help="Which calibrated device.")] = CalDevice.cpu,
    dtype: Annotated[DType, typer.Option("--dtype", help="Which calibrated dtype.")] = DType.float32,
    depth: Annotated[
        int | None,
        typer.Option("--depth", "-d", min=1, help="Collapse layers to this many levels of the dotted name."),
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
    """Predict inference latency statically: each layer's roofline on the calibrated device, plus overheads.

    Per layer: FLOPs (2 × MACs + other ops), bytes (inputs + weights + outputs at the dtype),
    arithmetic intensity, whether it is compute- or memory-bound, its roofline time, and the
    predicted time (roofline / the fitted efficiency of its kind of kernel + a fitted overhead).
    Reads the figures `archscope calibrate` stored; imports no torch. Exit codes: 0 predicted;
    1 spec errors; 2 bad usage or no (usable) calibration for the device and dtype.

    Example:
      archscope predict mobilenet_v2 --batch 8 --depth 1
    """
    from archscope.perf.calibration import lookup, missing_message
    from archscope.perf.roofline import predict as run_predict
    from archscope.render.timing import predict_table

    result = analyze(
        spec, overrides=overrides_from(resolution, input_, set_), extends_root=extends_root, max_layers=max_layers
    )
    if result.report is None or result.graph is None or result.errors:
        print_diagnostics(result.errors or result.diagnostics)
        raise typer.Exit(exit_for(result.diagnostics) or ExitCode.PROBLEMS)
    cal = lookup(device.value, dtype.value)
    if cal is None:
        print(f"archscope: {missing_message(device.value, dtype.value)}", file=sys.stderr)
        raise typer.Exit(ExitCode.USAGE)
    prediction = run_predict(result.graph, cal, batch, dtype.value)
    labels = {r.name: r.op for r in grouped_rows(result.report, depth)} if depth else None
    write_table(predict_table(prediction, depth, (result.note,) if result.note else (), labels), fmt)
