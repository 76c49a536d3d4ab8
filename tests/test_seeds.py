"""The course notes' worked examples, computed exactly; and the published figures of the
classic networks (torchvision's, input 224 unless said) for the bundled specs.

The seed numbers are the notes' own arithmetic: "28 × 28 × 32 * 5 × 5 × 192 = 120M",
"432 = 3×3 × 4×4 × 3", "240 = 1×1×3 × 4×4 × 5", "cost of normal convolution 2160".
"""

from __future__ import annotations

import pytest
from conftest import analyze_text, layer

import archscope
from archscope.lang.bundled import bundled

NAIVE = (
    "input: [192, 28, 28]\nlayers:\n  - {op: conv2d, name: conv5x5, out: 32, kernel: 5, padding: same, bias: false}\n"
)
BOTTLENECK = (
    "input: [192, 28, 28]\nlayers:\n"
    "  - {op: conv2d, name: reduce, out: 16, kernel: 1, bias: false}\n"
    "  - {op: conv2d, name: conv5x5, out: 32, kernel: 5, padding: same, bias: false}\n"
)
STANDARD = "input: [3, 6, 6]\nlayers:\n  - {op: conv2d, name: conv, out: 5, kernel: 3, bias: false}\n"
SEPARABLE = (
    "input: [3, 6, 6]\nlayers:\n"
    "  - {op: conv2d, name: depthwise, out: 3, kernel: 3, groups: 3, bias: false}\n"
    "  - {op: conv2d, name: pointwise, out: 5, kernel: 1, bias: false}\n"
)
MODULE = (
    "input: [192, 28, 28]\nlayers:\n"
    "  - {op: conv2d, name: b1, in: input, out: 64, kernel: 1}\n"
    "  - {op: conv2d, name: b3, in: input, out: 128, kernel: 3, padding: same}\n"
    "  - {op: conv2d, name: b5, in: input, out: 32, kernel: 5, padding: same}\n"
    "  - {op: maxpool2d, name: pool, in: input, kernel: 3, stride: 1, padding: 1}\n"
    "  - {op: conv2d, name: pool_proj, out: 32, kernel: 1}\n"
    "  - {op: concat, name: out, in: [b1, b3, b5, pool_proj]}\n"
)


def test_naive_5x5_on_28x28x192():
    analysis = analyze_text(NAIVE)
    assert analysis.report.totals.macs == 28 * 28 * 32 * 5 * 5 * 192 == 120_422_400
    assert layer(analysis, "conv5x5").output_shape == (32, 28, 28)


def test_bottleneck_first():
    analysis = analyze_text(BOTTLENECK)
    reduce, conv = 28 * 28 * 16 * 192, 28 * 28 * 32 * 5 * 5 * 16
    assert (layer(analysis, "reduce").macs, layer(analysis, "conv5x5").macs) == (reduce, conv)
    assert analysis.report.totals.macs == reduce + conv == 12_443_648
    assert layer(analysis, "reduce").output_shape == (16, 28, 28)
    # "we can reduce the number of computations by 1/10"
    assert analyze_text(NAIVE).report.totals.macs / analysis.report.totals.macs == pytest.approx(9.68, abs=0.01)


def test_standard_3x3_on_6x6x3():
    analysis = analyze_text(STANDARD)
    assert analysis.report.totals.macs == 3 * 3 * 3 * 4 * 4 * 5 == 2_160
    assert layer(analysis, "conv").output_shape == (5, 4, 4)


def test_depthwise_separable_on_6x6x3():
    analysis = analyze_text(SEPARABLE)
    assert layer(analysis, "depthwise").macs == 3 * 3 * 4 * 4 * 3 == 432
    assert layer(analysis, "pointwise").macs == 1 * 1 * 3 * 4 * 4 * 5 == 240
    assert analysis.report.totals.macs == 672
    assert layer(analysis, "depthwise").output_shape == (3, 4, 4)
    assert layer(analysis, "pointwise").output_shape == (5, 4, 4)


def test_inception_module_concatenates_to_256_channels():
    analysis = analyze_text(MODULE)
    assert layer(analysis, "out").output_shape == (64 + 128 + 32 + 32, 28, 28)
    weights = 192 * 64 + 9 * 192 * 128 + 25 * 192 * 32 + 192 * 32
    assert analysis.report.totals.macs == 28 * 28 * weights
    assert analysis.report.totals.params == weights + 64 + 128 + 32 + 32  # with biases


SEED_SPECS = {  # bundled seed specs → MACs of the notes
    "inception_naive": 120_422_400,
    "inception_bottleneck": 12_443_648,
    "conv_standard": 2_160,
    "conv_depthwise_separable": 672,
    "inception_module": 28 * 28 * (192 * 64 + 9 * 192 * 128 + 25 * 192 * 32 + 192 * 32),
}


@pytest.mark.parametrize("name,macs", SEED_SPECS.items())
def test_bundled_seed_specs(name: str, macs: int):
    assert name in bundled(), f"the seed spec {name} is no longer bundled"
    analysis = archscope.analyze(name)
    assert analysis.diagnostics == []  # their `expect:` holds and nothing is dropped
    assert analysis.report.totals.macs == macs


# torchvision's published figures (the list); params, MACs (None: not published there)
PUBLISHED = {
    "resnet18": (11_689_512, 1_814_073_344),
    "resnet50": (25_557_032, 4_089_184_256),
    "resnet152": (60_192_808, None),
    "vgg16": (138_357_544, 15_470_264_320),
    "alexnet": (61_100_840, 714_188_480),
    "googlenet": (6_624_904, 1_498_376_192),
    "mobilenet_v2": (3_504_872, 300_774_272),
    "efficientnet_b0": (5_288_548, 385_814_752),
    "efficientnet_b7": (66_347_960, None),
    # ViT: torchvision's _ops count attention's two products too (17.564, 4.409, 61.555, 15.378, 1016.717)
    "vit_b_16": (86_567_656, 17_563_828_224),
    "vit_b_32": (88_224_232, 4_409_186_304),
    "vit_l_16": (304_326_632, 61_554_712_576),
    "vit_l_32": (306_535_400, 15_377_539_072),
    "vit_h_14": (633_470_440, 1_016_716_764_160),  # at 518×518, its default weights' crop
}


@pytest.mark.parametrize("name", PUBLISHED)
def test_bundled_network_matches_published_figures(name: str):
    assert name in bundled(), f"{name} is no longer bundled"
    analysis = archscope.analyze(name)
    assert analysis.errors == []
    params, macs = PUBLISHED[name]
    assert analysis.report.totals.params == params
    if macs is not None:
        assert analysis.report.totals.macs == macs
    assert analysis.report.output_shape == (1000,)


@pytest.mark.parametrize("name", sorted(bundled()))
def test_every_bundled_spec_is_clean_and_carries_a_source(name: str):
    analysis = archscope.analyze(name)
    assert analysis.diagnostics == [], [f"{d.span}: {d.code} {d.message}" for d in analysis.diagnostics]
    meta = analysis.report.meta
    assert meta.get("paper") or meta.get("source"), f"{name} cites no source"
