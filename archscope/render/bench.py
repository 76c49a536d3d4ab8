"""The table models of `archscope bench` and of the timing columns of `compare --bench`.

The results are :mod:`archscope.torch_backend.benchmark`'s dataclasses; nothing here imports
torch (results are duck-typed) or rich.
"""

from __future__ import annotations

from typing import Any

from archscope.results.report import CONVENTION
from archscope.results.table import Column, Table

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
    notes: tuple[str, ...] = ()
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


JOB_COLUMNS = (
    Column("node", "node"),
    Column("device_name", "device"),
    Column("attempts", "attempts", "int"),
)
JOB_MACHINE_KEYS = ("key", "source", "params", "macs", "executor", "node_id", "device", "torch", "threads", "error")


def jobs_table(jobs: list[Any], outcomes: list[Any]) -> Table:
    """`bench --executor`: one row per job (a spec at a batch size) with the node and device it
    ran on; a failed job keeps its row, empty timings, and a note that says why. JSON: the jobs
    with their outcome, record and full result."""
    rows, notes, document, envs = [], [], [], []
    for job, outcome in zip(jobs, outcomes, strict=True):
        rec = outcome.record
        d: dict[str, Any] = {"network": rec.get("name") or job.source, "batch": job.batch, **rec}
        d.update(key=job.key, source=job.source, error=outcome.error)
        if outcome.result is not None:
            t = outcome.result.timings[0]
            d.update(t.to_dict())
            d["p10_p90"] = f"{t.p10 * 1e3:.2f}–{t.p90 * 1e3:.2f}"
            d["blocks"] = f"{t.runs}×{t.calls_per_run}"
            envs.append(outcome.result.environment)
        else:
            notes.append(f"failed: `{job.source}` at batch {job.batch}: {outcome.error}")
        rows.append(d)
        document.append(
            {
                "key": job.key,
                "source": job.source,
                "batch": job.batch,
                "median_ms": outcome.median_ms,
                "error": outcome.error,
                "record": rec,
                "result": outcome.result.to_dict() if outcome.result is not None else None,
            }
        )
    columns = TIMING_COLUMNS + JOB_COLUMNS + tuple(Column(k, k, show="machine") for k in JOB_MACHINE_KEYS)
    executor = next((o.record.get("executor") for o in outcomes), "local")
    nodes = sorted({o.record["node"] for o in outcomes if o.record.get("node")})
    preamble: tuple[str, ...] = (
        f"executor {executor} · {len(jobs)} jobs on {len(nodes)} node{'s' * (len(nodes) != 1)}",
    )
    if envs:
        preamble += (environment_line(envs[0]) + (" (first job)" if len(envs) > 1 else ""),)
    noisy = [o.result.timings[0].spread for o in outcomes if o.result is not None]
    if any(s > SPREAD_NOTE for s in noisy):
        notes.append(
            f"note: the calls varied by up to {max(noisy):.0%} (IQR / median): the machine was busy or its speed "
            "drifted; a longer --min-time or an idle machine gives steadier numbers"
        )
    return Table(
        columns,
        tuple(tuple(d.get(c.key) for c in columns) for d in rows),
        preamble=preamble,
        notes=tuple(notes),
        convention=CONVENTION,
        document=document,
    )
