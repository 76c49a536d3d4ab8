"""`archscope calibrate`: measure this machine's peak compute and memory bandwidth, and fit the
per-layer model of `predict` on synthetic layers.

Each kernel is timed with ``torch.utils.benchmark.Timer.blocked_autorange`` (blocks of calls
until ``min_run_time`` seconds; the median per call; on CUDA the timer synchronises):

* compute: an n×n matrix product (2n³ FLOPs) and a 3×3 convolution of 128 → 128 channels on
  56×56 (2 × MACs FLOPs); the peak is the faster of the two, in the chosen dtype;
* bandwidth: ``dst.copy_(src)`` (2 × bytes moved) and STREAM's triad ``a = b + s·c`` (3 ×),
  on tensors far larger than the CPU caches (128 MiB on CPU, 1 GiB on CUDA at float32); the
  bandwidth is the faster of the two;
* the model: the synthetic layers of ``calibration_layers.yaml`` (never a network that
  ``bench/predict.py`` judges) are timed per layer as `bench --per-layer` does, at a few
  batch sizes (1, 4, 16 on CPU; 1, 16, 128 on CUDA); the model's constants (the fraction of
  its roof each kind of kernel reaches at each batch size, one overhead per layer) are fitted
  to those times (:func:`fit_model`); the time between layers (the network's forward) is
  measured on the same net, per layer (the smallest of the batches' figures: it does not grow
  with the batch).
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from archscope.perf.calibration import DTYPE_BYTES, Calibration
from archscope.torch_backend.benchmark import BenchConfig, Progress, _cpu_name, resolve_device
from archscope.torch_backend.errors import BackendError, require_torch

LAYERS_SPEC = Path(__file__).with_name("calibration_layers.yaml")
DEFAULT_BATCHES = (1, 4, 16)  # where the synthetic layers are timed (predict interpolates between)
DEFAULT_BATCHES_CUDA = (1, 16, 128)


def _seconds(stmt: str, env: dict[str, Any], threads: int, min_run_time: float, clock: str) -> float:
    from torch.utils.benchmark import Timer

    if clock == "cpu":
        timer = Timer(stmt, globals=env, num_threads=threads, timer=time.process_time)
    else:
        timer = Timer(stmt, globals=env, num_threads=threads)
    timer.timeit(2)  # warm-up: allocation, kernel choice
    return timer.blocked_autorange(min_run_time=min_run_time).median


def measure_peaks(
    device: str, dtype: str, threads: int, min_run_time: float = 1.0, clock: str = "wall"
) -> dict[str, float]:
    """GEMM and convolution GFLOP/s, copy and triad GB/s."""
    torch = require_torch("`calibrate`")
    dt = getattr(torch, dtype)
    cuda = device == "cuda"
    size = DTYPE_BYTES[dtype]
    out: dict[str, float] = {}
    with torch.inference_mode():
        n = 4096 if cuda else 1024 if dtype == "float32" else 512  # CPU half precision is slow
        a = torch.randn(n, n, device=device, dtype=dt)
        b = torch.randn(n, n, device=device, dtype=dt)
        out["gemm_gflops"] = (
            2 * n**3 / _seconds("torch.mm(a, b)", {"torch": torch, "a": a, "b": b}, threads, min_run_time, clock) / 1e9
        )
        del a, b
        batch, c, hw = (32, 256, 56) if cuda else (1, 128, 56)
        conv = torch.nn.Conv2d(c, c, 3, padding=1, bias=False).to(device=device, dtype=dt).eval()
        x = torch.randn(batch, c, hw, hw, device=device, dtype=dt)
        macs = batch * c * c * 9 * hw * hw
        out["conv_gflops"] = 2 * macs / _seconds("conv(x)", {"conv": conv, "x": x}, threads, min_run_time, clock) / 1e9
        del conv, x
        elements = (1 << 28 if cuda else 1 << 25) * 4 // size  # 1 GiB / 128 MiB per tensor
        src = torch.randn(elements, device=device, dtype=dt)
        dst = torch.empty_like(src)
        nbytes = elements * size
        out["copy_gbs"] = (
            2 * nbytes / _seconds("dst.copy_(src)", {"dst": dst, "src": src}, threads, min_run_time, clock) / 1e9
        )
        other = torch.randn(elements, device=device, dtype=dt)
        env = {"torch": torch, "a": dst, "b": src, "c": other}
        out["triad_gbs"] = (
            3 * nbytes / _seconds("torch.add(b, c, alpha=3.0, out=a)", env, threads, min_run_time, clock) / 1e9
        )
        del src, dst, other
        if cuda:
            torch.cuda.empty_cache()
    return out


OVERHEAD_GRID_US = (0.0, *(0.5 * 1.25**i for i in range(36)))  # 0 … 1.5 ms


Sample = tuple[str, float, float, float]  # (key, roofline s, measured s, fixed s: first touch)


def fit_model(samples: list[Sample]) -> tuple[dict[str, float], float, float]:
    """(efficiency per key, overhead µs per layer, median |error|) that best predict ``samples``
    of (key, roofline seconds, measured seconds, fixed seconds), in squared log error. A key is
    ``kind:bound@batch``; the result also has ``kind@batch`` (all of the kind's layers at that
    batch, whichever side of the ridge), the fallback for a bound calibration had no layer of.

    For each overhead on a grid, each key's efficiency is Σ roof / Σ (measured − overhead − fixed)
    over its layers: the one that gets their summed time right, as `predict` sums layer times (a
    geometric mean per layer weighs a 0.1 ms layer as much as a 60 ms one, and the few small
    layers far from their roof dragged the large convolutions' figure from ~75% to 43%); the
    overhead with the least total squared log error wins."""
    keys = sorted({k for k, _, _, _ in samples})

    def efficiencies(o: float, key_of: Any) -> dict[str, float]:
        sums: dict[str, list[float]] = {}
        for k, r, t, f in samples:
            roof_and_time = sums.setdefault(key_of(k), [0.0, 0.0])
            roof_and_time[0] += r
            roof_and_time[1] += max(t - o - f, 0.05 * t)
        return {k: r / t for k, (r, t) in sums.items()}

    def trial(o_us: float) -> tuple[float, dict[str, float], float]:
        o = o_us * 1e-6
        eff = efficiencies(o, lambda k: k)
        return sum((math.log(r / eff[k] + o + f) - math.log(t)) ** 2 for k, r, t, f in samples), eff, o_us

    best = min((trial(o) for o in OVERHEAD_GRID_US), key=lambda b: b[0])
    # then a finer grid around the best point (±25% in 1% steps)
    best = min((trial(best[2] * (0.75 + 0.01 * i)) for i in range(51)), key=lambda b: b[0], default=best)
    _, eff, o_us = best
    errors = sorted(abs((r / eff[k] + o_us * 1e-6 + f) / t - 1) for k, r, t, f in samples)
    coarse = efficiencies(o_us * 1e-6, _kind_at_batch)
    return {**eff, **{k: v for k, v in coarse.items() if k not in keys}}, o_us, errors[len(errors) // 2]


def _kind_at_batch(key: str) -> str:
    """``gemm:compute@16`` → ``gemm@16``."""
    kind_bound, _, batch = key.partition("@")
    return f"{kind_bound.partition(':')[0]}@{batch}"


def measure_first_touch(device: str, dtype: str, threads: int, min_run_time: float, clock: str) -> dict[str, float]:
    """The cost of a fresh output too large for the CPU allocator to keep: an elementwise op into
    a new tensor against the same op into an existing one, just below and just above glibc's
    largest mmap threshold (32 MiB). When the larger one pays a step the smaller does not, the
    threshold is 32 MiB and the step's rate is the first-touch bandwidth; otherwise (another
    allocator, CUDA's caching one) 0: no such term."""
    if device != "cpu":
        return {"first_touch_gbs": 0.0, "fresh_threshold_bytes": 0}
    torch = require_torch("`calibrate`")
    dt = getattr(torch, dtype)
    size = DTYPE_BYTES[dtype]
    extra: dict[int, tuple[float, int]] = {}
    min_run_time = max(min_run_time, 0.25)  # ~10 calls each: at 0.02 s (2 calls) one page-fault storm decides
    with torch.inference_mode():
        for mib in (24, 48):
            src = torch.ones(mib * 2**20 // size, dtype=dt)
            dst = torch.empty_like(src)
            env = {"torch": torch, "src": src, "dst": dst}
            fresh = _seconds("torch.clamp_min(src, 0)", env, threads, min_run_time, clock)
            reused = _seconds("torch.clamp_min(src, 0, out=dst)", env, threads, min_run_time, clock)
            extra[mib] = (fresh - reused, mib * 2**20)
            del src, dst
    return first_touch_step(extra[24][0], extra[48][0], extra[48][1])


def first_touch_step(small_extra_s: float, large_extra_s: float, large_bytes: int) -> dict[str, float]:
    """The rule of :func:`measure_first_touch`, from its measurements: the extra seconds of a fresh
    output over a reused one below the threshold (24 MiB) and above it (``large_bytes``, 48 MiB).
    Twice the bytes cost about twice the extra time where there is no step; a step is an extra
    time above it at least 6× the one below it (3× the bytes' share)."""
    if large_extra_s <= 0 or large_extra_s < 6 * max(small_extra_s, 0.0):
        return {"first_touch_gbs": 0.0, "fresh_threshold_bytes": 0}
    return {"first_touch_gbs": large_bytes / large_extra_s / 1e9, "fresh_threshold_bytes": GLIBC_MMAP_THRESHOLD_MAX}


GLIBC_MMAP_THRESHOLD_MAX = 32 * 2**20  # DEFAULT_MMAP_THRESHOLD_MAX on 64-bit: 4 MiB × sizeof(long)


def calibrate(
    device: str = "cpu",
    dtype: str = "float32",
    threads: int | None = None,
    *,
    min_run_time: float = 1.0,
    layer_time: float = 3.0,
    batches: tuple[int, ...] | None = None,
    clock: str = "wall",
    progress: Progress | None = None,
) -> Calibration:
    """Measure ``device`` in ``dtype`` (see the module docstring). Stores nothing."""
    torch = require_torch("`calibrate`")
    if dtype not in DTYPE_BYTES:
        raise BackendError(f"unknown dtype `{dtype}`: use " + ", ".join(DTYPE_BYTES))
    device = resolve_device(device)
    if clock not in ("wall", "cpu") or (clock == "cpu" and device != "cpu"):
        raise BackendError("the CPU-time clock measures the CPU only: use `--device cpu`, or the wall clock")
    previous = torch.get_num_threads()
    threads = threads or previous
    torch.set_num_threads(threads)
    try:
        if progress:
            progress("compute and bandwidth", 0.0)
        peaks: dict[str, Any] = measure_peaks(device, dtype, threads, min_run_time, clock)
        peaks.update(measure_first_touch(device, dtype, threads, min_run_time, clock))
        cal = Calibration(
            device=device,
            dtype=dtype,
            device_name=torch.cuda.get_device_name(0) if device == "cuda" else _cpu_name(),
            torch=torch.__version__,
            threads=threads,
            measured_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            clock=clock,
            **peaks,
        )
        if progress:
            progress("synthetic layers", 0.5)
        return _fit(cal, layer_time, batches or (DEFAULT_BATCHES_CUDA if device == "cuda" else DEFAULT_BATCHES))
    finally:
        torch.set_num_threads(previous)


def _fit(cal: Calibration, layer_time: float, batches: tuple[int, ...]) -> Calibration:
    from archscope.perf.roofline import first_touch, layer_work, roof
    from archscope.torch_backend.layer_timing import time_layers
    from archscope.torch_backend.lowering import checked_analysis

    graph = checked_analysis(LAYERS_SPEC).graph
    assert graph is not None
    samples: list[Sample] = []
    between: list[float] = []
    for batch in batches:
        quick = layer_time < 0.5  # a smoke run (the tests): fewer calls
        config = BenchConfig(
            device=cal.device,
            dtype=cal.dtype,
            threads=cal.threads,
            warmup=1 if quick else 3,
            min_time=layer_time,
            min_runs=3 if quick else 5,
        )
        timing = time_layers(LAYERS_SPEC, config, batch=batch, clock=cal.clock)
        work = {w.name: w for w in layer_work(graph, batch, cal.dtype)}
        for t in timing.layers:
            w = work[t.name]
            if (w.flops or w.bytes) and t.median_s > 0:
                r = roof(w, cal)
                samples.append((f"{w.kernel}:{r.bound}@{batch}", r.attainable_s, t.median_s, first_touch(w, cal)))
        between.append(max(timing.overhead_s, 0.0) / len(timing.layers))
    efficiency, overhead, error = fit_model(samples)
    return replace(
        cal,
        efficiency=efficiency,
        layer_overhead_us=overhead,
        framework_overhead_us=min(between) * 1e6,
        fit_median_error=error,
        fit_layers=len(samples),
    )
