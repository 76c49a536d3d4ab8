"""How well does `archscope predict` (static) predict measured latency, beside MACs alone?

    python bench/predict.py [--threads 1] [--batches 1,16] [--min-time 1] [--calibrate] [--markdown]

For every spec below (every family: plain, residual, inception, dense, depthwise/MBConv,
ConvNeXt, RegNet) and batch size, it measures the latency as `archscope bench` does (CPU,
float32, `--threads` threads, median of ≥ 3 timed blocks and ≥ `--min-time` seconds), predicts
it with the stored calibration (`archscope calibrate --threads N` first, or `--calibrate`), and
prints each pair, then for each predictor:

* median |predicted / measured − 1|, the share within ±20%, Spearman's rank correlation;
* predictors: `predict` (the calibrated roofline per layer, archscope/roofline.py); MACs-only
  (2 × MACs × batch / peak GFLOP/s); and, as a stronger baseline, MACs-only with the single
  scale factor that fits the measurements best (an oracle: fitted on the very networks it is
  judged on, which `predict` never is).

Goal: median error ≤ 20% and rank correlation ≥ 0.9, clearly better than MACs-only. The
calibration is fitted on synthetic layers (archscope/torch_backend/calibration_layers.yaml),
never on these networks.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archscope import analyze, calibration  # noqa: E402
from archscope.roofline import predict  # noqa: E402

SPECS = {
    "plain": ["lenet5", "alexnet", "squeezenet1_0", "squeezenet1_1"],
    "residual": ["resnet18", "resnet50"],
    "inception": ["googlenet"],
    "dense": ["densenet121"],
    "depthwise/MBConv": [
        "mobilenet_v1",
        "mobilenet_v2",
        "mobilenet_v3_small",
        "mobilenet_v3_large",
        "efficientnet_b0",
        "mnasnet1_0",
        "shufflenet_v2_x1_0",
    ],
    "ConvNeXt": ["convnext_tiny"],
    "RegNet": ["regnet_x_400mf", "regnet_y_400mf", "regnet_x_800mf", "regnet_y_800mf"],
}


def ranks(values: list[float]) -> list[float]:
    """1-based ranks, ties sharing their mean rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(a: list[float], b: list[float]) -> float:
    ra, rb = ranks(a), ranks(b)
    ma, mb = statistics.fmean(ra), statistics.fmean(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    return cov / math.sqrt(sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb))


def scores(predicted: list[float], measured: list[float]) -> tuple[float, float, float]:
    errors = [abs(p / m - 1) for p, m in zip(predicted, measured)]
    return statistics.median(errors), sum(e <= 0.2 for e in errors) / len(errors), spearman(predicted, measured)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--min-time", type=float, default=1.0)
    ap.add_argument("--calibrate", action="store_true", help="run `archscope calibrate` first")
    ap.add_argument("--markdown", action="store_true", help="print the summary as a Markdown table")
    ap.add_argument("--json", help="also write every measurement and prediction to this file")
    ap.add_argument("--only", help="comma-separated spec names (a quick check; the judgement uses them all)")
    args = ap.parse_args()
    batches = tuple(int(b) for b in args.batches.split(","))

    import torch

    from archscope.torch_backend.benchmark import BenchConfig, bench

    if args.calibrate:
        from archscope.torch_backend.calibrate import calibrate

        calibration.store(calibrate("cpu", "float32", args.threads))
    cal = calibration.lookup("cpu", "float32")
    if cal is None:
        sys.exit(calibration.missing_message("cpu", "float32"))
    why = calibration.mismatch(cal, torch.__version__, args.threads)
    if why:
        print(f"warning: {why}", file=sys.stderr)
    print(
        f"calibration: {cal.conditions()}, peak {cal.peak_gflops:.1f} GFLOP/s, bandwidth {cal.bandwidth_gbs:.1f} GB/s, "
        f"measured {cal.measured_at}; load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    config = BenchConfig(
        device="cpu", batches=batches, threads=args.threads, warmup=1, min_time=args.min_time, min_runs=3
    )
    rows = []
    started = time.perf_counter()
    print(
        f"{'family':<17}{'network':<21}{'batch':>5}{'measured ms':>13}{'predict ms':>12}{'err':>8}{'MACs-only':>11}{'err':>8}"
    )
    for family, specs in SPECS.items():
        for spec in specs:
            if args.only and spec not in args.only.split(","):
                continue
            graph = analyze(spec).graph
            result = bench(spec, config)
            for t in result.timings:
                p = predict(graph, cal, t.batch)
                row = {
                    "family": family,
                    "network": spec,
                    "batch": t.batch,
                    "measured_ms": t.median * 1e3,
                    "iqr_ms": t.iqr * 1e3,
                    "predict_ms": p.latency_s * 1e3,
                    "macs_only_ms": p.macs_only_s * 1e3,
                }
                rows.append(row)
                print(
                    f"{family:<17}{spec:<21}{t.batch:>5}{row['measured_ms']:>13.2f}{row['predict_ms']:>12.2f}"
                    f"{row['predict_ms'] / row['measured_ms'] - 1:>8.0%}{row['macs_only_ms']:>11.2f}"
                    f"{row['macs_only_ms'] / row['measured_ms'] - 1:>8.0%}",
                    flush=True,
                )
    measured = [r["measured_ms"] for r in rows]
    scale = math.exp(statistics.fmean(math.log(m / r["macs_only_ms"]) for m, r in zip(measured, rows)))
    predictors = {
        "archscope predict": [r["predict_ms"] for r in rows],
        "MACs / peak": [r["macs_only_ms"] for r in rows],
        f"MACs / peak × {scale:.2f} (oracle scale)": [r["macs_only_ms"] * scale for r in rows],
    }
    subsets = {
        "all": range(len(rows)),
        **{f"batch {b}": [i for i, r in enumerate(rows) if r["batch"] == b] for b in batches},
    }
    specs_n = len({r["network"] for r in rows})
    print(
        f"\n{specs_n} specs × batches {args.batches} = {len(rows)} measurements, {time.perf_counter() - started:.0f} s, "
        f"load average at end {os.getloadavg()[0]:.1f}; goal: median error ≤ 20%, Spearman ≥ 0.9"
    )
    if args.markdown:
        print("\n| predictor | points | median abs. error | within ±20% | Spearman |\n|---|---|---:|---:|---:|")
    else:
        print(f"{'predictor':<40}{'points':<10}{'median |err|':>13}{'within ±20%':>13}{'Spearman':>10}")
    for name, values in predictors.items():
        for label, idx in subsets.items():
            med, within, rho = scores([values[i] for i in idx], [measured[i] for i in idx])
            if args.markdown:
                print(f"| {name} | {label} | {med:.0%} | {within:.0%} | {rho:.3f} |")
            else:
                print(f"{name:<40}{label:<10}{med:>13.0%}{within:>13.0%}{rho:>10.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"calibration": cal.to_dict(), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
