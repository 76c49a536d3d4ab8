"""Bench: inference latency and throughput of built networks, measured with care.

Method, per batch size:
- check the memory estimate (:mod:`.memory`) of every configuration before allocating;
- build, ``.eval()``, move to the device and dtype (and ``channels_last``, ``torch.compile``);
- warm up (``warmup`` calls, which also compiles and picks kernels), then choose a block size:
  the number of calls that takes ≥ ``BLOCK_S`` (so the timer's resolution does not matter);
- time blocks with ``torch.utils.benchmark.Timer.timeit`` (gc off; on CUDA the timer
  synchronises before each clock read) under ``torch.inference_mode``, until at least
  ``min_time`` seconds and ``min_runs`` blocks are measured;
- with several networks (``compare --bench``), blocks are interleaved round-robin, starting
  one network later each round, so machine drift affects every network alike.
Reported: median, p25/p75 (IQR) and p10/p90 of the per-call time of the blocks, images/s =
batch / median, and achieved GFLOP/s = 2 × static MACs × batch / median.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from archscope import __version__
from archscope.api import Analysis
from archscope.passes.memory import DTYPES, Memory, MemoryOptions, memory
from archscope.torch_backend.bench_guards import check_call_time, interruptible
from archscope.torch_backend.errors import (
    BackendError,
    DeviceUnavailable,
    MemoryEstimateTooLarge,
    require_torch,
)
from archscope.torch_backend.lowering import checked_analysis, lower_graph, report_of
from archscope.torch_backend.memory import available_host_memory

BLOCK_S = 0.02  # a timed block lasts at least this long
MAX_CALL_S = 10.0  # the default limit of one forward call's estimated time (see check_call_time)
Progress = Callable[[str, float], None]  # (what is running, fraction done)


@dataclass(frozen=True)
class BenchConfig:
    device: str = "auto"  # cpu | cuda | auto (cuda when available)
    batches: tuple[int, ...] = (1,)
    dtype: str = "float32"  # float32 | float16 | bfloat16
    channels_last: bool = False
    compile: bool = False
    threads: int | None = None  # CPU threads; None keeps torch's default
    warmup: int = 5  # calls before timing (more are made while choosing the block size)
    # seconds of timed blocks per network and batch size. The project's 2-core VM drifts by ±15%
    # over seconds; two consecutive resnet50 runs differed by up to 20% at 2 s, 12% at 5 s, 1.9% at 10 s
    min_time: float = 10.0
    min_runs: int = 10  # timed blocks per network and batch size, at least
    # refuse a network whose one forward call is estimated (static MACs ÷ a measured rate) above
    # this many seconds: warm-up and timing make many calls. None: no limit (`bench --force`)
    max_call_s: float | None = MAX_CALL_S


@dataclass(frozen=True)
class Timing:
    """One network at one batch size. Times are seconds per call (one batch)."""

    name: str
    batch: int
    median: float
    p25: float
    p75: float
    p10: float
    p90: float
    runs: int  # timed blocks
    calls_per_run: int
    macs: int  # static, per image
    memory_estimate: int  # bytes

    @property
    def iqr(self) -> float:
        return self.p75 - self.p25

    @property
    def spread(self) -> float:
        """IQR / median: above ~0.1 the machine was busy or its speed drifted during the run."""
        return self.iqr / self.median

    @property
    def images_per_s(self) -> float:
        return self.batch / self.median

    @property
    def gflops(self) -> float:
        return 2 * self.macs * self.batch / self.median / 1e9

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(
            latency_ms=self.median * 1e3,
            iqr_ms=self.iqr * 1e3,
            spread=self.spread,
            images_per_s=self.images_per_s,
            achieved_gflops=self.gflops,
        )
        return d


@dataclass(frozen=True)
class BenchResult:
    source: str
    name: str
    input: tuple[int, ...]
    params: int
    macs: int
    timings: tuple[Timing, ...]
    environment: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "name": self.name,
            "input": list(self.input),
            "params": self.params,
            "macs": self.macs,
            "environment": self.environment,
            "timings": [t.to_dict() for t in self.timings],
        }


def resolve_device(name: str) -> str:
    """``auto`` → ``cuda`` if a GPU is usable, else ``cpu``; an unusable device is an error."""
    torch = require_torch("`bench`")
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        build = torch.version.cuda and f"CUDA {torch.version.cuda} build" or "a CPU-only build"
        raise DeviceUnavailable(
            f"`--device cuda`: no CUDA GPU is available (torch {torch.__version__} is "
            f"{build}); use `--device cpu` or `--device auto`"
        )
    if name not in ("cpu", "cuda"):
        raise DeviceUnavailable(f"unknown device `{name}`: use cpu, cuda or auto")
    return name


def environment(config: BenchConfig, device: str) -> dict[str, Any]:
    torch = require_torch()
    name = torch.cuda.get_device_name(0) if device == "cuda" else _cpu_name()
    return {
        "archscope": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": device,
        "device_name": name,
        "threads": config.threads or torch.get_num_threads(),
        "dtype": config.dtype,
        "layout": "channels_last" if config.channels_last else "contiguous",
        "compile": config.compile,
        "batches": list(config.batches),
        "warmup_calls": config.warmup,
        "min_time_s": config.min_time,
        "min_runs": config.min_runs,
        "timer": "torch.utils.benchmark.Timer.timeit, inference_mode"
        + (", cuda synchronise" if device == "cuda" else ""),
    }


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _check_memory(analyses: list[Any], config: BenchConfig, device: str) -> dict[tuple[int, int], Memory]:
    """The inference memory of every configuration, from the one memory model (``archscope
    memory``); refuses a batch whose peak exceeds what the device has free."""
    torch = require_torch()
    if device == "cuda":
        free = torch.cuda.mem_get_info()[0]
        where = f"free on {torch.cuda.get_device_name(0)}"
    else:
        free = available_host_memory()
        where = "available RAM"
    out = {}
    for i, a in enumerate(analyses):
        for batch in config.batches:
            est = memory(a.graph, MemoryOptions(batch=batch, dtype=config.dtype))
            out[(i, batch)] = est
            if free is not None and est.peak_bytes > free:
                from archscope.render.numbers import size_bytes

                raise MemoryEstimateTooLarge(
                    f"`{a.report.name}` at batch {batch} in {config.dtype} needs {size_bytes(est.peak_bytes)} at its "
                    f"peak (weights {size_bytes(est.weights_bytes)} + activations {size_bytes(est.activations_bytes)}; "
                    f"`archscope memory {a.report.name} --batch {batch}` shows where), more than the "
                    f"{size_bytes(free)} {where}; use a smaller batch"
                )
    return out


def _prepare(analysis: Any, config: BenchConfig, device: str, batch: int) -> tuple[Any, Any]:
    torch = require_torch()
    dtype = getattr(torch, config.dtype)
    with torch.device(device):
        model = lower_graph(analysis.graph)
    model = model.eval().to(dtype=dtype)
    xs = [torch.randn(batch, *shape, device=device, dtype=dtype) for _, shape in analysis.report.inputs]
    if config.channels_last:
        for (name, shape), x in zip(analysis.report.inputs, xs, strict=True):
            if x.dim() != 4:
                raise BackendError(
                    f"`--channels-last` needs a (C, H, W) input; `{analysis.report.name}` takes "
                    f"{tuple(shape)}" + (f" as `{name}`" if len(xs) > 1 else "")
                )
        model = model.to(memory_format=torch.channels_last)
        xs = [x.contiguous(memory_format=torch.channels_last) for x in xs]
    if config.compile:
        model = torch.compile(model, dynamic=False)
    return model, xs[0] if len(xs) == 1 else tuple(xs)  # one random tensor per input


@dataclass(frozen=True)
class Samples:
    """The timed blocks of one module: seconds per call, in the order they were measured."""

    label: str
    per_call: tuple[float, ...]
    calls_per_block: int

    def quantile(self, q: float) -> float:
        values = sorted(self.per_call)
        pos = q * (len(values) - 1)
        lo = int(pos)
        hi = min(lo + 1, len(values) - 1)
        return values[lo] + (values[hi] - values[lo]) * (pos - lo)

    @property
    def median(self) -> float:
        return self.quantile(0.5)


class _Case:
    """One module and its input, being timed."""

    def __init__(self, label: str, model: Any, x: Any, threads: int) -> None:
        from torch.utils.benchmark import Timer

        self.label = label
        stmt = "model(*x)" if isinstance(x, tuple) else "model(x)"  # a tuple: one tensor per input
        self.timer = Timer(stmt, globals={"model": model, "x": x}, num_threads=threads)
        self.number = 1
        self.blocks: list[float] = []  # seconds per call, one entry per block

    def warm_up(self, calls: int) -> None:
        self.timer.timeit(calls)
        while True:  # grow the block until it lasts BLOCK_S (also more warm-up)
            t = self.timer.timeit(self.number).median * self.number
            if t >= BLOCK_S or self.number >= 1 << 20:
                return
            self.number = max(self.number * 2, int(self.number * BLOCK_S / max(t, 1e-9)))

    def run_block(self) -> None:
        self.blocks.append(self.timer.timeit(self.number).median)

    @property
    def timed(self) -> float:
        return sum(self.blocks) * self.number


def _run_interleaved(cases: list[Any], config: BenchConfig, progress: Progress | None, label: str) -> None:
    torch = require_torch()
    started = time.perf_counter()
    with torch.inference_mode():
        for case in cases:
            if progress:
                progress(f"{label}: warming up {case.label}", 0.0)
            case.warm_up(config.warmup)
        rounds = 0
        while any(c.timed < config.min_time or len(c.blocks) < config.min_runs for c in cases):
            k = rounds % len(cases)
            for case in cases[k:] + cases[:k]:  # start one module later each round
                case.run_block()
            rounds += 1
            if progress:
                done = min(
                    min(c.timed / config.min_time if config.min_time else 1.0, len(c.blocks) / config.min_runs)
                    for c in cases
                )
                progress(f"{label}: {time.perf_counter() - started:.0f} s", min(done, 1.0))


def time_interleaved(
    entries: list[tuple[str, Any, Any]],
    config: BenchConfig | None = None,
    *,
    progress: Progress | None = None,
    label: str = "timing",
) -> list[Samples]:
    """Time ``(label, module, input)`` entries against each other, blocks interleaved
    round-robin (for modules that are not specs: the hand-written anchors in ``bench/``)."""
    torch = require_torch("`bench`")
    config = config or BenchConfig()
    threads = config.threads or torch.get_num_threads()
    cases = [_Case(name, model, x, threads) for name, model, x in entries]
    _run_interleaved(cases, config, progress, label)
    return [Samples(c.label, tuple(c.blocks), c.number) for c in cases]


def bench_many(
    sources: Sequence[str | Path | Analysis], config: BenchConfig | None = None, *, progress: Progress | None = None
) -> list[BenchResult]:
    """Time several networks, interleaved (see the module docstring). One result per source."""
    torch = require_torch("`bench`")
    config = config or BenchConfig()
    if config.dtype not in DTYPES:
        raise BackendError(f"unknown dtype `{config.dtype}`: use " + ", ".join(DTYPES))
    device = resolve_device(config.device)
    analyses = [checked_analysis(s) for s in sources]
    estimates = _check_memory(analyses, config, device)
    check_call_time(analyses, config, device)
    env = environment(config, device)
    timings: list[list[Timing]] = [[] for _ in analyses]
    for batch in config.batches:
        try:
            entries = [(report_of(a).name, *_prepare(a, config, device, batch)) for a in analyses]
            samples = interruptible(time_interleaved, entries, config, progress=progress, label=f"batch {batch}")
        except (RuntimeError, NotImplementedError) as exc:
            if isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc):
                raise MemoryEstimateTooLarge(f"batch {batch}: the device ran out of memory ({exc})") from None
            raise BackendError(
                f"batch {batch}, {config.dtype} on {device}: torch failed: {str(exc).splitlines()[0]}"
            ) from None
        for i, (a, sm) in enumerate(zip(analyses, samples, strict=True)):
            timings[i].append(
                Timing(
                    report_of(a).name,
                    batch,
                    sm.median,
                    sm.quantile(0.25),
                    sm.quantile(0.75),
                    sm.quantile(0.1),
                    sm.quantile(0.9),
                    len(sm.per_call),
                    sm.calls_per_block,
                    report_of(a).totals.macs,
                    estimates[(i, batch)].peak_bytes,
                )
            )
        del entries
        if device == "cuda":
            torch.cuda.empty_cache()
    reports = [report_of(a) for a in analyses]
    return [
        BenchResult(a.source, r.name, tuple(r.input), r.totals.params, r.totals.macs, tuple(t), env)
        for a, r, t in zip(analyses, reports, timings, strict=True)
    ]


def bench(
    source: str | Path | Analysis, config: BenchConfig | None = None, *, progress: Progress | None = None
) -> BenchResult:
    """Time one network at each batch size of ``config`` (see the module docstring)."""
    return bench_many([source], config, progress=progress)[0]
