"""`archscope bench SPEC`: inference latency and throughput (the options are shared with
`compare --bench`). The method is in :mod:`archscope.torch_backend.benchmark`."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import sys
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from archscope.cli.backend import backend_errors, parse_batches
from archscope.cli.common import ExitCode, ExtendsRootOpt, MaxLayersOpt, format_option, handled, write_table
from archscope.cli.freezing import FreezeOpt, UnfreezeOpt, freezing
from archscope.cli.overrides import InputOpt, ResolutionOpt, SetOpt, overrides_from
from archscope.render.emit import TABLE_FORMATS, OutputFormat


class Device(str, enum.Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class Executor(str, enum.Enum):
    local = "local"
    ray = "ray"


class DType(str, enum.Enum):
    float32 = "float32"
    float16 = "float16"
    bfloat16 = "bfloat16"


DeviceOpt = Annotated[
    Device, typer.Option("--device", rich_help_panel="Timing", help="Where to run; auto = cuda if available.")
]


def _check_batches(value: str) -> str:
    parse_batches(value)  # a typer.BadParameter here is a usage error (exit 2)
    return value


BatchOpt = Annotated[
    str,
    typer.Option(
        "--batch", "-b", rich_help_panel="Timing", callback=_check_batches, help="Batch sizes, comma-separated: 1,8,32."
    ),
]
DTypeOpt = Annotated[DType, typer.Option("--dtype", rich_help_panel="Timing", help="Weights and input dtype.")]
ChannelsLastOpt = Annotated[bool, typer.Option("--channels-last", rich_help_panel="Timing", help="NHWC memory layout.")]
CompileOpt = Annotated[
    bool, typer.Option("--compile", rich_help_panel="Timing", help="torch.compile the network first.")
]
ThreadsOpt = Annotated[
    int | None, typer.Option("--threads", rich_help_panel="Timing", min=1, help="CPU threads (default: torch's).")
]
WarmupOpt = Annotated[
    int, typer.Option("--warmup", rich_help_panel="Timing", min=1, help="Warm-up calls before timing.")
]
MinTimeOpt = Annotated[
    float,
    typer.Option("--min-time", rich_help_panel="Timing", min=0.0, help="Seconds of timing per network and batch."),
]
MinRunsOpt = Annotated[
    int,
    typer.Option("--min-runs", rich_help_panel="Timing", min=1, help="Timed blocks per network and batch, at least."),
]


def make_config(
    device: Device,
    batch: str,
    dtype: DType,
    channels_last: bool,
    compile_: bool,
    threads: int | None,
    warmup: int,
    min_time: float,
    min_runs: int,
) -> Any:
    from archscope.torch_backend.benchmark import BenchConfig

    return BenchConfig(
        device.value,
        tuple(parse_batches(batch)),
        dtype.value,
        channels_last,
        compile_,
        threads,
        warmup,
        min_time,
        min_runs,
    )


@contextlib.contextmanager
def progress_display() -> Iterator[Any]:
    """A transient rich progress bar on stderr (when it is a terminal); yields the callback.

    It refreshes only when the benchmark reports progress (between timed blocks), so no
    display thread runs while a block is timed. On a stderr that is not a terminal (a CI log, a
    pipe) it writes a line as each phase starts (a report at fraction 0: `batch 8: warming up
    vgg16`), so a log shows what is being timed and a script can wait for timing to begin."""
    if not sys.stderr.isatty():
        from archscope.render.safe import printable

        def note(label: str, fraction: float) -> None:
            if fraction == 0.0:
                line = printable(label).replace("\n", "\\n")
                print(f"archscope: {line}", file=sys.stderr, flush=True)

        yield note
        return
    from rich.progress import BarColumn, Progress, TextColumn

    from archscope.render.console import console

    with Progress(
        TextColumn("{task.description}"), BarColumn(), console=console(stderr=True), transient=True, auto_refresh=False
    ) as bar:
        task = bar.add_task("starting", total=1.0)

        def update(label: str, fraction: float) -> None:
            bar.update(task, description=label, completed=fraction)
            bar.refresh()

        yield update


def _usage(message: str) -> None:
    print(f"archscope: {message}", file=sys.stderr)
    raise typer.Exit(ExitCode.USAGE)


@handled
@backend_errors
def bench(
    specs: Annotated[
        list[str],
        typer.Argument(metavar="SPEC...", help="A spec file, a bundled name or a family (several with --executor)."),
    ],
    device: DeviceOpt = Device.auto,
    batch: BatchOpt = "1",
    dtype: DTypeOpt = DType.float32,
    channels_last: ChannelsLastOpt = False,
    compile_: CompileOpt = False,
    threads: ThreadsOpt = None,
    warmup: WarmupOpt = 5,
    min_time: MinTimeOpt = 10.0,
    min_runs: MinRunsOpt = 10,
    fmt: Annotated[OutputFormat, format_option(*TABLE_FORMATS)] = OutputFormat.table,
    per_layer: Annotated[
        bool, typer.Option("--per-layer", help="Time every layer too (one batch size; see `archscope calibrate`).")
    ] = False,
    depth: Annotated[
        int | None, typer.Option("--depth", "-d", min=1, help="With --per-layer: group layers by dotted name.")
    ] = None,
    cpu_time: Annotated[
        bool, typer.Option("--cpu-time", help="With --per-layer: the process's CPU time (a busy machine, 1 thread).")
    ] = False,
    # transfer learning (no effect on inference timing; accepted as every command that reads a spec does)
    freeze: FreezeOpt = None,
    unfreeze: UnfreezeOpt = None,
    resolution: ResolutionOpt = None,
    input_: InputOpt = None,
    set_: SetOpt = None,
    extends_root: ExtendsRootOpt = None,
    max_layers: MaxLayersOpt = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", rich_help_panel="Limits", help="Time even a network whose one forward is estimated above 10 s."
        ),
    ] = False,
    executor: Annotated[
        Executor | None,
        typer.Option(
            "--executor",
            rich_help_panel="Executor",
            help="Time each spec and batch as its own job: local (one after the other) or ray (one Ray task each).",
        ),
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            rich_help_panel="Executor",
            metavar="ADDR",
            help="With --executor ray: join this Ray cluster (e.g. auto).",
        ),
    ] = None,
) -> None:
    """Time inference of one network (torch.utils.benchmark, inference_mode, warm-up, many blocks).

    Reports the median latency per batch with IQR and p10/p90, images/s, and the GFLOP/s the
    static MACs imply (FLOPs = 2 × MACs). `--per-layer` times every layer as well (forward hooks;
    CUDA events on a GPU) beside its share of the MACs and its % of the calibrated peak. The memory
    a batch needs is estimated first (`archscope memory`'s model); a batch that would not fit is
    refused, and so is a network whose one forward call is estimated (static MACs ÷ a measured
    convolution rate) above 10 s, unless --force. Needs the `torch` extra. Exit codes: 0 timed;
    1 spec errors; 2 bad usage, unavailable device, torch missing, a batch too large or too slow;
    130 interrupted (Ctrl-C stops a forward pass at once).

    `--executor local|ray` times each spec at each batch size as a separate job (several specs
    allowed): `local` one after the other here, `ray` as one Ray task each, with a whole device to
    itself, on a local Ray instance or the cluster at `--address` (the `cluster` extra). The table
    gains the node and device of each job; a failed job is a note, and the exit status is 1.

    Examples:
      archscope bench mobilenet_v2 --batch 1,8
      archscope bench resnet50 --per-layer --depth 1 --threads 1
    """
    from archscope.api import analyze
    from archscope.render.bench import bench_table
    from archscope.torch_backend import bench as run_bench

    given = freezing(freeze, unfreeze, overrides_from(resolution, input_, set_))
    config = make_config(device, batch, dtype, channels_last, compile_, threads, warmup, min_time, min_runs)
    if force:
        config = dataclasses.replace(config, max_call_s=None)
    if executor is None and address is not None:
        _usage("`--address` joins a Ray cluster: it needs `--executor ray`")
    if executor is not None:
        if per_layer or depth is not None or cpu_time:
            _usage("`--per-layer` times one network here: it does not go with `--executor`")
        from archscope.cli.executor_bench import bench_jobs

        bench_jobs(specs, given, extends_root, config, executor.value, address, fmt, progress_display)
        return
    if len(specs) > 1:
        _usage(
            "several specs need `--executor local|ray` (one job each), or `archscope compare --bench` to time them "
            "interleaved"
        )
    analysis = analyze(specs[0], overrides=given, extends_root=extends_root, max_layers=max_layers)
    if per_layer or depth is not None or cpu_time:
        from archscope.cli.per_layer import bench_per_layer

        bench_per_layer(analysis, config, depth, fmt, "cpu" if cpu_time else "wall", progress_display)
        return
    with progress_display() as progress:
        result = run_bench(analysis, config, progress=progress)
    write_table(bench_table(result), fmt)
