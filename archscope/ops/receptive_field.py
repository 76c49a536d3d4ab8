"""Receptive-field facts: what each output unit of an op reads, per spatial dimension.

Each op declares ``receptive_field``: a function of its attributes that returns a :class:`Field`,
one of

* ``SAME``: output unit *n* reads unit *n* of every input (activations, norms at inference,
  residual ``add``, channel ``concat``, SE's ``mul``); several inputs: the union of their fields;
* taps (:func:`window`, :func:`transposed`, :func:`resampled`): per spatial dim, the input units
  that output unit *o* reads and the stride between outputs in input units (a fraction for a
  transposed conv or an upsample: 1/s). Convolution and pooling read ``o·s − p + t·d`` for
  ``t < k`` (Araujo, Norris, Sim, "Computing Receptive Fields of CNNs", Distill 2019); a
  transposed conv reads the ``i`` with ``i·s − p + t·d = o``; nearest upsampling ``floor(o·in/out)``;
* ``GLOBAL``: every output unit reads every input unit (global and adaptive pooling, the
  statistics of group and instance norm, a linear layer);
* ``FLAT``: the output has no spatial dims (flatten: each feature is one position of its input);
* :func:`permuted`: a view that reorders the spatial dims (a transpose of H and W): output dim
  ``i`` is input dim ``axes(rank)[i]``, unit for unit, so each takes that dim's field;
* :func:`unknown`: no static answer, with the reason (said in the output, never a made-up number).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from math import gcd
from typing import Literal

from archscope.ops.registry import Attrs, Shape


@dataclass(frozen=True)
class Taps:
    """One spatial dim: output unit ``o`` reads input units ``sources(o)`` (ascending; empty: none);
    ``ratio``: input units per output unit (the stride), so ``sources(o + n) = sources(o) + n·ratio``
    whenever ``n·ratio`` is an integer."""

    ratio: Fraction
    sources: Callable[[int], Sequence[int]]


PerDim = Callable[[Attrs, Sequence[Shape], Shape], tuple[Taps | None, ...]]  # None: that dim is global


@dataclass(frozen=True)
class Field:
    kind: Literal["same", "taps", "global", "flat", "permuted", "unknown"]
    taps: PerDim | None = None
    reason: str = ""
    # `permuted`: given the spatial rank, the input spatial dim that each output spatial dim is
    axes: Callable[[int], tuple[int, ...]] | None = None


SAME = Field("same")
GLOBAL = Field("global")
FLAT = Field("flat")


def same(a: Attrs) -> Field:
    return SAME


def everything(a: Attrs) -> Field:
    return GLOBAL


def flat(a: Attrs) -> Field:
    return FLAT


def permuted(axes: Callable[[int], tuple[int, ...]]) -> Field:
    """Spatial dims reordered: ``axes(rank)[i]`` is the input spatial dim that output spatial dim ``i`` is."""
    return Field("permuted", axes=axes)


def unknown(reason: str) -> Field:
    return Field("unknown", reason=reason)


Window = tuple[Sequence[int], Sequence[int], Sequence[int], Sequence[int]]  # kernel, stride, left pad, dilation
Geometry = Callable[[Attrs, int], Window]


@lru_cache(maxsize=1024)
def _window_taps(k: int, s: int, p: int, d: int) -> Taps:
    return Taps(Fraction(s), lambda o: range(o * s - p, o * s - p + (k - 1) * d + 1, d))


@lru_cache(maxsize=1024)
def _transposed_taps(k: int, s: int, p: int, d: int) -> Taps:
    """Output ``o`` reads the ``i = (c − t·d)/s`` (``c = o + p``) for the taps ``t < k`` with
    ``t·d ≡ c (mod s)``: none unless ``g = gcd(d, s)`` divides ``c``, else ``t = t₀ + m·s/g`` with
    ``t₀ = (c/g)·(d/g)⁻¹ mod s/g``, so the ``i`` form a run of step ``d/g``: O(1), whatever ``k``."""
    g = gcd(d, s)
    period, step = s // g, d // g
    inverse = pow(step, -1, period)

    def sources(o: int) -> range:
        c = o + p
        if c % g:
            return range(0)
        t0 = (c // g) * inverse % period
        if t0 >= k:
            return range(0)
        last = t0 + (k - 1 - t0) // period * period  # the last tap of the run
        return range((c - last * d) // s, (c - t0 * d) // s + 1, step)

    return Taps(Fraction(1, s), sources)


def window(geometry: Geometry) -> Callable[[Attrs], Field]:
    """Convolution and pooling: ``geometry(attrs, rank)`` gives per-dim (kernel, stride, padding, dilation)."""

    def taps(a: Attrs, inputs: Sequence[Shape], out: Shape) -> tuple[Taps | None, ...]:
        return tuple(_window_taps(*g) for g in zip(*geometry(a, len(inputs[0]) - 1)))

    field = Field("taps", taps)
    return lambda a: field


def transposed(geometry: Geometry) -> Callable[[Attrs], Field]:
    """Transposed convolution and unpooling: stride 1/s; output ``o`` reads the ``i`` with ``i·s − p + t·d = o``."""

    def taps(a: Attrs, inputs: Sequence[Shape], out: Shape) -> tuple[Taps | None, ...]:
        return tuple(_transposed_taps(*g) for g in zip(*geometry(a, len(inputs[0]) - 1)))

    field = Field("taps", taps)
    return lambda a: field


def _ratio(a: Attrs, size_in: int, size_out: int, scale: float | None) -> Fraction:
    """Input units per output unit as PyTorch's ``F.interpolate`` uses it: 1/scale when a scale is
    given, else in/out; (in − 1)/(out − 1) with ``align_corners``."""
    if a.get("align_corners"):
        return Fraction(size_in - 1, max(size_out - 1, 1))
    if scale is not None:
        return 1 / Fraction(scale).limit_denominator(10**6)
    return Fraction(size_in, size_out)


def upsample_taps(a: Attrs, inputs: Sequence[Shape], out: Shape) -> tuple[Taps | None, ...]:
    """Nearest: output ``o`` reads ``floor(o·r)``. Bilinear and bicubic sample the input at
    ``x = (o + ½)·r − ½`` (``o·r`` with ``align_corners``) and read the 2 or 4 units around it, 1
    when ``x`` falls on a unit (the other weights are zero). ``r``: :func:`_ratio`."""
    rank = len(inputs[0]) - 1
    scales = a["scale"] if isinstance(a["scale"], tuple) else (a["scale"],) * rank
    mode, corners = a["mode"], bool(a.get("align_corners"))
    result = []
    for size_in, size_out, scale in zip(inputs[0][1:], out[1:], scales):
        r = _ratio(a, size_in, size_out, scale)

        def sources(o: int, n: int = r.numerator, m: int = r.denominator) -> tuple[int, ...]:
            # in integers (x = top / bottom), as a phase table asks for thousands of them
            if mode == "nearest":
                return ((o * n) // m,)
            top, bottom = (o * n, m) if corners else ((2 * o + 1) * n - m, 2 * m)
            base, rest = divmod(top, bottom)
            if not rest:
                return (base,)
            return tuple(range(base - 1, base + 3)) if mode == "bicubic" else (base, base + 1)

        result.append(Taps(r, sources))
    return tuple(result)


def upsample(a: Attrs) -> Field:
    return Field("taps", upsample_taps)
