"""`archscope sweep SPEC`: one spec under many overrides, a table sorted by a metric with the
Pareto front marked (static: no torch, unless --bench). EfficientNet's compound scaling is its
subcommand, `archscope sweep compound` (:mod:`archscope.cli.commands.sweep_compound`)."""

from __future__ import annotations

import functools
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from archscope.cli.commands.bench import DType
from archscope.cli.commands.calibrate import CalDevice, calibration_errors
from archscope.cli.common import ExitCode, format_option, handled, print_diagnostics, write_table
from archscope.cli.pictures import PlotForceOpt, PlotOpt, check_plot, usage_error, write_plot
from archscope.cli.sweep_options import (
    AddressOpt,
    BenchOpt,
    DeviceOpt,
    DTypeOpt,
    ExecutorOpt,
    GridOpt,
    MaxWorkOpt,
    MinTimeOpt,
    ParetoOpt,
    RandomOpt,
    SeedOpt,
    SortOpt,
    SpecArg,
    SweepRequest,
    TrainOpt,
    WorkersOpt,
    progress,
    sweep_request,
)
from archscope.render.emit import TABLE_FORMATS, OutputFormat

if TYPE_CHECKING:
    from archscope.explore.sweep import Sweep, VariantResult, Work


@handled
@calibration_errors
def sweep(
    spec: SpecArg,
    grid: GridOpt = None,
    random: RandomOpt = None,
    seed: SeedOpt = None,
    train: TrainOpt = False,
    device: DeviceOpt = CalDevice.cpu,
    dtype: DTypeOpt = DType.float32,
    sort: SortOpt = None,
    pareto: ParetoOpt = None,
    fmt: Annotated[OutputFormat, format_option(*TABLE_FORMATS)] = OutputFormat.table,
    plot: PlotOpt = None,
    force: PlotForceOpt = False,
    bench: BenchOpt = False,
    min_time: MinTimeOpt = 2.0,
    executor: ExecutorOpt = "local",
    address: AddressOpt = None,
    workers: WorkersOpt = None,
    max_work: MaxWorkOpt = None,
) -> None:
    """Analyse a spec under many overrides: params, MACs, peak memory, receptive field and predicted latency.

    Axes with --grid (a product) or --random N draws (--seed); a sweep file (YAML: spec, grid, random,
    seed, sort, pareto, train) holds longer ones. The table is sorted by --sort; the Pareto front over
    --pareto's two metrics (each minimised, except rf, the widest receptive field) is marked ●.
    Invalid variants (a shape error at some width) are listed with their error under the table, and
    counted in the summary line. --plot FILE.svg|png draws the front, with bundled reference nets.

    Metrics: params, macs, memory, train_memory (--train), predicted_ms (a calibration: `archscope
    calibrate`), measured_ms (--bench), rf (higher is better).

    Before any variant, the work (variants × layers) is counted; above --max-work (default 1,000,000
    layer analyses) the sweep is refused, and from a tenth of it on the count is printed.

    EfficientNet's compound scaling is a subcommand: `archscope sweep compound --help`.

    Exit codes: 0 done (invalid variants included); 1 the spec or sweep file has errors; 2 bad usage.

    Examples:
      archscope sweep resnet50 --grid width=0.5,1.0 --grid resolution=160,224
      archscope sweep resnet50 --random 20 --grid width=0.5:1.5 --pareto params,rf
    """
    from archscope.explore.sweep import MAX_WORK, StaticOptions, load_source
    from archscope.perf.calibration import lookup, missing_message
    from archscope.render.sweep import sweep_table

    chart = check_plot(plot, force)
    request = sweep_request(spec, grid, random, seed, sort, pareto, train)
    cal = lookup(device.value, dtype.value)
    notes = () if cal is not None else (f"no predicted latency: {missing_message(device.value, dtype.value)}",)
    sort, metrics = _metrics(request.sort, request.pareto, request.train, cal is not None, bench)
    loaded = load_source(request.source)
    options = StaticOptions(train=request.train, dtype=dtype.value, calibration=cal)
    measure = None
    if bench:
        _executors()  # missing: a usage error before any work
        measure = functools.partial(
            _measure,
            source=request.source,
            device=device.value,
            dtype=dtype.value,
            executor=executor,
            address=address,
            min_time=min_time,
        )
    budget = max_work or MAX_WORK
    result = _run(
        request,
        spec=loaded,
        sort=sort,
        metrics=metrics,
        options=options,
        workers=workers,
        measure=measure,
        max_work=budget,
        on_work=functools.partial(_say_work, budget=budget),
    )
    print_diagnostics(list(result.warnings))
    if not result.axes:
        typer.echo("archscope: nothing left to sweep: no axis changes the network (W104)", err=True)
        raise typer.Exit(ExitCode.PROBLEMS)
    write_table(sweep_table(result, notes), fmt)
    if plot is not None:
        from archscope.render.plots import sweep_plot

        references = _references(metrics, options)
        write_plot(lambda: sweep_plot(result, references, str(chart)), plot, force)


def _run(request: SweepRequest, **kw: Any) -> Sweep:
    """:func:`run_sweep` with a progress bar; its refusals as usage errors, or located in the sweep file."""
    from archscope.diagnostics import Diagnostic, SpecError
    from archscope.explore.sweep import AxisError, WorkError, run_sweep

    try:
        with progress("analysing variants") as bar:
            return run_sweep(
                request.source,
                request.axes,
                random=request.random,
                seed=request.seed or 0,
                progress=bar,
                **kw,
            )
    except WorkError as exc:
        raise usage_error(
            f"{exc}; allow it with `--max-work {exc.work.layer_analyses}`, or sweep fewer variants"
        ) from None
    except AxisError as exc:
        if exc.span is not None:  # from the sweep file: where it is written
            raise SpecError([Diagnostic("E015", str(exc), exc.span)]) from None
        raise usage_error(f"--grid: {exc}") from None


def _say_work(work: Work, budget: int) -> None:
    """The sweep's size before it starts, on a terminal or when it is a tenth of the budget or more."""
    if sys.stderr.isatty() or work.layer_analyses * 10 >= budget:
        typer.echo(f"archscope: note: this sweep is {work}", err=True)


def _metrics(
    sort: str | None, pareto: str | None, train: bool, calibrated: bool, bench: bool
) -> tuple[str, tuple[str, str]]:
    """The sort metric and the front's two, checked against what this sweep computes (usage errors)."""
    from archscope.explore.sweep import METRICS

    available = {"params", "macs", "memory", "rf"} | ({"train_memory"} if train else set())
    available |= ({"predicted_ms"} if calibrated else set()) | ({"measured_ms"} if bench else set())
    if pareto is not None:
        names = [m.strip() for m in pareto.split(",")]
    elif bench:
        names = ["macs", "measured_ms"]
    else:
        names = ["macs", "predicted_ms"] if calibrated else ["params", "macs"]
    sort = sort or "macs"
    for name in [sort, *names]:
        if name not in METRICS:
            raise usage_error(f"`{name}` is not a metric: {', '.join(METRICS)}")
        if name not in available:
            raise usage_error(f"`{name}` needs {_NEEDS[name]}")
    if len(names) != 2 or names[0] == names[1]:
        raise usage_error("--pareto takes two different metrics: X,Y")
    return sort, (names[0], names[1])


_NEEDS = {
    "train_memory": "--train",
    "predicted_ms": "a calibration: run `archscope calibrate` first",
    "measured_ms": "--bench",
}


REFERENCES = ("resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0", "convnext_tiny")


def _references(metrics: tuple[str, str], options: Any) -> list[tuple[str, float, float]]:
    """Bundled nets as (name, x, y) for the chart, when both metrics are static."""
    from archscope.explore.sweep import analyze_variant, load_source
    from archscope.explore.variants import make_variant

    if "measured_ms" in metrics:
        return []
    out = []
    for name in REFERENCES:
        r = analyze_variant(load_source(name), make_variant(0, {}), options)
        x, y = r.metric(metrics[0]), r.metric(metrics[1])
        if x is not None and y is not None:
            out.append((name, float(x), float(y)))
    return out


def _executors() -> Any:
    """`archscope.torch_backend.executors` (where --bench runs), or a usage error when it is not installed."""
    import importlib

    try:
        return importlib.import_module("archscope.torch_backend.executors")
    except ModuleNotFoundError as exc:
        if exc.name != "archscope.torch_backend.executors":
            raise
        raise usage_error("--bench needs `archscope.torch_backend.executors`, which this installation lacks") from None


def _measure(
    results: list[VariantResult],
    source: str,
    device: str,
    dtype: str,
    executor: str,
    address: str | None,
    min_time: float,
) -> list[VariantResult]:
    """Each valid variant's measured latency through the executors (which import torch)."""
    from archscope.explore.sweep import with_measurements

    executors = _executors()
    BenchJob, run_jobs = executors.BenchJob, executors.run_jobs

    text = executors.spec_text(source)
    jobs = [
        BenchJob(
            key=r.variant.index,
            source=source,
            text=text,
            overrides=r.variant.overrides,
            batch=r.variant.batch,
            device=device,
            dtype=dtype,
            min_time=min_time,
        )
        for r in results
        if r.error is None
    ]
    with progress("measuring variants") as bar:
        outcomes = run_jobs(jobs, executor=executor, address=address, progress=bar)
    return with_measurements(results, outcomes)
