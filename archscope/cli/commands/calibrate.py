"""`archscope calibrate`: measure this machine's peak compute and memory bandwidth and store them
(the method is in :mod:`archscope.torch_backend.calibrate`, the cache in :mod:`archscope.perf.calibration`)."""

from __future__ import annotations

import enum
import functools
import sys
from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar

import typer

from archscope.cli.backend import backend_errors, parse_batches
from archscope.cli.commands.bench import DType, ThreadsOpt, _check_batches, progress_display
from archscope.cli.common import ExitCode, format_option, handled, write_table
from archscope.perf.calibration import CalibrationError
from archscope.render.emit import OutputFormat

P = ParamSpec("P")
R = TypeVar("R")


class CalDevice(str, enum.Enum):
    cpu = "cpu"
    cuda = "cuda"


def calibration_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """An unusable calibration cache becomes ``archscope: message`` and exit 2, not a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except CalibrationError as exc:
            print(f"archscope: {exc}", file=sys.stderr)
            raise typer.Exit(ExitCode.USAGE) from None

    return wrapper


@handled
@backend_errors
@calibration_errors
def calibrate(
    device: Annotated[CalDevice, typer.Option("--device", help="The device to measure.")] = CalDevice.cpu,
    dtype: Annotated[DType, typer.Option("--dtype", help="The dtype of the kernels.")] = DType.float32,
    threads: ThreadsOpt = None,
    min_time: Annotated[
        float, typer.Option("--min-time", min=0.01, help="Seconds of timing per kernel (the layers get 3×).")
    ] = 1.0,
    batches: Annotated[
        str | None,
        typer.Option(
            "--batches",
            callback=lambda v: v and _check_batches(v),
            help="Batch sizes to time the synthetic layers at (default 1,4,16; cuda 1,16,128).",
        ),
    ] = None,
    cpu_time: Annotated[
        bool,
        typer.Option(
            "--cpu-time",
            help="Measure the process's CPU time, not elapsed time: for a busy shared machine (CPU, 1 thread).",
        ),
    ] = False,
    fmt: Annotated[
        OutputFormat, format_option(OutputFormat.table, OutputFormat.json, OutputFormat.markdown)
    ] = OutputFormat.table,
    show: Annotated[
        bool,
        typer.Option("--show", help="Print the stored figures for this device and dtype; measure nothing (no torch)."),
    ] = False,
) -> None:
    """Measure peak compute (GEMM, convolution) and memory bandwidth (copy, triad), and fit `predict`'s model.

    Stores the figures for this device and dtype in the calibration cache
    ($ARCHSCOPE_CALIBRATION, else $XDG_CACHE_HOME/archscope/calibration.json, else
    ~/.cache/archscope/calibration.json) with the torch version, thread count and device name;
    `bench --per-layer` and `predict` read them. Takes about 10 × --min-time seconds. Needs the
    `torch` extra. Exit codes: 0 measured and stored (or shown); 2 bad usage, unavailable device, torch
    missing, nothing stored to show.

    Examples:
      archscope calibrate --threads 1
      archscope calibrate --show
    """
    from archscope.perf.calibration import cache_path, lookup, missing_message, store
    from archscope.render.timing import calibration_table

    if show:
        stored = lookup(device.value, dtype.value)
        if stored is None:
            print(f"archscope: {missing_message(device.value, dtype.value)}", file=sys.stderr)
            raise typer.Exit(ExitCode.USAGE)
        write_table(calibration_table(stored, str(cache_path())), fmt)
        return
    from archscope.torch_backend.calibrate import calibrate as measure

    with progress_display() as progress:
        cal = measure(
            device.value,
            dtype.value,
            threads,
            min_run_time=min_time,
            layer_time=3 * min_time,
            batches=tuple(parse_batches(batches)) if batches else None,
            clock="cpu" if cpu_time else "wall",
            progress=progress,
        )
    try:
        path = store(cal)
    except OSError as exc:
        raise CalibrationError(f"cannot write the calibration cache `{cache_path()}`: {exc.strerror or exc}") from None
    write_table(calibration_table(cal, str(path)), fmt)
