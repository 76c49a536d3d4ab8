"""The static receptive field of every bundled spec against PyTorch's gradients.

    python bench/rf_check.py [--specs resnet50 vgg16 ...] [--timing]

For each spec (default: all of specs/), archscope's static field of its widest local layer and
of its output is compared with the extent of the non-zero input gradient of one central unit,
per spatial dim, in the monotone version of the built network (positive weights, average
pooling, float64: see archscope/torch_backend/receptive_field_check.py). `--timing` also times
`archscope rf` against `archscope summary` (whole processes, interleaved, median of 5).
Prints a table: spec, layer, dim, static first..last (size), measured, agree.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archscope.torch_backend.receptive_field_check import measure  # noqa: E402


def _span(extent: tuple[int, int] | None) -> str:
    return "—" if extent is None else f"{extent[0]}..{extent[1]} ({extent[1] - extent[0] + 1})"


def check(specs: list[str]) -> int:
    print(f"{'spec':<20} {'layer':<28} {'dim':>3} {'static':>18} {'measured':>18}  agree   s")
    bad = 0
    for spec in specs:
        start = time.perf_counter()
        try:
            results = measure(spec)
        except Exception as exc:  # noqa: BLE001 - a spec the oracle cannot run is reported, not hidden
            print(f"{spec:<20} error: {type(exc).__name__}: {exc}")
            bad += 1
            continue
        took = time.perf_counter() - start
        for m in results:
            label = m.layer + (" (global)" if m.is_global else "")
            agree = "yes" if m.agree else "NO"
            bad += not m.agree
            print(
                f"{spec:<20} {label:<28} {m.axis:>3} {_span(m.static):>18} {_span(m.measured):>18}  {agree:<5} {took:5.1f}"
            )
        sys.stdout.flush()
    print(f"{bad} disagreement(s)")
    return 1 if bad else 0


def timing(spec: str = "resnet50", runs: int = 5) -> None:
    def run(args: list[str]) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "archscope", *args], cwd=ROOT, check=True, capture_output=True)
        return time.perf_counter() - start

    times: dict[str, list[float]] = {"summary": [], "rf": []}
    for _ in range(runs):
        for command in times:
            times[command].append(run([command, spec]))
    summary, rf = (statistics.median(times[c]) for c in ("summary", "rf"))
    print(
        f"`archscope summary {spec}` {summary * 1000:.0f} ms, `archscope rf {spec}` {rf * 1000:.0f} ms (median of {runs}): {rf / summary:.2f}×"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", nargs="*", help="bundled names (default: every spec in specs/)")
    parser.add_argument("--timing", action="store_true", help="also time `rf` against `summary` on resnet50")
    args = parser.parse_args()
    specs = args.specs or sorted(p.stem for p in (ROOT / "specs").glob("*.yaml"))
    code = check(specs)
    if args.timing:
        timing()
    return code


if __name__ == "__main__":
    sys.exit(main())
