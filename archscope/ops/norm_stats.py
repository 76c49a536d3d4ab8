"""Normalisation that computes its statistics at inference too: layer, group and instance norm
(ConvNeXt-V2's global response norm is :mod:`archscope.ops.grn`).

Unlike batch norm (running statistics, folded into a scale and shift at inference), these
normalise every input with its own mean and variance, so their cost cannot be folded away.
Cost, fvcore's convention for its norm handles (``fvcore.nn.jit_handles.norm_flop_counter``):
``ops`` = 5 per element with an affine transform ((x − mean)/√(var + ε)·γ + β), 4 without.
No MACs (γ and β are not multiply-accumulated over an input).
Params: 2 per normalised feature when affine (γ, β): layer norm 2·C (``over: channels``,
ConvNeXt's LayerNorm2d) or 2·last (``over: last``, ``nn.LayerNorm`` over the last dim); group
and instance norm 2·C. Buffers: instance norm with ``track_running_stats`` keeps a running mean,
variance and ``num_batches_tracked`` (2·C + 1), as batch norm does.
Backward saves the input and the mean and inverse std of each normalised group (see ``saves``).
Backward MACs: declared zero (elementwise work and per-group sums, not conv/linear MACs);
torch.utils.flop_counter counts none of it.
Peer tools (``counted``, per element unless said; "affine" is γ/β):
  fvcore        5 affine, 4 without, for all three (``norm_flop_counter``)
  ptflops       group/instance norm 2 affine, 1 without (``bn_flops_counter_hook``); nn.LayerNorm 1
                (the hook tests an `affine` attribute, which LayerNorm lacks); ConvNeXt's channel
                layer norm 0 (a subclass: ptflops matches exact module types)
  thop          instance norm and nn.LayerNorm 4 affine, 2 without (``count_normalization``);
                group norm and the channel layer norm 0 (no rule for the type)
  torchinfo     the γ/β parameters × batch: 2·features when affine, else 0
  flop_counter  0
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from functools import partial
from typing import Any

from archscope.diagnostics import ShapeError
from archscope.ops.attrs import Attr, Bool, Choice, Float, Int
from archscope.ops.construct import Construct, helper_module, module
from archscope.ops.counting import zero
from archscope.ops.import_rules import Found, Importer, Unsupported, imports
from archscope.ops.receptive_field import SAME, Field, Taps, everything
from archscope.ops.registry import (
    Attrs,
    Cost,
    Count,
    Counted,
    CountRule,
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
from archscope.ops.window import LAYOUT


def _stats_ops(a: Attrs, out: Shape) -> int:
    return (5 if a["affine"] else 4) * numel(out)


def _fvcore(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Count:
    return _stats_ops(a, out)


def _affine_doubles(k: int) -> CountRule:
    def rule(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Count:
        return k * (2 if a["affine"] else 1) * numel(out)

    return rule


def _torchinfo(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Count:
    features = out[-1] if a.get("over") == "last" else out[0]
    return 2 * features if a["affine"] else 0


def _layer_norm_ptflops(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Count:
    return numel(out) if a["over"] == "last" else 0


def _layer_norm_thop(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Count:
    return _affine_doubles(2)(a, inputs, out) if a["over"] == "last" else 0


# ---- layer norm ---------------------------------------------------------------------------


def _layer_norm_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    x = inputs[0]
    if a["over"] == "channels" and len(x) < 2:
        raise ShapeError(
            "E106",
            "`layer_norm` with `over: channels` needs a feature map (C, L), (C, H, W) or (C, D, H, W)",
            expected="(C, H, W)",
            found=fmt_shape(x),
        )
    return x


def _normalised_features(a: Attrs, x: Shape) -> int:
    return x[0] if a["over"] == "channels" else x[-1]


def _layer_norm_cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    features = _normalised_features(a, out)
    return Cost(params=2 * features if a["affine"] else 0, ops=_stats_ops(a, out))


def _layer_norm_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    make = {"channels": partial(helper_module, "ChannelLayerNorm"), "last": partial(module, "LayerNorm")}[a["over"]]
    return make(_normalised_features(a, out), eps=a["eps"], elementwise_affine=a["affine"])


def _last_dim_taps(a: Attrs, inputs: Sequence[Shape], out: Shape) -> tuple[Taps | None, ...]:
    """Over the last dim: every unit of it (global along it), the same unit along the others."""
    rank = len(inputs[0]) - 1
    return tuple(Taps(Fraction(1), lambda o: (o,)) for _ in range(rank - 1)) + (None,)


def _layer_norm_field(a: Attrs) -> Field:
    return SAME if a["over"] == "channels" else Field("taps", _last_dim_taps)


# ---- group norm ---------------------------------------------------------------------------


def _group_norm_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    x = inputs[0]
    g = a["groups"]
    if x[0] % g:
        raise ShapeError(
            "E103",
            f"groups={g} does not divide the {x[0]} channels",
            expected=f"channels divisible by {g}",
            found=x[0],
        )
    if x[0] // g * numel(x[1:]) == 1:
        # PyTorch (F.group_norm's _verify_batch_size): the statistics of one value are undefined
        raise ShapeError(
            "E107",
            "group statistics need more than one value per group",
            expected="channels/groups × positions > 1",
            found=f"{x[0]}/{g} × {numel(x[1:])} = 1",
        )
    return x


def _per_channel_cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    c = out[0]
    buffers = 2 * c + 1 if a.get("track_running_stats") else 0
    return Cost(params=2 * c if a["affine"] else 0, buffers=buffers, ops=_stats_ops(a, out))


def _group_norm_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return module("GroupNorm", a["groups"], out[0], eps=a["eps"], affine=a["affine"])


# ---- instance norm ------------------------------------------------------------------------

INSTANCE_RANKS = (1, 2, 3)  # spatial ranks: (C, L), (C, H, W), (C, D, H, W)


def _instance_norm_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    x = inputs[0]
    rank = len(x) - 1
    if rank not in INSTANCE_RANKS:
        raise ShapeError(
            "E106",
            "`instance_norm` needs a feature map (C, L), (C, H, W) or (C, D, H, W)",
            expected=" or ".join(LAYOUT[r] for r in INSTANCE_RANKS),
            found=fmt_shape(x),
        )
    if numel(x[1:]) == 1 and not a["track_running_stats"]:
        # PyTorch (F.instance_norm's _verify_spatial_size): the statistics of one value are undefined
        raise ShapeError(
            "E107",
            "instance statistics need more than one spatial element (or `track_running_stats: true`)",
            expected="more than 1 spatial element",
            found=fmt_shape(x),
        )
    return x


def _instance_norm_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    if len(out) - 1 not in INSTANCE_RANKS:  # the shape rule refuses it first (E106)
        raise ValueError(f"no instance norm for a rank-{len(out)} input")
    return module(
        f"InstanceNorm{len(out) - 1}d",
        out[0],
        eps=a["eps"],
        affine=a["affine"],
        track_running_stats=a["track_running_stats"],
    )


EPS = Attr("eps", Float(0.0), 1e-5, "added to the variance (ConvNeXt's LayerNorm2d uses 1e-6)")


def _norm_common(m: Any, affine: bool, default_eps: float = 1e-5) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if m.eps != default_eps:
        attrs["eps"] = m.eps
    if not affine:
        attrs["affine"] = False
    return attrs


def _layer_norm_import(found: Found) -> dict[str, Any]:
    """``nn.LayerNorm(C)`` over the last dim, or archscope's ``ChannelLayerNorm`` over the channels."""
    m = found.obj
    if len(m.normalized_shape) != 1:
        raise Unsupported(f"normalized_shape={tuple(m.normalized_shape)} (archscope normalises one dim)")
    if m.elementwise_affine and getattr(m, "bias", None) is None:
        raise Unsupported("bias=False (archscope's affine layer norm has both γ and β)")
    attrs = _norm_common(m, m.elementwise_affine)
    if type(m).__name__ == "ChannelLayerNorm":
        return {"over": "channels", **attrs}
    if found.inputs[0][-1] != m.normalized_shape[0]:
        raise Unsupported("normalised size differs from the last dim")
    return attrs


def _functional_layer_norm(found: Found) -> dict[str, Any]:
    """``F.layer_norm(x, (C,), weight, bias, eps)`` over the last dim (timm's LayerNorm2d calls it
    between permutes: the permutes import as their own layers)."""
    shape = found.arg(1, "normalized_shape")
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if len(shape) != 1 or shape[0] != found.inputs[0][-1]:
        raise Unsupported(f"normalized_shape={shape} (archscope normalises the last dim)")
    weight, bias = found.arg(2, "weight", None), found.arg(3, "bias", None)
    if (weight is None) != (bias is None):
        raise Unsupported("a weight without a bias (archscope's affine layer norm has both γ and β)")
    eps = found.arg(4, "eps", 1e-5)
    return ({"eps": eps} if eps != 1e-5 else {}) | ({} if weight is not None else {"affine": False})


def _group_norm_import(found: Found) -> dict[str, Any]:
    m = found.obj
    return {"groups": m.num_groups, **_norm_common(m, m.affine)}


def _instance_norm_import(found: Found) -> dict[str, Any]:
    m = found.obj
    attrs = _norm_common(m, m.affine)
    if m.affine:
        attrs["affine"] = True
    if m.track_running_stats:
        attrs["track_running_stats"] = True
    return attrs


def _onnx_eps(found_attrs: dict[str, Any]) -> dict[str, Any]:
    eps = float(f"{found_attrs.get('epsilon', 1e-5):.6g}")
    return {"eps": eps} if eps != 1e-5 else {}


def _onnx_layer_norm(found: Found) -> dict[str, Any]:
    """ONNX LayerNormalization over the last axis only, with scale and B."""
    rank = len(found.inputs[0]) + 1
    axis = found.obj.get("axis", -1)
    if axis % rank != rank - 1:
        raise Unsupported(f"axis={axis} of a rank-{rank} tensor (archscope normalises the last dim or the channels)")
    if 1 not in found.weights or 2 not in found.weights:
        raise Unsupported("no B (archscope's affine layer norm has both γ and β)")
    return _onnx_eps(found.obj)


def _onnx_channel_layer_norm(found: Found) -> dict[str, Any]:
    """``Transpose>LayerNormalization>Transpose``: channels moved last, normalised, moved back
    (ConvNeXt's LayerNorm2d as the exporters write it)."""
    first, norm, last = found.obj
    rank = len(found.inputs[0]) + 1
    to_last = [0, *range(2, rank), 1]
    back = [0, rank - 1, *range(1, rank - 1)]
    if first.get("perm") != to_last or last.get("perm") != back:
        raise Unsupported(f"permutations {first.get('perm')} and {last.get('perm')} (not channels last and back)")
    weights = found.args[1]
    if norm.get("axis", -1) % rank != rank - 1 or not all(hasattr(w, "shape") for w in weights[1:3]):
        raise Unsupported("not a layer norm of the last axis with scale and B")
    return {"over": "channels", **_onnx_eps(norm)}


def _onnx_instance_norm(found: Found) -> dict[str, Any]:
    """ONNX InstanceNormalization: always affine (scale and B), no running statistics."""
    return {**_onnx_eps(found.obj), "affine": True}


def _onnx_group_norm(found: Found) -> dict[str, Any]:
    """ONNX GroupNormalization (opset 18): ``num_groups``, scale and B per channel (opset 21's
    form; opset 18's per-group scale has no archscope form)."""
    c = found.inputs[0][0]
    if found.weights.get(1) != (c,):
        raise Unsupported(f"a scale of shape {found.weights.get(1)} (archscope's is one per channel)")
    return {"groups": found.obj["num_groups"], **_onnx_eps(found.obj)}


register(
    OpDef(
        name="layer_norm",
        summary="layer normalisation over the channels at every position, or over the last dim",
        attrs=(
            Attr("over", Choice(("last", "channels")), "last", "`channels`: ConvNeXt's LayerNorm2d on (C, H, W)"),
            EPS,
            Attr("affine", Bool(), True, "learned γ and β (PyTorch's `elementwise_affine`)"),
        ),
        shape=_layer_norm_shape,
        cost=_layer_norm_cost,
        module=_layer_norm_lower,
        receptive_field=_layer_norm_field,
        kernel=kernel_is("norm"),
        # approximation: the mean and inverse std (2 floats per normalised row, 2/features of the
        # input's size) are left out
        saves=Saves(inputs=(0,)),
        backward=no_backward_macs,
        counted=Counted(
            fvcore=_fvcore, ptflops=_layer_norm_ptflops, thop=_layer_norm_thop, torchinfo=_torchinfo, flop_counter=zero
        ),
        imports=(
            *imports("torch", "nn.LayerNorm", "archscope:ChannelLayerNorm")(_layer_norm_import),
            *imports("torch", "F.layer_norm")(_functional_layer_norm),
            Importer("onnx", "LayerNormalization", _onnx_layer_norm),
            Importer("onnx", "Transpose>LayerNormalization>Transpose", _onnx_channel_layer_norm),
        ),
    ),
    OpDef(
        name="group_norm",
        summary="group normalisation: statistics over groups of channels and all positions",
        attrs=(Attr("groups", Int(1), doc="channel groups (divides C)"), EPS, Attr("affine", Bool(), True)),
        shape=_group_norm_shape,
        cost=_per_channel_cost,
        module=_group_norm_lower,
        overwritable_output=True,
        receptive_field=everything,  # statistics over every position
        kernel=kernel_is("norm"),
        # an upper bound: mean and inverse std are kept per group, and groups ≤ C
        saves=Saves(inputs=(0,), per_channel=2),
        backward=no_backward_macs,
        counted=Counted(fvcore=_fvcore, ptflops=_affine_doubles(1), thop=zero, torchinfo=_torchinfo, flop_counter=zero),
        imports=(
            *imports("torch", "nn.GroupNorm")(_group_norm_import),
            Importer("onnx", "GroupNormalization", _onnx_group_norm),
        ),
    ),
    OpDef(
        name="instance_norm",
        summary="instance normalisation: statistics per channel over all positions, per sample",
        attrs=(
            EPS,
            Attr("affine", Bool(), False),
            Attr("track_running_stats", Bool(), False, "keep running statistics (used at inference)"),
        ),
        shape=_instance_norm_shape,
        cost=_per_channel_cost,
        module=_instance_norm_lower,
        overwritable_output=True,
        receptive_field=everything,  # statistics over every position
        kernel=kernel_is("norm"),
        saves=Saves(inputs=(0,), per_channel=2),  # mean and inverse std per sample and channel
        # F.instance_norm runs batch norm on a (1, N·C, …) view: its backward makes two copies of
        # the gradient (measured with MemTracker)
        memory=MemoryFacts(backward_temporaries=2),
        backward=no_backward_macs,
        counted=Counted(
            fvcore=_fvcore, ptflops=_affine_doubles(1), thop=_affine_doubles(2), torchinfo=_torchinfo, flop_counter=zero
        ),
        imports=(
            *imports("torch", "nn.InstanceNorm1d", "nn.InstanceNorm2d", "nn.InstanceNorm3d")(_instance_norm_import),
            Importer("onnx", "InstanceNormalization", _onnx_instance_norm),
        ),
    ),
)
