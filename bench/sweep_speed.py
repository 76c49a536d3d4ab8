"""The static sweep's speed: 1,000 variants of resnet50 (10 widths × 10 depths × 10 resolutions),
every core, as `archscope sweep` runs them. Prints the wall time and the time per variant.

    python bench/sweep_speed.py [--workers N]
"""

from __future__ import annotations

import argparse
import os
import time

from archscope.sweep import Axis, StaticOptions, analyze_variants, load_source, variants


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
    start = time.perf_counter()
    results = analyze_variants("resnet50", found, StaticOptions(), spec=spec, workers=args.workers)
    wall = time.perf_counter() - start
    invalid = sum(r.error is not None for r in results)
    start = time.perf_counter()
    analyze_variants("resnet50", found[:50], StaticOptions(), spec=spec, workers=1)
    one = (time.perf_counter() - start) / 50
    print(f"variants        {len(found):,} (resnet50: 10 widths × 10 depths × 10 resolutions), {invalid} invalid")
    print(f"workers         {args.workers or os.cpu_count()} (cores: {os.cpu_count()})")
    print(f"wall time       {wall:.2f} s ({wall / len(found) * 1e3:.1f} ms per variant)")
    print(f"one in process  {one * 1e3:.1f} ms per variant (first 50, one core)")


if __name__ == "__main__":
    main()
