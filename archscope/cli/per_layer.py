"""`bench --per-layer`: every layer's measured time beside its share of the MACs and its % of the
calibrated peak (the method is in :mod:`archscope.torch_backend.layer_timing`)."""

from __future__ import annotations

import sys
from typing import Any

import typer

from archscope.cli.common import ExitCode, write_table
from archscope.perf.calibration import CalibrationError, lookup, mismatch, missing_message
from archscope.render.emit import OutputFormat
from archscope.render.summary import grouped_rows


def bench_per_layer(
    analysis: Any, config: Any, depth: int | None, fmt: OutputFormat, clock: str, progress_display: Any
) -> None:
    """Time ``analysis``'s network per layer at ``config``'s one batch size and print the table
    (``progress_display``: `bench`'s progress bar, a context manager that yields the callback)."""
    from archscope.perf.roofline import layer_work
    from archscope.render.timing import per_layer_table
    from archscope.torch_backend.benchmark import resolve_device
    from archscope.torch_backend.errors import require_torch
    from archscope.torch_backend.layer_timing import time_layers
    from archscope.torch_backend.lowering import checked_analysis

    if len(config.batches) != 1:
        print("archscope: `--per-layer` times one batch size: give one `--batch`", file=sys.stderr)
        raise typer.Exit(ExitCode.USAGE)
    analysis = checked_analysis(analysis)
    device = resolve_device(config.device)
    if clock == "cpu" and device != "cpu":
        print("archscope: `--cpu-time` measures the CPU: use `--device cpu`", file=sys.stderr)
        raise typer.Exit(ExitCode.USAGE)
    notes: tuple[str, ...] = ()
    try:
        cal = lookup(device, config.dtype)
    except CalibrationError as exc:
        cal, notes = None, (f"warning: {exc}; % of peak left blank",)
    if cal is None and not notes:
        notes = (f"warning: {missing_message(device, config.dtype)} to see % of peak and each layer's bound",)
    torch = require_torch("`bench --per-layer`")
    if cal is not None:
        threads = config.threads or torch.get_num_threads()
        name = torch.cuda.get_device_name(0) if device == "cuda" else None
        why = mismatch(cal, torch.__version__, threads, name)
        if why:
            notes = (f"warning: {why}",)
        if cal.clock != clock:
            was = "CPU time (--cpu-time)" if cal.clock == "cpu" else "elapsed time"
            now = "CPU time" if clock == "cpu" else "elapsed time"
            notes += (f"warning: the calibration was measured in {was}, these layers in {now}",)
    for note in notes:
        print(f"archscope: {note.removeprefix('warning: ')}", file=sys.stderr)
    with progress_display() as progress:
        timing = time_layers(analysis, config, progress=progress, clock=clock)
    work = layer_work(analysis.graph, timing.batch, config.dtype)
    labels = {r.name: r.op for r in grouped_rows(analysis.report, depth)} if depth else None
    write_table(per_layer_table(timing, work, cal, depth, notes, labels), fmt)
