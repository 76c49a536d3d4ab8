"""The options of `archscope sweep` and `archscope sweep compound`, grouped in `--help` panels (Axes,
Metrics, Output, Timing, Executor, Limits); a sweep file's settings under the command line's; and
the progress bar both show."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from archscope.cli.commands.bench import DType
from archscope.cli.commands.calibrate import CalDevice
from archscope.cli.pictures import usage_error

if TYPE_CHECKING:
    from archscope.explore.sweep import Axis


@contextmanager
def progress(what: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on standard error when it is a terminal (none otherwise); no refresh thread."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress

    from archscope.render.console import console

    with Progress(console=console(stderr=True), transient=True, auto_refresh=False) as bar:
        task = bar.add_task(what, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)
            if done == total or done % 10 == 0:
                bar.refresh()

        yield update


SpecArg = Annotated[
    str,
    typer.Argument(help="A spec file, a bundled name (`resnet50`), or a sweep file (YAML with `spec:`)."),
]
GridOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--grid",
        "-g",
        rich_help_panel="Axes",
        metavar="KEY=VALUES",
        help="An axis (repeatable; several make a product): width, depth, resolution, batch or a `params:` "
        "key; VALUES `0.5,1.0`, `LO:HI:STEP`, or with --random a range `LO:HI`.",
    ),
]
RandomOpt = Annotated[
    int | None, typer.Option("--random", rich_help_panel="Axes", min=1, help="Draw N variants instead of the grid.")
]
SeedOpt = Annotated[
    int | None, typer.Option("--seed", rich_help_panel="Axes", min=0, help="Seed of --random (default 0).")
]

TrainOpt = Annotated[
    bool, typer.Option("--train", rich_help_panel="Metrics", help="Also the peak memory of a training step (SGD).")
]
DeviceOpt = Annotated[
    CalDevice, typer.Option("--device", rich_help_panel="Metrics", help="The calibrated device (and --bench's).")
]
DTypeOpt = Annotated[DType, typer.Option("--dtype", rich_help_panel="Metrics", help="Data type of memory and latency.")]

SortOpt = Annotated[
    str | None, typer.Option("--sort", rich_help_panel="Output", help="Sort by this metric (default macs).")
]
ParetoOpt = Annotated[
    str | None,
    typer.Option(
        "--pareto",
        rich_help_panel="Output",
        metavar="X,Y",
        help="The two metrics of the Pareto front (default macs,predicted_ms when calibrated, else params,macs).",
    ),
]

BenchOpt = Annotated[
    bool, typer.Option("--bench", rich_help_panel="Timing", help="Also measure each valid variant's latency (torch).")
]
MinTimeOpt = Annotated[
    float,
    typer.Option(
        "--min-time", rich_help_panel="Timing", min=0.05, help="With --bench: seconds of timed runs per variant."
    ),
]
ExecutorOpt = Annotated[
    str,
    typer.Option(
        "--executor",
        rich_help_panel="Executor",
        help="Where --bench runs: local, or ray (archscope.torch_backend.executors).",
    ),
]
AddressOpt = Annotated[
    str | None, typer.Option("--address", rich_help_panel="Executor", help="The executor's cluster address (ray).")
]

WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers", rich_help_panel="Limits", min=1, help="Processes for the static analysis (default: every core)."
    ),
]
MaxWorkOpt = Annotated[
    int | None,
    typer.Option(
        "--max-work",
        rich_help_panel="Limits",
        min=1,
        metavar="N",
        help="Layer analyses (variants × layers) the sweep may do; default 1,000,000, about 100 s of CPU.",
    ),
]


@dataclass(frozen=True)
class SweepRequest:
    """What `archscope sweep` sweeps: the command line's settings over a sweep file's."""

    source: str  # the spec: a file or a bundled name
    axes: list[Axis]
    random: int | None
    seed: int | None
    sort: str | None
    pareto: str | None  # X,Y
    train: bool


def sweep_request(
    spec: str,
    grid: list[str] | None,
    random: int | None,
    seed: int | None,
    sort: str | None,
    pareto: str | None,
    train: bool,
) -> SweepRequest:
    """The command line over the sweep file's settings when ``spec`` is one (the command line wins,
    axis by axis); a usage error for a bad --grid or no axis at all."""
    from archscope.explore.variants import AxisError, parse_axis

    source, settings = spec, None
    if is_sweep_file(spec):
        from archscope.explore.sweepfile import read_sweep_text
        from archscope.lang.loader import read_source

        settings = read_sweep_text(read_source(Path(spec)), spec)  # not UTF-8, too large: E000/E011, located
        source = settings.spec
    try:
        axes = [parse_axis(item) for item in grid or ()]
    except AxisError as exc:
        raise usage_error(f"--grid: {exc}") from None
    if settings is not None:
        axes = [a for a in settings.axes if a.key not in {b.key for b in axes}] + axes
        random = random if random is not None else settings.random
        seed = seed if seed is not None else settings.seed
        sort = sort or settings.sort
        pareto = pareto or (",".join(settings.pareto) if settings.pareto else None)
        train = train or settings.train
    if not axes:
        raise usage_error("give at least one axis: --grid KEY=VALUES (or a sweep file)")
    return SweepRequest(source, axes, random, seed, sort, pareto, train)


def is_sweep_file(source: str) -> bool:
    """A `.yaml` file whose top level has `spec:` (a spec file never has that key)."""
    path = Path(source)
    if path.suffix not in (".yaml", ".yml") or not path.is_file():
        return False
    try:
        with path.open("rb") as f:
            head = f.read(100_000).decode("utf-8", errors="replace")  # never the whole file
    except OSError:
        return False
    return any(line.startswith("spec:") for line in head.splitlines())
