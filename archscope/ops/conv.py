"""Convolution: conv1d, conv2d, conv3d and their transposed forms (deconvolution).

One rule covers plain, grouped and depthwise convolution (depthwise is ``groups ==
in_channels``, not a separate op).

Shape: O = floor((W + 2P − D·(K−1) − 1)/S) + 1; with ``padding: same`` O = W (stride 1).
Transposed: O = (W − 1)·S − 2P + D·(K − 1) + output_padding + 1.
Cost (fvcore's and torchvision's convention, one multiply-add = 1 MAC, bias excluded):
  conv        MACs = K_h·K_w · C_in/groups · C_out · H_out·W_out
  transposed  MACs = K_h·K_w · C_in · C_out/groups · H_in·W_in  (every input pixel meets the kernel)
  params      = K_h·K_w · C_in/groups · C_out (+ C_out bias)
(1-D: one kernel dim; 3-D, on (C, D, H, W) video clips: K_d·K_h·K_w and D_out·H_out·W_out.)
Backward saves the input (and the weight, a parameter); the output is fresh and may be
overwritten in place by the next layer.
Backward MACs (training cost): the input gradient is a transposed convolution of the output
gradient with the weight, the weight gradient a convolution of the input with the output
gradient; each meets every (weight, position) pair once, so each costs the forward's MACs.
``torch.utils.flop_counter`` counts the input gradient so, but its weight-gradient formula
drops ``groups`` (it treats the batch-transposed input as ungrouped): for a grouped or
depthwise layer it counts ``groups`` × the weight-gradient MACs (a depthwise 3×3 conv of 960
channels: 960×). ``reference.backward`` declares that count, for the exact test.

Peer tools (``counted``; MACs unless said):
  fvcore        MACs, but 0 for `padding: same`/`valid`: torch then calls aten::_convolution_mode,
                which fvcore's table lacks (its headline skips it; `verify` declares a handle)
  ptflops       MACs + 1 per output element for the bias (its conv hook adds the bias)
  thop          conv: MACs (bias ignored); transposed: C_out·H_out·W_out · C_in/groups · K
                (``calculate_conv2d_flops`` uses the output size and the input channels for both)
  torchinfo     (weight + bias numel) × output positions: conv MACs + the bias per output
                element; transposed K · C_in · C_out/groups · H_out·W_out (output, not input,
                positions) + the bias per output element
  flop_counter  2 × MACs (FLOPs), bias excluded (its ``conv_flop_count``)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from archscope.diagnostics import ShapeError
from archscope.ops.attrs import Attr, Bool, Int, Sizes
from archscope.ops.construct import Construct, module
from archscope.ops.import_rules import Found, Importer, Unsupported, compact, imports
from archscope.ops.receptive_field import Window, transposed, window
from archscope.ops.registry import (
    Attrs,
    Backward,
    Cost,
    Counted,
    CounterHandle,
    OpDef,
    Reference,
    Saves,
    Shape,
    ShapeWarning,
    numel,
    register,
)
from archscope.ops.window import SPATIAL_NAMES, drop_warnings, onnx_window, per_dim, require_rank, window_output


def _geometry(a: Attrs, rank: int) -> tuple[Shape, Shape, Shape, Shape, Shape]:
    kernel = per_dim(a["kernel"], rank, "kernel")
    stride = per_dim(a["stride"], rank, "stride")
    dilation = per_dim(a["dilation"], rank, "dilation")
    pad = a["padding"]
    if pad == "valid":
        pad = 0
    if pad == "same":
        if any(s != 1 for s in stride):
            raise ShapeError(
                "E107",
                "`padding: same` needs stride 1 (as in PyTorch)",
                expected="stride 1",
                found=f"stride {a['stride']}",
            )
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return kernel, stride, tuple(t // 2 for t in total), dilation, tuple(total)
    pads = per_dim(pad, rank, "padding")
    return kernel, stride, pads, dilation, tuple(2 * p for p in pads)


def _field_geometry(a: Attrs, rank: int) -> Window:
    """Per-dim (kernel, stride, left padding, dilation) for the receptive field (``same``: PyTorch
    pads ``total // 2`` on the left)."""
    kernel, stride, pads, dilation, _ = _geometry(a, rank)
    return kernel, stride, pads, dilation


def _transposed_geometry(a: Attrs, rank: int) -> Window:
    kernel, stride, padding, dilation = (per_dim(a[k], rank, k) for k in ("kernel", "stride", "padding", "dilation"))
    return kernel, stride, padding, dilation


def _check_groups(a: Attrs, c_in: int) -> None:
    g, c_out = a["groups"], a["out"]
    if c_in % g:
        raise ShapeError(
            "E103",
            f"groups={g} does not divide the {c_in} input channels",
            expected=f"in_channels divisible by {g}",
            found=c_in,
        )
    if c_out % g:
        raise ShapeError(
            "E103", f"groups={g} does not divide out={c_out}", expected=f"out divisible by {g}", found=c_out
        )


def _convolution_mode_macs(inputs: list[Any], outputs: list[Any]) -> int:
    """fvcore's conv formula for ``aten::_convolution_mode`` (``padding="same"``/``"valid"``)."""
    from fvcore.nn.jit_handles import conv_flop_count, get_shape

    flops: int = conv_flop_count(get_shape(inputs[0]), get_shape(inputs[1]), get_shape(outputs[0]), transposed=False)
    return flops


BackwardRule = Callable[[Attrs, Sequence[Shape], Shape], Backward]


def _backward_rules(cost: Callable[[Attrs, Sequence[Shape], Shape], Cost]) -> tuple[BackwardRule, BackwardRule]:
    """The op's backward MACs (input and weight gradient: each the forward's MACs), and what
    torch.utils.flop_counter counts (its weight-gradient formula counts ``groups`` × that)."""

    def backward(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Backward:
        macs = cost(a, inputs, out).macs
        return Backward(macs, macs)

    def counted(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Backward:
        macs = cost(a, inputs, out).macs
        return Backward(macs, macs * a["groups"])

    return backward, counted


# `padding: same` / `valid` (strings) make torch call aten::_convolution_mode, which fvcore's table lacks
PADDING_BY_NAME = Reference(
    handles=(
        CounterHandle(
            "aten::_convolution_mode",
            _convolution_mode_macs,
            "fvcore has no handle for aten::_convolution_mode (`padding: same`); counted with fvcore's conv_flop_count",
        ),
    )
)


def conv_kernel(a: Attrs) -> str:
    """Dense (one GEMM-like kernel) or grouped: depthwise and grouped convolutions run other kernels."""
    return "grouped" if a["groups"] > 1 else "gemm"


def conv_family(rank: int) -> OpDef:
    name = f"conv{rank}d"

    def shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
        x = require_rank(inputs, rank, name)
        _check_groups(a, x[0])
        kernel, stride, pads, dilation, total = _geometry(a, rank)
        if a["padding"] == "same":
            return (a["out"], *x[1:])
        dims = SPATIAL_NAMES[rank]
        return (
            a["out"],
            *(window_output(x[1 + i], kernel[i], stride[i], pads[i], dilation[i], False, dims[i]) for i in range(rank)),
        )

    def cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
        c_in, c_out = inputs[0][0], a["out"]
        k = numel(per_dim(a["kernel"], rank, "kernel"))
        weights = k * (c_in // a["groups"]) * c_out
        bias = c_out if a["bias"] else 0
        return Cost(params=weights + bias, macs=weights * numel(out[1:]), ops=numel(out) if bias else 0)

    backward, counted = _backward_rules(cost)

    def macs(a: Attrs, inputs: Sequence[Shape], out: Shape) -> int:
        return cost(a, inputs, out).macs

    def macs_and_bias(a: Attrs, inputs: Sequence[Shape], out: Shape) -> int:
        return macs(a, inputs, out) + (numel(out) if a["bias"] else 0)

    def fvcore(a: Attrs, inputs: Sequence[Shape], out: Shape) -> int:
        return 0 if isinstance(a["padding"], str) else macs(a, inputs, out)

    peers = Counted(
        fvcore=fvcore,
        ptflops=macs_and_bias,
        thop=macs,
        torchinfo=macs_and_bias,
        flop_counter=lambda a, inputs, out: 2 * macs(a, inputs, out),
    )

    def warnings(a: Attrs, inputs: Sequence[Shape]) -> list[ShapeWarning]:
        if a["padding"] == "same":
            return []
        kernel, stride, pads, dilation, _ = _geometry(a, rank)
        return drop_warnings(inputs[0], kernel, stride, pads, dilation)

    def lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
        return module(
            f"Conv{rank}d",
            inputs[0][0],
            a["out"],
            a["kernel"],
            stride=a["stride"],
            padding=a["padding"],
            dilation=a["dilation"],
            groups=a["groups"],
            bias=a["bias"],
        )

    return OpDef(
        name=name,
        summary=f"{rank}-D convolution (grouped and depthwise through `groups`)",
        attrs=(
            Attr("out", Int(1), doc="output channels"),
            Attr("kernel", Sizes(1, (rank,)), doc="kernel size"),
            Attr("stride", Sizes(1, (rank,)), 1),
            Attr("padding", Sizes(0, (rank,), ("same", "valid")), 0, "zeros on each side, `same` or `valid`"),
            Attr("dilation", Sizes(1, (rank,)), 1),
            Attr("groups", Int(1), 1, "`groups: C_in` makes it depthwise"),
            Attr("bias", Bool(), True),
        ),
        shape=shape,
        cost=cost,
        module=lower,
        weighted=True,
        warnings=warnings,
        overwritable_output=True,
        saves=Saves(inputs=(0,)),
        backward=backward,
        reference=replace(PADDING_BY_NAME, backward=counted),
        receptive_field=window(_field_geometry),
        kernel=conv_kernel,
        counted=peers,
        imports=(*imports("torch", f"nn.Conv{rank}d")(_conv_import), Importer("onnx", "Conv", _onnx_conv(rank))),
    )


def _conv_import(found: Found) -> dict[str, Any]:
    """``nn.ConvNd``: out_channels, kernel_size, stride, padding (numbers, `same`, `valid`),
    dilation, groups, bias; only zero padding (``padding_mode`` zeros)."""
    m = found.obj
    if m.padding_mode != "zeros":
        raise Unsupported(f"padding_mode={m.padding_mode!r} (archscope pads with zeros)")
    attrs: dict[str, Any] = {"out": m.out_channels, "kernel": compact(m.kernel_size)}
    for name, value, default in (
        ("stride", compact(m.stride), 1),
        ("padding", m.padding if isinstance(m.padding, str) else compact(m.padding), 0),
        ("dilation", compact(m.dilation), 1),
        ("groups", m.groups, 1),
        ("bias", m.bias is not None, True),
    ):
        if value != default:
            attrs[name] = value
    if getattr(m, "output_padding", None) is not None and compact(m.output_padding) != 0:
        attrs["output_padding"] = compact(m.output_padding)
    return attrs


def _onnx_conv(rank: int, transposed: bool = False) -> Callable[[Found], dict[str, Any]]:
    """ONNX ``Conv`` (W: (out, C_in/groups, *kernel)) or ``ConvTranspose`` (W: (C_in,
    out/groups, *kernel); ``output_padding``; an ``output_shape`` has no archscope form) whose W
    is an initializer; B, when present, is the bias."""

    def rule(found: Found) -> dict[str, Any]:
        w = found.weights.get(1)
        if w is None:
            raise Unsupported("a weight that is not an initializer (archscope's conv holds its own)")
        if transposed and found.obj.get("output_shape"):
            raise Unsupported("output_shape (give output_padding)")
        window = onnx_window(found, rank)
        groups = found.obj.get("group", 1)
        attrs: dict[str, Any] = {"out": w[1] * groups if transposed else w[0], **window}
        extra = compact(found.obj.get("output_padding") or 0)
        if transposed and extra != 0:
            attrs["output_padding"] = extra
        if groups != 1:
            attrs["groups"] = groups
        if 2 not in found.weights:
            attrs["bias"] = False
        return attrs

    return rule


def _transposed_family(rank: int) -> OpDef:
    name = f"conv_transpose{rank}d"

    def shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
        x = require_rank(inputs, rank, name)
        _check_groups(a, x[0])
        kernel = per_dim(a["kernel"], rank, "kernel")
        stride = per_dim(a["stride"], rank, "stride")
        pads = per_dim(a["padding"], rank, "padding")
        dilation = per_dim(a["dilation"], rank, "dilation")
        extra = per_dim(a["output_padding"], rank, "output_padding")
        dims = []
        for i, dim in enumerate(SPATIAL_NAMES[rank]):
            if extra[i] >= max(stride[i], dilation[i]):
                raise ShapeError(
                    "E107",
                    f"{dim}: output_padding must be smaller than stride or dilation",
                    expected=f"< {max(stride[i], dilation[i])}",
                    found=extra[i],
                )
            o = (x[1 + i] - 1) * stride[i] - 2 * pads[i] + dilation[i] * (kernel[i] - 1) + extra[i] + 1
            if o <= 0:
                raise ShapeError("E101", f"{dim}: output size {o}", expected="≥ 1", found=o)
            dims.append(o)
        return (a["out"], *dims)

    def cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
        x = inputs[0]
        k = numel(per_dim(a["kernel"], rank, "kernel"))
        weights = k * x[0] * (a["out"] // a["groups"])
        bias = a["out"] if a["bias"] else 0
        return Cost(params=weights + bias, macs=weights * numel(x[1:]), ops=numel(out) if bias else 0)

    backward, counted = _backward_rules(cost)

    def macs(a: Attrs, inputs: Sequence[Shape], out: Shape) -> int:
        return cost(a, inputs, out).macs

    def bias(a: Attrs, out: Shape) -> int:
        return numel(out) if a["bias"] else 0

    def kernel(a: Attrs) -> int:
        return numel(per_dim(a["kernel"], rank, "kernel"))

    def thop(a: Attrs, inputs: Sequence[Shape], out: Shape) -> int:
        groups: int = a["groups"]
        return numel(out) * (inputs[0][0] // groups) * kernel(a)

    def torchinfo(a: Attrs, inputs: Sequence[Shape], out: Shape) -> int:
        weights: int = kernel(a) * inputs[0][0] * (a["out"] // a["groups"])
        return weights * numel(out[1:]) + bias(a, out)

    peers = Counted(
        fvcore=macs,
        ptflops=lambda a, inputs, out: macs(a, inputs, out) + bias(a, out),
        thop=thop,
        torchinfo=torchinfo,
        flop_counter=lambda a, inputs, out: 2 * macs(a, inputs, out),
    )

    def lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
        return module(
            f"ConvTranspose{rank}d",
            inputs[0][0],
            a["out"],
            a["kernel"],
            stride=a["stride"],
            padding=a["padding"],
            output_padding=a["output_padding"],
            groups=a["groups"],
            bias=a["bias"],
            dilation=a["dilation"],
        )

    return OpDef(
        name=name,
        summary=f"{rank}-D transposed convolution (deconvolution)",
        attrs=(
            Attr("out", Int(1), doc="output channels"),
            Attr("kernel", Sizes(1, (rank,))),
            Attr("stride", Sizes(1, (rank,)), 1),
            Attr("padding", Sizes(0, (rank,)), 0),
            Attr("output_padding", Sizes(0, (rank,)), 0),
            Attr("dilation", Sizes(1, (rank,)), 1),
            Attr("groups", Int(1), 1),
            Attr("bias", Bool(), True),
        ),
        shape=shape,
        cost=cost,
        module=lower,
        weighted=True,
        overwritable_output=True,
        saves=Saves(inputs=(0,)),
        backward=backward,
        reference=Reference(backward=counted),
        receptive_field=transposed(_transposed_geometry),
        kernel=conv_kernel,
        counted=peers,
        imports=(
            *imports("torch", f"nn.ConvTranspose{rank}d")(_conv_import),
            Importer("onnx", "ConvTranspose", _onnx_conv(rank, transposed=True)),
        ),
    )


register(*(conv_family(rank) for rank in (1, 2, 3)), *(_transposed_family(rank) for rank in (1, 2, 3)))
