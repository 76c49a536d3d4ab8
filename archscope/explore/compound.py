"""EfficientNet's compound scaling (Tan & Le 2019, §3.3), reproduced as sweeps of efficientnet_b0.

The paper scales depth by α^φ, width by β^φ and resolution by γ^φ under α·β²·γ² ≈ 2, so that
each step of φ about doubles the FLOPs (FLOPs grow with depth, width² and resolution²); its grid
search on B0 gave α = 1.2, β = 1.1, γ = 1.15. The released B1–B7 are not exactly α^φ, β^φ,
γ^φ·224: they use a rounded table of (width, depth, resolution), which torchvision copies
(``efficientnet_b1`` … ``efficientnet_b7``: width, depth) and evaluates at its own crop sizes (the
paper's except B2: torchvision 288, the paper 260). :func:`compound_table` shows both, and checks
the table against the bundled B1–B7 specs' ``expect:`` (torchvision's published figures).
:func:`coefficient_search` is the other half: for each (α, β, γ) near the constraint, the MACs
growth per φ step (the accuracy that made the paper choose among them is not a static quantity).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from archscope.explore.sweep import StaticOptions, VariantResult, analyze_variants
from archscope.explore.variants import Variant, make_variant

BASE = "efficientnet_b0"
BASE_RESOLUTION = 224
ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15  # depth, width, resolution (the paper, §3.3 step 1)
# φ → (width, depth, resolution): torchvision's builders and crop sizes (the paper's Table 1 resolutions,
# except B2, which the paper gives 260 and torchvision evaluates at 288)
RELEASED: dict[int, tuple[float, float, int]] = {
    1: (1.0, 1.1, 240),
    2: (1.1, 1.2, 288),
    3: (1.2, 1.4, 300),
    4: (1.4, 1.8, 380),
    5: (1.6, 2.2, 456),
    6: (1.8, 2.6, 528),
    7: (2.0, 3.1, 600),
}
PAPER_RESOLUTION = {1: 240, 2: 260, 3: 300, 4: 380, 5: 456, 6: 528, 7: 600}


@dataclass(frozen=True)
class CompoundRow:
    phi: int
    raw: tuple[float, float, int]  # (β^φ, α^φ, round(224·γ^φ)): width, depth, resolution
    raw_params: int | None
    raw_macs: int | None
    released: tuple[float, float, int] | None  # the table's (width, depth, resolution); None beyond B7
    params: int | None
    macs: int | None
    reference: str | None  # the bundled spec of that φ
    expected: tuple[int, int] | None  # its expect: params and macs
    growth: float | None  # released MACs / the previous φ's (raw when no table entry)

    @property
    def matches(self) -> bool | None:
        if self.expected is None:
            return None
        return (self.params, self.macs) == self.expected


def raw_scale(phi: int, alpha: float, beta: float, gamma: float) -> tuple[float, float, int]:
    """(width, depth, resolution) = (β^φ, α^φ, round(224·γ^φ))."""
    return (beta**phi, alpha**phi, round(BASE_RESOLUTION * gamma**phi))


def _variant(index: int, scale: tuple[float, float, int]) -> Variant:
    return make_variant(index, {"width": scale[0], "depth": scale[1], "resolution": scale[2]})


def compound_table(
    phis: Sequence[int] = tuple(range(1, 8)),
    alpha: float = ALPHA,
    beta: float = BETA,
    gamma: float = GAMMA,
    progress: Callable[[int, int], None] | None = None,
) -> list[CompoundRow]:
    """φ = ``phis``: the raw compound scale and, where the released table has the φ, its counts and
    the bundled spec's expected counts."""
    from archscope.api import load

    phis = [0, *phis] if 0 not in phis else list(phis)
    raw = [_variant(i, raw_scale(phi, alpha, beta, gamma)) for i, phi in enumerate(phis)]
    table = [_variant(len(phis) + i, RELEASED.get(phi, (1.0, 1.0, BASE_RESOLUTION))) for i, phi in enumerate(phis)]
    results = analyze_variants(BASE, raw + table, StaticOptions(), progress=progress)
    rows: list[CompoundRow] = []
    for i, phi in enumerate(phis):
        r_raw, r_rel = results[i], results[len(phis) + i]
        released = RELEASED.get(phi) if phi else (1.0, 1.0, BASE_RESOLUTION)
        reference = f"efficientnet_b{phi}" if phi <= 7 else None
        expected = None
        if reference is not None:
            expect = load(reference).expect
            params, macs = expect["params"].value, expect["macs"].value
            if isinstance(params, int) and isinstance(macs, int):  # as the bundled specs write them
                expected = (params, macs)
        macs = r_rel.macs if released else r_raw.macs
        previous = (rows[-1].macs or rows[-1].raw_macs) if rows else None
        rows.append(
            CompoundRow(
                phi,
                raw_scale(phi, alpha, beta, gamma),
                r_raw.params,
                r_raw.macs,
                released,
                r_rel.params if released else None,
                r_rel.macs if released else None,
                reference,
                expected,
                macs / previous if macs and previous else None,
            )
        )
    return rows


_STEPS = tuple(round(1.0 + 0.05 * i, 2) for i in range(9))  # 1.0, 1.05, …, 1.4


@dataclass(frozen=True)
class Coefficients:
    alpha: float  # depth
    beta: float  # width
    gamma: float  # resolution
    flops_factor: float  # α·β²·γ²
    macs: tuple[int | None, ...]  # at φ = 0, 1, …
    growth: float | None  # the mean MACs growth per φ step: (MACs(φmax)/MACs(0))^(1/φmax)


def coefficient_search(
    values: Sequence[float] = _STEPS,
    target: float = 2.0,
    tolerance: float = 0.08,  # the paper's own choice has α·β²·γ² = 1.92
    steps: int = 3,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Coefficients]:
    """Every (α, β, γ) from ``values`` with |α·β²·γ² − target| ≤ tolerance, and its MACs at φ = 0…steps."""
    chosen = [
        (a, b, g) for a, b, g in itertools.product(values, repeat=3) if abs(a * b * b * g * g - target) <= tolerance
    ]
    found: list[Variant] = []
    for a, b, g in chosen:
        for phi in range(1, steps + 1):
            found.append(_variant(len(found), raw_scale(phi, a, b, g)))
    base = [_variant(len(found), (1.0, 1.0, BASE_RESOLUTION))]
    results: list[VariantResult] = analyze_variants(
        BASE, found + base, StaticOptions(), workers=workers, progress=progress
    )
    base_macs = results[-1].macs
    out = []
    for i, (a, b, g) in enumerate(chosen):
        macs = (base_macs, *(r.macs for r in results[i * steps : (i + 1) * steps]))
        growth = (macs[-1] / macs[0]) ** (1 / steps) if macs[-1] and macs[0] else None
        out.append(Coefficients(a, b, g, a * b * b * g * g, macs, growth))
    return out
