"""The table models of `archscope calibrate`, `bench --per-layer` and `archscope predict`.

Results are duck-typed (:mod:`archscope.torch_backend.layer_timing` for per-layer timings,
:mod:`archscope.perf.roofline` for predictions, :mod:`archscope.perf.calibration` for the figures);
nothing here imports torch or rich.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archscope.ops.registry import KERNELS
from archscope.perf.calibration import Calibration
from archscope.results.report import CONVENTION
from archscope.results.table import Column, Table

FLOPS_NOTE = (
    "FLOPs here are all the work a layer does: 2 × MACs + `ops` (normalisation, activations, pooling, "
    "merges), since that is what a memory-bound layer spends its time on"
)


def _group_key(name: str, depth: int | None) -> str:
    return ".".join(name.split(".")[:depth]) if depth else name


def _grouped(
    items: list[tuple[str, str, dict[str, float]]], depth: int | None, labels: dict[str, str] | None = None
) -> list[tuple[str, str, dict[str, float]]]:
    """Consecutive layers with the same first ``depth`` name components summed (as `summary --depth`
    groups them); a group of several layers shows its block type from ``labels`` (summary's
    group labels), else `group ×n`, as its op."""
    labels = labels or {}
    out: list[tuple[str, str, dict[str, float]]] = []
    counts: list[int] = []
    for name, op, values in items:
        key = _group_key(name, depth)
        if out and out[-1][0] == key:
            merged = {k: out[-1][2].get(k, 0.0) + v for k, v in values.items()}
            out[-1] = (key, out[-1][1], merged)
            counts[-1] += 1
        else:
            out.append((key, op, dict(values)))
            counts.append(1)
    return [(k, op if n == 1 else labels.get(k, f"group ×{n}"), v) for (k, op, v), n in zip(out, counts)]


# ---- calibrate

CALIBRATION_COLUMNS = (
    Column("quantity", "quantity"),
    Column("value", "value", "rate"),
    Column("unit", "unit"),
    Column("how", "how measured"),
)


def calibration_table(cal: Calibration, path: str, notes: tuple[str, ...] = ()) -> Table:
    rows: list[tuple[Any, ...]] = [
        ("GEMM", cal.gemm_gflops, "GFLOP/s", "n×n matrix product, 2n³ FLOPs"),
        ("convolution", cal.conv_gflops, "GFLOP/s", "3×3 conv, 2 × MACs FLOPs"),
        ("peak compute", cal.peak_gflops, "GFLOP/s", "the faster of the two"),
        ("copy", cal.copy_gbs, "GB/s", "dst.copy_(src), read + write"),
        ("triad", cal.triad_gbs, "GB/s", "a = b + s·c, 2 reads + 1 write"),
        ("bandwidth", cal.bandwidth_gbs, "GB/s", "the faster of the two"),
        ("ridge point", cal.ridge, "FLOP/byte", "peak / bandwidth: above it a layer is compute-bound"),
    ]
    for key, eff in sorted(
        cal.efficiency.items(), key=lambda kv: (kv[0].partition("@")[0], int(kv[0].partition("@")[2] or 0))
    ):
        kind_bound, _, batch = key.partition("@")
        kind, _, bound = kind_bound.partition(":")
        sides = [k for k in cal.efficiency if k.startswith(f"{kind}:") and k.endswith(f"@{batch}")]
        if not bound and len(sides) == 1:
            continue  # the same figure as its one side's row
        what = KERNELS.get(kind, kind) + (f"; its {bound}-bound layers" if bound else "; all its layers")
        rows.append((f"{kind_bound} @ batch {batch}", eff * 100, "% of roof", f"fitted: {what}"))
    if cal.fresh_threshold_bytes:
        rows.append(
            (
                "first touch",
                cal.first_touch_gbs,
                "GB/s",
                f"a fresh output over {cal.fresh_threshold_bytes / 2**20:.0f} MiB (the allocator's mmap threshold) "
                "faults its pages in on every call",
            )
        )
    rows += [
        ("overhead per layer", cal.layer_overhead_us, "µs", "fitted: the module call, dispatch, allocation"),
        ("between layers", cal.framework_overhead_us, "µs", "measured: the network's forward, per layer"),
        ("fit error", cal.fit_median_error * 100, "%", f"median |predicted / measured − 1|, {cal.fit_layers} layers"),
    ]
    preamble = (
        f"{cal.device} ({cal.device_name}) · {cal.dtype} · {cal.threads} thread{'s' * (cal.threads != 1)} · "
        f"torch {cal.torch} · {cal.measured_at}" + (" · CPU time (--cpu-time)" if cal.clock == "cpu" else ""),
    )
    return Table(
        CALIBRATION_COLUMNS,
        tuple(rows),
        preamble=preamble,
        notes=(f"stored in {path}", *notes),
        document={**cal.to_dict(), "ridge_flop_per_byte": cal.ridge, "cache": path},
    )


# ---- bench --per-layer

LAYER_COLUMNS = (
    Column("name", "layer", "name"),
    Column("op", "op"),
    Column("ms", "time", "ms", unit="ms"),
    Column("time_share", "% time", "percent"),
    Column("macs_share", "% MACs", "percent", blank_zero=True),
    Column("gflops", "GFLOP/s", "rate", blank_zero=True),
    Column("peak_share", "% peak", "percent", blank_zero=True),
    Column("bound", "bound"),
    Column("attainable_ms", "roof ms", "ms", show="machine"),
    Column("flops", "FLOPs", "count", show="machine"),
    Column("bytes", "bytes", "count", show="machine"),
)


def per_layer_table(
    timing: Any,
    work: list[Any],
    cal: Calibration | None,
    depth: int | None = None,
    notes: tuple[str, ...] = (),
    labels: dict[str, str] | None = None,
) -> Table:
    """One row per layer (per group under ``depth``): measured time beside its share of the MACs,
    achieved GFLOP/s and % of the calibrated peak (without a calibration: blank), and its bound.

    JSON: ``median_ms`` for the whole net and ``layers`` (every layer, whatever ``depth``), each
    with ``name`` and ``ms``."""
    items = _layer_items(timing, work, cal)
    scale = _Scale(median=timing.median_s, total_macs=sum(w.macs for w in work) or 1, cal=cal)
    rows = [_layer_row(name, op, v, scale) for name, op, v in _grouped(items, depth, labels)]
    return Table(
        LAYER_COLUMNS,
        tuple(rows),
        total=_layer_total(work, items, scale),
        preamble=_timing_preamble(timing),
        notes=(*notes, *_timing_notes(timing, cal)),
        convention=CONVENTION,
        document=_timing_document(timing, work, items, scale),
    )


@dataclass(frozen=True)
class _Scale:
    """What every row of `bench --per-layer` is measured against."""

    median: float  # the whole network's median, seconds
    total_macs: int
    cal: Calibration | None

    @property
    def peak(self) -> float | None:
        return self.cal.peak_gflops if self.cal else None


def _layer_items(timing: Any, work: list[Any], cal: Calibration | None) -> list[tuple[str, str, dict[str, float]]]:
    """(name, op, figures) of every timed layer: its seconds, MACs, FLOPs, bytes and roofline floor."""
    from archscope.perf.roofline import roof

    by_name = {w.name: w for w in work}
    items = []
    for t in timing.layers:
        w = by_name[t.name]
        roof_s = roof(w, cal, timing.batch).attainable_s if cal else 0.0
        items.append(
            (t.name, t.op, {"s": t.median_s, "macs": w.macs, "flops": w.flops, "bytes": w.bytes, "roof": roof_s})
        )
    return items


def _bound(v: dict[str, float], cal: Calibration | None) -> str:
    """``compute`` or ``memory`` against the ridge point; blank without a calibration or any work."""
    if not cal or not (v["flops"] or v["bytes"]):
        return ""
    return "compute" if v["bytes"] == 0 or v["flops"] / v["bytes"] >= cal.ridge else "memory"


def _layer_row(name: str, op: str, v: dict[str, float], scale: _Scale) -> tuple[Any, ...]:
    gflops = v["flops"] / v["s"] / 1e9 if v["s"] > 0 else None
    peak = scale.peak
    return (
        name,
        op,
        v["s"] * 1e3,
        v["s"] / scale.median * 100,
        v["macs"] / scale.total_macs * 100,
        gflops if v["flops"] else 0,
        gflops / peak * 100 if peak and gflops and v["flops"] else 0,
        _bound(v, scale.cal),
        v["roof"] * 1e3 if scale.cal else None,
        int(v["flops"]),
        int(v["bytes"]),
    )


def _layer_total(work: list[Any], items: list[tuple[str, str, dict[str, float]]], scale: _Scale) -> tuple[Any, ...]:
    achieved = sum(w.flops for w in work) / scale.median / 1e9
    return (
        "whole network (median)",
        "",
        scale.median * 1e3,
        100.0,
        100.0,
        achieved,
        achieved / scale.peak * 100 if scale.peak else 0,
        "",
        sum(v["roof"] for _, _, v in items) * 1e3 if scale.cal else None,
        sum(w.flops for w in work),
        sum(w.bytes for w in work),
    )


def _timing_preamble(timing: Any) -> tuple[str, ...]:
    env = timing.environment
    return (
        f"{timing.name} · batch {timing.batch} · {env['device']} ({env['device_name']}) · {env['threads']} thread{'s' * (env['threads'] != 1)} · "
        f"{env['dtype']} · torch {env['torch']} · {timing.runs} plain and {timing.runs} hooked calls, interleaved"
        + (" · CPU time" if "process_time" in env.get("timer", "") else ""),
    )


def _timing_notes(timing: Any, cal: Calibration | None) -> tuple[str, ...]:
    """Where the median goes (layers, framework overhead or the hooks' cost), and what % peak and bound mean."""
    median, overhead = timing.median_s, timing.overhead_s
    share = f"layers add up to {timing.layers_s * 1e3:.2f} ms of the {median * 1e3:.2f} ms median ({timing.layers_s / median:.0%})"
    if overhead >= 0:
        rest = (
            f"; the rest, {overhead * 1e3:.2f} ms ({overhead / median:.0%}), is framework overhead: the generated "
            "forward, module calls and freeing tensors between layers"
        )
    else:
        rest = (
            f"; {-overhead * 1e3:.2f} ms more than the plain calls' median: the hooks' own cost and the machine's "
            "noise between calls (the framework overhead between layers is smaller than that)"
        )
    if not cal:
        return (share + rest, FLOPS_NOTE)
    calibrated = (
        f"% peak: of the calibrated {cal.peak_gflops:.1f} GFLOP/s; bound: FLOPs/byte against the ridge point "
        f"{cal.ridge:.2f} ({cal.bandwidth_gbs:.1f} GB/s)"
    )
    return (share + rest, FLOPS_NOTE, calibrated)


def _timing_document(
    timing: Any, work: list[Any], items: list[tuple[str, str, dict[str, float]]], scale: _Scale
) -> dict[str, Any]:
    """The JSON of `bench --per-layer`: the whole network's figures and every layer, whatever the depth."""
    cal, peak, median = scale.cal, scale.peak, scale.median
    flops = sum(w.flops for w in work)
    achieved = flops / median / 1e9
    return {
        "name": timing.name,
        "source": timing.source,
        "batch": timing.batch,
        "median_ms": median * 1e3,
        "layers_ms": timing.layers_s * 1e3,
        "overhead_ms": timing.overhead_s * 1e3,
        "flops": flops,
        "achieved_gflops": achieved,
        "peak_gflops": peak,
        "peak_share": achieved / peak if peak else None,
        "environment": timing.environment,
        "calibration": cal.to_dict() if cal else None,
        "convention": CONVENTION,
        "layers": [
            {
                "name": name,
                "op": op,
                "ms": v["s"] * 1e3,
                "macs": int(v["macs"]),
                "flops": int(v["flops"]),
                "bytes": int(v["bytes"]),
                "achieved_gflops": v["flops"] / v["s"] / 1e9 if v["s"] > 0 else None,
                "peak_share": v["flops"] / v["s"] / 1e9 / peak if peak and v["s"] > 0 else None,
                "bound": _bound(v, cal) or None,
                "attainable_ms": v["roof"] * 1e3 if cal else None,
            }
            for name, op, v in items
        ],
    }


# ---- predict

PREDICT_COLUMNS = (
    Column("name", "layer", "name"),
    Column("op", "op"),
    Column("kernel", "kernel"),
    Column("flops", "FLOPs", "count", blank_zero=True),
    Column("bytes", "bytes", "count", blank_zero=True),
    Column("intensity", "FLOP/B", "rate"),
    Column("bound", "bound"),
    Column("attainable_ms", "roof ms", "ms"),
    Column("predicted_ms", "predicted ms", "ms"),
)


def predict_table(
    prediction: Any, depth: int | None = None, notes: tuple[str, ...] = (), labels: dict[str, str] | None = None
) -> Table:
    """The roofline of every layer (per group under ``depth``) and the predicted latency.
    JSON: ``Prediction.to_dict()`` (``latency_ms``, every layer)."""
    items = [
        (
            r.work.name,
            r.work.op,
            {"flops": r.work.flops, "bytes": r.work.bytes, "roof": r.attainable_s, "pred": r.predicted_s},
        )
        for r in prediction.layers
    ]
    kernels = {r.work.name: r.work.kernel for r in prediction.layers}
    ridge = prediction.calibration.ridge
    rows = [_predict_row(name, op, kernels.get(name, ""), v, ridge) for name, op, v in _grouped(items, depth, labels)]
    return Table(
        PREDICT_COLUMNS,
        tuple(rows),
        total=_predict_total(prediction),
        preamble=_predict_preamble(prediction),
        notes=(*notes, *_predict_notes(prediction)),
        convention=CONVENTION,
        document=prediction.to_dict(),
    )


def _predict_row(name: str, op: str, kernel: str, v: dict[str, float], ridge: float) -> tuple[Any, ...]:
    intensity = v["flops"] / v["bytes"] if v["bytes"] else None
    if not (v["flops"] or v["bytes"]):
        bound = ""
    else:
        bound = "compute" if intensity is None or intensity >= ridge else "memory"
    return (name, op, kernel, int(v["flops"]), int(v["bytes"]), intensity, bound, v["roof"] * 1e3, v["pred"] * 1e3)


def _predict_total(prediction: Any) -> tuple[Any, ...]:
    flops = sum(r.work.flops for r in prediction.layers)
    moved = sum(r.work.bytes for r in prediction.layers)
    return (
        "total",
        "",
        "",
        flops,
        moved,
        flops / moved if moved else None,
        "",
        prediction.attainable_s * 1e3,
        prediction.latency_s * 1e3,
    )


def _predict_preamble(prediction: Any) -> tuple[str, ...]:
    cal = prediction.calibration
    return (
        f"{prediction.name} · batch {prediction.batch} · {prediction.dtype} · calibrated {cal.device} "
        f"({cal.conditions()}): peak {cal.peak_gflops:.1f} GFLOP/s, bandwidth {cal.bandwidth_gbs:.1f} GB/s, "
        f"ridge {cal.ridge:.2f} FLOP/byte",
    )


def _predict_notes(prediction: Any) -> tuple[str, ...]:
    """The predicted latency with its floor and how many layers are on each side of the ridge; the model."""
    cal = prediction.calibration
    counts = {"compute": 0, "memory": 0}
    for r in prediction.layers:
        if r.bound in counts:
            counts[r.bound] += 1
    first_touch = (
        f" + a fresh output over {cal.fresh_threshold_bytes / 2**20:.0f} MiB ÷ {cal.first_touch_gbs:.2f} GB/s "
        "(first touch)"
        if cal.fresh_threshold_bytes and cal.first_touch_gbs
        else ""
    )
    return (
        f"predicted latency {prediction.latency_s * 1e3:.2f} ms (roofline floor {prediction.attainable_s * 1e3:.2f} ms; "
        f"MACs / peak alone: {prediction.macs_only_s * 1e3:.2f} ms); {counts['compute']} layers compute-bound, "
        f"{counts['memory']} memory-bound",
        "predicted = Σ max(FLOPs / peak, bytes / bandwidth) / efficiency of the layer's kind of kernel on its side "
        "of the ridge at this batch"
        + first_touch
        + f" + {cal.layer_overhead_us + cal.framework_overhead_us:.1f} µs per layer (fitted by `archscope calibrate` "
        "on synthetic layers); bytes = inputs + weights + outputs at the dtype",
        FLOPS_NOTE,
    )
