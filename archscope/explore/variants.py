"""The axes of a sweep and the variants they make (static: no torch): axes parsed from the command
line or a sweep file and checked against the spec, the grid or the random draws, and the work a
sweep asks for, counted before any variant is made. :mod:`archscope.explore.sweep` analyses the
variants.
"""

from __future__ import annotations

import itertools
import math
import random as random_module
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from archscope.diagnostics import Diagnostic, Span
from archscope.lang.specdata import NetworkSpec
from archscope.overrides import Overrides

SCALE_AXES = ("width", "depth", "resolution", "batch")
MAX_VARIANTS = 100_000
US_PER_LAYER = 100  # µs of CPU for one layer analysis (see :data:`archscope.explore.sweep.MAX_WORK`)


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
