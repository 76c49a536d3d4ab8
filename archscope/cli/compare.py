"""`archscope compare A B ...`: networks side by side, with ratios to the first."""

from __future__ import annotations

import csv
import enum
import io
import json
from typing import Annotated

import typer

from ..compare import compare as run_compare
from . import bench as bench_cli
from .backend import backend_errors
from .common import ExitCode, exit_for, handled, print_diagnostics, write


class CompareFormat(str, enum.Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


COLUMNS = (
    "name",
    "input",
    "depth",
    "params",
    "macs",
    "flops",
    "activations",
    "model_bytes",
    "params_ratio",
    "macs_ratio",
)


def _table(rows: list[dict], notes: list[str], extra: list[tuple[str, list[str]]] = ()):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from ..render.numbers import compact, ratio, shape, size_bytes
    from ..report import CONVENTION

    base = rows[0]
    table = Table(title=f"ratios are to {base['name']}", title_justify="left", header_style="bold")
    for col, justify in (
        ("network", "left"),
        ("input", "left"),
        ("depth", "right"),
        ("params", "right"),
        ("×", "right"),
        ("MACs", "right"),
        ("×", "right"),
        ("activations", "right"),
        ("×", "right"),
        ("size (fp32)", "right"),
    ):
        table.add_column(col, justify=justify)
    for header, _ in extra:  # compare --bench: timing columns
        table.add_column(header, justify="right")
    for i, r in enumerate(rows):
        table.add_row(
            r["name"],
            shape(r["input"]),
            str(r["depth"]),
            compact(r["params"]),
            ratio(r["params"], base["params"]),
            compact(r["macs"]),
            ratio(r["macs"], base["macs"]),
            compact(r["activations"]),
            ratio(r["activations"], base["activations"]),
            size_bytes(r["model_bytes"]),
            *(cells[i] for _, cells in extra),
        )
    parts = [Text(n, style="dim") for n in notes] + [table, Text(CONVENTION, style="dim")]
    return Group(*parts)


def render(rows: list[dict], fmt: CompareFormat, notes: list[str], extra: list[tuple[str, list[str]]] = ()) -> None:
    if fmt is CompareFormat.json:
        write(json.dumps(rows, indent=2))
    elif fmt is CompareFormat.csv:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("×".join(map(str, v)) if isinstance(v, list) else v) for k, v in r.items()})
        write(buf.getvalue())
    elif fmt is CompareFormat.markdown:
        keys = [k for k in rows[0] if k not in ("title", "requested", "resolved_from")]
        lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
        for r in rows:
            cells = [
                (
                    "×".join(map(str, r[k]))
                    if isinstance(r[k], list)
                    else f"{r[k]:.3f}"
                    if isinstance(r[k], float)
                    else f"{r[k]:,}"
                    if isinstance(r[k], int)
                    else str(r[k])
                )
                for k in keys
            ]
            lines.append("| " + " | ".join(cells) + " |")
        write("\n".join(lines))
    else:
        from ..render.console import console

        console().print(_table(rows, notes, extra))


@handled
@backend_errors
def compare(
    specs: Annotated[
        list[str],
        typer.Argument(
            help="Two or more specs: paths, bundled names, or families (`resnet` → resnet50, `vgg` → vgg16)."
        ),
    ],
    fmt: Annotated[CompareFormat, typer.Option("--format", "-f", help="Output format.")] = CompareFormat.table,
    bench: Annotated[
        bool, typer.Option("--bench", help="Also time the networks (interleaved, round-robin); needs the torch extra.")
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
) -> None:
    """Networks side by side: input, depth in weighted layers, params, MACs, activations, size.

    Ratios are to the first network. Static (no torch) unless --bench, which adds the median
    latency and images/s per batch size (JSON and CSV also carry the IQR and GFLOP/s), timed
    interleaved so that machine drift does not favour one network (options as `archscope bench`).
    """
    result = run_compare(specs)
    if not result.ok:
        print_diagnostics([d for d in result.diagnostics if d.is_error])
        raise typer.Exit(max(exit_for(result.diagnostics), ExitCode.PROBLEMS))
    notes = [a.note for a in result.analyses if a.note]
    rows, extra = result.rows(), []
    if bench:
        from ..torch_backend import bench_many

        config = bench_cli.make_config(
            device, batch, dtype, channels_last, compile_, threads, warmup, min_time, min_runs
        )
        with bench_cli.progress_display() as progress:
            timed = bench_many(list(result.analyses), config, progress=progress)
        for row, r in zip(rows, timed, strict=True):
            row.update(bench_cli.bench_fields(r, timed[0]))
        extra = bench_cli.bench_columns(rows)
        notes.append("timing: " + bench_cli.environment_line(timed[0].environment))
    render(rows, fmt, notes, extra)
