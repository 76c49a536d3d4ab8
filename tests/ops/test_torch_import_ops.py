"""The ops that imported CNNs need (NFNet, ConvNeXt V2, BiT), verified end to end.

A small NFNet-like spec uses every one of them: archscope's static shapes and params, then
``verify`` against a forward pass (shapes), ``numel`` (params) and fvcore (MACs). The helper
modules are checked against the formulas they copy, written here from the papers and from timm's
code as text (timm is not a dependency): weight standardisation through ``F.batch_norm`` on the
weight reshaped to (1, out, −1), and GRN in timm's channels-last layout.
"""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.slow  # builds and runs networks: not in the quick subset

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")
F = torch.nn.functional

import archscope  # noqa: E402
from archscope.ops import REGISTRY  # noqa: E402

IMPORT_OPS = {"reshape", "permute", "transpose", "scale", "scalar_gain", "std_conv2d", "grn"}

NF_TINY = """name: nf_tiny
input: [3, 32, 32]
layers:
  - {op: std_conv2d, name: stem, out: 16, kernel: 3, stride: 2, padding: 1, scaled: true, gamma: 1.7015}
  - gelu
  - {op: scale, name: beta, value: 0.5}
  - {op: std_conv2d, name: conv, out: 16, kernel: 3, padding: 1}
  - {op: grn, name: grn}
  - {op: scalar_gain, name: skipinit}
  - {op: add, name: sum, in: [beta, skipinit]}
  - {op: transpose, name: hw, dim0: 1, dim1: 2}
  - {op: permute, name: cl, dims: [1, 2, 0]}
  - {op: reshape, name: flat, shape: [-1]}
  - {op: linear, name: fc, out: 10}
"""


def test_the_spec_uses_every_import_op_with_the_right_shapes_and_params():
    analysis = archscope.analyze("nf_tiny.yaml", text=NF_TINY)
    assert analysis.ok, analysis.errors
    rows = {row.name: row for row in analysis.report.layers}
    assert IMPORT_OPS <= {row.op for row in rows.values()} and IMPORT_OPS <= set(REGISTRY)
    assert rows["stem"].params == 3 * 9 * 16 + 16 + 16  # conv2d's weight and bias, and the gain
    assert rows["conv"].params == 16 * 9 * 16 + 16  # StdConv2d: conv2d's params exactly
    assert rows["conv"].macs == 16 * 9 * 16 * 16 * 16
    assert (rows["grn"].params, rows["skipinit"].params, rows["beta"].params) == (32, 1, 0)
    assert rows["cl"].output_shape == (16, 16, 16) and rows["flat"].output_shape == (4096,)


def test_the_spec_verifies_against_torch():
    report = archscope.verify("nf_tiny.yaml", text=NF_TINY)
    assert report.ok, "\n".join(map(str, report.mismatches))
    assert all(layer.real_shape == layer.static_shape for layer in report.layers)


def _module(op: str, attrs: dict, shape: tuple[int, ...]):
    definition = REGISTRY[op]
    full = {a.name: attrs.get(a.name, a.default) for a in definition.attrs}
    full = {k: definition.attr(k).type(v) for k, v in full.items()}
    return definition.lower(full, [shape], definition.shape(full, [shape]))


def test_std_conv_is_timms_batch_norm_of_the_weight():
    torch.manual_seed(0)
    plain = _module("std_conv2d", {"out": 6, "kernel": 3, "padding": 1}, (4, 8, 8))
    scaled = _module("std_conv2d", {"out": 6, "kernel": 3, "scaled": True, "gamma": 1.7015, "eps": 1e-5}, (4, 8, 8))
    with torch.no_grad():
        scaled.gain.uniform_(0.5, 2.0)
    x = torch.randn(2, 4, 8, 8)
    # timm StdConv2d: F.batch_norm(w.reshape(1, out, -1), None, None, training=True, momentum=0., eps=eps)
    w = F.batch_norm(plain.weight.reshape(1, 6, -1), None, None, training=True, momentum=0.0, eps=1e-6)
    torch.testing.assert_close(plain(x), F.conv2d(x, w.reshape_as(plain.weight), plain.bias, padding=1))
    # timm ScaledStdConv2d: weight=(gain * gamma * fan_in ** -0.5).view(-1) in that batch_norm
    gain = (scaled.gain * 1.7015 * (4 * 9) ** -0.5).view(-1)
    w = F.batch_norm(scaled.weight.reshape(1, 6, -1), None, None, weight=gain, training=True, momentum=0.0, eps=1e-5)
    torch.testing.assert_close(scaled(x), F.conv2d(x, w.reshape_as(scaled.weight), scaled.bias))
    assert scaled.gain.shape == (6, 1, 1, 1) and not hasattr(plain, "gain")


def test_grn_is_timms_channels_last_formula():
    torch.manual_seed(0)
    module = _module("grn", {}, (6, 5, 4))
    with torch.no_grad():
        module.weight.normal_()
        module.bias.normal_()
    x = torch.randn(2, 6, 5, 4)
    # timm GlobalResponseNorm, channels last: x_g = x.norm(p=2, dim=(1, 2), keepdim=True);
    # x_n = x_g / (x_g.mean(dim=-1, keepdim=True) + eps); x + addcmul(bias, weight, x * x_n)
    last = x.permute(0, 2, 3, 1)
    g = last.norm(p=2, dim=(1, 2), keepdim=True)
    n = g / (g.mean(dim=-1, keepdim=True) + 1e-6)
    expected = last + torch.addcmul(module.bias.view(1, 1, 1, -1), module.weight.view(1, 1, 1, -1), last * n)
    torch.testing.assert_close(module(x), expected.permute(0, 3, 1, 2))
    fresh = _module("grn", {}, (6, 5, 4))  # γ = β = 0 at first: the identity
    torch.testing.assert_close(fresh(x), x)


def test_scalar_gain_is_nfnets_zero_d_skipinit_parameter():
    module = _module("scalar_gain", {}, (4, 3, 3))
    (gain,) = module.parameters()
    assert gain.shape == () and gain.item() == 0.0  # nn.Parameter(torch.tensor(0.))
    x = torch.randn(2, 4, 3, 3)
    with torch.no_grad():
        gain.fill_(0.25)
    torch.testing.assert_close(module(x), 0.25 * x)
    torch.testing.assert_close(_module("scale", {"value": 1.7015}, (4, 3, 3))(x), 1.7015 * x)


def test_views_are_views_and_reshape_after_permute_copies():
    """The memory facts: permute, transpose and a contiguous reshape share the input's storage;
    torch copies a reshape of a permuted tensor (the docstring's stated gap)."""
    x = torch.randn(2, 4, 6, 5)
    permuted = _module("permute", {"dims": (1, 2, 0)}, (4, 6, 5))(x)
    transposed = _module("transpose", {"dim0": 1, "dim1": 2}, (4, 6, 5))(x)
    reshaped = _module("reshape", {"shape": (2, -1)}, (4, 6, 5))(x)
    assert all(
        t.untyped_storage().data_ptr() == x.untyped_storage().data_ptr() for t in (permuted, transposed, reshaped)
    )
    again = _module("reshape", {"shape": (-1,)}, (6, 5, 4))(permuted)
    assert again.untyped_storage().data_ptr() != x.untyped_storage().data_ptr()
    assert math.prod(again.shape) == x.numel()
