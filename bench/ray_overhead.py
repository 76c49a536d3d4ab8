"""Ray's overhead per variant: `run_jobs(..., "ray")` on a local Ray instance against `"local"`.

    python bench/ray_overhead.py [--variants 8] [--spec lenet5] [--min-time 0.2] [--rounds 2]

N variants of a tiny spec (``num_classes`` = 2, 3, …, so each is a distinct network) are timed
through both executors with the same options (every CPU's thread, so Ray runs one task at a time,
as `local` does). The job itself takes the same time either way; what differs is Ray's share:
submitting, scheduling, shipping the job and its outcome, counting the attempt in the GCS. So

    overhead per variant = (wall time through ray − wall time through local) / N

measured once Ray and its worker are warm; and, as its floor, the wall time per variant of jobs
that do nothing (``work=empty``), which is Ray's round trip alone (the worker has imported torch). Ray's start-up
(`ray.init`), the first task (a fresh worker importing torch and archscope) and `ray.shutdown`
are one-off costs, printed apart. Rounds alternate local and ray; the table shows each round.
"""

from __future__ import annotations

import argparse
import logging
import os
import time

from archscope.overrides import Overrides
from archscope.torch_backend.executors import BenchJob, BenchOutcome, run_jobs


def variants(spec: str, n: int, min_time: float, key0: int = 0) -> list[BenchJob]:
    threads = os.cpu_count() or 1
    return [
        BenchJob(key0 + i, spec, None, Overrides(params={"num_classes": 2 + i}), device="cpu", threads=threads,
                 min_time=min_time)
        for i in range(n)
    ]  # fmt: skip


def empty(job: BenchJob) -> BenchOutcome:
    """A job that does nothing: its wall time through Ray is Ray's own round trip."""
    return BenchOutcome(job.key, 0.0, None, {})


def wall(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", type=int, default=8)
    ap.add_argument("--spec", default="lenet5")
    ap.add_argument("--min-time", type=float, default=0.2)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    import ray

    jobs = variants(args.spec, args.variants, args.min_time)
    run_jobs(variants(args.spec, 1, args.min_time, 1000), "local")  # torch imported and warm here
    init = wall(lambda: ray.init(num_cpus=os.cpu_count(), include_dashboard=False, logging_level=logging.ERROR,
                                 log_to_driver=False))  # fmt: skip
    first = wall(lambda: run_jobs(variants(args.spec, 1, args.min_time, 1000), "ray"))
    local_one = wall(lambda: run_jobs(variants(args.spec, 1, args.min_time, 1000), "local"))
    print(f"{args.variants} variants of {args.spec}, min_time {args.min_time:g} s, {os.cpu_count()} CPUs, ray "
          f"{ray.__version__}")  # fmt: skip
    print(f"{'round':>5}{'local s':>10}{'ray s':>10}{'local s/var':>13}{'ray s/var':>11}{'overhead ms/var':>17}")
    overheads = []
    for r in range(1, args.rounds + 1):
        t_local = wall(lambda: run_jobs(jobs, "local"))
        t_ray = wall(lambda: run_jobs(jobs, "ray"))
        n = args.variants
        overheads.append((t_ray - t_local) / n)
        print(f"{r:>5}{t_local:>10.2f}{t_ray:>10.2f}{t_local / n:>13.3f}{t_ray / n:>11.3f}"
              f"{overheads[-1] * 1e3:>17.0f}")  # fmt: skip
    t_empty = min(wall(lambda: run_jobs(jobs, "ray", work=empty)) for _ in range(3))
    shutdown = wall(ray.shutdown)
    mean = sum(overheads) / len(overheads)
    print(f"overhead per variant (mean of rounds): {mean * 1e3:.0f} ms; an empty job through ray (best of 3): "
          f"{t_empty / args.variants * 1e3:.1f} ms a variant")  # fmt: skip
    print(f"one-off: ray.init {init:.2f} s; first task {first:.2f} s (a local job: {local_one:.2f} s, so a fresh "
          f"worker costs {first - local_one:.2f} s); ray.shutdown {shutdown:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
