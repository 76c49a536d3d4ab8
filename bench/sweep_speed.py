"""The static sweep's speed: 1,000 variants of resnet50 (10 widths × 10 depths × 10 resolutions),
every core, as `archscope sweep` runs them. Prints the wall time and the time per variant.

    python bench/sweep_speed.py [--workers N]
"""

from __future__ import annotations

import argparse
import os
import resource
import time

from archscope.explore.sweep import StaticOptions, analyze_variants, load_source
from archscope.explore.variants import Axis, variants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    args = parser.parse_args()
    axes = [
        Axis("width", tuple(round(0.5 + 0.1 * i, 2) for i in range(10))),
        Axis("depth", tuple(round(0.5 + 0.1 * i, 2) for i in range(10))),
        Axis("resolution", tuple(160 + 16 * i for i in range(10))),
    ]
    found = variants(axes)
    spec = load_source("resnet50")
    load = os.getloadavg()[0]
    cpu_before = _cpu()
    start = time.perf_counter()
    results = analyze_variants("resnet50", found, StaticOptions(), spec=spec, workers=args.workers)
    wall = time.perf_counter() - start
    cpu = _cpu() - cpu_before
    invalid = sum(r.error is not None for r in results)
    workers = args.workers or os.cpu_count() or 1
    start = time.perf_counter()
    analyze_variants("resnet50", found[:50], StaticOptions(), spec=spec, workers=1)
    one = (time.perf_counter() - start) / 50
    print(f"variants        {len(found):,} (resnet50: 10 widths × 10 depths × 10 resolutions), {invalid} invalid")
    print(f"workers         {workers} (cores: {os.cpu_count()})")
    print(f"wall time       {wall:.2f} s ({wall / len(found) * 1e3:.1f} ms per variant)")
    print(
        f"CPU time        {cpu:.2f} s in all processes (÷ workers: {cpu / workers:.2f} s ≈ the wall time on idle cores)"
    )
    print(f"load average    {load:.2f} before the run (other processes on this machine share its cores)")
    print(f"one in process  {one * 1e3:.1f} ms per variant (first 50, one core)")


def _cpu() -> float:
    """User + system CPU seconds of this process and its finished children (the pool's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    main()
