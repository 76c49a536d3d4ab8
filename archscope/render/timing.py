"""The table models of `archscope calibrate`, `bench --per-layer` and `archscope predict`.

Results are duck-typed (:mod:`archscope.torch_backend.layer_timing` for per-layer timings,
:mod:`archscope.perf.roofline` for predictions, :mod:`archscope.perf.calibration` for the figures);
nothing here imports torch or rich.
"""

from __future__ import annotations

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
    from archscope.perf.roofline import roof

    by_name = {w.name: w for w in work}
    total_macs = sum(w.macs for w in work) or 1
    peak = cal.peak_gflops if cal else None
    items = []
    for t in timing.layers:
        w = by_name[t.name]
        items.append(
            (
                t.name,
                t.op,
                {
                    "s": t.median_s,
                    "macs": w.macs,
                    "flops": w.flops,
                    "bytes": w.bytes,
                    "roof": roof(w, cal, timing.batch).attainable_s if cal else 0.0,
                },
            )
        )
    median = timing.median_s

    def row(name: str, op: str, v: dict[str, float]) -> tuple[Any, ...]:
        gflops = v["flops"] / v["s"] / 1e9 if v["s"] > 0 else None
        bound = ""
        if cal and (v["flops"] or v["bytes"]):
            bound = "compute" if v["bytes"] == 0 or v["flops"] / v["bytes"] >= cal.ridge else "memory"
        return (
            name,
            op,
            v["s"] * 1e3,
            v["s"] / median * 100,
            v["macs"] / total_macs * 100,
            gflops if v["flops"] else 0,
            gflops / peak * 100 if peak and gflops and v["flops"] else 0,
            bound,
            v["roof"] * 1e3 if cal else None,
            int(v["flops"]),
            int(v["bytes"]),
        )

    rows = [row(*item) for item in _grouped(items, depth, labels)]
    flops = sum(w.flops for w in work)
    achieved = flops / median / 1e9
    overhead = timing.overhead_s
    total = (
        "whole network (median)",
        "",
        median * 1e3,
        100.0,
        100.0,
        achieved,
        achieved / peak * 100 if peak else 0,
        "",
        sum(v["roof"] for _, _, v in items) * 1e3 if cal else None,
        flops,
        sum(w.bytes for w in work),
    )
    env = timing.environment
    preamble = (
        f"{timing.name} · batch {timing.batch} · {env['device']} ({env['device_name']}) · {env['threads']} thread{'s' * (env['threads'] != 1)} · "
        f"{env['dtype']} · torch {env['torch']} · {timing.runs} plain and {timing.runs} hooked calls, interleaved"
        + (" · CPU time" if "process_time" in env.get("timer", "") else ""),
    )
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
    footer_notes: tuple[str, ...] = (
        share + rest,
        FLOPS_NOTE,
    )
    if cal:
        footer_notes += (
            f"% peak: of the calibrated {cal.peak_gflops:.1f} GFLOP/s; bound: FLOPs/byte against the ridge point "
            f"{cal.ridge:.2f} ({cal.bandwidth_gbs:.1f} GB/s)",
        )
    document = {
        "name": timing.name,
        "source": timing.source,
        "batch": timing.batch,
        "median_ms": median * 1e3,
        "layers_ms": timing.layers_s * 1e3,
        "overhead_ms": overhead * 1e3,
        "flops": flops,
        "achieved_gflops": achieved,
        "peak_gflops": peak,
        "peak_share": achieved / peak if peak else None,
        "environment": env,
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
                "bound": row(name, op, v)[7] or None,
                "attainable_ms": v["roof"] * 1e3 if cal else None,
            }
            for name, op, v in items
        ],
    }
    return Table(
        LAYER_COLUMNS,
        tuple(rows),
        total=total,
        preamble=preamble,
        notes=(*notes, *footer_notes),
        convention=CONVENTION,
        document=document,
    )


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
    cal = prediction.calibration
    items = [
        (
            r.work.name,
            r.work.op,
            {"flops": r.work.flops, "bytes": r.work.bytes, "roof": r.attainable_s, "pred": r.predicted_s},
        )
        for r in prediction.layers
    ]
    kernels = {r.work.name: r.work.kernel for r in prediction.layers}
    rows = []
    for name, op, v in _grouped(items, depth, labels):
        intensity = v["flops"] / v["bytes"] if v["bytes"] else None
        bound = (
            ""
            if not (v["flops"] or v["bytes"])
            else "compute"
            if intensity is None or intensity >= cal.ridge
            else "memory"
        )
        rows.append(
            (
                name,
                op,
                kernels.get(name, ""),
                int(v["flops"]),
                int(v["bytes"]),
                intensity,
                bound,
                v["roof"] * 1e3,
                v["pred"] * 1e3,
            )
        )
    flops = sum(r.work.flops for r in prediction.layers)
    moved = sum(r.work.bytes for r in prediction.layers)
    total = (
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
    counts = {"compute": 0, "memory": 0}
    for r in prediction.layers:
        if r.bound in counts:
            counts[r.bound] += 1
    preamble = (
        f"{prediction.name} · batch {prediction.batch} · {prediction.dtype} · calibrated {cal.device} "
        f"({cal.conditions()}): peak {cal.peak_gflops:.1f} GFLOP/s, bandwidth {cal.bandwidth_gbs:.1f} GB/s, "
        f"ridge {cal.ridge:.2f} FLOP/byte",
    )
    footer = (
        f"predicted latency {prediction.latency_s * 1e3:.2f} ms (roofline floor {prediction.attainable_s * 1e3:.2f} ms; "
        f"MACs / peak alone: {prediction.macs_only_s * 1e3:.2f} ms); {counts['compute']} layers compute-bound, "
        f"{counts['memory']} memory-bound",
        "predicted = Σ max(FLOPs / peak, bytes / bandwidth) / efficiency of the layer's kind of kernel on its side "
        "of the ridge at this batch"
        + (
            f" + a fresh output over {cal.fresh_threshold_bytes / 2**20:.0f} MiB ÷ {cal.first_touch_gbs:.2f} GB/s "
            "(first touch)"
            if cal.fresh_threshold_bytes and cal.first_touch_gbs
            else ""
        )
        + f" + {cal.layer_overhead_us + cal.framework_overhead_us:.1f} µs per layer (fitted by `archscope calibrate` "
        "on synthetic layers); bytes = inputs + weights + outputs at the dtype",
        FLOPS_NOTE,
    )
    return Table(
        PREDICT_COLUMNS,
        tuple(rows),
        total=total,
        preamble=preamble,
        notes=(*notes, *footer),
        convention=CONVENTION,
        document=prediction.to_dict(),
    )
