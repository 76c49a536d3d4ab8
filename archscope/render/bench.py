"""The table models of `archscope bench` and of the timing columns of `compare --bench`.

The results are :mod:`archscope.torch_backend.benchmark`'s dataclasses; nothing here imports
torch (results are duck-typed) or rich.
"""

from __future__ import annotations

from typing import Any

from ..report import CONVENTION
from ..table import Column, Table

SPREAD_NOTE = 0.1  # IQR / median above which the table says the timings are noisy

TIMING_COLUMNS = (
    Column("network", "network"),
    Column("batch", "batch", "int"),
    Column("latency_ms", "latency", "ms", unit="ms"),
    Column("iqr_ms", "IQR", "ms", unit="ms"),
    Column("p10_p90", "p10–p90", unit="ms", align="right", show="human"),
    Column("images_per_s", "images/s", "rate"),
    Column("achieved_gflops", "GFLOP/s", "rate"),
    Column("blocks", "blocks×calls", align="right", show="human"),
    Column("memory_estimate", "memory est.", "bytes"),
)


def environment_line(env: dict[str, Any]) -> str:
    return (
        f"{env['device']} ({env['device_name']}) · {env['threads']} threads · {env['dtype']} · {env['layout']} · "
        f"{'compiled' if env['compile'] else 'eager'} · torch {env['torch']} · median of ≥ {env['min_runs']} "
        f"blocks, ≥ {env['min_time_s']:g} s each batch"
    )


def bench_table(result: Any) -> Table:
    """One row per batch size; CSV rows also carry every statistic and the environment."""
    shown = {c.key for c in TIMING_COLUMNS}
    rows, extra_keys = [], []
    for t in result.timings:
        d = {"network": result.name, "source": result.source, **t.to_dict(), **result.environment}
        d["convention"] = CONVENTION  # CSV: a column, as the environment (see render.machine)
        d["p10_p90"] = f"{t.p10 * 1e3:.2f}–{t.p90 * 1e3:.2f}"
        d["blocks"] = f"{t.runs}×{t.calls_per_run}"
        extra_keys = [k for k in d if k not in shown]
        rows.append(d)
    columns = TIMING_COLUMNS + tuple(Column(k, k, show="machine") for k in extra_keys)
    noisy = [t.spread for t in result.timings if t.spread > SPREAD_NOTE]
    notes = ()
    if noisy:
        notes = (
            f"note: the calls varied by up to {max(noisy):.0%} (IQR / median): the machine was busy or its speed "
            "drifted; a longer --min-time or an idle machine gives steadier numbers",
        )
    return Table(
        columns,
        tuple(tuple(d.get(c.key) for c in columns) for d in rows),
        preamble=(environment_line(result.environment),),
        notes=notes,
        convention=CONVENTION,
        document=result.to_dict(),
    )


def compare_bench_columns(timed: list[Any]) -> tuple[tuple[Column, ...], list[tuple[Any, ...]]]:
    """The timing columns of `compare --bench` and each network's cells: per batch size the
    median latency, its ratio to the first network and images/s (JSON and CSV add the IQR,
    GFLOP/s and the environment)."""
    base = {t.batch: t for t in timed[0].timings}
    columns: list[Column] = []
    for t in timed[0].timings:
        b = t.batch
        columns += [
            Column(f"latency_ms_b{b}", f"ms @{b}", "ms"),
            Column(f"latency_ratio_b{b}", "×", "ratio"),
            Column(f"iqr_ms_b{b}", f"IQR ms @{b}", "ms", show="machine"),
            Column(f"images_per_s_b{b}", f"img/s @{b}", "rate"),
            Column(f"gflops_b{b}", f"GFLOP/s @{b}", "rate", show="machine"),
        ]
    env_keys = ("device", "device_name", "threads", "dtype", "layout", "torch")
    columns += [Column(f"bench_{k}", k, show="machine") for k in (*env_keys, "mode")]
    cells = []
    for r in timed:
        row: list[Any] = []
        for t in r.timings:
            row += [t.median * 1e3, t.median / base[t.batch].median, t.iqr * 1e3, t.images_per_s, t.gflops]
        env = r.environment
        row += [env[k] for k in env_keys] + ["compiled" if env["compile"] else "eager"]
        cells.append(tuple(row))
    return tuple(columns), cells
