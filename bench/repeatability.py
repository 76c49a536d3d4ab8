"""Repeatability: do two consecutive `archscope bench` runs agree?

    python bench/repeatability.py [--pairs 3] [--spec resnet50] [-- extra bench options]

Runs `archscope bench SPEC --device cpu --format json` twice in a row, as a user would (two
fresh processes, default options: warm-up, ≥ 10 s and ≥ 10 timed blocks), and prints both
medians and their relative difference |a − b| / min(a, b) (and the same for p10, the fast
end, which drift from other load on the machine moves less); `--pairs` repeats the
experiment. Goal: within 5% on the median for resnet50 on CPU.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bench_once(spec: str, extra: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "archscope", "bench", spec, "--device", "cpu", "--format", "json", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--spec", default="resnet50")
    ap.add_argument("extra", nargs="*", help="more `archscope bench` options, after `--`")
    args = ap.parse_args()
    worst = worst_p10 = 0.0
    print(
        f"{'pair':>4}{'run 1 ms':>10}{'IQR':>7}{'run 2 ms':>10}{'IQR':>7}{'difference':>12}"
        f"{'p10 1':>8}{'p10 2':>8}{'p10 diff':>10}  (goal ≤ 5% on the median)"
    )
    for pair in range(1, args.pairs + 1):
        a, b = (bench_once(args.spec, args.extra)["timings"][0] for _ in range(2))
        diff = abs(a["median"] - b["median"]) / min(a["median"], b["median"])
        diff_p10 = abs(a["p10"] - b["p10"]) / min(a["p10"], b["p10"])
        worst, worst_p10 = max(worst, diff), max(worst_p10, diff_p10)
        print(
            f"{pair:>4}{a['latency_ms']:>10.2f}{a['iqr_ms']:>7.2f}{b['latency_ms']:>10.2f}{b['iqr_ms']:>7.2f}"
            f"{diff:>11.1%}{a['p10'] * 1e3:>8.2f}{b['p10'] * 1e3:>8.2f}{diff_p10:>9.1%}"
        )
    env = bench_once(args.spec, ["--min-time", "0", "--min-runs", "1"])["environment"]
    print(
        f"{args.spec}, batch 1, {env['device_name']}, {env['threads']} threads, torch {env['torch']}: "
        f"worst difference {worst:.1%} on the median ({'meets' if worst <= 0.05 else 'misses'} the goal), "
        f"{worst_p10:.1%} on p10"
    )


if __name__ == "__main__":
    main()
