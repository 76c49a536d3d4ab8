"""Untrusted specs that ask for unbounded work in an analysis: the receptive
field of branches whose periods have a huge least common multiple, or of huge kernels after a
large stride; "did you mean" over every name for every unknown name; freeze globs over every
layer for every pattern. Each test asserts on a work counter (the receptive-field pass's steps,
the names difflib compares, or the Python calls an analysis makes), never on the clock: on the
code before the fix each of them passed its bound by orders of magnitude (seconds to minutes).
"""

from __future__ import annotations

import difflib
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction

import pytest
from conftest import analyze_text, where

import archscope
from archscope.limits import MAX_SUGGESTIONS
from archscope.names import MAX_COMPARED, Names
from archscope.passes.field_algebra import MAX_PERIOD, MAX_STEPS, DimField, Work, _reach


class TooMuchWork(Exception):
    pass


class Calls:
    """Python and builtin calls made under :func:`calls_at_most` (a work counter)."""

    def __init__(self) -> None:
        self.count = 0


@contextmanager
def calls_at_most(limit: int) -> Iterator[Calls]:
    """Count the calls made in the block; past ``limit`` the next one raises :class:`TooMuchWork`,
    so that unbounded work fails the test at once instead of running for minutes."""
    calls = Calls()

    def count(_frame, event, _arg) -> None:  # sys.settrace's (frame, event, arg)
        if event in ("call", "c_call"):
            calls.count += 1
            if calls.count > limit:
                raise TooMuchWork(f"more than {limit:,} calls")

    previous = sys.getprofile()
    sys.setprofile(count)
    try:
        yield calls
    finally:
        sys.setprofile(previous)
    assert calls.count <= limit


def field_of(text: str, limit: int = 500_000):
    with calls_at_most(limit):
        analysis = analyze_text(text)
    assert analysis.ok, [d.message for d in analysis.errors]
    return analysis.passes["receptive_field"]


def by_name(result, name: str):
    return next(layer for layer in result.layers if layer.name == name)


def transposed_branches(*strides: int) -> str:
    """208 bytes for two strides: each branch repeats every `stride` units, their union every lcm."""
    names = "abcdefgh"[: len(strides)]
    layers = "".join(
        f"  - {{op: conv_transpose2d, name: {n}, in: input, out: 1, kernel: 3, stride: {s}}}\n"
        for n, s in zip(names, strides)
    )
    return f"input: [1, 1, 1]\nlayers:\n{layers}  - {{op: add, name: s, in: [{', '.join(names)}]}}\n"


@pytest.mark.parametrize(("strides", "period"), [((4093, 4091), "16,744,463"), ((4093, 4091, 4089), "68,468,109,207")])
def test_a_union_whose_period_is_huge_is_not_computed(strides, period):
    """Before: the union looped over lcm(4093, 4091) = 16.7M phases (22.5 s of CPU, 420 MB), over
    6.8×10¹⁰ with three strides (killed after 60 s at 700 MB)."""
    result = field_of(transposed_branches(*strides))
    assert by_name(result, "a").size == (1, 1) and by_name(result, "a").stride == (Fraction(1, 4093),) * 2
    assert by_name(result, "s").unknown == (
        f"`s`: not computed: its inputs' fields together repeat only every {period} units"
        f" (at most {MAX_PERIOD:,} phases are kept)"
    )
    assert result.final.unknown == by_name(result, "s").unknown
    assert result.notes == ()  # no "the union is shown": it is not
    # per branch and dim: its `stride` phases, and the one source of phases 0, 1, 2 (kernel 3); then
    # the first dim's tables compared, and the union refused before its first phase
    assert result.steps == sum(2 * (s + 3) + s for s in strides)


def test_a_huge_kernel_after_a_large_stride_costs_what_its_period_does():
    """Before: each of the 4,096 phases ran over the 10⁶ taps (≈ 13 min). Unit o of `up` reads the
    inputs i with 4096·i + t = o for t < 10⁶: 244 or 245 of them; unit 0 reads −244…0."""
    text = "input: [1, 1, 1]\nlayers:\n  - {op: conv_transpose2d, name: up, out: 1, kernel: [1000000, 1], stride: [4096, 1]}\n"
    result = field_of(text)
    up = by_name(result, "up")
    assert up.size == (245, 1) and up.center == (-122, 0) and up.unknown == ""
    assert result.steps == 4096 * 3  # per phase: the phase, the first and the last source (a run of period 1)


def test_a_long_window_over_a_periodic_field_looks_at_two_periods_of_it():
    """Unit o of `big` reads the units o…o+4999 of `up`, which see input u/64 when 64 divides u: the
    multiples of 64 in a window of 5,000 (79 at most; unit 0: 0…78). Each of the 64 phases looks
    at the first and last 64 units of its window, not at all 5,000."""
    text = (
        "input: [1, 80, 1]\nlayers:\n"
        "  - {op: conv_transpose2d, name: up, out: 1, kernel: 1, stride: [64, 1]}\n"
        "  - {op: conv2d, name: big, out: 1, kernel: [5000, 1]}\n"
    )
    result = field_of(text, limit=100_000)  # before: 1,078,428 calls, one per unit of each window
    big = by_name(result, "big")
    assert big.size == (79, 1) and big.center == (39, 0) and big.stride == (Fraction(1, 64), 1)
    # `up`: 64 phases, phase 0 with one source; `big`: 64 phases of 2 × 64 units
    assert result.steps == 64 + 1 + 64 * (1 + 2 * 64)


def test_the_pass_stops_at_its_step_limit_and_says_so():
    """A kernel of 10⁶ over a field of period 4,096: 4,096 phases × 8,192 units is past the limit."""
    text = (
        "input: [1, 300, 1]\nlayers:\n"
        "  - {op: conv_transpose2d, name: up, out: 1, kernel: 1, stride: [4096, 1]}\n"
        "  - {op: conv2d, name: big, out: 1, kernel: [1000000, 1]}\n"
        "  - {op: relu, name: after}\n"
    )
    result = field_of(text)
    assert by_name(result, "up").size == (1, 1)
    reason = f"`big`: not computed: its phase table would take the pass past its limit of {MAX_STEPS:,} steps"
    assert by_name(result, "big").unknown == reason and by_name(result, "after").unknown == reason
    assert result.steps <= MAX_STEPS


def test_many_layers_of_period_4096_stop_at_the_step_limit():
    layers = "".join(f"  - {{op: conv2d, name: c{i}, out: 1, kernel: 1}}\n" for i in range(60))
    text = "input: [1, 2, 2]\nlayers:\n  - {op: conv_transpose2d, name: up, out: 1, kernel: 1, stride: 4096}\n" + layers
    result = field_of(text, limit=5_000_000)
    done = [layer.name for layer in result.layers if not layer.unknown]
    per_layer = 2 * 4096 * 2  # 2 dims × 4,096 phases × (the phase, its one source)
    assert len(done) == MAX_STEPS // per_layer  # `up` and the first 11 convs
    assert result.steps <= MAX_STEPS
    assert all("limit of 200,000 steps" in layer.unknown for layer in result.layers[len(done) :])


def test_the_two_period_shortcut_is_exact():
    """`_reach` over a run of units equals the min and max over every unit of it, for random phase
    tables (any spans, ``P·jump`` a positive integer) and runs (any start, step and length)."""
    rng = random.Random(20)
    for _ in range(3000):
        period = rng.randint(1, 12)
        spans = tuple(
            None if rng.random() < 0.2 else (lo, lo + rng.randint(0, 9)) for lo in rng.choices(range(-20, 20), k=period)
        )
        dim = DimField(Fraction(rng.randint(1, 5), period), spans)
        run = range(rng.randint(-50, 50), rng.randint(-50, 250), rng.randint(1, 7))
        seen = [e for e in map(dim.extent, run) if e is not None]
        naive = (min(e[0] for e in seen), max(e[1] for e in seen)) if seen else None
        assert _reach(dim, run, Work()) == naive, (dim, run)


def test_the_shortcut_agrees_with_pytorch_gradients():
    """Long windows and a long transposed kernel over fields of period 8 and 4 (see test_torch_rf.py)."""
    pytest.importorskip("torch")
    from archscope.torch_backend.receptive_field_check import measure

    text = (
        "input: [1, 24, 24]\nlayers:\n"
        "  - {op: conv_transpose2d, name: up, out: 2, kernel: 3, stride: 8, dilation: 2}\n"
        "  - {op: conv2d, name: long, out: 2, kernel: 40, dilation: 3}\n"
        "  - {op: avgpool2d, name: pool, kernel: 20, stride: 2}\n"
        "  - {op: conv_transpose2d, name: up2, out: 2, kernel: 30, stride: 4}\n"
    )
    results = measure("shortcut.yaml", text=text, layers=["long", "pool", "up2"])
    assert len(results) == 6
    assert [(m.layer, m.axis, m.static, m.measured) for m in results if not m.agree] == []


# -- "did you mean" --------------------------------------------------------------------------


@pytest.fixture
def compared(monkeypatch) -> list[int]:
    """The number of names each difflib lookup compares."""
    sizes: list[int] = []
    real = difflib.get_close_matches

    def counting(word, possibilities, *args, **kw):
        sizes.append(len(possibilities))
        if sum(sizes) > 100_000:
            raise TooMuchWork("more than 100,000 names compared")
        return real(word, possibilities, *args, **kw)

    monkeypatch.setattr(difflib, "get_close_matches", counting)
    return sizes


def test_dangling_inputs_get_bounded_suggestions(compared):
    """Before: every dangling `in:` compared itself with every layer (2,000 layers: 32 s of CPU)."""
    n = 600
    text = "input: [1, 4, 4]\nlayers:\n" + "".join(f"  - {{op: relu, name: layer{i}, in: layr{i}}}\n" for i in range(n))
    errors = analyze_text(text).errors
    assert [d.code for d in errors] == ["E008"] * n
    assert [(d.span.line, d.span.col) for d in errors[:2]] == [where(text, "layr0"), where(text, "layr1")]
    hinted = [d.message for d in errors if "did you mean" in d.message]
    assert hinted == [
        f"`layr{i}` names no layer in this scope; did you mean `layer{i}`?" for i in range(MAX_SUGGESTIONS)
    ]
    assert len(compared) == MAX_SUGGESTIONS and max(compared) <= MAX_COMPARED


def test_freeze_patterns_that_match_nothing_get_bounded_suggestions(compared):
    """Before: each pattern compared itself with every layer twice (1,000 patterns: 4.5 s of CPU)."""
    n = 400
    text = (
        "input: [1, 4, 4]\nlayers:\n"
        + "".join(f"  - {{op: relu, name: layer{i}}}\n" for i in range(n))
        + "freeze:\n"
        + "".join(f"  - layr{i}\n" for i in range(n))
    )
    warnings = analyze_text(text).warnings
    assert [d.code for d in warnings] == ["W103"] * n
    assert warnings[0].message == "`freeze` pattern `layr0` matches no layer; did you mean `layer0`?"
    assert sum("did you mean" in d.message for d in warnings) == MAX_SUGGESTIONS
    assert len(compared) == MAX_SUGGESTIONS and max(compared) <= MAX_COMPARED


def test_edits_that_name_no_parent_layer_get_bounded_suggestions(compared, tmp_path):
    n = 400
    (tmp_path / "parent.yaml").write_text(
        "input: [1, 4, 4]\nlayers:\n" + "".join(f"  - {{op: relu, name: layer{i}}}\n" for i in range(n))
    )
    child = tmp_path / "child.yaml"
    child.write_text("extends: parent.yaml\nremove: [" + ", ".join(f"layr{i}" for i in range(n)) + "]\n")
    errors = archscope.analyze(child).errors
    assert [d.code for d in errors] == ["E008"] * n
    assert errors[0].message == "`remove: layr0` names no layer of the parent; did you mean `layer0`?"
    assert sum("did you mean" in d.message for d in errors) == MAX_SUGGESTIONS
    assert len(compared) == MAX_SUGGESTIONS and max(compared) <= MAX_COMPARED


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("layer1234x", "layer1234"),  # a letter added at the end
        ("lyer1234", "layer1234"),  # dropped in the middle
        ("kayer1234", "layer1234"),  # changed at the start
        ("layer.1234", "layer1234"),
        ("layre1234", "layer1234"),  # two letters swapped
    ],
)
def test_a_typo_among_many_names_finds_its_name_comparing_few(compared, typo, meant):
    names = Names(f"layer{i}" for i in range(20_000))
    assert names.near(typo) == meant
    assert compared == [MAX_COMPARED]


def test_few_names_are_all_compared_as_before(compared):
    assert Names(["conv1", "bn1", "relu", "fc"]).near("fcc") == "fc"
    assert compared == [4]


def test_a_very_long_name_gets_no_suggestion(compared):
    assert Names(["a" * 200]).near("a" * 199 + "b") is None
    assert compared == []


# -- freeze globs ----------------------------------------------------------------------------


def test_freeze_globs_stop_at_their_work_limit_with_a_located_error():
    """1,000 layers (1,000 names) and 2,000 globs that start with `*`: each compares every name,
    so the 1,001st passes 1,000,000 names compared and is refused. Before: 2,000,000 regex matches."""
    text = (
        "input: [1, 4, 4]\nlayers:\n"
        + "".join(f"  - {{op: relu, name: l{i}}}\n" for i in range(1000))
        + "freeze:\n"
        + "".join(f"  - '*x{i}'\n" for i in range(2000))
    )
    with calls_at_most(3_000_000):
        analysis = analyze_text(text)
    [error] = analysis.errors
    assert error.code == "E011" and (error.span.line, error.span.col) == where(text, "'*x1000'")
    assert error.message == (
        "`freeze` pattern `*x1000`: the globs compare more than 1,000,000 layer names in all;"
        " it and the patterns after it are not applied"
    )
    assert sum(d.code == "W103" for d in analysis.warnings) == 1000


def test_a_glob_that_starts_with_a_name_compares_only_the_names_under_it():
    blocks = "blocks:\n  b:\n    layers:\n      - {op: conv2d, out: 1, kernel: 1}\n      - relu\n"
    text = "input: [1, 4, 4]\n" + blocks + "layers:\n  - {op: b, name: stage, n: 1500}\nfreeze:\n"
    text += "".join(f"  - 'stage.{i}.*'\n" for i in range(1500))  # each glob: its own 3 names
    with calls_at_most(3_000_000):
        analysis = analyze_text(text)
    assert analysis.ok and analysis.warnings == []
    assert analysis.report.totals.trainable_params == 0


def test_a_pattern_repeated_is_matched_once():
    """3,000 × `stage` (3,000 layers): before, each repeat marked every layer again (9,000,000)."""
    blocks = "blocks:\n  b:\n    layers:\n      - {op: conv2d, out: 1, kernel: 1}\n      - relu\n"
    text = (
        "input: [1, 4, 4]\n"
        + blocks
        + "layers:\n  - {op: b, name: stage, n: 1500}\n  - {op: conv2d, out: 1, kernel: 1}\n"
    )
    text += "freeze:\n" + "  - stage\n" * 3000
    with calls_at_most(3_000_000):
        analysis = analyze_text(text)
    assert analysis.ok and analysis.warnings == []
    assert analysis.report.totals.trainable_params == 2  # only the last conv: weight and bias
