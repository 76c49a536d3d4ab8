"""The static receptive field against PyTorch: build the network, make it monotone (positive
weights, average pooling, eval, float64; see :mod:`archscope.torch_backend.receptive_field_check`), backprop
from one central unit, and compare the first and last input unit with a non-zero gradient, per
spatial dim, with the static pass's prediction for that unit. Exact agreement is required.

The specs cover every op family with a spatial effect: plain stacks (vgg16, alexnet), residual
(resnet50), inception (googlenet), dense (densenet121), depthwise/MBConv (mobilenet_v2),
unpooling and transposed convs (deconvnet), and small inline specs for dilation, strided
transposed convs, upsampling, pixel shuffles, padding and misaligned branches. Channel counts do
not change a field: where a spec has width params, a narrow version is measured.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow  # builds and runs networks (or processes): not in the quick subset

torch = pytest.importorskip("torch")

from archscope.torch_backend.receptive_field_check import measure  # noqa: E402

NARROW = {
    "vgg16": {"widths": [8, 16, 16, 32, 32], "num_classes": 10},
    "alexnet": {"num_classes": 10},
    "resnet50": {"num_classes": 10},
    "googlenet": {"num_classes": 10},
    "densenet121": {"growth": 4, "bn_size": 2, "init_features": 8, "num_classes": 10},
    "mobilenet_v2": {"num_classes": 10},
    "deconvnet": {},
}


def _check(results) -> None:
    assert results
    wrong = [m for m in results if not m.agree]
    assert not wrong, [(m.layer, m.axis, m.static, m.measured) for m in wrong]


@pytest.mark.parametrize("spec", sorted(NARROW))
def test_static_field_matches_the_gradient(spec: str):
    _check(measure(spec, params=NARROW[spec]))


INLINE = {
    "dilated": """
name: dilated
input: [2, 96, 96]
layers:
  - {op: conv2d, name: a, out: 4, kernel: 3, dilation: 2, padding: 2}
  - {op: conv2d, name: b, out: 4, kernel: 3, stride: 2, dilation: 3}
  - {op: relu, name: r}
  - {op: conv2d, name: c, out: 4, kernel: [3, 5], dilation: [4, 1], padding: same}
""",
    "transposed": """
name: transposed
input: [2, 48, 48]
layers:
  - {op: conv2d, name: a, out: 4, kernel: 3, stride: 2, padding: 1}
  - {op: conv_transpose2d, name: up1, out: 4, kernel: 4, stride: 2, padding: 1}
  - {op: conv_transpose2d, name: up2, out: 4, kernel: 3, stride: 3, dilation: 2}
  - {op: conv2d, name: b, out: 4, kernel: 5, padding: 2}
""",
    "upsample": """
name: upsample
input: [2, 40, 40]
layers:
  - {op: conv2d, name: a, out: 8, kernel: 3, stride: 2}
  - {op: upsample, name: near, scale: 2}
  - {op: conv2d, name: b, out: 8, kernel: 3}
  - {op: upsample, name: bil, mode: bilinear, scale: 2}
  - {op: conv2d, name: c, out: 4, kernel: 3}
  - {op: pixel_unshuffle, name: unshuffle, downscale: 2}
  - {op: conv2d, name: d, out: 8, kernel: 3}
  - {op: pixel_shuffle, name: shuffle, upscale: 2}
  - {op: upsample, name: cubic, mode: bicubic, scale: 3}
""",
    "transposed_dims": """
name: transposed_dims
input: [2, 48, 40]
layers:
  - {op: conv2d, name: a, out: 4, kernel: [7, 1], stride: [2, 1]}
  - {op: transpose, name: hw, dim0: 2, dim1: 1}
  - {op: conv2d, name: b, out: 4, kernel: [3, 5], stride: [1, 3]}
  - {op: permute, name: back, dims: [0, 2, 1]}
  - {op: scale, name: s, value: 0.5}
  - {op: conv2d, name: c, out: 4, kernel: 3}
""",
    "branches": """
name: branches
input: [2, 64, 64]
layers:
  - {op: conv2d, name: stem, out: 4, kernel: 3, stride: 2}
  - {op: conv2d, name: a, in: stem, out: 4, kernel: 3}
  - {op: zeropad2d, name: pad, in: stem, padding: [2, 0, 2, 0]}
  - {op: conv2d, name: b, in: pad, out: 4, kernel: 5}
  - {op: maxpool2d, name: c, in: stem, kernel: 3, stride: 1}
  - {op: add, name: sum, in: [a, b, c]}
  - {op: concat, name: cat, in: [sum, a]}
""",
}


@pytest.mark.parametrize("name", sorted(INLINE))
def test_static_field_matches_the_gradient_on_small_specs(name: str):
    _check(measure(f"{name}.yaml", text=INLINE[name], layers=None))
