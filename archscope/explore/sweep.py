"""Design-space sweeps: one spec analysed under many overrides (static: no torch).

A sweep's **axes** are ``width`` and ``depth`` (the ``scale.width``/``scale.depth`` that ``ch()``
and ``rep()`` apply), ``resolution``, ``batch`` and any key of the spec's ``params:``. Each axis
has a list of values, or a range: ``LO:HI:STEP`` gives every step in a grid, ``LO:HI`` is drawn
from by ``random``. A grid is the product of the axes; ``random=N`` draws N variants (with a
``seed``), made by :mod:`archscope.explore.variants`. Every variant is elaborated from the spec
parsed once, and gets its params, MACs, peak memory (inference, and a training step with
``train``), final receptive field and, with a calibration, the roofline's predicted latency. An invalid variant (a shape error at some
width) keeps its first error; it is reported, never dropped.

Large sweeps run on every core (:class:`concurrent.futures.ProcessPoolExecutor`, each worker
parsing the spec once); below :data:`POOL_FROM` variants the pool's start costs more than it
saves and they run in process. The Pareto front (:func:`pareto`) minimises two metrics.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from archscope.diagnostics import Diagnostic
from archscope.explore.variants import (
    Axis,
    AxisError,
    Variant,
    Work,
    WorkError,
    check_axis,
    estimate_work,
    unused_axes,
    variants,
)
from archscope.lang.specdata import NetworkSpec

POOL_FROM = 50  # variants: fewer run in process
# A sweep's work budget, in layer analyses (one layer elaborated, shape-checked and costed in one
# variant), unless the caller allows more: ~100 µs of CPU each (the README's 1,000 variants of
# resnet50, ~245,000 layer analyses, took 18.5 s of CPU), so about 100 s of CPU. A sweep file of 51
# bytes asked for 100,000 variants of resnet1202 (420 million, ~14 CPU-hours); this refuses it.
MAX_WORK = 1_000_000
# metric name → (VariantResult attribute, what it is); every metric is minimised except those in MAXIMISED
METRICS: Mapping[str, tuple[str, str]] = {
    "params": ("params", "parameters"),
    "macs": ("macs", "multiply-accumulates of one sample"),
    "memory": ("memory_bytes", "peak bytes of inference at the batch"),
    "train_memory": ("train_memory_bytes", "peak bytes of a training step at the batch (with train)"),
    "predicted_ms": ("predicted_ms", "the calibrated roofline's latency at the batch"),
    "measured_ms": ("measured_ms", "measured median latency at the batch (with bench)"),
    "rf": ("rf_size", "the widest local receptive field, in input pixels (higher is better)"),
}
MAXIMISED = frozenset({"rf"})


@dataclass(frozen=True)
class VariantResult:
    variant: Variant
    params: int | None = None
    macs: int | None = None
    memory_bytes: int | None = None
    train_memory_bytes: int | None = None
    rf: str | None = None  # the final receptive field, as `compare` shows it (`global (427×427)`)
    rf_size: float | None = None  # the widest local field's largest dim (the number in `global (427×427)`)
    predicted_ms: float | None = None
    measured_ms: float | None = None
    error: Diagnostic | None = None  # the variant is invalid: its first error
    bench_error: str | None = None  # the variant is valid but its measurement failed
    bench_record: Mapping[str, Any] | None = None  # where it was measured: node, device, torch, attempts

    def metric(self, name: str) -> float | None:
        return getattr(self, METRICS[name][0])

    def cost(self, name: str) -> float | None:
        """The metric as a quantity to minimise (a maximised one negated)."""
        value = self.metric(name)
        return None if value is None else -value if name in MAXIMISED else value


@dataclass(frozen=True)
class StaticOptions:
    """What each variant's analysis computes besides the counts."""

    train: bool = False
    optimizer: str = "sgd"
    dtype: str = "float32"
    calibration: Any = None  # archscope.perf.calibration.Calibration: predicted latency when given


# -- analysis ---------------------------------------------------------------------------


def analyze_variant(spec: NetworkSpec, variant: Variant, options: StaticOptions) -> VariantResult:
    """One variant's static figures, or its first error."""
    from archscope.api import analyze_spec
    from archscope.passes.memory import MEMORY_PASS, MemoryOptions
    from archscope.passes.receptive_field import field_cell, final_dict

    found = analyze_spec(spec, variant.overrides, skip=("training",))  # the memory model finds its own grad flow
    if found.errors or found.report is None or found.graph is None:
        first = (found.errors or found.diagnostics or [Diagnostic("E011", "the variant cannot be built", spec.span)])[0]
        return VariantResult(variant, error=first)
    graph, batch = found.graph, variant.batch
    rf = found.passes.get("receptive_field")
    predicted = None
    if options.calibration is not None:
        from archscope.perf.roofline import predict

        predicted = predict(graph, options.calibration, batch, options.dtype).latency_s * 1e3
    train_bytes = None
    if options.train:
        train = MemoryOptions(batch=batch, dtype=options.dtype, train=True, optimizer=options.optimizer)
        train_bytes = found.run_pass(MEMORY_PASS, train).peak_bytes
    return VariantResult(
        variant,
        params=found.report.totals.params,
        macs=found.report.totals.macs,
        memory_bytes=found.run_pass(MEMORY_PASS, MemoryOptions(batch=batch, dtype=options.dtype)).peak_bytes,
        train_memory_bytes=train_bytes,
        rf=field_cell(final_dict(rf)) if rf is not None else None,
        rf_size=_widest(final_dict(rf)) if rf is not None else None,
        predicted_ms=predicted,
    )


def _widest(rf: Mapping[str, Any]) -> float | None:
    """The largest dim of the final field, or of the widest local one when the final is global."""
    sizes = rf["size"] if rf.get("size") and not rf["global"] else (rf.get("widest") or {}).get("size")
    known = [float(v) for v in sizes or () if v is not None]
    return max(known) if known else None


_worker: dict[str, Any] = {}  # a worker process's spec and options, set once by its initializer


def _start_worker(source: str, text: str | None, options: StaticOptions) -> None:
    _worker["spec"] = load_source(source, text)
    _worker["options"] = options


def _in_worker(variant: Variant) -> VariantResult:
    return analyze_variant(_worker["spec"], variant, _worker["options"])


def load_source(source: str, text: str | None = None) -> NetworkSpec:
    """The spec (raises :class:`~archscope.diagnostics.SpecError`)."""
    from archscope.api import load
    from archscope.lang.bundled import resolve_bundled
    from archscope.lang.loader import load_spec_text

    if text is not None:
        return load_spec_text(text, source, resolver=resolve_bundled)
    return load(source)


def analyze_variants(
    source: str,
    found: Sequence[Variant],
    options: StaticOptions = StaticOptions(),
    *,
    text: str | None = None,
    spec: NetworkSpec | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[VariantResult]:
    """Every variant's :class:`VariantResult`, in order. ``workers``: processes (None: every core
    for :data:`POOL_FROM` variants or more, else 1, in process). ``progress(done, total)``."""
    total = len(found)
    if workers is None:
        workers = (os.cpu_count() or 1) if total >= POOL_FROM else 1
    workers = max(1, min(workers, total or 1))
    results: list[VariantResult] = []
    if workers == 1:
        spec = spec or load_source(source, text)
        for v in found:
            results.append(analyze_variant(spec, v, options))
            if progress is not None:
                progress(len(results), total)
        return results
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    chunk = max(1, min(64, total // (workers * 8)))
    with ProcessPoolExecutor(workers, context, initializer=_start_worker, initargs=(source, text, options)) as pool:
        for r in pool.map(_in_worker, found, chunksize=chunk):
            results.append(r)
            if progress is not None:
                progress(len(results), total)
    return results


# -- results ----------------------------------------------------------------------------


def dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """``a`` is no worse than ``b`` in both and better in one (both minimised)."""
    return a[0] <= b[0] and a[1] <= b[1] and a != b


def pareto(results: Sequence[VariantResult], x: str, y: str) -> set[int]:
    """The indices of the variants that no other variant dominates on metrics ``x`` and ``y``
    (each minimised, or maximised for those in :data:`MAXIMISED`); invalid variants and those
    without both metrics take no part. Equal points are all on the front."""
    points = sorted(
        (float(vx), float(vy), r.variant.index)
        for r in results
        if r.error is None and (vx := r.cost(x)) is not None and (vy := r.cost(y)) is not None
    )
    front: set[int] = set()
    best = math.inf  # the lowest y among points of smaller x
    for _, group in itertools.groupby(points, key=lambda p: p[0]):
        members = list(group)
        low = members[0][1]  # sorted: the group's lowest y first
        if low < best:
            front.update(p[2] for p in members if p[1] == low)
            best = low
    return front


def sorted_results(results: Sequence[VariantResult], metric: str) -> list[VariantResult]:
    """Valid variants by ``metric`` (best first: ascending, descending for those in :data:`MAXIMISED`;
    ties in sweep order), then the invalid ones."""

    def key(r: VariantResult) -> tuple[Any, ...]:
        value = r.cost(metric) if r.error is None else None
        return (r.error is not None, value is None, value if value is not None else 0, r.variant.index)

    return sorted(results, key=key)


def with_measurements(
    results: Sequence[VariantResult], outcomes: Sequence[Any]
) -> list[VariantResult]:  # BenchOutcome (archscope.torch_backend.executors)
    """``results`` with each outcome's median (by its key, the variant's index)."""
    by_key = {o.key: o for o in outcomes}
    out = []
    for r in results:
        o = by_key.get(r.variant.index)
        out.append(
            r if o is None else replace(r, measured_ms=o.median_ms, bench_error=o.error, bench_record=dict(o.record))
        )
    return out


@dataclass(frozen=True)
class Sweep:
    """A sweep's results and how to read them."""

    source: str
    axes: tuple[Axis, ...]
    results: tuple[VariantResult, ...]  # sorted by ``sort``
    sort: str
    front: frozenset[int]  # variant indices on the Pareto front
    pareto_metrics: tuple[str, str]
    random: int | None = None
    seed: int = 0
    warnings: tuple[Diagnostic, ...] = field(default=())

    @property
    def invalid(self) -> list[VariantResult]:
        return [r for r in self.results if r.error is not None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.source,
            "axes": [
                {"key": a.key, "values": list(a.values)} if a.values else {"key": a.key, "range": [a.low, a.high]}
                for a in self.axes
            ],
            "random": self.random,
            "seed": self.seed if self.random is not None else None,
            "sort": self.sort,
            "pareto": list(self.pareto_metrics),
            "variants": len(self.results),
            "invalid": len(self.invalid),
            "warnings": [d.to_dict() for d in self.warnings],
            "results": [_result_dict(r, r.variant.index in self.front) for r in self.results],
        }


def _result_dict(r: VariantResult, on_front: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"index": r.variant.index, "axes": dict(r.variant.axes)}
    if r.error is not None:
        out["error"] = r.error.to_dict()
        return out
    for name, (attr, _) in METRICS.items():
        value = getattr(r, attr)
        if value is not None and name != "rf":
            out[name] = value
    out["rf"] = r.rf
    out["rf_size"] = r.rf_size
    out["pareto"] = on_front
    if r.bench_error is not None:
        out["bench_error"] = r.bench_error
    if r.bench_record is not None:
        out["bench"] = dict(r.bench_record)
    return out


def run_sweep(
    source: str,
    axes: Sequence[Axis],
    *,
    text: str | None = None,
    spec: NetworkSpec | None = None,
    random: int | None = None,
    seed: int = 0,
    sort: str = "macs",
    metrics: tuple[str, str] = ("params", "macs"),
    options: StaticOptions = StaticOptions(),
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    measure: Callable[[list[VariantResult]], list[VariantResult]] | None = None,
    max_work: int | None = MAX_WORK,
    on_work: Callable[[Work], None] | None = None,
) -> Sweep:
    """The whole sweep: check the axes (raises :class:`AxisError`), leave out a ``width``/``depth``
    that changes nothing (W104, in ``warnings``; no axis left: no variant), count the work (more
    than ``max_work`` layer analyses raises :class:`WorkError` before any variant is made, None: no
    budget; else ``on_work(work)``), analyse every variant, ``measure`` them when given
    (``--bench``), sort by ``sort`` and find the front over ``metrics``.
    Raises :class:`~archscope.diagnostics.SpecError` when the spec itself cannot be read."""
    spec = spec or load_source(source, text)
    for axis in axes:
        try:
            check_axis(axis, spec, random is not None)
        except AxisError as exc:
            raise AxisError(str(exc), axis, exc.on_key) from None
    kept, warnings = unused_axes(spec, axes)
    if kept:
        work = estimate_work(spec, kept, random)
        if max_work is not None and work.layer_analyses > max_work:
            raise WorkError(work, max_work)
        if on_work is not None:
            on_work(work)
    found = variants(kept, random, seed) if kept else []
    results = analyze_variants(source, found, options, text=text, spec=spec, workers=workers, progress=progress)
    if measure is not None and results:
        results = measure(results)
    return Sweep(
        source,
        tuple(kept),
        tuple(sorted_results(results, sort)),
        sort,
        frozenset(pareto(results, *metrics)),
        metrics,
        random,
        seed,
        tuple(warnings),
    )
