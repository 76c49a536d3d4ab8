"""Design-space sweeps: one spec analysed under many overrides (static: no torch).

A sweep's **axes** are ``width`` and ``depth`` (the ``scale.width``/``scale.depth`` that ``ch()``
and ``rep()`` apply), ``resolution``, ``batch`` and any key of the spec's ``params:``. Each axis
has a list of values, or a range: ``LO:HI:STEP`` gives every step in a grid, ``LO:HI`` is drawn
from by ``random``. A grid is the product of the axes; ``random=N`` draws N variants (with a
``seed``). Every :class:`Variant` is elaborated from the spec parsed once, and gets its params,
MACs, peak memory (inference, and a training step with ``train``), final receptive field and,
with a calibration, the roofline's predicted latency. An invalid variant (a shape error at some
width) keeps its first error; it is reported, never dropped.

Large sweeps run on every core (:class:`concurrent.futures.ProcessPoolExecutor`, each worker
parsing the spec once); below :data:`POOL_FROM` variants the pool's start costs more than it
saves and they run in process. The Pareto front (:func:`pareto`) minimises two metrics.
"""

from __future__ import annotations

import itertools
import math
import os
import random as random_module
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from archscope.diagnostics import Diagnostic, Span
from archscope.lang.specdata import NetworkSpec
from archscope.overrides import Overrides

SCALE_AXES = ("width", "depth", "resolution", "batch")
POOL_FROM = 50  # variants: fewer run in process
MAX_VARIANTS = 100_000
# A sweep's work budget, in layer analyses (one layer elaborated, shape-checked and costed in one
# variant), unless the caller allows more: ~100 µs of CPU each (the README's 1,000 variants of
# resnet50, ~245,000 layer analyses, took 18.5 s of CPU), so about 100 s of CPU. A sweep file of 51
# bytes asked for 100,000 variants of resnet1202 (420 million, ~14 CPU-hours); this refuses it.
MAX_WORK = 1_000_000
US_PER_LAYER = 100

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


class AxisError(ValueError):
    """An axis or its values cannot apply; ``str()`` says why (E015 in a sweep file); ``axis``: which."""

    def __init__(self, message: str, axis: Axis | None = None, on_key: bool = False):
        super().__init__(message)
        self.axis = axis
        self.on_key = on_key  # the axis's name is wrong (not its values)

    @property
    def span(self) -> Span | None:
        """Where a sweep file wrote the axis: its key or its values."""
        if self.axis is None:
            return None
        return self.axis.key_span if self.on_key and self.axis.key_span else self.axis.span


@dataclass(frozen=True)
class Axis:
    """One axis: the ``values`` a grid takes (and ``random`` picks among), or a range ``low``…``high``
    that ``random`` draws from (integers when both ends are integers, except for a width or depth)."""

    key: str
    values: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    span: Span | None = None  # of its values in a sweep file
    key_span: Span | None = None  # of its name

    @property
    def is_range(self) -> bool:
        return self.low is not None

    def __str__(self) -> str:
        if self.values:
            return f"{self.key} " + ", ".join(_value_text(v) for v in self.values)
        return f"{self.key} {_value_text(self.low)}…{_value_text(self.high)}"


@dataclass(frozen=True)
class Variant:
    index: int  # its place in the sweep, from 0
    axes: Mapping[str, Any]  # the value of each axis
    overrides: Overrides
    batch: int = 1

    def describe(self) -> str:
        return ", ".join(f"{k} {_value_text(v)}" for k, v in self.axes.items())


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


# -- axes -------------------------------------------------------------------------------

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^\s*({_NUMBER})\s*:\s*({_NUMBER})\s*(?::\s*({_NUMBER})\s*)?$")


def _value_text(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if re.fullmatch(r"[-+]?\d+", text.strip()) else value


def parse_range(key: str, text: str, span: Span | None = None) -> Axis | None:
    """``LO:HI`` (a range to draw from) or ``LO:HI:STEP`` (every step, and the range); None when
    ``text`` is not a range."""
    m = _RANGE.match(text)
    if m is None:
        return None
    low, high = _number(m[1]), _number(m[2])
    if low > high:
        raise AxisError(f"`{key}`: the range {text} runs backwards (LO > HI)")
    values: tuple[Any, ...] = ()
    if m[3] is not None:
        step = _number(m[3])
        if step <= 0:
            raise AxisError(f"`{key}`: the step of {text} must be positive")
        count = int(math.floor((high - low) / step + 1e-9)) + 1
        if count > MAX_VARIANTS:
            raise AxisError(f"`{key}`: {text} has {count:,} steps (at most {MAX_VARIANTS:,})")
        exact = all(isinstance(x, int) for x in (low, high, step))
        values = tuple(low + i * step if exact else round(low + i * step, 10) for i in range(count))
    return Axis(key, values, low, high, span)


def parse_axis(item: str) -> Axis:
    """The CLI's ``KEY=V1,V2,…`` (values are YAML scalars: ``0.5``, ``relu``, ``true``),
    ``KEY=[[1,1],[2,2]]`` (a YAML list of values), ``KEY=LO:HI`` or ``KEY=LO:HI:STEP``."""
    import yaml

    key, eq, text = item.partition("=")
    key = key.strip()
    if not eq or not key or not text.strip():
        raise AxisError(f"`{item}` is not KEY=VALUES")
    found = parse_range(key, text)
    if found is not None:
        return found
    try:
        if text.lstrip().startswith("["):
            values = yaml.safe_load(text)
        else:
            values = [yaml.safe_load(part) for part in text.split(",")]
    except yaml.YAMLError:
        raise AxisError(f"`{item}`: the values are not YAML") from None
    if not isinstance(values, list) or not values:
        raise AxisError(f"`{item}`: give a list of values")
    return Axis(key, tuple(values))


def check_axis(axis: Axis, spec: NetworkSpec, random_draws: bool) -> None:
    """Raise :class:`AxisError` unless ``axis`` can apply to ``spec``."""
    from archscope.names import suggest

    if axis.key not in SCALE_AXES and axis.key not in spec.params:
        known = list(SCALE_AXES) + list(spec.params)
        hint = suggest(axis.key, known)
        raise AxisError(
            f"no axis `{axis.key}`: the axes are {', '.join(f'`{k}`' for k in known)}"
            + (f"; did you mean `{hint}`?" if hint else ""),
            axis,
            on_key=True,
        )
    if axis.is_range and not axis.values and not random_draws:
        raise AxisError(f"`{axis.key}`: a range LO:HI is drawn from by `random`; a grid needs LO:HI:STEP")
    if axis.key in ("width", "depth"):
        bad = [v for v in axis.values + _ends(axis) if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0]
        if bad:
            raise AxisError(f"`{axis.key}` takes positive numbers, not {_value_text(bad[0])}")
    elif axis.key in ("resolution", "batch"):
        bad = [v for v in axis.values + _ends(axis) if isinstance(v, bool) or not isinstance(v, int) or v < 1]
        if bad:
            raise AxisError(f"`{axis.key}` takes positive integers, not {_value_text(bad[0])}")


def _ends(axis: Axis) -> tuple[Any, ...]:
    return (axis.low, axis.high) if axis.is_range else ()


# -- variants ---------------------------------------------------------------------------


def make_variant(index: int, values: Mapping[str, Any]) -> Variant:
    params = {k: v for k, v in values.items() if k not in SCALE_AXES}
    overrides = Overrides(
        resolution=values.get("resolution"), params=params, width=values.get("width"), depth=values.get("depth")
    )
    return Variant(index, dict(values), overrides, int(values.get("batch", 1)))


@dataclass(frozen=True)
class Work:
    """How much a sweep asks for, counted before any variant is made: ``variants`` × ``layers``,
    the layers of the spec as written times the largest ``depth`` an axis reaches (at most the
    layer limit, where each variant stops)."""

    variants: int
    layers: int

    @property
    def layer_analyses(self) -> int:
        return self.variants * self.layers

    def __str__(self) -> str:
        cpu = self.layer_analyses * US_PER_LAYER / 1e6
        return (
            f"{self.variants:,} variants × ≈{self.layers:,} layers = ≈{self.layer_analyses:,} layer analyses "
            f"({f'≈{cpu:,.0f} s' if cpu >= 1 else 'under 1 s'} of CPU at {US_PER_LAYER} µs a layer)"
        )


class WorkError(ValueError):
    """The sweep asks for more than its budget of layer analyses; ``str()`` says how much and how to allow it."""

    def __init__(self, work: Work, budget: int):
        super().__init__(f"the sweep is {work}: more than its budget of {budget:,} layer analyses")
        self.work = work
        self.budget = budget


def variant_count(axes: Sequence[Axis], random: int | None = None) -> int:
    """How many variants :func:`variants` would make, without making them."""
    return random if random is not None else math.prod(len(a.values) for a in axes)


def estimate_work(spec: NetworkSpec, axes: Sequence[Axis], random: int | None = None) -> Work:
    """The :class:`Work` of sweeping ``spec`` over ``axes``: one elaboration of the spec as written
    (bounded by the layer limit), no variant made."""
    from archscope.diagnostics import Collector
    from archscope.elaborate import elaborate
    from archscope.limits import max_layers

    graph = elaborate(spec, Overrides(), Collector())
    layers = len(graph.nodes) if graph is not None else max_layers()  # None: over the limit already
    depth = max((float(v) for a in axes if a.key == "depth" for v in a.values + _ends(a)), default=1.0)
    return Work(variant_count(axes, random), min(max_layers(), max(1, math.ceil(layers * max(1.0, depth)))))


def variants(axes: Sequence[Axis], random: int | None = None, seed: int = 0) -> list[Variant]:
    """The grid (the product of the axes' values, the first axis slowest), or ``random`` draws."""
    if random is None:
        count = math.prod(len(a.values) for a in axes)
        if count > MAX_VARIANTS:
            raise AxisError(f"the grid has {count:,} variants (at most {MAX_VARIANTS:,}): use `random`")
        grid = itertools.product(*(a.values for a in axes))
        return [make_variant(i, dict(zip((a.key for a in axes), combo))) for i, combo in enumerate(grid)]
    if not 0 < random <= MAX_VARIANTS:
        raise AxisError(f"`random` draws 1 to {MAX_VARIANTS:,} variants, not {random}")
    rng = random_module.Random(seed)
    return [make_variant(i, {a.key: _draw(a, rng) for a in axes}) for i in range(random)]


def _draw(axis: Axis, rng: random_module.Random) -> Any:
    if not axis.is_range:
        return rng.choice(axis.values)
    low, high = axis.low, axis.high
    if isinstance(low, int) and isinstance(high, int) and axis.key not in ("width", "depth"):
        return rng.randint(low, high)  # a resolution, a batch, an integer parameter
    return round(rng.uniform(float(low), float(high)), 3)  # type: ignore[arg-type]


def unused_axes(spec: NetworkSpec, axes: Sequence[Axis]) -> tuple[list[Axis], list[Diagnostic]]:
    """The axes without a ``width``/``depth`` that changes nothing (the spec never calls ``ch()``/
    ``rep()``: warning W104, found by one elaboration), and those warnings."""
    from archscope.api import analyze_spec

    probe: dict[str, Any] = {a.key: 2.0 for a in axes if a.key in ("width", "depth")}
    if not probe:
        return list(axes), []
    found = analyze_spec(spec, Overrides(**probe))
    warnings = [d for d in found.diagnostics if d.code == "W104"]
    if found.graph is None:  # the spec has errors: they are reported with the variants
        return list(axes), warnings
    dropped = {key for key in probe if key not in found.graph.scaled}
    return [a for a in axes if a.key not in dropped], warnings


# -- analysis ---------------------------------------------------------------------------


def analyze_variant(spec: NetworkSpec, variant: Variant, options: StaticOptions) -> VariantResult:
    """One variant's static figures, or its first error."""
    from archscope.api import analyze_spec
    from archscope.passes.memory import MemoryOptions, memory
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
        train_bytes = memory(graph, train).peak_bytes
    return VariantResult(
        variant,
        params=found.report.totals.params,
        macs=found.report.totals.macs,
        memory_bytes=memory(graph, MemoryOptions(batch=batch, dtype=options.dtype)).peak_bytes,
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
