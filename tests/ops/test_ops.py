"""Every registered op's shape and cost rule, against the formula computed here.

``CASES`` is keyed by op name and ``test_every_registered_op_has_cases`` fails when an op is
registered without cases, so a new op cannot slip in untested. Expected numbers come from
the reference formulas below (PyTorch's documented shape rules; the MAC convention of
fvcore/torchvision), never from archscope's output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from conftest import analyze_text, layer, net

from archscope.ops import REGISTRY
from archscope.ops.window import dropped_rows, window_output

# ---- reference formulas (PyTorch docs: Conv2d, ConvTranspose2d, MaxPool2d, MaxUnpool2d) -----


def conv_out(w: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    """O = floor((W + 2P − D·(K−1) − 1)/S) + 1."""
    return math.floor((w + 2 * p - d * (k - 1) - 1) / s) + 1


def pool_out(w: int, k: int, s: int, p: int = 0, d: int = 1, ceil_mode: bool = False) -> int:
    """As conv; with ceil_mode the last window must start inside the input or the left padding."""
    if not ceil_mode:
        return conv_out(w, k, s, p, d)
    o = math.ceil((w + 2 * p - d * (k - 1) - 1) / s) + 1
    if (o - 1) * s >= w + p:
        o -= 1
    return o


def tconv_out(w: int, k: int, s: int = 1, p: int = 0, op: int = 0, d: int = 1) -> int:
    """O = (W − 1)·S − 2P + D·(K − 1) + output_padding + 1."""
    return (w - 1) * s - 2 * p + d * (k - 1) + op + 1


def unpool_out(w: int, k: int, s: int, p: int = 0) -> int:
    return (w - 1) * s - 2 * p + k


def n(*dims: int) -> int:
    return math.prod(dims)


@dataclass(frozen=True)
class Case:
    id: str
    input: str
    layers: tuple[str, ...]
    shape: tuple[int, ...]
    params: int = 0
    macs: int = 0
    ops: int = 0
    buffers: int = 0
    target: str = "t"


def one(id: str, input: str, spec: str, shape: tuple[int, ...], **cost: int) -> Case:
    """A case with a single layer ``{<spec>, name: t}`` on the network input."""
    return Case(id, input, ("{" + spec + ", name: t}",), shape, **cost)


def _conv2d() -> list[Case]:
    h = conv_out(224, 7, 2, 3)
    dil = conv_out(17, 3, 2, 1, 3)
    return [
        # seed: a 3×3 conv with 5 filters on 6×6×3 costs 2,160 MACs
        one(
            "seed-3x3",
            "[3, 6, 6]",
            "op: conv2d, out: 5, kernel: 3, bias: false",
            (5, 4, 4),
            params=3 * 3 * 3 * 5,
            macs=3 * 3 * 3 * 5 * 4 * 4,
        ),
        one(
            "stride-pad-bias",
            "[3, 224, 224]",
            "op: conv2d, out: 64, kernel: 7, stride: 2, padding: 3",
            (64, h, h),
            params=7 * 7 * 3 * 64 + 64,
            macs=7 * 7 * 3 * 64 * h * h,
            ops=64 * h * h,
        ),
        one(
            "same-odd",
            "[192, 28, 28]",
            "op: conv2d, out: 32, kernel: 5, padding: same, bias: false",
            (32, 28, 28),
            params=5 * 5 * 192 * 32,
            macs=5 * 5 * 192 * 32 * 28 * 28,
        ),
        one(
            "same-even-dilated",
            "[4, 10, 10]",
            "op: conv2d, out: 8, kernel: 4, dilation: 2, padding: same",
            (8, 10, 10),
            params=4 * 4 * 4 * 8 + 8,
            macs=4 * 4 * 4 * 8 * 100,
            ops=8 * 100,
        ),
        one(
            "valid",
            "[3, 10, 10]",
            "op: conv2d, out: 2, kernel: 3, padding: valid, bias: false",
            (2, 8, 8),
            params=54,
            macs=54 * 64,
        ),
        one(
            "dilation",
            "[2, 17, 17]",
            "op: conv2d, out: 4, kernel: 3, stride: 2, padding: 1, dilation: 3, bias: false",
            (4, dil, dil),
            params=9 * 2 * 4,
            macs=9 * 2 * 4 * dil * dil,
        ),
        one(
            "groups",
            "[8, 9, 9]",
            "op: conv2d, out: 16, kernel: 3, padding: 1, groups: 4",
            (16, 9, 9),
            params=9 * 2 * 16 + 16,
            macs=9 * 2 * 16 * 81,
            ops=16 * 81,
        ),
        # seed: the depthwise half of a separable conv on 6×6×3 costs 432 MACs
        one(
            "depthwise",
            "[3, 6, 6]",
            "op: conv2d, out: 3, kernel: 3, groups: 3, bias: false",
            (3, 4, 4),
            params=27,
            macs=3 * 3 * 16 * 3,
        ),
        one(
            "per-dim",
            "[3, 10, 12]",
            "op: conv2d, out: 4, kernel: [3, 5], stride: [1, 2], padding: [1, 2]",
            (4, conv_out(10, 3, 1, 1), conv_out(12, 5, 2, 2)),
            params=3 * 5 * 3 * 4 + 4,
            macs=3 * 5 * 3 * 4 * conv_out(10, 3, 1, 1) * conv_out(12, 5, 2, 2),
            ops=4 * conv_out(10, 3, 1, 1) * conv_out(12, 5, 2, 2),
        ),
    ]


def _conv1d() -> list[Case]:
    length = conv_out(100, 5, 2, 2)
    return [
        one(
            "stride-pad",
            "[4, 100]",
            "op: conv1d, out: 8, kernel: 5, stride: 2, padding: 2",
            (8, length),
            params=5 * 4 * 8 + 8,
            macs=5 * 4 * 8 * length,
            ops=8 * length,
        ),
        one(
            "same-dilated-grouped",
            "[6, 30]",
            "op: conv1d, out: 6, kernel: 3, dilation: 4, groups: 3, padding: same, bias: false",
            (6, 30),
            params=3 * 2 * 6,
            macs=3 * 2 * 6 * 30,
        ),
    ]


def _conv_transpose2d() -> list[Case]:
    o = tconv_out(7, 3, 2, 1, 1)
    h, w = tconv_out(5, 2, 1, 0, 0, 2), tconv_out(6, 3, 2, 0, 0, 2)
    return [
        # MACs: every input pixel meets the whole kernel (fvcore's transposed-conv count)
        one(
            "output-padding",
            "[16, 7, 7]",
            "op: conv_transpose2d, out: 8, kernel: 3, stride: 2, padding: 1, output_padding: 1",
            (8, o, o),
            params=9 * 16 * 8 + 8,
            macs=9 * 16 * 8 * 49,
            ops=8 * o * o,
        ),
        one(
            "groups-dilation",
            "[4, 5, 6]",
            "op: conv_transpose2d, out: 6, kernel: [2, 3], stride: [1, 2], dilation: 2, groups: 2, bias: false",
            (6, h, w),
            params=2 * 3 * 4 * 3,
            macs=2 * 3 * 4 * 3 * 5 * 6,
        ),
    ]


def _conv_transpose1d() -> list[Case]:
    length = tconv_out(10, 4, 2, 1)
    return [
        one(
            "stride-pad",
            "[8, 10]",
            "op: conv_transpose1d, out: 4, kernel: 4, stride: 2, padding: 1",
            (4, length),
            params=4 * 8 * 4 + 4,
            macs=4 * 8 * 4 * 10,
            ops=4 * length,
        )
    ]


def _maxpool2d() -> list[Case]:
    s = pool_out(112, 3, 2, 1)
    return [
        one(
            "resnet",
            "[64, 112, 112]",
            "op: maxpool2d, kernel: 3, stride: 2, padding: 1",
            (64, s, s),
            ops=9 * 64 * s * s,
        ),
        one("stride-defaults-to-kernel", "[3, 7, 7]", "op: maxpool2d, kernel: 2", (3, 3, 3), ops=4 * 27),
        one(
            "ceil",
            "[3, 7, 7]",
            "op: maxpool2d, kernel: 2, ceil_mode: true",
            (3, pool_out(7, 2, 2, ceil_mode=True), 4),
            ops=4 * 3 * 4 * 4,
        ),
        # ceil mode: a kernel taller than the input still gives one window that starts inside it
        one(
            "ceil-kernel-past-input",
            "[3, 1, 5]",
            "op: maxpool2d, kernel: 2, ceil_mode: true",
            (3, pool_out(1, 2, 2, ceil_mode=True), pool_out(5, 2, 2, ceil_mode=True)),
            ops=4 * 3 * 1 * 3,
        ),
        # ceil gives 3, but the third window would start in the right padding: PyTorch drops it
        one(
            "ceil-correction",
            "[1, 5, 5]",
            "op: maxpool2d, kernel: 2, stride: 3, padding: 1, ceil_mode: true",
            (1, 2, 2),
            ops=4 * 4,
        ),
        one(
            "googlenet-ceil",
            "[192, 56, 56]",
            "op: maxpool2d, kernel: 3, stride: 2, ceil_mode: true",
            (192, 28, 28),
            ops=9 * 192 * 28 * 28,
        ),
        one(
            "dilation-indices",
            "[2, 10, 10]",
            "op: maxpool2d, kernel: 3, stride: 1, dilation: 2, return_indices: true",
            (2, conv_out(10, 3, 1, 0, 2), 6),
            ops=9 * 2 * 36,
        ),
        one(
            "per-dim",
            "[1, 9, 8]",
            "op: maxpool2d, kernel: [3, 2], stride: [2, 1], padding: [1, 0]",
            (1, pool_out(9, 3, 2, 1), pool_out(8, 2, 1)),
            ops=6 * pool_out(9, 3, 2, 1) * pool_out(8, 2, 1),
        ),
    ]


def _maxpool1d() -> list[Case]:
    return [
        one("floor", "[4, 10]", "op: maxpool1d, kernel: 3, stride: 2", (4, pool_out(10, 3, 2)), ops=3 * 4 * 4),
        one(
            "ceil",
            "[4, 10]",
            "op: maxpool1d, kernel: 3, stride: 2, ceil_mode: true",
            (4, pool_out(10, 3, 2, ceil_mode=True)),
            ops=3 * 4 * 5,
        ),
    ]


def _avgpool2d() -> list[Case]:
    o = pool_out(15, 3, 2, 1)
    c = pool_out(14, 3, 2, 0, 1, True)
    return [
        one("pad", "[8, 15, 15]", "op: avgpool2d, kernel: 3, stride: 2, padding: 1", (8, o, o), ops=9 * 8 * o * o),
        one(
            "ceil-exclude-pad",
            "[8, 14, 14]",
            "op: avgpool2d, kernel: 3, stride: 2, ceil_mode: true, count_include_pad: false",
            (8, c, c),
            ops=9 * 8 * c * c,
        ),
    ]


def _avgpool1d() -> list[Case]:
    o = pool_out(9, 4, 4, ceil_mode=True)
    return [
        one("ceil", "[2, 9]", "op: avgpool1d, kernel: 4, ceil_mode: true", (2, o), ops=4 * 2 * o),
        one(
            "pad",
            "[2, 9]",
            "op: avgpool1d, kernel: 3, stride: 2, padding: 1",
            (2, pool_out(9, 3, 2, 1)),
            ops=3 * 2 * pool_out(9, 3, 2, 1),
        ),
    ]


def _unpool() -> list[Case]:
    p = pool_out(9, 3, 2, 1)
    return [
        Case(
            "2x2",
            "[3, 8, 8]",
            (
                "{op: maxpool2d, name: p, kernel: 2, return_indices: true}",
                "{op: max_unpool2d, name: t, in: [p, p], kernel: 2}",
            ),
            (3, unpool_out(4, 2, 2), unpool_out(4, 2, 2)),
            ops=3 * 4 * 4,
        ),
        Case(
            "pad",
            "[3, 9, 9]",
            (
                "{op: maxpool2d, name: p, kernel: 3, stride: 2, padding: 1, return_indices: true}",
                "{op: max_unpool2d, name: t, in: [p, p], kernel: 3, stride: 2, padding: 1}",
            ),
            (3, unpool_out(p, 3, 2, 1), unpool_out(p, 3, 2, 1)),
            ops=3 * p * p,
        ),
    ]


def _activation(op: str, extra: str = "") -> list[Case]:
    return [
        one("3d", "[3, 4, 5]", f"op: {op}{extra}", (3, 4, 5), ops=60),
        one("flat", "[7]", f"op: {op}{extra}", (7,), ops=7),
    ]


def _merges() -> dict[str, list[Case]]:
    two = ("{op: relu, name: a}", "{op: sigmoid, name: b, in: input}")
    return {
        "add": [
            Case("two", "[3, 8, 8]", (*two, "{op: add, name: t, in: [a, b]}"), (3, 8, 8), ops=192),
            Case("three", "[3, 8, 8]", (*two, "{op: add, name: t, in: [a, b, input]}"), (3, 8, 8), ops=2 * 192),
            Case(
                "broadcast-a-channel-map",
                "[3, 8, 8]",
                ("{op: global_avgpool, name: g}", "{op: add, name: t, in: [input, g]}"),
                (3, 8, 8),
                ops=192,
            ),
        ],
        "concat": [
            Case(
                "channels",
                "[3, 8, 8]",
                (
                    "{op: conv2d, name: a, out: 4, kernel: 1, bias: false}",
                    "{op: conv2d, name: b, in: input, out: 6, kernel: 1, bias: false}",
                    "{op: concat, name: t, in: [a, b, input]}",
                ),
                (13, 8, 8),
            ),
            Case(
                "width",
                "[3, 4, 5]",
                ("{op: relu, name: a}", "{op: concat, name: t, dim: 2, in: [a, input]}"),
                (3, 4, 10),
            ),
        ],
        "mul": [
            Case(
                "squeeze-excite",
                "[16, 8, 8]",
                ("{op: global_avgpool, name: s}", "{op: mul, name: t, in: [input, s]}"),
                (16, 8, 8),
                ops=16 * 64,
            ),
            Case(
                "both-broadcast",
                "[16, 8, 8]",
                (
                    "{op: adaptive_avgpool2d, name: r, output_size: [1, 8]}",
                    "{op: adaptive_avgpool2d, name: c, in: input, output_size: [8, 1]}",
                    "{op: mul, name: t, in: [r, c]}",
                ),
                (16, 8, 8),
                ops=16 * 64,
            ),
        ],
    }


def _conv3d() -> list[Case]:
    # (C, D, H, W) clips: MACs = K_d·K_h·K_w · C_in/groups · C_out · D_out·H_out·W_out
    d, h = conv_out(16, 3, 1, 1), conv_out(112, 7, 2, 3)
    return [
        one(
            "r3d-stem",
            "[3, 16, 112, 112]",
            "op: conv3d, out: 64, kernel: [3, 7, 7], stride: [1, 2, 2], padding: [1, 3, 3], bias: false",
            (64, d, h, h),
            params=3 * 7 * 7 * 3 * 64,
            macs=3 * 7 * 7 * 3 * 64 * d * h * h,
        ),
        one(
            "grouped-bias",
            "[4, 5, 6, 7]",
            "op: conv3d, out: 6, kernel: 3, groups: 2",
            (6, 3, 4, 5),
            params=27 * 2 * 6 + 6,
            macs=27 * 2 * 6 * 3 * 4 * 5,
            ops=6 * 3 * 4 * 5,
        ),
    ]


def _conv_transpose3d() -> list[Case]:
    o = tconv_out(4, 3, 2, 1, 1)
    return [
        one(
            "x2",
            "[8, 4, 4, 4]",
            "op: conv_transpose3d, out: 4, kernel: 3, stride: 2, padding: 1, output_padding: 1, bias: false",
            (4, o, o, o),
            params=27 * 8 * 4,
            macs=27 * 8 * 4 * 4 * 4 * 4,  # every input voxel meets the kernel
        )
    ]


def _pool3d() -> dict[str, list[Case]]:
    d, h = pool_out(16, 1, 1), pool_out(56, 3, 2, 1)
    return {
        "maxpool3d": [
            one(
                "r3d",
                "[64, 16, 56, 56]",
                "op: maxpool3d, kernel: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1]",
                (64, d, h, h),
                ops=9 * 64 * d * h * h,
            )
        ],
        "avgpool3d": [
            one(
                "ceil",
                "[2, 5, 5, 5]",
                "op: avgpool3d, kernel: 2, ceil_mode: true",
                (2, 3, 3, 3),
                ops=8 * 2 * 27,
            )
        ],
        "adaptive_avgpool3d": [
            one("to-1", "[512, 2, 7, 7]", "op: adaptive_avgpool3d", (512, 1, 1, 1), ops=512 * 2 * 49),
            one("to-2x3x4", "[3, 4, 6, 8]", "op: adaptive_avgpool3d, output_size: [2, 3, 4]", (3, 2, 3, 4), ops=576),
        ],
        "adaptive_maxpool1d": [one("to-4", "[8, 50]", "op: adaptive_maxpool1d, output_size: 4", (8, 4), ops=400)],
        "adaptive_maxpool2d": [
            one("7x7", "[16, 13, 13]", "op: adaptive_maxpool2d, output_size: 7", (16, 7, 7), ops=16 * 169),
            one("2x3", "[4, 8, 9]", "op: adaptive_maxpool2d, output_size: [2, 3]", (4, 2, 3), ops=4 * 72),
        ],
        "adaptive_maxpool3d": [
            one("to-1", "[64, 4, 7, 7]", "op: adaptive_maxpool3d", (64, 1, 1, 1), ops=64 * 4 * 49),
            one("1x2x3", "[3, 4, 6, 8]", "op: adaptive_maxpool3d, output_size: [1, 2, 3]", (3, 1, 2, 3), ops=576),
        ],
    }


def upsampled(w: int, scale: float) -> int:
    """PyTorch's F.interpolate with a scale factor: floor(W · scale)."""
    return math.floor(w * scale)


def _resample() -> dict[str, list[Case]]:
    return {
        "upsample": [
            one("nearest-x2", "[8, 7, 7]", "op: upsample, scale: 2", (8, 14, 14)),  # a copy: 0 ops
            one(
                "bilinear-size",
                "[3, 5, 6]",
                "op: upsample, mode: bilinear, size: [10, 9], align_corners: true",
                (3, 10, 9),
                ops=4 * 3 * 10 * 9,
            ),
            one(
                "bicubic-fractional",
                "[2, 7, 5]",
                "op: upsample, mode: bicubic, scale: [1.5, 2.5]",
                (2, upsampled(7, 1.5), upsampled(5, 2.5)),
                ops=16 * 2 * upsampled(7, 1.5) * upsampled(5, 2.5),
            ),
            one("nearest-1d", "[4, 10]", "op: upsample, scale: 0.7", (4, upsampled(10, 0.7))),
            one("nearest-3d", "[2, 2, 3, 4]", "op: upsample, size: [4, 6, 8]", (2, 4, 6, 8)),
        ],
        "pixel_shuffle": [one("r3", "[18, 4, 5]", "op: pixel_shuffle, upscale: 3", (2, 12, 15))],
        "pixel_unshuffle": [one("r2", "[3, 8, 6]", "op: pixel_unshuffle, downscale: 2", (12, 4, 3))],
        "channel_shuffle": [
            one("shufflenet", "[116, 28, 28]", "op: channel_shuffle, groups: 2", (116, 28, 28)),
            one("1d", "[6, 5]", "op: channel_shuffle, groups: 3", (6, 5)),
        ],
    }


def _norm_stats() -> dict[str, list[Case]]:
    # fvcore's norm convention: 5 ops per element with γ and β, 4 without
    return {
        "layer_norm": [
            one(
                "convnext-channels",
                "[96, 56, 56]",
                "op: layer_norm, over: channels, eps: 0.000001",
                (96, 56, 56),
                params=2 * 96,
                ops=5 * n(96, 56, 56),
            ),
            one("last", "[768]", "op: layer_norm", (768,), params=2 * 768, ops=5 * 768),
            one("last-of-map", "[3, 4, 5]", "op: layer_norm, affine: false", (3, 4, 5), ops=4 * 60),
        ],
        "group_norm": [
            one("32-groups", "[64, 8, 8]", "op: group_norm, groups: 32", (64, 8, 8), params=128, ops=5 * n(64, 8, 8)),
            one("no-affine", "[6, 10]", "op: group_norm, groups: 3, affine: false", (6, 10), ops=4 * 60),
        ],
        "instance_norm": [
            one("2d", "[8, 5, 5]", "op: instance_norm", (8, 5, 5), ops=4 * 200),
            one(
                "1d-affine-tracked",
                "[4, 9]",
                "op: instance_norm, affine: true, track_running_stats: true",
                (4, 9),
                params=8,
                buffers=2 * 4 + 1,
                ops=5 * 36,
            ),
            one("3d", "[2, 3, 4, 5]", "op: instance_norm", (2, 3, 4, 5), ops=4 * 120),
        ],
        "batchnorm3d": [
            one(
                "clip",
                "[64, 8, 28, 28]",
                "op: batchnorm3d",
                (64, 8, 28, 28),
                params=128,
                buffers=129,
                ops=2 * n(64, 8, 28, 28),
            )
        ],
        "layer_scale": [
            one("convnext", "[96, 56, 56]", "op: layer_scale", (96, 56, 56), params=96, ops=n(96, 56, 56)),
            one("flat", "[10]", "op: layer_scale, init: 0.1", (10,), params=10, ops=10),
        ],
        "drop_path": [one("zero-on-purpose", "[96, 56, 56]", "op: drop_path, p: 0.1", (96, 56, 56))],
    }


def _attention() -> dict[str, list[Case]]:
    """matmul: numel(out)·K MACs; attention: L·S·(E + Ev) MACs and 2·L·S ops (scale, softmax) per
    leading index; multi-head self-attention on (L, E): 4E² + 4E params, 4·L·E² + 2·L²·E MACs."""
    kt = "{op: transpose, name: kt, dim0: 1, dim1: 2}"  # (2, 5, 8) → (2, 8, 5)
    kv = ("{op: concat, name: k, dim: 1, in: [input, input]}", "{op: concat, name: v, dim: 2, in: [k, k]}")
    return {
        "matmul": [
            Case("scores", "[2, 5, 8]", (kt, "{op: matmul, name: t, in: [input, kt]}"), (2, 5, 5), macs=n(2, 5, 5) * 8),
            Case(  # (3, 4, 6) by (6, 12): b's leading dims broadcast (none against 3)
                "broadcast",
                "[3, 4, 6]",
                ("{op: reshape, name: w, shape: [6, -1]}", "{op: matmul, name: t, in: [input, w]}"),
                (3, 4, 12),
                macs=n(3, 4, 12) * 6,
            ),
            Case(  # a (6,) row by a (6, 1) matrix: the row's dim is dropped
                "row",
                "[6]",
                ("{op: reshape, name: m, shape: [6, 1]}", "{op: matmul, name: t, in: [input, m]}"),
                (1,),
                macs=6,
            ),
            Case(  # a (2, 6) matrix by a (6,) column
                "column",
                "[6]",
                (
                    "{op: reshape, name: w, shape: [1, 6]}",
                    "{op: concat, name: mm, in: [w, w]}",
                    "{op: matmul, name: t, in: [mm, input]}",
                ),
                (2,),
                macs=2 * 6,
            ),
            Case(  # leading (2, 1) against (2,): (2, 2)
                "leading-broadcast",
                "[2, 3, 4]",
                (
                    "{op: reshape, name: a, shape: [2, 1, 3, 4]}",
                    "{op: transpose, name: b, in: input, dim0: 1, dim1: 2}",
                    "{op: matmul, name: t, in: [a, b]}",
                ),
                (2, 2, 3, 3),
                macs=n(2, 2, 3, 3) * 4,
            ),
        ],
        "scaled_dot_product_attention": [
            Case(
                "self",
                "[2, 5, 8]",
                ("{op: scaled_dot_product_attention, name: t, in: [input, input, input]}",),
                (2, 5, 8),
                macs=2 * 5 * 5 * (8 + 8),
                ops=2 * 2 * 5 * 5,
            ),
            Case(  # S = 10 keys, Ev = 16
                "cross",
                "[2, 5, 8]",
                (*kv, "{op: scaled_dot_product_attention, name: t, in: [input, k, v]}"),
                (2, 5, 16),
                macs=2 * 5 * 10 * (8 + 16),
                ops=2 * 2 * 5 * 10,
            ),
            Case(  # the mask and the factor change no count
                "causal-scaled",
                "[5, 8]",
                ("{op: scaled_dot_product_attention, name: t, in: [input, input, input], causal: true, scale: 0.5}",),
                (5, 8),
                macs=5 * 5 * 16,
                ops=2 * 5 * 5,
            ),
        ],
        "multihead_attention": [
            one(
                "vit-like",
                "[5, 8]",
                "op: multihead_attention, heads: 2",
                (5, 8),
                params=4 * 8 * 8 + 4 * 8,
                macs=4 * 5 * 8 * 8 + 2 * 5 * 5 * 8,
                ops=2 * 2 * 5 * 5 + 4 * 5 * 8,
            ),
            one(
                "no-bias",
                "[3, 12]",
                "op: multihead_attention, heads: 4, bias: false",
                (3, 12),
                params=4 * 12 * 12,
                macs=4 * 3 * 12 * 12 + 2 * 3 * 3 * 12,
                ops=2 * 4 * 3 * 3,
            ),
        ],
    }


CASES: dict[str, list[Case]] = {
    "conv2d": _conv2d(),
    "conv1d": _conv1d(),
    "conv_transpose2d": _conv_transpose2d(),
    "conv_transpose1d": _conv_transpose1d(),
    "maxpool2d": _maxpool2d(),
    "maxpool1d": _maxpool1d(),
    "avgpool2d": _avgpool2d(),
    "avgpool1d": _avgpool1d(),
    "global_avgpool": [
        one("2d", "[512, 7, 7]", "op: global_avgpool", (512, 1, 1), ops=512 * 49),
        one("1d", "[16, 50]", "op: global_avgpool", (16, 1), ops=16 * 50),
        one("3d-video", "[512, 2, 7, 7]", "op: global_avgpool", (512, 1, 1, 1), ops=512 * 2 * 49),  # (C, T, H, W)
    ],
    "adaptive_avgpool2d": [
        one("6x6", "[256, 13, 13]", "op: adaptive_avgpool2d, output_size: [6, 6]", (256, 6, 6), ops=256 * 169),
        one("default-1", "[8, 5, 5]", "op: adaptive_avgpool2d", (8, 1, 1), ops=8 * 25),
    ],
    "max_unpool2d": _unpool(),
    "conv3d": _conv3d(),
    "conv_transpose3d": _conv_transpose3d(),
    **_pool3d(),
    **_resample(),
    **_norm_stats(),
    "batchnorm2d": [
        one(
            "affine",
            "[64, 56, 56]",
            "op: batchnorm2d",
            (64, 56, 56),
            params=2 * 64,
            buffers=2 * 64 + 1,
            ops=2 * n(64, 56, 56),
        ),
        one(
            "no-affine",
            "[8, 4, 4]",
            "op: batchnorm2d, affine: false, eps: 0.001, momentum: 0.01",
            (8, 4, 4),
            params=0,
            buffers=2 * 8 + 1,
            ops=2 * 128,
        ),
    ],
    "batchnorm1d": [
        one("features", "[100]", "op: batchnorm1d", (100,), params=200, buffers=201, ops=200),
        one("sequence", "[16, 50]", "op: batchnorm1d", (16, 50), params=32, buffers=33, ops=2 * 800),
    ],
    "lrn": [
        one(
            "alexnet",
            "[96, 55, 55]",
            "op: lrn, size: 5, alpha: 0.0001, beta: 0.75, k: 2",
            (96, 55, 55),
            ops=(5 + 3) * n(96, 55, 55),
        )
    ],
    "dropout": [
        one("features", "[4096]", "op: dropout, p: 0.3", (4096,)),
        one("map", "[3, 4, 4]", "op: dropout", (3, 4, 4)),
    ],
    "identity": [one("map", "[3, 4, 4]", "op: identity", (3, 4, 4))],
    **{op: _activation(op) for op in ("relu", "relu6", "tanh", "sigmoid", "silu", "hardswish", "hardsigmoid", "gelu")},
    "leaky_relu": _activation("leaky_relu", ", negative_slope: 0.2"),
    "elu": _activation("elu", ", alpha: 0.5"),
    "mish": _activation("mish"),
    "softplus": _activation("softplus", ", beta: 2, threshold: 10"),
    "hardtanh": _activation("hardtanh", ", min_val: -2, max_val: 2"),
    "prelu": [
        one("one-slope", "[3, 4, 5]", "op: prelu", (3, 4, 5), params=1, ops=60),
        one("per-channel", "[3, 4, 5]", "op: prelu, num_parameters: 3", (3, 4, 5), params=3, ops=60),
    ],
    "softmax": [
        one("classes", "[10]", "op: softmax", (10,), ops=10),
        one("last-dim", "[3, 4, 5]", "op: softmax, dim: 2", (3, 4, 5), ops=60),
    ],
    "linear": [
        one("bias", "[4096]", "op: linear, out: 1000", (1000,), params=4096 * 1000 + 1000, macs=4096 * 1000, ops=1000),
        one("no-bias", "[512]", "op: linear, out: 10, bias: false", (10,), params=5120, macs=5120),
        # a ViT's MLP: the weights once per token (197 tokens of 768); a bias add per output element
        one(
            "tokens",
            "[197, 768]",
            "op: linear, out: 3072",
            (197, 3072),
            params=768 * 3072 + 3072,
            macs=197 * 768 * 3072,
            ops=197 * 3072,
        ),
    ],
    "flatten": [one("map", "[512, 7, 7]", "op: flatten", (512 * 7 * 7,)), one("flat", "[10]", "op: flatten", (10,))],
    "zeropad2d": [
        one("all-sides", "[3, 5, 5]", "op: zeropad2d, padding: 2", (3, 9, 9)),
        one("left-right-top-bottom", "[3, 5, 5]", "op: zeropad2d, padding: [1, 2, 3, 4]", (3, 5 + 3 + 4, 5 + 1 + 2)),
    ],
    **_merges(),
    "split": [  # the main output is the first chunk; free on purpose (views)
        one("halves", "[8, 4, 4]", "op: split, sections: 2", (4, 4, 4)),
        one("sizes", "[5, 4, 4]", "op: split, sections: [3, 2]", (3, 4, 4)),
        one("width", "[2, 3, 6]", "op: split, sections: 3, dim: 2", (2, 3, 2)),
    ],
    # ---- the ops of imported CNNs (NFNet, ConvNeXt V2, BiT): views are free on purpose
    "reshape": [
        one("inferred", "[8, 4, 6]", "op: reshape, shape: [2, -1, 6]", (2, 16, 6)),
        one("flat", "[8, 4, 6]", "op: reshape, shape: [-1]", (192,)),
        one("up-rank", "[12]", "op: reshape, shape: [3, 2, 2]", (3, 2, 2)),
    ],
    "permute": [
        one("channels-last", "[8, 4, 6]", "op: permute, dims: [1, 2, 0]", (4, 6, 8)),
        one("hw", "[8, 4, 6]", "op: permute, dims: [0, 2, 1]", (8, 6, 4)),
    ],
    "transpose": [
        one("hw", "[8, 4, 6]", "op: transpose, dim0: 1, dim1: 2", (8, 6, 4)),
        one("cl", "[8, 5]", "op: transpose, dim0: 1, dim1: 0", (5, 8)),
    ],
    "scale": [one("nfnet-beta", "[3, 4, 5]", "op: scale, value: 1.7015", (3, 4, 5), ops=60)],
    "scalar_gain": [one("skipinit", "[3, 4, 5]", "op: scalar_gain", (3, 4, 5), params=1, ops=60)],
    "std_conv2d": [
        # conv2d's params and MACs; ops: the bias adds + 4 per weight element (5 when scaled)
        one(
            "bit",
            "[3, 8, 8]",
            "op: std_conv2d, out: 4, kernel: 3, padding: 1",
            (4, 8, 8),
            params=3 * 9 * 4 + 4,
            macs=3 * 9 * 4 * 64,
            ops=4 * 64 + 4 * (3 * 9 * 4),
        ),
        one(
            "nfnet",
            "[4, 8, 8]",
            "op: std_conv2d, out: 6, kernel: 3, stride: 2, groups: 2, bias: false, scaled: true, gamma: 1.7",
            (6, 3, 3),
            params=2 * 9 * 6 + 6,
            macs=2 * 9 * 6 * 9,
            ops=5 * (2 * 9 * 6),
        ),
    ],
    # ---- the token ops of Vision Transformers: (L, E) sequences
    "class_token": [one("vit-b-16", "[196, 768]", "op: class_token", (197, 768), params=768)],
    "position_embedding": [
        one("vit-b-16", "[197, 768]", "op: position_embedding", (197, 768), params=197 * 768, ops=197 * 768)
    ],
    "select": [
        one("class-token", "[197, 768]", "op: select", (768,)),
        one("last-feature", "[4, 5, 6]", "op: select, dim: 2, index: 5", (4, 5)),
    ],
    "grn": [
        one("2d", "[16, 7, 7]", "op: grn", (16, 7, 7), params=32, ops=6 * n(16, 7, 7)),
        one("1d", "[8, 10]", "op: grn, eps: 0.001", (8, 10), params=16, ops=6 * 80),
    ],
    **_attention(),
}

ALL = [pytest.param(op, case, id=f"{op}-{case.id}") for op, cases in CASES.items() for case in cases]


def test_every_registered_op_has_cases():
    missing = sorted(set(REGISTRY) - set(CASES))
    assert not missing, f"ops without shape/cost cases in tests/ops/test_ops.py: {missing}"
    assert not sorted(set(CASES) - set(REGISTRY)), "cases for ops that are not registered"


@pytest.mark.parametrize("op,case", ALL)
def test_shape_and_cost(op: str, case: Case):
    analysis = analyze_text(net(*case.layers, input=case.input))
    assert analysis.errors == []
    row = layer(analysis, case.target)
    assert row.op == op
    assert row.output_shape == case.shape
    assert (row.params, row.buffers, row.macs, row.ops) == (case.params, case.buffers, case.macs, case.ops)
    assert row.activations == n(*case.shape)


REFUSED = [
    ("[3, 8, 8]", "op: upsample, scale: 2, align_corners: true", "E107"),  # nearest: PyTorch refuses it too
    ("[3, 8, 8]", "op: upsample, scale: 2, size: 16", "E107"),  # exactly one of them
    ("[3, 8, 8]", "op: upsample", "E107"),
    ("[3, 8]", "op: upsample, mode: bilinear, scale: 2", "E106"),  # bilinear/bicubic: (C, H, W) only
    ("[3, 8, 8]", "op: upsample, scale: 0.1", "E101"),  # floor(8 · 0.1) = 0
    ("[3, 8, 8]", "op: upsample, size: [4, 4, 4]", "E107"),
    ("[10, 4, 4]", "op: pixel_shuffle, upscale: 2", "E103"),
    ("[4, 4, 4, 4]", "op: pixel_shuffle, upscale: 2", "E106"),
    ("[3, 5, 4]", "op: pixel_unshuffle, downscale: 2", "E107"),
    ("[6, 4, 4]", "op: channel_shuffle, groups: 4", "E103"),
    ("[6]", "op: channel_shuffle, groups: 2", "E106"),
    ("[6, 4, 4]", "op: group_norm, groups: 4", "E103"),
    ("[4, 1, 1]", "op: group_norm, groups: 4", "E107"),  # one value per group
    ("[6]", "op: instance_norm", "E106"),
    ("[6, 1, 1]", "op: instance_norm", "E107"),  # one value per instance and channel
    ("[6]", "op: layer_norm, over: channels", "E106"),
    ("[3, 4, 4]", "op: prelu, num_parameters: 2", "E107"),
    ("[3, 4, 4]", "op: hardtanh, min_val: 1, max_val: 1", "E107"),
    ("[3, 4, 4]", "op: conv3d, out: 4, kernel: 3", "E106"),
    ("[3, 4, 4]", "op: reshape, shape: [5, -1]", "E107"),  # 5 does not divide 48
    ("[3, 4, 4]", "op: reshape, shape: [3, 4, 5]", "E107"),  # 60 elements ≠ 48
    ("[3, 4, 4]", "op: permute, dims: [1, 0]", "E106"),
    ("[3, 4]", "op: transpose, dim0: 0, dim1: 2", "E106"),
    ("[6]", "op: grn", "E106"),
    ("[3, 4, 4]", "op: linear, out: 2", "E106"),  # (features,) or (L, features) only
    ("[3, 4, 4]", "op: class_token", "E106"),
    ("[12]", "op: position_embedding", "E106"),
    ("[12]", "op: select", "E106"),  # a rank-0 sample is no shape
    ("[3, 4]", "op: select, dim: 2", "E106"),
    ("[3, 4]", "op: select, dim: 1, index: 4", "E107"),
    ("[3, 4, 4]", "op: std_conv2d, out: 4, kernel: 3, groups: 2", "E103"),
    ("[5, 8]", "op: multihead_attention, heads: 3", "E103"),  # 3 does not divide 8 features
    ("[2, 5, 8]", "op: multihead_attention, heads: 2", "E106"),  # tokens (L, E) only
    ("[3, 4]", "op: matmul, in: [input, input]", "E104"),  # 4 columns by 3 rows
    ("[4]", "op: matmul, in: [input, input]", "E106"),  # a dot product: rank 0
    ("[4]", "op: scaled_dot_product_attention, in: [input, input, input]", "E106"),
    ("[3, 4, 4, 4]", "op: batchnorm3d, affine: false", "OK"),
    ("[3, 4, 4]", "op: batchnorm3d", "E106"),
    ("[3, 4, 4]", "op: adaptive_maxpool1d, output_size: 2", "E106"),
    ("[3, 4, 4]", "op: adaptive_maxpool3d", "E106"),  # a 2-D map would be read as a batch of 1-D ones
    ("[512]", "op: global_avgpool", "E106"),
    ("[3, 2, 4, 4]", "op: maxpool3d, kernel: 3", "E102"),
    ("[3, 2, 5, 5]", "op: avgpool3d, kernel: 3, stride: 1, padding: 1", "E102"),  # unpadded depth 2 < 3
]


@pytest.mark.parametrize("input,spec,code", REFUSED, ids=[f"{s}-{c}" for _, s, c in REFUSED])
def test_new_ops_refuse_what_pytorch_refuses(input: str, spec: str, code: str):
    analysis = analyze_text(net("{" + spec + ", name: t}", input=input))
    assert [d.code for d in analysis.errors] == ([] if code == "OK" else [code])
    if code != "OK":
        assert analysis.errors[0].layer == "t"


def test_totals_add_up_and_depth_counts_weighted_layers():
    analysis = analyze_text(
        net(
            "{op: conv2d, out: 4, kernel: 3, padding: 1}",
            "{op: batchnorm2d}",
            "relu",
            "{op: maxpool2d, kernel: 2}",
            "flatten",
            "{op: linear, out: 10}",
        )
    )
    t = analysis.report.totals
    conv_params, lin_params = 3 * 3 * 3 * 4 + 4, 4 * 4 * 4 * 10 + 10
    assert t.params == conv_params + 2 * 4 + lin_params
    assert t.buffers == 2 * 4 + 1
    assert t.macs == 3 * 3 * 3 * 4 * 64 + 64 * 10
    assert t.flops == 2 * t.macs
    assert t.depth == 2  # conv and linear only
    assert t.layers == 6
    assert t.activations == 4 * 64 * 3 + 4 * 16 * 2 + 10
    assert t.model_bytes == 4 * (t.params + t.buffers)
    assert t.activation_bytes == 4 * t.activations


# ---- the window rule itself, against an enumeration of window positions ---------------------


def _windows(w: int, k: int, s: int, p: int, d: int) -> list[int]:
    """Starts (in input coordinates) of every full window inside the padded input."""
    span = d * (k - 1) + 1
    return [start for start in range(-p, w + p - span + 1, s)]


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("s", [1, 2, 3])
def test_window_rule_counts_every_full_window(s: int, d: int):
    for w in range(1, 13):
        for k in range(1, 6):
            for p in range(0, k // 2 + 1):
                if d * (k - 1) + 1 > w + 2 * p:
                    continue
                starts = _windows(w, k, s, p, d)
                assert window_output(w, k, s, p, d, False, "width") == len(starts), (w, k, s, p, d)
                if d * (k - 1) + 1 >= s:  # windows that overlap or touch: rows past the last one are lost
                    last_row = max(starts) + d * (k - 1)
                    assert dropped_rows(w, k, s, p, d) == max(0, (w - 1) - last_row), (w, k, s, p, d)


@pytest.mark.parametrize("w,k,s,p", [(7, 2, 2, 0), (5, 2, 3, 1), (112, 3, 2, 0), (14, 3, 2, 1), (6, 3, 3, 1)])
def test_ceil_mode_matches_the_reference_rule(w: int, k: int, s: int, p: int):
    assert window_output(w, k, s, p, 1, True, "width") == pool_out(w, k, s, p, ceil_mode=True)
