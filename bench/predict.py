"""How well does `archscope predict` (static) predict measured latency, beside MACs alone?

    python bench/predict.py [--threads 1] [--batches 1,16] [--min-time 1] [--clock cpu|wall]
                            [--calibrate] [--markdown] [--json FILE] [--from-json FILE]

For every spec below (every family: plain, residual, inception, dense, depthwise/MBConv,
ConvNeXt, RegNet) and batch size, it measures the latency (CPU, float32, `--threads` threads,
eager, inference_mode: one warm-up call, then the median of ≥ 3 calls and ≥ `--min-time`
seconds), predicts it with the stored calibration (`archscope calibrate --threads N` first, or
`--calibrate`), and prints each pair, then for each predictor:

* median |predicted / measured − 1|, the share within ±20%, Spearman's rank correlation;
* predictors: `predict` (the calibrated roofline per layer, archscope/perf/roofline.py); MACs-only
  (2 × MACs × batch / peak GFLOP/s); and, as a stronger baseline, MACs-only with the single
  scale factor that fits the measurements best (an oracle: fitted on the very networks it is
  judged on, which `predict` never is).

Goal: median error ≤ 20% and rank correlation ≥ 0.9, clearly better than MACs-only. The
calibration is fitted on synthetic layers (archscope/torch_backend/calibration_layers.yaml),
never on these networks.

`--clock cpu` (the default) times calls in the process's CPU time (``time.process_time``), and
`--calibrate` then calibrates in CPU time too (`archscope calibrate --cpu-time`): on a shared,
busy machine elapsed time measures the share of the machine the process got, not the network.
With one thread and an idle machine the two clocks agree. `--clock wall` times elapsed time.
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

from archscope import analyze  # noqa: E402
from archscope.perf import calibration  # noqa: E402
from archscope.perf.roofline import predict  # noqa: E402

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


def measure(analysis, batch: int, threads: int, clock: str, min_time: float) -> float:
    """Median seconds per call: one warm-up call, then ≥ 3 calls and ≥ ``min_time`` seconds."""
    import torch

    from archscope.torch_backend.benchmark import BenchConfig, _prepare

    read = time.process_time if clock == "cpu" else time.perf_counter
    torch.set_num_threads(threads)
    model, x = _prepare(analysis, BenchConfig(device="cpu", threads=threads), "cpu", batch)
    times: list[float] = []
    with torch.inference_mode():
        model(x)
        while len(times) < 3 or sum(times) < min_time:
            t0 = read()
            model(x)
            times.append(read() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--min-time", type=float, default=1.0)
    ap.add_argument("--calibrate", action="store_true", help="run `archscope calibrate` first")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    ap.add_argument("--markdown", action="store_true", help="print the summary as a Markdown table")
    ap.add_argument("--json", help="also write every measurement and prediction to this file")
    ap.add_argument("--only", help="comma-separated spec names (a quick check; the judgement uses them all)")
    ap.add_argument("--from-json", help="print the summary of a run saved with --json (no measuring)")
    args = ap.parse_args()
    batches = tuple(int(b) for b in args.batches.split(","))
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        summary(saved["rows"], sorted({r["batch"] for r in saved["rows"]}), args.markdown)
        return

    import torch

    if args.calibrate:
        from archscope.torch_backend.calibrate import calibrate

        calibration.store(calibrate("cpu", "float32", args.threads, clock=args.clock))
    cal = calibration.lookup("cpu", "float32")
    if cal is None:
        sys.exit(calibration.missing_message("cpu", "float32"))
    why = calibration.mismatch(cal, torch.__version__, args.threads)
    if why:
        print(f"warning: {why}", file=sys.stderr)
    if cal.clock != args.clock:
        print(
            f"warning: the calibration was measured with the {cal.clock} clock, these runs with {args.clock}",
            file=sys.stderr,
        )
    print(
        f"calibration: {cal.conditions()}, peak {cal.peak_gflops:.1f} GFLOP/s, bandwidth {cal.bandwidth_gbs:.1f} GB/s, "
        f"measured {cal.measured_at}; load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
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
            analysis = analyze(spec)
            for batch in batches:
                measured = measure(analysis, batch, args.threads, args.clock, args.min_time)
                p = predict(analysis.graph, cal, batch)
                row = {
                    "family": family,
                    "network": spec,
                    "batch": batch,
                    "measured_ms": measured * 1e3,
                    "predict_ms": p.latency_s * 1e3,
                    "macs_only_ms": p.macs_only_s * 1e3,
                }
                rows.append(row)
                print(
                    f"{family:<17}{spec:<21}{batch:>5}{row['measured_ms']:>13.2f}{row['predict_ms']:>12.2f}"
                    f"{row['predict_ms'] / row['measured_ms'] - 1:>8.0%}{row['macs_only_ms']:>11.2f}"
                    f"{row['macs_only_ms'] / row['measured_ms'] - 1:>8.0%}",
                    flush=True,
                )
    print(
        f"\n{len({r['network'] for r in rows})} specs × batches {args.batches} = {len(rows)} measurements, "
        f"{time.perf_counter() - started:.0f} s, load average at end {os.getloadavg()[0]:.1f}; "
        "goal: median error ≤ 20%, Spearman ≥ 0.9"
    )
    summary(rows, batches, args.markdown)
    if args.json:
        Path(args.json).write_text(json.dumps({"calibration": cal.to_dict(), "rows": rows}, indent=1))


def summary(rows: list[dict], batches: tuple[int, ...] | list[int], markdown: bool) -> None:
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
    if markdown:
        print("\n| predictor | points | median abs. error | within ±20% | Spearman |\n|---|---|---:|---:|---:|")
    else:
        print(f"{'predictor':<40}{'points':<10}{'median |err|':>13}{'within ±20%':>13}{'Spearman':>10}")
    for name, values in predictors.items():
        for label, idx in subsets.items():
            med, within, rho = scores([values[i] for i in idx], [measured[i] for i in idx])
            if markdown:
                print(f"| {name} | {label} | {med:.0%} | {within:.0%} | {rho:.3f} |")
            else:
                print(f"{name:<40}{label:<10}{med:>13.0%}{within:>13.0%}{rho:>10.3f}")


if __name__ == "__main__":
    main()
