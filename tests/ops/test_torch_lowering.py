"""Every registered op, lowered through `archscope.build`, equals a hand-written torch layer.

Parametrized over ``archscope.ops.REGISTRY``: an op added without a case here fails
``test_every_op_has_a_case``. Each case is a small spec (the op, with helper layers where it
needs two inputs) and a reference written with ``torch.nn.functional`` and the arguments
typed by hand, applied to the same weights. Weights and BN statistics are randomised first,
so that a swapped argument cannot hide behind an identity initialisation. Shapes and params
are also checked against the real forward pass and ``numel``.
"""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.slow  # builds and runs networks (or processes): not in the quick subset

torch = pytest.importorskip("torch")
F = torch.nn.functional

import archscope  # noqa: E402
from archscope.ops import REGISTRY  # noqa: E402
from archscope.torch_backend.lowering import layer_modules  # noqa: E402


def w(p, name):  # the weight of layer `name`
    return p[name].weight


def b(p, name):
    return p[name].bias


def bn(x, m):
    view = (1, -1) + (1,) * (x.dim() - 2)
    return (x - m.running_mean.view(view)) / torch.sqrt(m.running_var.view(view) + m.eps) * m.weight.view(
        view
    ) + m.bias.view(view)


def lrn(x, size, alpha, beta, k):  # Krizhevsky et al. 2012, §3.3, with PyTorch's zero padding and /size
    sq = F.pad(x * x, (0, 0, 0, 0, size // 2, (size - 1) // 2))
    total = sum(sq[:, i : i + x.shape[1]] for i in range(size))
    return x / (k + alpha * total / size) ** beta


def standardized(weight, eps):  # Qiao et al. 2019: each filter to mean 0, variance 1 (biased)
    flat = weight.flatten(1)
    mean = flat.mean(1, keepdim=True)
    var = ((flat - mean) ** 2).mean(1, keepdim=True)
    return ((flat - mean) / torch.sqrt(var + eps)).view_as(weight)


def grn(x, gamma, beta, eps):  # ConvNeXt V2, Algorithm 1, channels first: gx over positions, nx over channels
    view = (1, -1) + (1,) * (x.dim() - 2)
    gx = torch.sqrt((x * x).sum(tuple(range(2, x.dim())), keepdim=True))
    nx = gx / (gx.mean(1, keepdim=True) + eps)
    return gamma.view(view) * (x * nx) + beta.view(view) + x


# op → [(input shape, layer lines, reference(x, layers) -> tensor)]; the op's layer is named `t`
def attention(q, k, v, scale=None, causal=False):  # Vaswani et al. 2017, eq. 1; PyTorch's `is_causal`: tril
    scores = q @ k.transpose(-2, -1) * (scale if scale is not None else 1 / math.sqrt(q.shape[-1]))
    if causal:
        keep = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril()
        scores = scores.masked_fill(~keep, float("-inf"))
    return scores.softmax(-1) @ v


def self_attention(x, m, heads):  # nn.MultiheadAttention's packed in-projection, heads, out-projection
    n, length, e = x.shape
    qkv = F.linear(x, m.in_proj_weight, m.in_proj_bias)
    q, k, v = (t.reshape(n, length, heads, e // heads).transpose(1, 2) for t in qkv.chunk(3, dim=-1))
    out = attention(q, k, v).transpose(1, 2).reshape(n, length, e)
    return F.linear(out, m.out_proj.weight, m.out_proj.bias)


CASES = {
    "relu": [("[4, 5, 5]", ["{op: relu, name: t}"], lambda x, p: x.clamp(min=0))],
    "relu6": [("[4, 5, 5]", ["{op: relu6, name: t}"], lambda x, p: x.clamp(0, 6))],
    "leaky_relu": [
        ("[4, 5, 5]", ["{op: leaky_relu, name: t, negative_slope: 0.2}"], lambda x, p: torch.where(x > 0, x, 0.2 * x))
    ],
    "tanh": [("[4, 5, 5]", ["{op: tanh, name: t}"], lambda x, p: torch.tanh(x))],
    "sigmoid": [("[4, 5, 5]", ["{op: sigmoid, name: t}"], lambda x, p: 1 / (1 + torch.exp(-x)))],
    "silu": [("[4, 5, 5]", ["{op: silu, name: t}"], lambda x, p: x / (1 + torch.exp(-x)))],
    "hardswish": [("[4, 5, 5]", ["{op: hardswish, name: t}"], lambda x, p: x * (x + 3).clamp(0, 6) / 6)],
    "hardsigmoid": [("[4, 5, 5]", ["{op: hardsigmoid, name: t}"], lambda x, p: (x + 3).clamp(0, 6) / 6)],
    "gelu": [("[4, 5, 5]", ["{op: gelu, name: t}"], lambda x, p: 0.5 * x * (1 + torch.erf(x / math.sqrt(2))))],
    "softmax": [
        ("[4, 5, 5]", ["{op: softmax, name: t}"], lambda x, p: x.exp() / x.exp().sum(1, keepdim=True)),
        ("[4, 5, 5]", ["{op: softmax, name: t, dim: 2}"], lambda x, p: x.exp() / x.exp().sum(3, keepdim=True)),
    ],
    "dropout": [("[4, 5, 5]", ["{op: dropout, name: t, p: 0.3}"], lambda x, p: x)],  # eval: the identity
    "identity": [("[4, 5, 5]", ["{op: identity, name: t}"], lambda x, p: x)],
    "conv1d": [
        (
            "[4, 20]",
            ["{op: conv1d, name: t, out: 6, kernel: 3, stride: 2, padding: 1, dilation: 2, groups: 2}"],
            lambda x, p: F.conv1d(x, w(p, "t"), b(p, "t"), 2, 1, 2, 2),
        ),
        (
            "[4, 9]",
            ["{op: conv1d, name: t, out: 4, kernel: 4, padding: same, bias: false}"],
            lambda x, p: F.conv1d(F.pad(x, (1, 2)), w(p, "t")),
        ),
    ],
    "conv2d": [
        (
            "[4, 11, 9]",
            ["{op: conv2d, name: t, out: 6, kernel: [3, 5], stride: [2, 1], padding: [1, 2]}"],
            lambda x, p: F.conv2d(x, w(p, "t"), b(p, "t"), (2, 1), (1, 2)),
        ),
        (
            "[4, 8, 8]",
            ["{op: conv2d, name: t, out: 4, kernel: 3, groups: 4, padding: 1, bias: false}"],
            lambda x, p: F.conv2d(x, w(p, "t"), None, 1, 1, 1, 4),
        ),
        (
            "[4, 8, 8]",
            ["{op: conv2d, name: t, out: 8, kernel: 3, dilation: 2, padding: valid, groups: 2}"],
            lambda x, p: F.conv2d(x, w(p, "t"), b(p, "t"), 1, 0, 2, 2),
        ),
        (
            "[3, 7, 7]",
            ["{op: conv2d, name: t, out: 5, kernel: 4, padding: same}"],  # PyTorch pads 1 before, 2 after
            lambda x, p: F.conv2d(F.pad(x, (1, 2, 1, 2)), w(p, "t"), b(p, "t")),
        ),
    ],
    "conv_transpose1d": [
        (
            "[4, 7]",
            ["{op: conv_transpose1d, name: t, out: 6, kernel: 3, stride: 2, padding: 1, output_padding: 1, groups: 2}"],
            lambda x, p: F.conv_transpose1d(x, w(p, "t"), b(p, "t"), 2, 1, 1, 2),
        )
    ],
    "conv_transpose2d": [
        (
            "[4, 5, 6]",
            [
                "{op: conv_transpose2d, name: t, out: 2, kernel: [3, 2], stride: 2, "
                "padding: [1, 0], output_padding: [1, 0], dilation: [1, 2], bias: false}"
            ],
            lambda x, p: F.conv_transpose2d(x, w(p, "t"), None, 2, (1, 0), (1, 0), 1, (1, 2)),
        )
    ],
    "linear": [
        ("[12]", ["{op: linear, name: t, out: 5}"], lambda x, p: x @ w(p, "t").T + b(p, "t")),
        ("[12]", ["{op: linear, name: t, out: 5, bias: false}"], lambda x, p: x @ w(p, "t").T),
        ("[3, 12]", ["{op: linear, name: t, out: 5}"], lambda x, p: x @ w(p, "t").T + b(p, "t")),  # per token
    ],
    "flatten": [("[4, 5, 3]", ["{op: flatten, name: t}"], lambda x, p: x.reshape(x.shape[0], -1))],
    "add": [
        (
            "[4, 5, 5]",
            ["{op: relu, name: r}", "{op: tanh, name: h, in: input}", "{op: add, name: t, in: [input, r, h]}"],
            lambda x, p: x + x.clamp(min=0) + torch.tanh(x),
        )
    ],
    "concat": [
        (
            "[4, 5, 5]",
            ["{op: relu, name: r}", "{op: concat, name: t, in: [r, input]}"],
            lambda x, p: torch.cat([x.clamp(min=0), x], 1),
        ),
        (
            "[4, 5, 5]",
            ["{op: relu, name: r}", "{op: concat, name: t, dim: 2, in: [input, r]}"],
            lambda x, p: torch.cat([x, x.clamp(min=0)], 3),
        ),
    ],
    "mul": [
        (
            "[4, 5, 5]",
            ["{op: global_avgpool, name: g}", "{op: mul, name: t, in: [input, g]}"],
            lambda x, p: x * x.mean((2, 3), keepdim=True),
        )
    ],
    "batchnorm1d": [
        ("[6]", ["{op: batchnorm1d, name: t}"], lambda x, p: bn(x, p["t"])),
        ("[6, 10]", ["{op: batchnorm1d, name: t, eps: 0.001}"], lambda x, p: bn(x, p["t"])),
    ],
    "batchnorm2d": [
        ("[6, 4, 4]", ["{op: batchnorm2d, name: t, eps: 0.01, momentum: 0.3}"], lambda x, p: bn(x, p["t"]))
    ],
    "lrn": [
        (
            "[7, 4, 4]",
            ["{op: lrn, name: t, size: 5, alpha: 0.01, beta: 0.75, k: 2}"],
            lambda x, p: lrn(x, 5, 0.01, 0.75, 2.0),
        ),
        ("[7, 4, 4]", ["{op: lrn, name: t, size: 4}"], lambda x, p: lrn(x, 4, 1e-4, 0.75, 1.0)),
    ],
    "zeropad2d": [
        ("[2, 3, 4]", ["{op: zeropad2d, name: t, padding: [1, 2, 3, 4]}"], lambda x, p: _pad_by_hand(x, 1, 2, 3, 4)),
        ("[2, 3, 4]", ["{op: zeropad2d, name: t, padding: 2}"], lambda x, p: _pad_by_hand(x, 2, 2, 2, 2)),
    ],
    "maxpool1d": [
        (
            "[3, 11]",
            ["{op: maxpool1d, name: t, kernel: 3, stride: 2, padding: 1, ceil_mode: true}"],
            lambda x, p: F.max_pool1d(x, 3, 2, 1, ceil_mode=True),
        )
    ],
    "maxpool2d": [
        (
            "[3, 9, 9]",
            ["{op: maxpool2d, name: t, kernel: 3, stride: 2, padding: 1, dilation: 2}"],
            lambda x, p: F.max_pool2d(x, 3, 2, 1, dilation=2),
        ),
        ("[3, 8, 8]", ["{op: maxpool2d, name: t, kernel: 2, return_indices: true}"], lambda x, p: F.max_pool2d(x, 2)),
    ],  # the network's output is the values, not the switches
    "avgpool1d": [
        (
            "[3, 10]",
            ["{op: avgpool1d, name: t, kernel: 4, stride: 3, padding: 2, count_include_pad: false}"],
            lambda x, p: F.avg_pool1d(x, 4, 3, 2, count_include_pad=False),
        )
    ],
    "avgpool2d": [
        (
            "[3, 9, 9]",
            ["{op: avgpool2d, name: t, kernel: [3, 2], stride: 2, ceil_mode: true}"],
            lambda x, p: F.avg_pool2d(x, (3, 2), 2, ceil_mode=True),
        )
    ],
    "global_avgpool": [
        ("[3, 5, 6]", ["{op: global_avgpool, name: t}"], lambda x, p: x.mean((2, 3), keepdim=True)),
        ("[3, 7]", ["{op: global_avgpool, name: t}"], lambda x, p: x.mean(2, keepdim=True)),
        ("[3, 2, 5, 6]", ["{op: global_avgpool, name: t}"], lambda x, p: x.mean((2, 3, 4), keepdim=True)),  # video
    ],
    "adaptive_avgpool2d": [
        (
            "[3, 8, 9]",
            ["{op: adaptive_avgpool2d, name: t, output_size: [2, 3]}"],
            lambda x, p: F.adaptive_avg_pool2d(x, (2, 3)),
        )
    ],
    # ---- the ops of ConvNeXt, ShuffleNet, super-resolution and video nets
    "elu": [("[4, 5, 5]", ["{op: elu, name: t, alpha: 0.5}"], lambda x, p: torch.where(x > 0, x, 0.5 * (x.exp() - 1)))],
    "mish": [("[4, 5, 5]", ["{op: mish, name: t}"], lambda x, p: x * torch.tanh(torch.log1p(x.exp())))],
    "softplus": [
        (
            "[4, 5, 5]",
            ["{op: softplus, name: t, beta: 2, threshold: 5}"],
            lambda x, p: torch.where(2 * x > 5, x, torch.log1p((2 * x).exp()) / 2),
        )
    ],
    "hardtanh": [("[4, 5, 5]", ["{op: hardtanh, name: t, min_val: -2, max_val: 3}"], lambda x, p: x.clamp(-2, 3))],
    "prelu": [
        (
            "[4, 5, 5]",
            ["{op: prelu, name: t, num_parameters: 4}"],
            lambda x, p: torch.where(x > 0, x, w(p, "t").view(1, 4, 1, 1) * x),
        ),
        ("[4, 5]", ["{op: prelu, name: t}"], lambda x, p: torch.where(x > 0, x, w(p, "t") * x)),
    ],
    "layer_scale": [
        ("[4, 5, 5]", ["{op: layer_scale, name: t}"], lambda x, p: p["t"].layer_scale.view(1, 4, 1, 1) * x)
    ],
    "drop_path": [("[4, 5, 5]", ["{op: drop_path, name: t, p: 0.2}"], lambda x, p: x)],  # eval: the identity
    "layer_norm": [
        (
            "[4, 5, 6]",
            ["{op: layer_norm, name: t, over: channels, eps: 0.000001}"],
            lambda x, p: F.layer_norm(x.permute(0, 2, 3, 1), (4,), w(p, "t"), b(p, "t"), 1e-6).permute(0, 3, 1, 2),
        ),
        ("[4, 5, 6]", ["{op: layer_norm, name: t}"], lambda x, p: F.layer_norm(x, (6,), w(p, "t"), b(p, "t"))),
    ],
    "group_norm": [
        (
            "[6, 5, 5]",
            ["{op: group_norm, name: t, groups: 3}"],
            lambda x, p: F.group_norm(x, 3, w(p, "t"), b(p, "t")),
        )
    ],
    "instance_norm": [
        ("[4, 5, 6]", ["{op: instance_norm, name: t}"], lambda x, p: F.instance_norm(x)),
        (
            "[4, 7]",
            ["{op: instance_norm, name: t, affine: true, track_running_stats: true}"],
            lambda x, p: bn(x, p["t"]),  # eval with running statistics: batch norm's formula
        ),
    ],
    "batchnorm3d": [("[4, 3, 5, 5]", ["{op: batchnorm3d, name: t}"], lambda x, p: bn(x, p["t"]))],
    "upsample": [
        (
            "[3, 4, 5]",
            ["{op: upsample, name: t, scale: 2}"],
            lambda x, p: x.repeat_interleave(2, 2).repeat_interleave(2, 3),
        ),
        (
            "[3, 4, 5]",
            ["{op: upsample, name: t, mode: bilinear, size: [7, 9], align_corners: true}"],
            lambda x, p: F.interpolate(x, size=(7, 9), mode="bilinear", align_corners=True),
        ),
        (
            "[3, 4, 5]",
            ["{op: upsample, name: t, mode: bicubic, scale: [1.5, 2]}"],
            lambda x, p: F.interpolate(x, scale_factor=(1.5, 2.0), mode="bicubic"),
        ),
    ],
    "pixel_shuffle": [
        (
            "[8, 3, 5]",
            ["{op: pixel_shuffle, name: t, upscale: 2}"],
            lambda x, p: x.reshape(2, 2, 2, 2, 3, 5).permute(0, 1, 4, 2, 5, 3).reshape(2, 2, 6, 10),
        )
    ],
    "pixel_unshuffle": [
        (
            "[2, 6, 10]",
            ["{op: pixel_unshuffle, name: t, downscale: 2}"],
            lambda x, p: x.reshape(2, 2, 3, 2, 5, 2).permute(0, 1, 3, 5, 2, 4).reshape(2, 8, 3, 5),
        )
    ],
    "channel_shuffle": [
        (
            "[6, 4, 4]",
            ["{op: channel_shuffle, name: t, groups: 2}"],
            lambda x, p: x.reshape(2, 2, 3, 4, 4).transpose(1, 2).reshape(2, 6, 4, 4),
        )
    ],
    "adaptive_maxpool1d": [
        ("[3, 10]", ["{op: adaptive_maxpool1d, name: t, output_size: 4}"], lambda x, p: F.adaptive_max_pool1d(x, 4))
    ],
    "adaptive_maxpool2d": [
        (
            "[3, 8, 9]",
            ["{op: adaptive_maxpool2d, name: t, output_size: [2, 3]}"],
            lambda x, p: F.adaptive_max_pool2d(x, (2, 3)),
        )
    ],
    "adaptive_maxpool3d": [
        (  # windows that divide the input: the max of each 2×2×2 block
            "[3, 4, 6, 8]",
            ["{op: adaptive_maxpool3d, name: t, output_size: [2, 3, 4]}"],
            lambda x, p: x.reshape(-1, 3, 2, 2, 3, 2, 4, 2).amax((3, 5, 7)),
        )
    ],
    "adaptive_avgpool3d": [
        (
            "[3, 4, 8, 9]",
            ["{op: adaptive_avgpool3d, name: t, output_size: [1, 2, 3]}"],
            lambda x, p: F.adaptive_avg_pool3d(x, (1, 2, 3)),
        )
    ],
    "maxpool3d": [
        (
            "[2, 4, 9, 9]",
            ["{op: maxpool3d, name: t, kernel: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1]}"],
            lambda x, p: F.max_pool3d(x, (1, 3, 3), (1, 2, 2), (0, 1, 1)),
        )
    ],
    "avgpool3d": [
        (
            "[2, 4, 6, 6]",
            ["{op: avgpool3d, name: t, kernel: 2, count_include_pad: false, padding: 1}"],
            lambda x, p: F.avg_pool3d(x, 2, 2, 1, count_include_pad=False),
        )
    ],
    "conv3d": [
        (
            "[4, 5, 8, 8]",
            ["{op: conv3d, name: t, out: 6, kernel: [3, 1, 3], stride: [1, 2, 2], padding: [1, 0, 1], groups: 2}"],
            lambda x, p: F.conv3d(x, w(p, "t"), b(p, "t"), (1, 2, 2), (1, 0, 1), 1, 2),
        )
    ],
    "conv_transpose3d": [
        (
            "[4, 3, 4, 5]",
            ["{op: conv_transpose3d, name: t, out: 2, kernel: 3, stride: 2, padding: 1, output_padding: 1}"],
            lambda x, p: F.conv_transpose3d(x, w(p, "t"), b(p, "t"), 2, 1, 1),
        )
    ],
    "max_unpool2d": [
        (
            "[3, 8, 8]",
            [
                "{op: maxpool2d, name: pool, kernel: 2, return_indices: true}",
                "{op: relu, name: r}",
                "{op: max_unpool2d, name: t, kernel: 2, in: [r, pool]}",
            ],
            lambda x, p: F.max_unpool2d(F.max_pool2d(x, 2).clamp(min=0), F.max_pool2d(x, 2, return_indices=True)[1], 2),
        )
    ],
    # ---- the ops of imported CNNs (NFNet, ConvNeXt V2, BiT)
    "reshape": [
        ("[4, 3, 6]", ["{op: reshape, name: t, shape: [2, -1, 3]}"], lambda x, p: x.reshape(2, 2, 12, 3)),
        ("[4, 3, 6]", ["{op: reshape, name: t, shape: [-1]}"], lambda x, p: x.flatten(1)),
    ],
    "permute": [
        ("[4, 3, 6]", ["{op: permute, name: t, dims: [1, 2, 0]}"], lambda x, p: x.permute(0, 2, 3, 1)),
        ("[4, 3, 6]", ["{op: permute, name: t, dims: [0, 2, 1]}"], lambda x, p: x.transpose(2, 3)),
    ],
    "transpose": [
        ("[4, 3, 6]", ["{op: transpose, name: t, dim0: 2, dim1: 1}"], lambda x, p: x.permute(0, 1, 3, 2)),
        ("[4, 3]", ["{op: transpose, name: t, dim0: 0, dim1: 1}"], lambda x, p: x.permute(0, 2, 1)),
    ],
    "scale": [("[4, 5, 5]", ["{op: scale, name: t, value: -1.7015}"], lambda x, p: x * -1.7015)],
    "scalar_gain": [("[4, 5, 5]", ["{op: scalar_gain, name: t}"], lambda x, p: x * p["t"].gain)],
    "std_conv2d": [
        (
            "[4, 7, 7]",
            ["{op: std_conv2d, name: t, out: 6, kernel: 3, stride: 2, padding: 1, groups: 2}"],
            lambda x, p: F.conv2d(x, standardized(w(p, "t"), 1e-6), b(p, "t"), 2, 1, 1, 2),
        ),
        (
            "[4, 7, 7]",
            ["{op: std_conv2d, name: t, out: 6, kernel: [3, 1], bias: false, scaled: true, gamma: 1.7, eps: 0.0001}"],
            lambda x, p: F.conv2d(x, standardized(w(p, "t"), 1e-4) * p["t"].gain * 1.7 / math.sqrt(4 * 3 * 1)),
        ),
    ],
    "grn": [
        ("[6, 5, 4]", ["{op: grn, name: t}"], lambda x, p: grn(x, w(p, "t"), b(p, "t"), 1e-6)),
        ("[6, 9]", ["{op: grn, name: t, eps: 0.01}"], lambda x, p: grn(x, w(p, "t"), b(p, "t"), 0.01)),
    ],
    # ---- the token ops of Vision Transformers (torchvision's VisionTransformer, written out)
    "class_token": [
        (
            "[4, 6]",
            ["{op: class_token, name: t}"],
            lambda x, p: torch.cat([p["t"].class_token.expand(x.shape[0], 1, 6), x], dim=1),
        )
    ],
    "position_embedding": [("[4, 6]", ["{op: position_embedding, name: t}"], lambda x, p: x + p["t"].pos_embedding)],
    "select": [
        ("[4, 6]", ["{op: select, name: t}"], lambda x, p: x[:, 0]),
        ("[3, 4, 6]", ["{op: select, name: t, dim: 1, index: 3}"], lambda x, p: x[:, :, 3]),
    ],
    "matmul": [
        (
            "[2, 5, 8]",
            ["{op: transpose, name: kt, dim0: 1, dim1: 2}", "{op: matmul, name: t, in: [input, kt]}"],
            lambda x, p: x @ x.transpose(2, 3),
        ),
        (  # per sample (2, 1, 3, 4) by (2, 4, 3): the samples' leading dims broadcast after the batch
            "[2, 3, 4]",
            [
                "{op: reshape, name: a, shape: [2, 1, 3, 4]}",
                "{op: transpose, name: b, in: input, dim0: 1, dim1: 2}",
                "{op: matmul, name: t, in: [a, b]}",
            ],
            lambda x, p: torch.einsum("nipk,njkq->nijpq", x, x.transpose(2, 3)),
        ),
        (  # a row (6,) by (6, 1)
            "[6]",
            ["{op: reshape, name: m, shape: [6, 1]}", "{op: matmul, name: t, in: [input, m]}"],
            lambda x, p: (x * x).sum(1, keepdim=True),
        ),
        (  # (2, 6) by a column (6,)
            "[6]",
            [
                "{op: reshape, name: w, shape: [1, 6]}",
                "{op: concat, name: mm, in: [w, w]}",
                "{op: matmul, name: t, in: [mm, input]}",
            ],
            lambda x, p: (x * x).sum(1, keepdim=True).expand(-1, 2),
        ),
    ],
    "scaled_dot_product_attention": [
        (
            "[2, 5, 8]",
            ["{op: scaled_dot_product_attention, name: t, in: [input, input, input]}"],
            lambda x, p: attention(x, x, x),
        ),
        (  # 10 keys of 8, values of 16, causal (top-left aligned) and a factor
            "[2, 5, 8]",
            [
                "{op: concat, name: k, dim: 1, in: [input, input]}",
                "{op: concat, name: v, dim: 2, in: [k, k]}",
                "{op: scaled_dot_product_attention, name: t, in: [input, k, v], causal: true, scale: 0.3}",
            ],
            lambda x, p: attention(x, torch.cat([x, x], 2), torch.cat([x, x], 2).repeat(1, 1, 1, 2), 0.3, True),
        ),
    ],
    "multihead_attention": [
        ("[5, 8]", ["{op: multihead_attention, name: t, heads: 2}"], lambda x, p: self_attention(x, p["t"], 2)),
        (  # no biases, an odd head count: PyTorch's slow path
            "[3, 12]",
            ["{op: multihead_attention, name: t, heads: 3, bias: false}"],
            lambda x, p: self_attention(x, p["t"], 3),
        ),
    ],
    "split": [  # the main output is the first chunk (the others: tests/lang/test_multi_io.py)
        ("[5, 4, 4]", ["{op: split, name: t, sections: [2, 3]}"], lambda x, p: x[:, :2]),
        ("[3, 4, 6]", ["{op: split, name: t, sections: 3, dim: 2}"], lambda x, p: x[:, :, :, :2]),
    ],
}


def _pad_by_hand(x, left, right, top, bottom):
    n, c, h, width = x.shape
    out = torch.zeros(n, c, h + top + bottom, width + left + right)
    out[:, :, top : top + h, left : left + width] = x
    return out


def _randomise(net) -> None:
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, t in [*net.named_parameters(), *net.named_buffers()]:
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
            elif t.is_floating_point():
                t.copy_(torch.randn(t.shape, generator=gen))


def _params(cases):
    for op in sorted(REGISTRY):
        for i, case in enumerate(cases.get(op, [])):
            yield pytest.param(op, case, id=f"{op}-{i}")


def test_every_op_has_a_case():
    missing = sorted(set(REGISTRY) - set(CASES))
    assert not missing, f"add a lowering case to tests/ops/test_torch_lowering.py for: {', '.join(missing)}"


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note on even kernels (a copy is made)
@pytest.mark.parametrize("op, case", list(_params(CASES)))
def test_lowering_equals_hand_written_layer(op, case):
    shape, layers, reference = case
    text = f"input: {shape}\nlayers:\n" + "".join(f"  - {line}\n" for line in layers) + "output: t\n"
    analysis = archscope.analyze("t.yaml", text=text)
    assert analysis.ok, [str(d.message) for d in analysis.errors]
    assert any(n.op == op and n.name == "t" for n in analysis.graph.nodes)
    net = archscope.build(analysis).eval()
    _randomise(net)
    modules = layer_modules(net)
    x = 4 * torch.randn(2, *analysis.graph.input.shape)  # × 4: reach relu6's and hardswish's upper bounds
    with torch.no_grad():
        got = net(x)
        want = reference(x, modules)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    row = next(r for r in analysis.report.layers if r.name == "t")
    assert tuple(got.shape[1:]) == row.output_shape  # static shape = real forward
    assert sum(p.numel() for p in modules["t"].parameters()) == row.params  # static params = numel
    assert sum(b_.numel() for b_ in modules["t"].buffers()) == row.buffers
