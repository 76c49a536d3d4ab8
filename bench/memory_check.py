"""Static memory (`archscope memory`) against PyTorch's MemTracker, on every bundled spec.

For each spec, batch and mode (inference; a training step with SGD; with Adam) it builds the
network, measures one step with ``torch.distributed._tools.mem_tracker.MemTracker`` (CPU: it
counts every tensor storage, split into parameters, buffers, gradients, activations,
temporaries and optimizer state) and prints the static peak beside the measured one.

A training step is measured in its steady state, as a training loop runs it: one step first
(it creates the optimizer's state), then ``zero_grad()`` (gradients freed), then the measured
step. The loss is the sum of every output (archscope.torch_backend.memory_check). Specs whose training step the static model puts
above half this machine's memory are skipped (said so), as are the steps PyTorch refuses
(batch norm in training mode over one value per channel, at batch 1).

    python bench/memory_check.py                     # every spec, batch 1 and 8, all modes
    python bench/memory_check.py resnet50 vgg16 --batches 1,8 --modes infer,adam
    python bench/memory_check.py --json out.json     # every row, for the README's figures
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
import warnings

warnings.filterwarnings("ignore")

import torch  # noqa: E402

from archscope.api import analyze, list_specs  # noqa: E402
from archscope.passes.memory import MemoryOptions, memory  # noqa: E402
from archscope.torch_backend import build  # noqa: E402
from archscope.torch_backend.memory_check import measured_peak  # noqa: E402

MODES = ("infer", "sgd", "adam")


def check(name: str, batches: list[int], modes: list[str], resolution: int | None, budget: int) -> list[dict]:
    analysis = analyze(name, resolution=resolution)
    if analysis.errors or analysis.graph is None:
        first = analysis.errors[0] if analysis.errors else analysis.diagnostics[0]
        return [{"spec": name, "batch": 0, "mode": "-", "static": 0, "skipped": f"{first.code} {first.message}"}]
    module = build(analysis)
    rows = []
    for batch in batches:
        xs = [torch.randn(batch, *shape) for _, shape in analysis.report.inputs]
        for mode in modes:
            train = mode != "infer"
            options = MemoryOptions(batch=batch, train=train, optimizer="adam" if mode == "adam" else "sgd")
            static = memory(analysis.graph, options)
            row = {"spec": name, "batch": batch, "mode": mode, "static": static.peak_bytes}
            row["peak_at"] = f"{static.peak_phase} {static.peak_layer}".strip()
            if static.peak_bytes > budget:
                row["skipped"] = "over half this machine's memory"
            else:
                try:
                    t = time.perf_counter()
                    snap = measured_peak(module, xs, mode)
                    row["seconds"] = round(time.perf_counter() - t, 2)
                    row["measured"] = snap["Total"]
                    row["error"] = static.peak_bytes / snap["Total"] - 1
                except ValueError as exc:  # batch norm over one value per channel, in training
                    row["skipped"] = f"PyTorch refuses it: {str(exc).splitlines()[0]}"
            rows.append(row)
            gc.collect()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("specs", nargs="*", help="bundled names (default: every bundled spec)")
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--resolution", type=int, default=None, help="override every spec's resolution")
    parser.add_argument("--json", dest="json_path", default=None, help="write every row here")
    args = parser.parse_args()
    names = args.specs or [s.name for s in list_specs()]
    batches = [int(b) for b in args.batches.split(",")]
    modes = args.modes.split(",")
    budget = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    torch.set_num_threads(max(1, torch.get_num_threads()))
    rows: list[dict] = []
    print(f"{'spec':24} {'batch':>5} {'mode':5} {'static MiB':>11} {'measured MiB':>13} {'error':>7}  peak at")
    for name in names:
        for row in check(name, batches, modes, args.resolution, budget):
            rows.append(row)
            measured = f"{row['measured'] / 2**20:13.2f}" if "measured" in row else f"{'—':>13}"
            error = f"{row['error'] * 100:+6.2f}%" if "error" in row else f"{'—':>7}"
            extra = row.get("skipped") or row["peak_at"]
            print(
                f"{name:24} {row['batch']:5} {row['mode']:5} {row['static'] / 2**20:11.2f} {measured} {error}  {extra}"
            )
            sys.stdout.flush()
    errors = [abs(r["error"]) for r in rows if "error" in r]
    if errors:
        worst = max((r for r in rows if "error" in r), key=lambda r: abs(r["error"]))
        within = sum(e <= 0.10 for e in errors)
        print(
            f"\n{len(errors)} measured, {len(rows) - len(errors)} skipped; |error| median {statistics.median(errors) * 100:.2f}%, "
            f"worst {worst['error'] * 100:+.2f}% ({worst['spec']} batch {worst['batch']} {worst['mode']}); "
            f"within ±10%: {within}/{len(errors)}"
        )
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)
    return 0 if all(e <= 0.10 for e in errors) else 1


if __name__ == "__main__":
    sys.exit(main())
