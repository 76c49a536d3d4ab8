"""archscope's static summary against the tools people use to summarise a network.

    pip install torchinfo ptflops thop      # for this benchmark only, not archscope's dependencies
    python bench/anchors_static.py [--runs 5] [--networks resnet50 mobilenet_v2 vgg16]

Each tool summarises the same network in a fresh process, as a user would run it: archscope
with `archscope summary NAME` (static: no torch), the others by importing torch, building the
network (bench/handwritten.py, torchvision's code, since there is no CPU build of
torchvision) and calling `torchinfo.summary`, fvcore's `flop_count_table`, ptflops'
`get_model_complexity_info` or thop's `profile`. Runs are interleaved round-robin; the
table gives the median whole-process wall time and the peak RSS (from wait4), with ratios to
archscope, and `python -c "import torch"` as the floor under every torch-based tool.
Goal: archscope ≥ 15× faster than the fastest of them.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

PRELUDE = (
    f"import sys, warnings; warnings.simplefilter('ignore'); sys.path.insert(0, {str(BENCH)!r}); "
    "import torch, handwritten; name = sys.argv[1]; model = handwritten.make(name); "
    "x = torch.randn(1, 3, 224, 224)\n"
)
TOOLS = {
    "torchinfo": (
        "torchinfo",
        "import torchinfo; torchinfo.summary(model, input_size=(1, 3, 224, 224), depth=10, verbose=1)",
    ),
    "fvcore": (
        "fvcore",
        "from fvcore.nn import FlopCountAnalysis, flop_count_table; "
        "print(flop_count_table(FlopCountAnalysis(model, x), max_depth=10))",
    ),
    "ptflops": (
        "ptflops",
        "from ptflops import get_model_complexity_info; "
        "get_model_complexity_info(model, (3, 224, 224), as_strings=True, "
        "print_per_layer_stat=True)",
    ),
    "thop": ("thop", "from thop import profile; print(*profile(model, inputs=(x,), verbose=False))"),
}


def command(tool: str, network: str) -> list[str]:
    if tool == "archscope":
        return [sys.executable, "-m", "archscope", "summary", network]
    if tool == "import torch":  # the floor under every torch-based tool
        return [sys.executable, "-c", "import torch"]
    return [sys.executable, "-c", PRELUDE + TOOLS[tool][1], network]


def run(cmd: list[str]) -> tuple[float, int]:
    """Wall time (s) and peak RSS (bytes) of one fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd[:4])}… failed:\n{err[-2000:]}")
    return wall, usage.ru_maxrss * 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--networks", nargs="+", default=["resnet50", "mobilenet_v2", "vgg16"])
    args = ap.parse_args()
    tools = ["archscope", "import torch"] + [t for t, (module, _) in TOOLS.items() if importlib.util.find_spec(module)]
    missing = sorted(set(TOOLS) - set(tools))
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}; "
        f"median of {args.runs} fresh processes each, interleaved"
        + (f"; not installed: {', '.join(missing)}" if missing else "")
    )
    print(f"{'network':<14}{'tool':<13}{'wall s':>8}{'× archscope':>13}{'peak RSS MiB':>14}{'× archscope':>13}")
    for network in args.networks:
        samples: dict[str, list[tuple[float, int]]] = {t: [] for t in tools}
        for i in range(args.runs):
            order = tools[i % len(tools) :] + tools[: i % len(tools)]
            for tool in order:
                samples[tool].append(run(command(tool, network)))
        wall = {t: statistics.median(w for w, _ in s) for t, s in samples.items()}
        rss = {t: statistics.median(r for _, r in s) for t, s in samples.items()}
        for tool in tools:
            print(
                f"{network:<14}{tool:<13}{wall[tool]:>8.3f}{wall[tool] / wall['archscope']:>12.1f}×"
                f"{rss[tool] / 2**20:>14.1f}{rss[tool] / rss['archscope']:>12.1f}×"
            )
        others = [t for t in tools if t not in ("archscope", "import torch")]
        if others:
            fastest = min(others, key=wall.__getitem__)
            ratio = wall[fastest] / wall["archscope"]
            print(
                f"{network:<14}fastest anchor ({fastest}) / archscope = {ratio:.1f}× "
                f"({'meets' if ratio >= 15 else 'misses'} the ≥ 15× goal)"
            )


if __name__ == "__main__":
    main()
