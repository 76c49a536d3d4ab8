"""Normalisation: batch norm (1-D, 2-D, 3-D) and local response norm (AlexNet).

Layer, group and instance norm live in :mod:`archscope.ops.norm_stats`.

Batch norm: params = 2·C (γ, β) when affine; buffers = 2·C + 1 (running mean, running
variance and PyTorch's ``num_batches_tracked`` counter). Inference ``ops`` = 2 per element
(scale and shift). LRN (Krizhevsky et al. 2012, §3.3): no params; ``ops`` ≈ size + 3 per element.
Backward: batch norm saves its input and 2 statistics per channel (mean, inverse std); LRN,
composed of elementwise ops and an average pool, saves its input and 3 float intermediates of
its size. Both outputs are fresh and may be overwritten in place.
Backward MACs: declared zero (batch norm's and LRN's backward are elementwise and per-channel
sums, not conv/linear MACs); torch.utils.flop_counter counts none of it (not even
native_batch_norm_backward).
Peer tools (``counted``), batch norm in eval mode: fvcore 2 per element with γ/β, 1 without
(``batchnorm_flop_jit``); ptflops the same (``bn_flops_counter_hook``); thop 4 per element
with γ/β, 2 without (``count_normalization``: 2·numel, doubled when affine); torchinfo 2·C
with γ/β (its parameters × batch), 0 without; flop_counter 0. LRN: only ptflops counts it,
through the tensor ops and pools it patches inside ``F.local_response_norm``: ``x.mul(x)``,
``div.mul(alpha)`` and ``.add(k)`` (one per element each) and the ``avg_pool3d`` over the
channel-padded (C + size − 1, H, W) squares (one per element of that input); the other tools
have no rule for it (fvcore: none of its aten ops; thop and torchinfo: no hook, no parameters).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from archscope.diagnostics import ShapeError
from archscope.ops.attrs import Attr, Bool, Float, Int
from archscope.ops.construct import Construct, module
from archscope.ops.counting import only, zero
from archscope.ops.import_rules import Found, Importer, Unsupported, Weight, imports, same_attrs
from archscope.ops.receptive_field import same
from archscope.ops.registry import (
    Attrs,
    Cost,
    Counted,
    MemoryFacts,
    OpDef,
    Saves,
    Shape,
    fmt_shape,
    kernel_is,
    no_backward_macs,
    numel,
    register,
)

# torch refuses eps = 0 in training ("batch_norm eps must be positive during training"); layer,
# group and instance norm accept it (tried with torch 2.13), so only batch norm's is above 0
EPS = Float(0.0, above_min=True)


def _batchnorm(rank: int) -> OpDef:
    name = f"batchnorm{rank}d"
    ranks = {1: (1, 2), 2: (3,), 3: (4,)}[rank]
    layout = {1: "(C,) or (C, L)", 2: "(C, H, W)", 3: "(C, D, H, W)"}[rank]

    def shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
        x = inputs[0]
        if len(x) not in ranks:
            raise ShapeError("E106", f"`{name}` needs {layout}", expected=layout, found=fmt_shape(x))
        return x

    def cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
        c = out[0]
        return Cost(params=2 * c if a["affine"] else 0, buffers=2 * c + 1, ops=2 * numel(out))

    def scale_shift(a: Attrs, inputs: Sequence[Shape], out: Shape) -> int:
        return (2 if a["affine"] else 1) * numel(out)

    peers = Counted(
        fvcore=scale_shift,
        ptflops=scale_shift,
        thop=lambda a, inputs, out: 2 * scale_shift(a, inputs, out),
        torchinfo=lambda a, inputs, out: 2 * out[0] if a["affine"] else 0,
        flop_counter=zero,
    )

    def lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
        return module(f"BatchNorm{rank}d", out[0], eps=a["eps"], momentum=a["momentum"], affine=a["affine"])

    return OpDef(
        name=name,
        summary=f"batch normalisation over {layout}",
        attrs=(Attr("eps", EPS, 1e-5), Attr("momentum", Float(0.0, 1.0), 0.1), Attr("affine", Bool(), True)),
        shape=shape,
        cost=cost,
        module=lower,
        overwritable_output=True,
        saves=Saves(inputs=(0,), per_channel=2),
        backward=no_backward_macs,
        receptive_field=same,  # at inference: running statistics, a scale and shift per channel
        kernel=kernel_is("norm"),
        counted=peers,
        imports=(
            *imports("torch", f"nn.BatchNorm{rank}d")(_bn_import),
            *imports("torch", "F.batch_norm")(_functional_bn(ranks)),
            Importer("onnx", "BatchNormalization", _onnx_bn(ranks)),
        ),
    )


def _lrn_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    x = inputs[0]
    if len(x) < 2:
        raise ShapeError("E106", "`lrn` needs a feature map", expected="(C, H, W)", found=fmt_shape(x))
    return x


def _lrn_cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost(ops=(a["size"] + 3) * numel(out))


def _lrn_ptflops(a: Attrs, inputs: Sequence[Shape], out: Shape) -> int:
    c, *spatial = inputs[0]
    size: int = a["size"]
    return 3 * numel(out) + (c + size - 1) * numel(tuple(spatial))


def _bn_import(found: Found) -> dict[str, Any]:
    """``nn.BatchNormNd``: eps, momentum, affine; it must keep running statistics (without them
    it normalises with the batch's even at inference: not archscope's batch norm)."""
    m = found.obj
    if not m.track_running_stats or m.momentum is None:
        raise Unsupported("track_running_stats=False or momentum=None (a cumulative average)")
    attrs: dict[str, Any] = {}
    if m.eps != 1e-5:
        attrs["eps"] = m.eps
    if m.momentum != 0.1:
        attrs["momentum"] = m.momentum
    if not m.affine:
        attrs["affine"] = False
    return attrs


def _functional_bn(ranks: tuple[int, ...]) -> Callable[[Found], dict[str, Any]]:
    """``F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)`` with
    the module's own statistics (timm's ``BatchNormAct2d`` calls it in its ``forward``)."""

    def rule(found: Found) -> dict[str, Any]:
        if len(found.inputs[0]) not in ranks:
            raise Unsupported(f"a rank-{len(found.inputs[0])} input")
        mean, var = found.arg(1, "running_mean", None), found.arg(2, "running_var", None)
        weight, bias = found.arg(3, "weight", None), found.arg(4, "bias", None)
        if not isinstance(mean, Weight) or not isinstance(var, Weight):
            raise Unsupported("no running statistics (it normalises with the batch's)")
        if (weight is None) != (bias is None):
            raise Unsupported("a weight without a bias, or a bias without a weight")
        momentum, eps = found.arg(6, "momentum", 0.1), found.arg(7, "eps", 1e-5)
        attrs: dict[str, Any] = {}
        if eps != 1e-5:
            attrs["eps"] = eps
        if momentum is not None and momentum != 0.1:
            attrs["momentum"] = momentum
        if weight is None:
            attrs["affine"] = False
        return attrs

    return rule


def _onnx_bn(ranks: tuple[int, ...]) -> Callable[[Found], dict[str, Any]]:
    """ONNX BatchNormalization at inference (``training_mode`` 0): ``epsilon``; its ``momentum``
    weighs the running value, PyTorch's the new one (PyTorch = 1 − ONNX). Scale and B are the
    learned affine parameters (an exporter writes them even for ``affine=False``)."""

    def rule(found: Found) -> dict[str, Any]:
        if found.obj.get("training_mode", 0):
            raise Unsupported("training_mode=1 (batch statistics)")
        if len(found.inputs[0]) not in ranks:
            raise Unsupported(f"a rank-{len(found.inputs[0])} input")
        attrs: dict[str, Any] = {}
        eps = float(f"{found.obj.get('epsilon', 1e-5):.6g}")
        momentum = round(1 - found.obj.get("momentum", 0.9), 6)
        if eps != 1e-5:
            attrs["eps"] = eps
        if momentum != 0.1:
            attrs["momentum"] = momentum
        if 1 not in found.weights or 2 not in found.weights:
            attrs["affine"] = False
        return attrs

    return rule


def _onnx_lrn(found: Found) -> dict[str, Any]:
    """ONNX LRN: ``size``, ``alpha`` (divided by size, as PyTorch's), ``beta``, ``bias`` (PyTorch's ``k``)."""
    a = found.obj
    attrs: dict[str, Any] = {"size": a["size"]}
    for ours, theirs, default in (("alpha", "alpha", 1e-4), ("beta", "beta", 0.75), ("k", "bias", 1.0)):
        v = float(f"{a.get(theirs, default):.6g}")
        if v != default:
            attrs[ours] = v
    return attrs


def _onnx_lrn_decomposed(found: Found) -> dict[str, Any]:
    """``F.local_response_norm`` of a (C, H, W) map as the TorchScript exporter traces it: x·x, a
    view to (1, C, H, W·…), zero padding over C, an average pool of (size, 1, 1), a squeeze (an If
    on the shape), a view back, × alpha, + k, ^ beta, then x divided by it."""
    square, *_, pool, _, _, scale, shift, power, divide = found.args
    attrs = found.obj
    if len(found.inputs) != 1 or square != (0, 0) or divide[0] != 0:
        raise Unsupported("not x divided by a function of x·x")
    consts = [next((v for v in node if isinstance(v, float)), None) for node in (scale, shift, power)]
    if None in consts or len(attrs[3].get("kernel_shape", ())) != 3:
        raise Unsupported("constants or a window other than local response norm's")
    size = attrs[3]["kernel_shape"][0]
    out: dict[str, Any] = {"size": size}
    for name, v, default in zip(("alpha", "k", "beta"), consts, (1e-4, 1.0, 0.75)):
        v = float(f"{v:.6g}")
        if v != default:
            out[name] = v
    return {"size": out.pop("size"), **{k: out[k] for k in ("alpha", "beta", "k") if k in out}}


def _lrn_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return module("LocalResponseNorm", a["size"], alpha=a["alpha"], beta=a["beta"], k=a["k"])


register(
    _batchnorm(1),
    _batchnorm(2),
    _batchnorm(3),
    OpDef(
        name="lrn",
        summary="local response normalisation across channels (AlexNet)",
        attrs=(
            Attr("size", Int(1)),
            Attr("alpha", Float(), 1e-4),
            Attr("beta", Float(), 0.75),
            Attr("k", Float(), 1.0),
        ),
        shape=_lrn_shape,
        cost=_lrn_cost,
        module=_lrn_lower,
        overwritable_output=True,
        saves=Saves(inputs=(0,), like_output=(4, 4, 4)),
        # at inference F.local_response_norm's squares and their pooled sum (two float32 tensors
        # of the output's size) are alive beside the output (measured with MemTracker)
        memory=MemoryFacts(transient=lambda a: 8),
        backward=no_backward_macs,
        receptive_field=same,  # across channels only
        kernel=kernel_is("norm"),
        counted=only(ptflops=_lrn_ptflops),
        imports=(
            *imports("torch", "nn.LocalResponseNorm")(
                same_attrs(
                    Attr("size", Int(1)),
                    Attr("alpha", Float(), 1e-4),
                    Attr("beta", Float(), 0.75),
                    Attr("k", Float(), 1.0),
                )
            ),
            Importer("onnx", "LRN", _onnx_lrn),
            Importer("onnx", "Mul>Reshape>Pad>AveragePool>If>Reshape>Mul>Add>Pow>Div", _onnx_lrn_decomposed),
        ),
    ),
)
