"""`bench --per-layer`: the measured time of every layer of a built network.

Method, for one batch size:
- build and prepare the network as `bench` does (:func:`.benchmark._prepare`), warm up;
- then alternate two kinds of call, so that machine drift affects both alike, until at least
  ``min_time`` seconds and ``min_runs`` calls of each kind are measured:
  a *plain* call (no hooks) timed as a whole: the network's latency;
  a *hooked* call: a forward pre-hook and a forward hook on every layer's module read a clock
  just before and just after the layer runs. On CPU the clock is ``time.perf_counter`` (CPU
  kernels return when done); on CUDA each hook records a ``torch.cuda.Event``, and the elapsed
  times are read after ``torch.cuda.synchronize()`` at the end of the call;
- report the median of the plain calls, and each layer's mean over the hooked calls whose total
  lies in the middle half (:func:`central_mean` says why not each layer's own median).
The hooks are registered for the hooked calls only (a module with hooks takes PyTorch's slower
call path). The per-layer medians do not add up to the whole network's median exactly: the
rest is the framework's own work between layers (the generated ``forward``, module calls,
freeing tensors), reported as ``overhead``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from archscope.torch_backend.benchmark import (
    BenchConfig,
    Progress,
    _check_memory,
    _prepare,
    environment,
    resolve_device,
)
from archscope.torch_backend.errors import BackendError, MemoryEstimateTooLarge, require_torch
from archscope.torch_backend.lowering import checked_analysis, graph_of, module_names, report_of


@dataclass(frozen=True)
class LayerTime:
    name: str  # the spec's layer name
    op: str
    median_s: float


@dataclass(frozen=True)
class LayerTiming:
    """One network at one batch size: the whole call's median and every layer's."""

    name: str
    source: str
    batch: int
    median_s: float  # a plain call (no hooks)
    runs: int  # calls of each kind
    layers: tuple[LayerTime, ...]
    environment: dict[str, Any] = field(default_factory=dict)

    @property
    def layers_s(self) -> float:
        return sum(t.median_s for t in self.layers)

    @property
    def overhead_s(self) -> float:
        """The whole call's median less the layers' medians: the framework between layers."""
        return self.median_s - self.layers_s


class _Clock:
    """Reads the time around every layer of one hooked call."""

    def __init__(self, torch: Any, cuda: bool, read: Callable[[], float] = time.perf_counter) -> None:
        self.torch = torch
        self.cuda = cuda
        self.read = read
        self.marks: dict[str, list[Any]] = {}

    def start(self, name: str) -> None:
        self.marks[name] = [self._now()]

    def stop(self, name: str) -> None:
        self.marks[name].append(self._now())

    def _now(self) -> Any:
        if self.cuda:
            event = self.torch.cuda.Event(enable_timing=True)
            event.record()
            return event
        return self.read()

    def durations(self) -> dict[str, float]:
        """Seconds per layer of the call just made (synchronises the GPU first)."""
        if self.cuda:
            self.torch.cuda.synchronize()
            out = {k: a.elapsed_time(b) / 1e3 for k, (a, b) in self.marks.items()}
        else:
            out = {k: b - a for k, (a, b) in self.marks.items()}
        self.marks = {}
        return out


def _timed_call(torch: Any, cuda: bool, call: Callable[[], Any], read: Callable[[], float]) -> float:
    """Seconds of one call; on CUDA between two events, after a synchronisation."""
    if cuda:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        call()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / 1e3
    t0 = read()
    call()
    return read() - t0


def _median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def time_model_layers(
    model: Any,
    x: Any,
    layers: dict[str, str],
    device: str,
    config: BenchConfig,
    progress: Progress | None = None,
    clock: str = "wall",
) -> tuple[float, int, dict[str, float]]:
    """Time ``model`` plain and per layer (``layers``: layer name → module qualified name).
    Returns (median seconds of a plain call, calls of each kind, seconds per layer).
    ``clock``: ``wall`` (elapsed time) or ``cpu`` (the process's CPU time, on CPU only: on a busy
    machine elapsed time measures the machine's share of the process)."""
    torch = require_torch("`bench --per-layer`")
    cuda = device == "cuda"
    read = time.process_time if clock == "cpu" else time.perf_counter
    clock_ = _Clock(torch, cuda, read)
    modules = dict(model.named_modules())
    call = (lambda: model(*x)) if isinstance(x, tuple) else (lambda: model(x))

    def hooked() -> dict[str, float]:
        handles = []
        for name, qualname in layers.items():
            module = modules[qualname]
            handles.append(module.register_forward_pre_hook(lambda _m, _a, name=name: clock_.start(name)))
            handles.append(module.register_forward_hook(lambda _m, _a, _o, name=name: clock_.stop(name)))
        try:
            call()
            return clock_.durations()
        finally:
            for h in handles:
                h.remove()

    threads = config.threads or torch.get_num_threads()
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            for _ in range(config.warmup):
                call()
            hooked()
            if cuda:
                torch.cuda.synchronize()
            plain: list[float] = []
            calls: list[dict[str, float]] = []
            started = time.perf_counter()
            while time.perf_counter() - started < config.min_time or len(plain) < config.min_runs:
                plain.append(_timed_call(torch, cuda, call, read))
                calls.append(hooked())
                if progress:
                    done = min(
                        (time.perf_counter() - started) / max(config.min_time, 1e-9), len(plain) / config.min_runs
                    )
                    progress(f"per layer: {len(plain)} calls", min(done, 1.0))
    finally:
        torch.set_num_threads(previous)
    return _median(plain), len(plain), central_mean(calls)


def central_mean(calls: list[dict[str, float]]) -> dict[str, float]:
    """Every layer's mean over the hooked calls whose total lies in the middle half (p25 to p75).

    Not each layer's own median: on a busy machine every call is interrupted somewhere, in a
    different layer each time, so each layer's median leaves the interruptions out and their sum
    falls well short of a typical call. Averaging over whole typical calls keeps the layers' sum
    equal to a typical hooked call's total."""
    totals = sorted(sum(c.values()) for c in calls)
    n = len(totals)
    lo, hi = totals[(n - 1) // 4], totals[(3 * (n - 1) + 3) // 4]
    middle = [c for c in calls if lo <= sum(c.values()) <= hi] or calls
    return {name: sum(c.get(name, 0.0) for c in middle) / len(middle) for name in middle[0]}


def time_layers(
    source: Any,
    config: BenchConfig | None = None,
    *,
    progress: Progress | None = None,
    batch: int | None = None,
    clock: str = "wall",
) -> LayerTiming:
    """Time every layer of one network at one batch size (see the module docstring)."""
    torch = require_torch("`bench --per-layer`")
    config = config or BenchConfig()
    batch = batch if batch is not None else config.batches[0]
    if config.compile:
        raise BackendError("`--per-layer` times the eager network's modules; `--compile` fuses them: drop one")
    device = resolve_device(config.device)
    analysis = checked_analysis(source)
    config = replace(config, batches=(batch,))
    _check_memory([analysis], config, device)
    try:
        model, x = _prepare(analysis, config, device, batch)
        names = module_names(graph_of(analysis))
        median, runs, per_layer = time_model_layers(model, x, names, device, config, progress, clock)
    except (RuntimeError, NotImplementedError) as exc:
        if isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc):
            raise MemoryEstimateTooLarge(f"batch {batch}: the device ran out of memory ({exc})") from None
        raise BackendError(
            f"batch {batch}, {config.dtype} on {device}: torch failed: {str(exc).splitlines()[0]}"
        ) from None
    graph = analysis.graph
    assert graph is not None
    layers = tuple(LayerTime(n.name, n.op, per_layer.get(n.name, 0.0)) for n in graph.nodes)
    env = environment(config, device)
    env["timer"] = "forward hooks around every layer: " + (
        "CUDA events, synchronised after each call"
        if device == "cuda"
        else "time.process_time (CPU time)"
        if clock == "cpu"
        else "time.perf_counter"
    )
    return LayerTiming(report_of(analysis).name, analysis.source, batch, median, runs, layers, env)
