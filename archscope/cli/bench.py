"""`archscope bench SPEC`: inference latency and throughput (the options are shared with
`compare --bench`). The method is in :mod:`archscope.torch_backend.benchmark`."""

from __future__ import annotations

import contextlib
import csv
import enum
import io
import json
import sys
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from .backend import backend_errors, parse_batches
from .common import handled, write


class Device(str, enum.Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class DType(str, enum.Enum):
    float32 = "float32"
    float16 = "float16"
    bfloat16 = "bfloat16"


class BenchFormat(str, enum.Enum):
    table = "table"
    json = "json"
    csv = "csv"


DeviceOpt = Annotated[Device, typer.Option("--device", help="Where to run; auto = cuda if available.")]


def _check_batches(value: str) -> str:
    parse_batches(value)  # a typer.BadParameter here is a usage error (exit 2)
    return value


BatchOpt = Annotated[
    str, typer.Option("--batch", "-b", callback=_check_batches, help="Batch sizes, comma-separated: 1,8,32.")
]
DTypeOpt = Annotated[DType, typer.Option("--dtype", help="Weights and input dtype.")]
ChannelsLastOpt = Annotated[bool, typer.Option("--channels-last", help="NHWC memory layout.")]
CompileOpt = Annotated[bool, typer.Option("--compile", help="torch.compile the network first.")]
ThreadsOpt = Annotated[int | None, typer.Option("--threads", min=1, help="CPU threads (default: torch's).")]
WarmupOpt = Annotated[int, typer.Option("--warmup", min=1, help="Warm-up calls before timing.")]
MinTimeOpt = Annotated[float, typer.Option("--min-time", min=0.0, help="Seconds of timing per network and batch.")]
SPREAD_NOTE = 0.1  # IQR / median above which the table says the timings are noisy
MinRunsOpt = Annotated[int, typer.Option("--min-runs", min=1, help="Timed blocks per network and batch, at least.")]


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
    from ..torch_backend.benchmark import BenchConfig

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
    display thread runs while a block is timed."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn

    from ..render.console import console

    with Progress(
        TextColumn("{task.description}"), BarColumn(), console=console(stderr=True), transient=True, auto_refresh=False
    ) as bar:
        task = bar.add_task("starting", total=1.0)

        def update(label: str, fraction: float) -> None:
            bar.update(task, description=label, completed=fraction)
            bar.refresh()

        yield update


def environment_line(env: dict[str, Any]) -> str:
    return (
        f"{env['device']} ({env['device_name']}) · {env['threads']} threads · {env['dtype']} · {env['layout']} · "
        f"{'compiled' if env['compile'] else 'eager'} · torch {env['torch']} · median of ≥ {env['min_runs']} "
        f"blocks, ≥ {env['min_time_s']:g} s each batch"
    )


def timing_table(results: list[Any]) -> Any:
    from rich.table import Table

    from ..render.numbers import size_bytes

    table = Table(header_style="bold", title_justify="left")
    for col in (
        "network",
        "batch",
        "latency ms",
        "IQR ms",
        "p10–p90 ms",
        "images/s",
        "GFLOP/s",
        "blocks×calls",
        "memory est.",
    ):
        table.add_column(col, justify="left" if col == "network" else "right")
    for r in results:
        for t in r.timings:
            table.add_row(
                r.name,
                str(t.batch),
                f"{t.median * 1e3:.2f}",
                f"{t.iqr * 1e3:.2f}",
                f"{t.p10 * 1e3:.2f}–{t.p90 * 1e3:.2f}",
                f"{t.images_per_s:,.1f}",
                f"{t.gflops:.1f}",
                f"{t.runs}×{t.calls_per_run}",
                size_bytes(t.memory_estimate),
            )
    return table


def to_csv(results: list[Any]) -> str:
    buf = io.StringIO()
    rows = []
    for r in results:
        env = {k: ("|".join(map(str, v)) if isinstance(v, list) else v) for k, v in r.environment.items()}
        for t in r.timings:
            rows.append({"network": r.name, "source": r.source, **t.to_dict(), **env})
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


@handled
@backend_errors
def bench(
    spec: Annotated[str, typer.Argument(help="A spec file, a bundled name or a family.")],
    device: DeviceOpt = Device.auto,
    batch: BatchOpt = "1",
    dtype: DTypeOpt = DType.float32,
    channels_last: ChannelsLastOpt = False,
    compile_: CompileOpt = False,
    threads: ThreadsOpt = None,
    warmup: WarmupOpt = 5,
    min_time: MinTimeOpt = 10.0,
    min_runs: MinRunsOpt = 10,
    fmt: Annotated[BenchFormat, typer.Option("--format", "-f", help="Output format.")] = BenchFormat.table,
) -> None:
    """Time inference of one network (torch.utils.benchmark, inference_mode, warm-up, many blocks).

    Reports the median latency per batch with IQR and p10/p90, images/s, and the GFLOP/s the
    static MACs imply (FLOPs = 2 × MACs). The memory a batch needs is estimated first; a batch
    that would not fit is refused. Needs the `torch` extra. Exit codes: 0 timed; 1 spec errors;
    2 bad usage, unavailable device, torch missing, or a batch too large.
    """
    from ..torch_backend import bench as run_bench

    config = make_config(device, batch, dtype, channels_last, compile_, threads, warmup, min_time, min_runs)
    with progress_display() as progress:
        result = run_bench(spec, config, progress=progress)
    if fmt is BenchFormat.json:
        write(json.dumps(result.to_dict(), indent=2))
    elif fmt is BenchFormat.csv:
        write(to_csv([result]))
    else:
        from rich.text import Text

        from ..render.console import console

        out = console()
        out.print(Text(environment_line(result.environment), style="dim"))
        out.print(timing_table([result]))
        noisy = [t for t in result.timings if t.spread > SPREAD_NOTE]
        if noisy:
            worst = max(t.spread for t in noisy)
            out.print(
                Text(
                    f"note: the calls varied by up to {worst:.0%} (IQR / median): the machine was busy or its "
                    "speed drifted; a longer --min-time or an idle machine gives steadier numbers",
                    style="yellow",
                )
            )


def bench_fields(result: Any, base: Any) -> dict[str, Any]:
    """Flat columns for `compare --bench` rows: per batch size, latency and throughput, with the
    latency ratio to the first network; then the environment."""
    out: dict[str, Any] = {}
    base_by_batch = {t.batch: t for t in base.timings}
    for t in result.timings:
        b = t.batch
        out.update(
            {
                f"latency_ms_b{b}": t.median * 1e3,
                f"iqr_ms_b{b}": t.iqr * 1e3,
                f"images_per_s_b{b}": t.images_per_s,
                f"gflops_b{b}": t.gflops,
                f"latency_ratio_b{b}": t.median / base_by_batch[b].median,
            }
        )
    env = result.environment
    out.update({f"bench_{k}": env[k] for k in ("device", "device_name", "threads", "dtype", "layout", "torch")})
    out["bench_mode"] = "compiled" if env["compile"] else "eager"
    return out


def bench_columns(rows: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """Table columns (header, one cell per row) for the bench fields of `compare --bench`."""
    batches = [int(k[len("latency_ms_b") :]) for k in rows[0] if k.startswith("latency_ms_b")]
    cols = []
    for b in batches:
        cols.append((f"ms @{b}", [f"{r[f'latency_ms_b{b}']:.2f}" for r in rows]))
        cols.append(("×", [f"{r[f'latency_ratio_b{b}']:.2f}×" for r in rows]))
        cols.append((f"img/s @{b}", [f"{r[f'images_per_s_b{b}']:,.1f}" for r in rows]))
    return cols
