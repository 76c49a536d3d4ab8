"""Whole-process speed of the static commands, and how cost grows with the number of layers.

    python bench/static_speed.py [--runs 7]

Prints the median wall time of fresh `archscope` processes (what a user or CI waits for):
`summary resnet50` (goal ≤ 0.3 s on the project's 2-core machine), `summary resnet50
--format json`, `lint specs/`, and `summary resnet1202`; then in-process analysis time of
synthetic plain chains of 1k…100k conv layers with the time per layer, which must stay flat
(linear cost). Also checks that none of these processes imported torch.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = (
    "import runpy, sys; sys.argv = ['archscope'] + sys.argv[1:]; "
    "import atexit; atexit.register(lambda: sys.stderr.write('TORCH_IMPORTED\\n') if 'torch' in sys.modules else None); "
    "runpy.run_module('archscope', run_name='__main__')"
)


def wall(args: list[str], runs: int) -> tuple[float, bool]:
    times, torch_seen = [], False
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        torch_seen |= "TORCH_IMPORTED" in p.stderr
    return statistics.median(times), torch_seen


def chain_spec(n: int) -> str:
    layer = "  - {op: conv2d, out: 8, kernel: 3, padding: 1}\n"
    return "name: chain\ninput: [8, 8, 8]\nlayers:\n" + layer * n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    # An installed package has its bytecode compiled by pip; a checkout under
    # PYTHONDONTWRITEBYTECODE=1 (as on the project's machines) would recompile every edited
    # module in every process (+60 ms). Compile once, so we time what users run.
    import compileall

    compileall.compile_dir(ROOT / "archscope", quiet=1, force=False)
    base, _ = wall(["--version"], args.runs)
    print(f"{'command':<44} {'median s':>9}  torch imported")
    print(f"{'archscope --version (start-up floor)':<44} {base:9.3f}")
    for cmd in (
        ["summary", "resnet50"],
        ["summary", "resnet50", "--format", "json"],
        ["lint", "specs/"],
        ["summary", "resnet1202", "--format", "json"],
    ):
        t, torch_seen = wall(cmd, args.runs)
        goal = "  (goal ≤ 0.300)" if cmd == ["summary", "resnet50"] else ""
        print(f"{'archscope ' + ' '.join(cmd):<44} {t:9.3f}  {'YES' if torch_seen else 'no'}{goal}")

    sys.path.insert(0, str(ROOT))
    import archscope

    print(f"\n{'layers':>8} {'analyze s':>10} {'µs/layer':>9}")
    per_layer = []
    for n in (1_000, 10_000, 100_000):
        text = chain_spec(n)
        t = time.perf_counter()
        result = archscope.analyze("chain.yaml", text=text, max_layers=n)  # above the default 10,000
        dt = time.perf_counter() - t
        assert result.report is not None and result.report.totals.layers == n
        per_layer.append(dt / n)
        print(f"{n:>8} {dt:10.3f} {1e6 * dt / n:9.1f}")
    print(f"µs/layer ratio 100k/1k: {per_layer[-1] / per_layer[0]:.2f} (≈ 1 means linear)")


if __name__ == "__main__":
    main()
