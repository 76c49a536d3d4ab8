"""Built from a spec vs written by hand: is there any overhead in `archscope.build`?

    python bench/built_vs_handwritten.py [--min-time 20] [--batch 1 8] [--threads N]

For resnet50 and mobilenet_v2: `archscope.build(name)` and the same network written by hand
in plain PyTorch (bench/handwritten.py, torchvision's code), with the same weights (copied in
order; the outputs are checked equal first). Both are timed in one process with archscope's
bench method (torch.utils.benchmark, inference_mode, warm-up), their blocks interleaved
round-robin so that drift hits both alike. Prints the latency ratio built / hand-written, as
the ratio of medians and as the median of the per-round ratios. Goal: ≤ 1.03.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import handwritten

import archscope
from archscope.torch_backend.benchmark import BenchConfig, time_interleaved


def same_network(name: str) -> tuple[torch.nn.Module, torch.nn.Module]:
    hand = handwritten.make(name)
    built = archscope.build(name).eval()
    src, dst = list(hand.state_dict().values()), list(built.state_dict().values())
    assert [t.shape for t in src] == [t.shape for t in dst], f"{name}: the two networks differ"
    with torch.no_grad():
        for s, d in zip(src, dst, strict=True):
            d.copy_(s)
        x = torch.randn(2, 3, 224, 224)
        torch.testing.assert_close(built(x), hand(x), rtol=1e-4, atol=1e-4)
    return built, hand


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--min-time", type=float, default=20.0, help="seconds of timed blocks per network")
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--networks", nargs="+", default=["resnet50", "mobilenet_v2"])
    args = ap.parse_args()
    config = BenchConfig(device="cpu", min_time=args.min_time, min_runs=30, threads=args.threads)
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"{args.threads or torch.get_num_threads()} threads, float32, eager, interleaved blocks"
    )
    print(f"{'network':<14}{'batch':>6}{'built ms':>11}{'hand ms':>10}{'ratio':>8}{'per-round':>11}  (goal ≤ 1.03)")
    worst = 0.0
    for name in args.networks:
        built, hand = same_network(name)
        for batch in args.batch:
            x = torch.randn(batch, 3, 224, 224)
            b, h = time_interleaved([("built", built, x), ("hand", hand, x)], config)
            rounds = min(len(b.per_call), len(h.per_call))
            per_round = statistics.median(b.per_call[i] / h.per_call[i] for i in range(rounds))
            ratio = b.median / h.median
            worst = max(worst, ratio)
            print(f"{name:<14}{batch:>6}{b.median * 1e3:>11.2f}{h.median * 1e3:>10.2f}{ratio:>8.3f}{per_round:>11.3f}")
    print(f"worst ratio {worst:.3f}: {'meets' if worst <= 1.03 else 'misses'} the goal")


if __name__ == "__main__":
    main()
