"""The table model of `archscope sweep`: one row per valid variant, in the sweep's sort order,
the Pareto front marked; the invalid variants, each with its error, in the notes (never dropped)."""

from __future__ import annotations

from typing import Any

from archscope.explore.sweep import MAXIMISED, METRICS, Sweep, VariantResult
from archscope.results.report import CONVENTION
from archscope.results.table import Column, Table

FRONT_MARK = "●"


def summary_line(sweep: Sweep) -> str:
    """``12 variants: 11 analysed, 1 invalid (listed below); 5 on the Pareto front of macs × predicted_ms``."""
    total, bad = len(sweep.results), len(sweep.invalid)
    x, y = sweep.pareto_metrics
    line = f"{total} variant{'s' if total != 1 else ''}: {total - bad} analysed, {bad} invalid"
    if bad:
        line += " (listed below)"
    goals = " and ".join(f"{'highest' if m in MAXIMISED else 'lowest'} {m}" for m in (x, y))
    return line + f"; {len(sweep.front)} on the Pareto front ({FRONT_MARK}) of {goals}"


def sweep_table(sweep: Sweep, extra_notes: tuple[str, ...] = ()) -> Table:
    valid = [r for r in sweep.results if r.error is None]
    columns = [Column("index", "#", "int")]
    columns += [Column(a.key, a.key, "text", align="right") for a in sweep.axes]
    # the receptive field has its own column (its text: `global (427×427)`)
    present = [name for name in METRICS if name != "rf" and any(r.metric(name) is not None for r in valid)]
    kinds = {"params": "count", "macs": "count", "memory": "bytes", "train_memory": "bytes"}
    headers = {
        "memory": "memory",
        "train_memory": "train memory",
        "predicted_ms": "predicted",
        "measured_ms": "measured",
    }
    for name in present:
        unit = "ms" if name.endswith("_ms") else ""
        columns.append(Column(name, headers.get(name, name), kinds.get(name, "ms"), unit=unit))  # type: ignore[arg-type]
    columns += [
        Column("rf", "receptive field", align="right"),
        Column("front", "front", show="human", align="left"),
        Column("pareto", "pareto", show="machine"),
    ]
    rows = [_row(r, sweep, present) for r in valid]
    order = "highest" if sweep.sort in MAXIMISED else "lowest"
    notes = [summary_line(sweep), f"sorted by {sweep.sort}, {order} first"]
    for d in sweep.warnings:
        notes.append(f"warning {d.code}: {d.message}: that axis is left out")
    for r in sweep.invalid:
        e = r.error
        if e is None:
            continue
        notes.append(f"invalid #{r.variant.index} ({r.variant.describe()}): {e.code} {e.message}")
    for r in valid:
        if r.bench_error is not None:
            notes.append(f"not measured #{r.variant.index} ({r.variant.describe()}): {r.bench_error}")
    notes += _where_measured(valid)
    axes = "; ".join(str(a) for a in sweep.axes)
    mode = f"{sweep.random} random draws (seed {sweep.seed})" if sweep.random is not None else "grid"
    return Table(
        tuple(columns),
        tuple(rows),
        title=f"sweep of {sweep.source}",
        preamble=(f"{mode} over {axes}" if axes else mode,),
        notes=tuple(notes) + extra_notes,
        convention=CONVENTION,
        document=sweep.to_dict(),
    )


def _where_measured(valid: list[VariantResult]) -> list[str]:
    """Where `--bench` ran (the executor's records; every field is in the JSON): one line per node
    and device, and the variants that needed a second attempt."""
    places: dict[str, list[int]] = {}
    for r in valid:
        rec = r.bench_record
        if rec:
            where = f"{rec.get('node', '?')} ({rec.get('device_name') or rec.get('device', '?')})"
            places.setdefault(f"{where}, {rec.get('executor', 'local')} executor", []).append(r.variant.index)
    lines = [f"measured on {where}: {len(ids)} variant{'s' * (len(ids) != 1)}" for where, ids in places.items()]
    retried = [r for r in valid if r.bench_record and int(r.bench_record.get("attempts", 1) or 1) > 1]
    lines += [f"#{r.variant.index} measured at attempt {r.bench_record['attempts']}" for r in retried]  # type: ignore[index]
    return lines


def _row(r: VariantResult, sweep: Sweep, present: list[str]) -> tuple[Any, ...]:
    on_front = r.variant.index in sweep.front
    axes = tuple(_cell(r.variant.axes.get(a.key)) for a in sweep.axes)
    metrics = tuple(r.metric(name) for name in present)
    return (r.variant.index, *axes, *metrics, r.rf or "?", FRONT_MARK if on_front else "", on_front)


def _cell(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
