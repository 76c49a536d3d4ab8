"""`--convention X` against tool X's own headline number, on every bundled spec at its own input size.

    python bench/conventions_check.py [--specs resnet50 vgg16 ...] [--tools fvcore thop ...]

For each spec (default: all of specs/) the network is built once (archscope.torch_backend.peers:
eval mode, batch 1, random inputs) and every installed tool counts it as its README says
(fvcore FlopCountAnalysis(...).total(), ptflops get_model_complexity_info(..., as_strings=False)
with the pytorch backend, thop profile(...), torchinfo summary(...).total_mult_adds, PyTorch's
FlopCounterMode get_total_flops()); archscope's total under that convention is summed from the op
rules, statically. Prints one line per spec and tool: archscope, the tool, equal, seconds; then
the count of disagreements. A tool that fails on a network (fvcore cannot trace max unpooling) is
reported as such, with what the ops declare about it. Exit 1 on any disagreement.
The test suite checks the same at a small input size (tests/passes/test_torch_conventions.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import archscope  # noqa: E402
from archscope.ops import REGISTRY  # noqa: E402
from archscope.passes.conventions import count  # noqa: E402
from archscope.torch_backend.peers import TOOLS, built, count_built, installed  # noqa: E402


def check(specs: list[str], tools: list[str]) -> int:
    missing = [t for t in tools if not installed(t)]
    if missing:
        print(f"not installed (skipped): {', '.join(missing)}")
    tools = [t for t in tools if t not in missing]
    print(f"{'spec':<30} {'tool':<13} {'archscope':>16} {'tool says':>16}  equal     s")
    bad = equal = failed = 0
    for spec in specs:
        analysis = archscope.analyze(spec)
        net, inputs = built(analysis)
        for tool in tools:
            ours = count(analysis.graph, tool).total
            start = time.perf_counter()
            try:
                theirs: int | str = count_built(net, inputs, tool)
            except Exception as exc:  # noqa: BLE001 - a tool failing on a network is a finding, reported
                why = {REGISTRY[n.op].reference.untraceable for n in analysis.graph.nodes} - {""}
                theirs = f"fails ({type(exc).__name__})"
                verdict = "n/a: " + (f"declared: {', '.join(sorted(why))}" if why else str(exc).splitlines()[0][:80])
                failed += 1
            else:
                verdict = "yes" if ours == theirs else "NO"
                bad += ours != theirs
                equal += ours == theirs
            took = time.perf_counter() - start
            shown = f"{theirs:>16,}" if isinstance(theirs, int) else f"{theirs:>16}"
            print(f"{spec:<30} {tool:<13} {ours:>16,} {shown}  {verdict:<5} {took:5.1f}")
            sys.stdout.flush()
        del net, inputs
    print(f"{equal} equal, {bad} different, {failed} where the tool has no number")
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", nargs="*", default=sorted(p.stem for p in (ROOT / "specs").glob("*.yaml")))
    parser.add_argument("--tools", nargs="*", default=list(TOOLS), choices=TOOLS)
    args = parser.parse_args()
    return check(args.specs, args.tools)


if __name__ == "__main__":
    raise SystemExit(main())
