"""A YOLO-style neck written by hand, as a user would: three backbone maps in (`inputs:`), a
top-down path (nearest ×2 upsample + concat), a bottom-up path (3×3 stride-2 conv + concat),
C2f blocks (a `split` inside a block) and three outputs. Shapes, params and MACs are checked
against formulas written here, never against archscope's own output; with torch, `verify`
must agree on every layer and output."""

from __future__ import annotations

import pytest
from conftest import analyze_text, codes, layer

C3, C4, C5 = 64, 128, 256  # backbone channels at strides 8, 16, 32
S3, S4, S5 = 32, 16, 8  # their sizes for a 256×256 image

NECK = f"""\
name: yolo_neck
inputs: {{p3: [{C3}, {S3}, {S3}], p4: [{C4}, {S4}, {S4}], p5: [{C5}, {S5}, {S5}]}}
params:
  eps: 0.001
blocks:
  cbs:
    doc: conv (no bias) + BN + SiLU
    args: {{c: null, k: 1, s: 1}}
    layers:
      - {{op: conv2d, name: conv, out: c, kernel: k, stride: s, padding: "k // 2", bias: false}}
      - {{op: batchnorm2d, name: bn, eps: eps, momentum: 0.03}}
      - {{op: silu, name: act}}
  c2f:
    doc: C2f with one bottleneck and no shortcut
    args: {{c: null}}
    layers:
      - {{op: cbs, name: cv1, c: "2 * (c // 2)"}}
      - {{op: split, name: halves, sections: 2}}
      - {{op: cbs, name: b1, in: halves.1, c: "c // 2", k: 3}}
      - {{op: cbs, name: b2, c: "c // 2", k: 3}}
      - {{op: concat, name: cat, in: [halves.0, halves.1, b2]}}
      - {{op: cbs, name: cv2, c: c}}
layers:
  # top-down
  - {{op: upsample, name: up5, in: p5, mode: nearest, scale: 2}}
  - {{op: concat, name: cat4, in: [up5, p4]}}
  - {{op: c2f, name: td4, c: {C4}}}
  - {{op: upsample, name: up4, mode: nearest, scale: 2}}
  - {{op: concat, name: cat3, in: [up4, p3]}}
  - {{op: c2f, name: out3, c: {C3}}}
  # bottom-up
  - {{op: cbs, name: down3, c: {C3}, k: 3, s: 2}}
  - {{op: concat, name: cat4b, in: [down3, td4]}}
  - {{op: c2f, name: out4, c: {C4}}}
  - {{op: cbs, name: down4, c: {C4}, k: 3, s: 2}}
  - {{op: concat, name: cat5, in: [down4, p5]}}
  - {{op: c2f, name: out5, c: {C5}}}
outputs: [out3, out4, out5]
"""


def cbs_params(cin: int, cout: int, k: int = 1) -> int:
    return cin * cout * k * k + 2 * cout  # conv weights + BN weight and bias


def c2f_params(cin: int, cout: int) -> int:
    c = cout // 2
    return cbs_params(cin, 2 * c) + 2 * cbs_params(c, c, 3) + cbs_params(3 * c, cout)


def cbs_macs(cin: int, cout: int, k: int, size: int) -> int:
    return cin * cout * k * k * size * size  # size: the output's height = width


def c2f_macs(cin: int, cout: int, size: int) -> int:
    c = cout // 2
    return cbs_macs(cin, 2 * c, 1, size) + 2 * cbs_macs(c, c, 3, size) + cbs_macs(3 * c, cout, 1, size)


PARAMS = (
    c2f_params(C5 + C4, C4)  # td4
    + c2f_params(C4 + C3, C3)  # out3
    + cbs_params(C3, C3, 3)  # down3
    + c2f_params(C3 + C4, C4)  # out4
    + cbs_params(C4, C4, 3)  # down4
    + c2f_params(C4 + C5, C5)  # out5
)
MACS = (
    c2f_macs(C5 + C4, C4, S4)
    + c2f_macs(C4 + C3, C3, S3)
    + cbs_macs(C3, C3, 3, S4)
    + c2f_macs(C3 + C4, C4, S4)
    + cbs_macs(C4, C4, 3, S5)
    + c2f_macs(C4 + C5, C5, S5)
)
OUTPUTS = (("out3", (C3, S3, S3)), ("out4", (C4, S4, S4)), ("out5", (C5, S5, S5)))


def test_the_neck_is_clean_and_has_the_hand_counted_shapes():
    a = analyze_text(NECK)
    assert codes(a) == [], [f"{d.span}: {d.code} {d.message}" for d in a.diagnostics]
    assert a.report.inputs == (("p3", (C3, S3, S3)), ("p4", (C4, S4, S4)), ("p5", (C5, S5, S5)))
    assert a.report.outputs == OUTPUTS
    assert layer(a, "cat4").output_shape == (C5 + C4, S4, S4)  # upsampled P5 ‖ P4
    assert layer(a, "cat3").output_shape == (C4 + C3, S3, S3)
    assert layer(a, "cat4b").output_shape == (C3 + C4, S4, S4)  # stride-2 conv of out3 ‖ td4
    assert layer(a, "cat5").output_shape == (C4 + C5, S5, S5)
    assert layer(a, "out3.halves").output_shape == (C3 // 2, S3, S3)  # one chunk of two
    assert layer(a, "out5.cat").output_shape == (3 * C5 // 2, S5, S5)


def test_the_neck_params_and_macs_follow_the_formulas():
    a = analyze_text(NECK)
    # by hand: td4 148,224 + out3 37,248 + down3 36,992 + out4 123,648 + down4 147,712 + out5 493,056
    assert a.report.totals.params == PARAMS == 986_880
    assert a.report.totals.macs == MACS
    assert layer(a, "down3.conv").params == C3 * C3 * 9


def test_expect_pins_the_counts_and_catches_a_wrong_one():
    good = NECK + f"expect:\n  params: {PARAMS}\n  macs: {MACS}\n  outputs: {{out3: [{C3}, {S3}, {S3}]}}\n"
    assert codes(analyze_text(good)) == []
    bad = good.replace(f"params: {PARAMS}", f"params: {PARAMS + 1}")
    assert codes(analyze_text(bad)) == ["E201"]


def test_verify_builds_the_neck_and_agrees():
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    import archscope

    report = archscope.verify("yolo_neck.yaml", text=NECK)
    assert report.ok, [str(m) for m in report.mismatches]
    assert [(name, forward) for name, _, forward in report.outputs] == list(OUTPUTS)
    assert report.totals["macs"]["fvcore"] == MACS
