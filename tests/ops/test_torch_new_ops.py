"""The ops added for ConvNeXt, ShuffleNet, super-resolution and video nets, verified end to end.

Three small specs (a 2-D, a 3-D and a 1-D network) use every one of them; ``verify`` must agree
with torch (shapes of a forward pass, params and buffers by ``numel``) and fvcore (MACs). The
lowerings written here (ConvNeXt's channel layer norm and layer scale, stochastic depth) are
checked against the computation they copy.
"""

from __future__ import annotations

from functools import cache

import pytest

pytestmark = pytest.mark.slow  # builds and runs networks (or processes): not in the quick subset

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

import archscope  # noqa: E402
from archscope.ops import REGISTRY  # noqa: E402

NEW_OPS = {
    "upsample",
    "pixel_shuffle",
    "pixel_unshuffle",
    "channel_shuffle",
    "layer_norm",
    "group_norm",
    "instance_norm",
    "layer_scale",
    "drop_path",
    "adaptive_maxpool1d",
    "adaptive_maxpool2d",
    "prelu",
    "elu",
    "mish",
    "softplus",
    "hardtanh",
    "conv3d",
    "conv_transpose3d",
    "maxpool3d",
    "avgpool3d",
    "adaptive_avgpool3d",
    "batchnorm3d",
}

SPECS = {
    "new-2d": """input: [8, 12, 12]
layers:
  - {op: conv2d, out: 16, kernel: 3, padding: 1}
  - {op: layer_norm, over: channels, eps: 0.000001}
  - {op: layer_scale}
  - {op: drop_path, p: 0.1}
  - {op: group_norm, groups: 4}
  - {op: prelu, num_parameters: 16}
  - {op: instance_norm, affine: true, track_running_stats: true}
  - {op: elu, alpha: 0.5}
  - {op: channel_shuffle, groups: 4}
  - {op: pixel_shuffle, upscale: 2}
  - mish
  - {op: pixel_unshuffle, downscale: 2}
  - {op: softplus, beta: 2}
  - {op: upsample, mode: bilinear, scale: 2, align_corners: false}
  - {op: hardtanh, min_val: -2, max_val: 2}
  - {op: upsample, mode: bicubic, size: [30, 30]}
  - {op: upsample, scale: 0.5}
  - {op: adaptive_maxpool2d, output_size: 5}
  - instance_norm
  - flatten
  - layer_norm
  - {op: linear, out: 10}
""",
    "new-3d": """input: [3, 8, 16, 16]
layers:
  - {op: conv3d, out: 8, kernel: [3, 5, 5], stride: [1, 2, 2], padding: [1, 2, 2], bias: false}
  - batchnorm3d
  - relu
  - {op: maxpool3d, kernel: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1]}
  - {op: conv3d, out: 8, kernel: 3, padding: same, groups: 8}
  - {op: avgpool3d, kernel: 2}
  - {op: conv_transpose3d, out: 4, kernel: 2, stride: 2}
  - {op: upsample, size: [6, 6, 6]}
  - {op: adaptive_avgpool3d, output_size: [1, 2, 2]}
  - flatten
  - layer_norm
""",
    "new-1d": """input: [4, 32]
layers:
  - {op: upsample, scale: 1.5}
  - instance_norm
  - {op: layer_norm, over: channels}
  - {op: adaptive_maxpool1d, output_size: 8}
  - {op: group_norm, groups: 2}
""",
}


@cache
def verified(name: str):  # one verify per spec, shared by the tests below
    return archscope.verify(f"{name}.yaml", text=SPECS[name])


def test_the_specs_use_every_new_op():
    used = {row.op for text in SPECS.values() for row in archscope.analyze("t.yaml", text=text).report.layers}
    assert NEW_OPS <= used and NEW_OPS <= set(REGISTRY)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_a_spec_of_the_new_ops_verifies(name: str):
    report = verified(name)
    assert report.ok, "\n".join(map(str, report.mismatches))
    assert all(layer.real_shape == layer.static_shape for layer in report.layers)


def test_norm_and_bilinear_ops_follow_fvcores_count():
    """The convention claimed in their docstrings: fvcore counts what `ops` counts (kept apart from MACs)."""
    report = verified("new-2d")
    ops = {row.name: row.ops for row in archscope.analyze("t.yaml", text=SPECS["new-2d"]).report.layers}
    counted = {layer.name: dict(layer.fvcore_other) for layer in report.layers}
    for name in ("layer_norm_1", "group_norm_1", "instance_norm_1", "upsample_1", "layer_norm_2"):
        assert sum(counted[name].values()) == ops[name], name


def test_channel_layer_norm_is_convnexts_layernorm2d():
    """torchvision's LayerNorm2d: permute to channels last, F.layer_norm over C, permute back."""
    op = REGISTRY["layer_norm"]
    attrs = {"over": "channels", "eps": 1e-6, "affine": True}
    module = op.lower(attrs, [(6, 5, 4)], (6, 5, 4))
    torch.nn.init.normal_(module.weight)
    torch.nn.init.normal_(module.bias)
    x = torch.randn(2, 6, 5, 4)
    expected = torch.nn.functional.layer_norm(x.permute(0, 2, 3, 1), (6,), module.weight, module.bias, 1e-6)
    torch.testing.assert_close(module(x), expected.permute(0, 3, 1, 2))


def test_layer_scale_is_convnexts_parameter():
    module = REGISTRY["layer_scale"].lower({"init": 1e-6}, [(96, 7, 7)], (96, 7, 7))
    (gamma,) = module.parameters()
    assert gamma.shape == (96, 1, 1) and torch.all(gamma == 1e-6)  # torch.ones(dim, 1, 1) * layer_scale
    x = torch.randn(2, 96, 7, 7)
    torch.testing.assert_close(module(x), gamma * x)


def test_drop_path_is_the_identity_in_eval_and_drops_whole_samples_in_training():
    module = REGISTRY["drop_path"].lower({"p": 0.5}, [(3, 4, 4)], (3, 4, 4))
    x = torch.randn(64, 3, 4, 4) + 10.0
    assert module.eval()(x) is x
    torch.manual_seed(0)
    y = module.train()(x)
    kept = (y != 0).flatten(1).all(1)
    dropped = (y == 0).flatten(1).all(1)
    assert torch.all(kept | dropped) and kept.any() and dropped.any()  # each sample whole or nothing
    torch.testing.assert_close(y[kept], x[kept] / 0.5)  # survivors rescaled by 1/(1 − p)
