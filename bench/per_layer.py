"""Per-layer timing and the first-touch step: the measurements that unit tests must not assert.

    python bench/per_layer.py [--specs resnet18,mobilenet_v2,vgg11] [--min-time 1] [--touch 3]

For each spec, runs `archscope bench SPEC --per-layer --format json` (CPU, 1 thread, as a user
would, one process each) and prints the sum of the per-layer times against the whole network's
median: goal within 15% (the hooks that time each layer add their own cost; what is left over is
the framework's overhead between layers). Then runs the first-touch step of `calibrate` `--touch`
times and prints what each run found: on glibc a fresh output over 32 MiB costs a step that a
quiet machine shows every time, and a loaded one can hide.

Prints the load average first: figures taken under load say so.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def per_layer(spec: str, min_time: float) -> dict:
    args = [sys.executable, "-m", "archscope", "bench", spec, "--per-layer", "--format", "json"]
    args += ["--device", "cpu", "--threads", "1", "--min-time", str(min_time)]
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def first_touch(runs: int) -> list[dict]:
    from archscope.torch_backend.calibrate import measure_first_touch

    return [measure_first_touch("cpu", "float32", 1, 0.25, "cpu") for _ in range(runs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", default="resnet18,mobilenet_v2,vgg11")
    parser.add_argument("--min-time", type=float, default=1.0)
    parser.add_argument("--touch", type=int, default=3, help="runs of the first-touch step")
    options = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print("| spec | layers | sum of layers | whole median | sum / median | within 15% |")
    print("|---|---:|---:|---:|---:|---|")
    worst = 0.0
    for spec in options.specs.split(","):
        data = per_layer(spec, options.min_time)
        total, median = data["layers_ms"], data["median_ms"]
        ratio = total / median
        worst = max(worst, abs(ratio - 1))
        ok = "yes" if abs(ratio - 1) <= 0.15 else "NO"
        print(f"| {spec} | {len(data['layers'])} | {total:.2f} ms | {median:.2f} ms | {ratio:.3f} | {ok} |")
    print(f"\nworst |sum / median − 1|: {worst:.1%} (goal 15%)\n")
    print("| run | fresh threshold | first-touch rate |")
    print("|---:|---:|---:|")
    for i, found in enumerate(first_touch(options.touch), 1):
        threshold = found["fresh_threshold_bytes"]
        label = f"{threshold / 2**20:.0f} MiB" if threshold else "no step seen"
        print(f"| {i} | {label} | {found['first_touch_gbs']:.2f} GB/s |")


if __name__ == "__main__":
    main()
