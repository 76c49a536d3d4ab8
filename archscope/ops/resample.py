"""Resampling and rearranging: upsample, pixel (un)shuffle, channel shuffle.

upsample (``nn.Upsample``): ``size`` or ``scale``, exactly one. With ``scale`` the output size is
PyTorch's: O = floor(W · scale) per dim (``F.interpolate``, ``recompute_scale_factor`` unset).
``nearest`` takes (C, L), (C, H, W) or (C, D, H, W); ``bilinear`` and ``bicubic`` (C, H, W).
Cost: no params, no MACs (the interpolation weights are computed from positions, not learned);
``ops`` = taps per output element, counted as one multiply-add each: nearest 0 (a copy, zero on
purpose), bilinear 4 (2×2 neighbours), bicubic 16 (4×4 neighbours). fvcore counts
``upsample_bilinear2d`` as 4 per output element too (reported apart from MACs by ``verify``).
Backward of every mode needs only sizes: nothing is saved.

pixel_shuffle (Shi et al. 2016, ESPCN): (C·r², H, W) → (C, H·r, W·r); pixel_unshuffle is its
inverse. channel_shuffle (ShuffleNet, Zhang et al. 2018): permutes channels across ``groups``.
All three are reshapes and permutes: zero cost on purpose, nothing saved for backward.
Backward MACs: declared zero (nearest/bilinear upsampling backward accumulates weighted
gradients, but as interpolation, not conv/linear MACs, as its forward counts `ops`; shuffles
are permutations); torch.utils.flop_counter counts none of it.

Peer tools (``counted``), upsample, per output element unless said:
  fvcore        nearest on (C, H, W) 1, bilinear 4 (handles for upsample_nearest2d and
                upsample_bilinear2d only: nearest 1-D/3-D and bicubic count 0)
  ptflops       1 (its nn.Upsample hook) + its F.interpolate hook: the output's elements when
                given a `size`; with a `scale`, the input's elements × scale^rank in floats (a
                list of scales: × ∏ int(scale), each truncated), whatever the real output size
  thop          nearest 1, bilinear 11, bicubic 259 (``calculate_upsample``)
  torchinfo, flop_counter  0
The shuffles count 0 in every tool.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from archscope.diagnostics import ShapeError
from archscope.ops.attrs import Attr, Bool, Choice, Int, Scales, Sizes
from archscope.ops.construct import Construct, module
from archscope.ops.counting import NOTHING, exact, only
from archscope.ops.import_rules import Found, Importer, Unsupported, compact, imports
from archscope.ops.receptive_field import Field, Taps, Window, same, upsample, window
from archscope.ops.registry import (
    Attrs,
    Cost,
    Count,
    OpDef,
    Saves,
    Shape,
    fmt_shape,
    kernel_is,
    no_backward_macs,
    numel,
    register,
)
from archscope.ops.window import LAYOUT, SPATIAL_NAMES, per_dim

# spatial ranks each mode interpolates (PyTorch: "linear" is 1-D only, "trilinear" 3-D only)
UPSAMPLE_RANKS = {"nearest": (1, 2, 3), "bilinear": (2,), "bicubic": (2,)}
TAPS = {"nearest": 0, "bilinear": 4, "bicubic": 16}  # ops per output element


def _upsample_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    x = inputs[0]
    mode, rank = a["mode"], len(x) - 1
    if rank not in UPSAMPLE_RANKS[mode]:
        layouts = " or ".join(LAYOUT[r] for r in UPSAMPLE_RANKS[mode])
        raise ShapeError(
            "E106", f"`upsample` with `mode: {mode}` needs {layouts}", expected=layouts, found=fmt_shape(x)
        )
    if (a["size"] is None) == (a["scale"] is None):
        raise ShapeError(
            "E107",
            "`upsample` needs exactly one of `size` and `scale`",
            expected="`size` or `scale`",
            found="both" if a["size"] is not None else "neither",
        )
    if a["align_corners"] is not None and mode == "nearest":
        raise ShapeError(
            "E107",
            "`align_corners` only applies to `bilinear` and `bicubic` (as in PyTorch)",
            expected="no `align_corners` with `mode: nearest`",
            found=a["align_corners"],
        )
    if a["size"] is not None:
        return (x[0], *per_dim(a["size"], rank, "size"))
    out = []
    for size, scale, dim in zip(x[1:], per_dim(a["scale"], rank, "scale"), SPATIAL_NAMES[rank]):
        o = math.floor(float(size) * scale)  # F.interpolate's rule, in double precision
        if o < 1:
            raise ShapeError("E101", f"{dim}: output size floor({size}·{scale:g}) = {o}", expected="≥ 1", found=o)
        out.append(o)
    return (x[0], *out)


def _upsample_cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost(ops=TAPS[a["mode"]] * numel(out))


FVCORE_TAPS = {"nearest": 1, "bilinear": 4, "bicubic": 0}  # per output element, 2-D only
THOP_TAPS = {"nearest": 1, "bilinear": 11, "bicubic": 259}


def _upsample_fvcore(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Count:
    return FVCORE_TAPS[a["mode"]] * numel(out) if len(out) == 3 else 0


def _upsample_ptflops(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Count:
    scale = a["scale"]
    if scale is None:
        return 2 * numel(out)
    rank = len(out) - 1
    if isinstance(scale, tuple):  # np.prod(scale, dtype=np.int64): each scale truncated to an integer first
        interpolated = numel(inputs[0]) * math.prod(int(x) for x in scale)
    else:
        interpolated = numel(inputs[0]) * scale**rank
    return numel(out) + exact(interpolated)


def _upsample_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return module("Upsample", size=a["size"], scale_factor=a["scale"], mode=a["mode"], align_corners=a["align_corners"])


def _shuffle_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    x = inputs[0]
    if len(x) != 3:
        raise ShapeError(
            "E106", "`pixel_shuffle` needs a 2-D feature map (C, H, W)", expected=LAYOUT[2], found=fmt_shape(x)
        )
    r = a["upscale"]
    if x[0] % (r * r):
        raise ShapeError(
            "E103",
            f"upscale {r} needs channels divisible by {r}² = {r * r}",
            expected=f"channels divisible by {r * r}",
            found=x[0],
        )
    return (x[0] // (r * r), x[1] * r, x[2] * r)


def _unshuffle_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    x = inputs[0]
    if len(x) != 3:
        raise ShapeError(
            "E106", "`pixel_unshuffle` needs a 2-D feature map (C, H, W)", expected=LAYOUT[2], found=fmt_shape(x)
        )
    r = a["downscale"]
    for size, dim in zip(x[1:], SPATIAL_NAMES[2]):
        if size % r:
            raise ShapeError(
                "E107", f"{dim} {size} is not divisible by downscale {r}", expected=f"a multiple of {r}", found=size
            )
    return (x[0] * r * r, x[1] // r, x[2] // r)


def _channel_shuffle_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    x = inputs[0]
    if len(x) < 2:
        raise ShapeError(
            "E106", "`channel_shuffle` needs a feature map (C, L), (C, H, W)…", expected=LAYOUT[2], found=fmt_shape(x)
        )
    g = a["groups"]
    if x[0] % g:
        raise ShapeError(
            "E103", f"groups={g} does not divide the {x[0]} channels", expected=f"channels divisible by {g}", found=x[0]
        )
    return x


def _free(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost()  # zero on purpose: a reshape and a permute move data, they compute nothing


def _shuffle_taps(a: Attrs, inputs: Sequence[Shape], out: Shape) -> tuple[Taps | None, ...]:
    """Output position ``o`` (all its channels) reads input position ``o // r``: stride 1/r."""
    r = a["upscale"]
    return tuple(Taps(Fraction(1, r), lambda o: (o // r,)) for _ in out[1:])


def _shuffle_field(a: Attrs) -> Field:
    return Field("taps", _shuffle_taps)


def _unshuffle_geometry(a: Attrs, rank: int) -> Window:
    r = a["downscale"]
    return (r,) * rank, (r,) * rank, (0,) * rank, (1,) * rank


def _pixel_shuffle_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return module("PixelShuffle", a["upscale"])


def _pixel_unshuffle_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return module("PixelUnshuffle", a["downscale"])


def _channel_shuffle_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return module("ChannelShuffle", a["groups"])


def _upsample_import(found: Found) -> dict[str, Any]:
    """``nn.Upsample`` or ``F.interpolate``: mode, a size or a scale, align_corners."""
    m = found.obj

    def get(n: str, i: int, d: Any) -> Any:
        """Attribute ``n`` of the module, else argument ``i`` (or keyword ``n``) of the call."""
        return getattr(m, n, d) if m is not None else found.arg(i, n, d)

    size, scale = get("size", 1, None), get("scale_factor", 2, None)
    mode, align = get("mode", 3, "nearest"), get("align_corners", 4, None)
    if found.obj is None and found.kwargs.get("recompute_scale_factor"):
        raise Unsupported("recompute_scale_factor=True")
    attrs: dict[str, Any] = {}
    if mode != "nearest":
        attrs["mode"] = mode
    if size is not None:
        attrs["size"] = compact(size)
    if scale is not None:
        attrs["scale"] = compact([float(s) for s in scale]) if isinstance(scale, (tuple, list)) else float(scale)
    if align is not None:
        attrs["align_corners"] = align
    return attrs


ONNX_MODES = {"nearest": "nearest", "linear": "bilinear", "cubic": "bicubic"}


def _onnx_resize(found: Found) -> dict[str, Any]:
    """ONNX Resize (opset 11 on: inputs roi, scales, sizes; opset 10 and Upsample: scales) as
    PyTorch writes ``F.interpolate``: nearest with ``asymmetric`` coordinates and ``floor``;
    linear/cubic (2-D) with ``align_corners`` or ``(pytorch_)half_pixel`` coordinates; no antialias."""
    a = found.obj
    rank = len(found.inputs[0]) - 1
    mode = ONNX_MODES.get(a.get("mode", "nearest"))
    coordinates = a.get("coordinate_transformation_mode", "half_pixel")
    if mode is None or len(found.inputs) != 1 or a.get("antialias", 0):
        raise Unsupported(f"mode {a.get('mode')!r}, antialias or a size that is a tensor of the network")
    attrs: dict[str, Any] = {} if mode == "nearest" else {"mode": mode}
    if mode == "nearest" and (coordinates != "asymmetric" or a.get("nearest_mode", "round_prefer_floor") != "floor"):
        raise Unsupported(f"nearest with {coordinates} coordinates (PyTorch's is asymmetric, floor)")
    if mode != "nearest":
        if coordinates not in ("align_corners", "half_pixel", "pytorch_half_pixel"):
            raise Unsupported(f"coordinate_transformation_mode={coordinates!r}")
        if coordinates == "align_corners":
            attrs["align_corners"] = True
    old = found.kwargs.get("op_type") == "Upsample" or found.kwargs.get("opset", 11) < 11
    scales = found.args[1] if old else (found.args[2] if len(found.args) > 2 else None)
    sizes = None if old else (found.args[3] if len(found.args) > 3 else None)
    if isinstance(sizes, list) and len(sizes) == rank + 2:
        attrs["size"] = compact([int(v) for v in sizes[2:]])
    elif isinstance(scales, list) and len(scales) == rank + 2 and scales[:2] == [1.0, 1.0]:
        attrs["scale"] = compact([float(f"{v:.6g}") for v in scales[2:]])
    else:
        raise Unsupported(f"scales {scales} and sizes {sizes} (constants over the spatial dims expected)")
    return attrs


def _onnx_depth_to_space(found: Found) -> dict[str, Any]:
    """ONNX DepthToSpace in CRD order is PyTorch's pixel_shuffle (DCR orders the channels otherwise)."""
    if found.obj.get("mode", "DCR") != "CRD":
        raise Unsupported("mode DCR (pixel_shuffle's channel order is CRD)")
    return {"upscale": found.obj["blocksize"]}


def _moved(found: Found) -> tuple[Shape, list[int], Shape]:
    """``Reshape>Transpose>Reshape`` of one tensor: the first reshape's shape, the permutation
    (batch excluded), the result's shape."""
    first, _, last = found.kwargs["shapes"]
    perm = found.obj[1].get("perm") or []
    if len(found.inputs) != 1 or not perm or perm[0] != 0:
        raise Unsupported("not a reshape, permutation and reshape of one tensor")
    return first, [p - 1 for p in perm[1:]], last


def _onnx_channel_shuffle(found: Found) -> dict[str, Any]:
    """(C, H, W) → (g, C/g, H, W) → swap the first two → (C, H, W)."""
    first, perm, last = _moved(found)
    x = found.inputs[0]
    if len(first) != len(x) + 1 or first[0] * first[1] != x[0] or perm != [1, 0, *range(2, len(first))] or last != x:
        raise Unsupported("not a channel shuffle")
    return {"groups": first[0]}


def _onnx_pixel_shuffle(found: Found) -> dict[str, Any]:
    """(C·r², H, W) → (C, r, r, H, W) → (C, H, r, W, r) → (C, H·r, W·r)."""
    first, perm, last = _moved(found)
    x = found.inputs[0]
    if len(x) != 3 or len(first) != 5 or perm != [0, 3, 1, 4, 2] or first[1] != first[2]:
        raise Unsupported("not a pixel shuffle")
    r = first[1]
    if last != (x[0] // (r * r), x[1] * r, x[2] * r):
        raise Unsupported("not a pixel shuffle")
    return {"upscale": r}


def _onnx_pixel_unshuffle(found: Found) -> dict[str, Any]:
    """(C, H·r, W·r) → (C, H, r, W, r) → (C, r, r, H, W) → (C·r², H, W)."""
    first, perm, last = _moved(found)
    x = found.inputs[0]
    if len(x) != 3 or len(first) != 5 or perm != [0, 2, 4, 1, 3] or first[2] != first[4]:
        raise Unsupported("not a pixel unshuffle")
    r = first[2]
    if last != (x[0] * r * r, x[1] // r, x[2] // r):
        raise Unsupported("not a pixel unshuffle")
    return {"downscale": r}


register(
    OpDef(
        name="upsample",
        summary="nearest, bilinear or bicubic upsampling to a `size` or by a `scale`",
        attrs=(
            Attr("mode", Choice(tuple(UPSAMPLE_RANKS)), "nearest"),
            Attr("scale", Scales(), None, "output = floor(input · scale) per dim"),
            Attr("size", Sizes(1, (1, 2, 3)), None, "output size per dim"),
            Attr("align_corners", Bool(), None, "`bilinear`/`bicubic` only, as in PyTorch"),
        ),
        shape=_upsample_shape,
        cost=_upsample_cost,
        module=_upsample_lower,
        overwritable_output=True,
        saves=Saves(),
        backward=no_backward_macs,
        receptive_field=upsample,
        kernel=kernel_is("copy"),
        counted=only(
            fvcore=_upsample_fvcore,
            ptflops=_upsample_ptflops,
            thop=lambda a, inputs, out: THOP_TAPS[a["mode"]] * numel(out),
        ),
        imports=(
            *imports("torch", "nn.Upsample", "F.interpolate")(_upsample_import),
            *imports("onnx", "Resize", "Upsample")(_onnx_resize),
        ),
    ),
    OpDef(
        name="pixel_shuffle",
        summary="(C·r², H, W) → (C, H·r, W·r), sub-pixel upsampling (zero cost)",
        attrs=(Attr("upscale", Int(1), doc="r"),),
        shape=_shuffle_shape,
        cost=_free,
        module=_pixel_shuffle_lower,
        imports=(
            *imports("torch", "nn.PixelShuffle", "F.pixel_shuffle")(
                lambda f: {"upscale": f.obj.upscale_factor if f.obj is not None else f.arg(1, "upscale_factor")}
            ),
            Importer("onnx", "DepthToSpace", _onnx_depth_to_space),
            Importer("onnx", "Reshape>Transpose>Reshape", _onnx_pixel_shuffle),
        ),
        saves=Saves(),
        backward=no_backward_macs,
        receptive_field=_shuffle_field,
        kernel=kernel_is("copy"),
        counted=NOTHING,
    ),
    OpDef(
        name="pixel_unshuffle",
        summary="(C, H·r, W·r) → (C·r², H, W), the inverse of pixel_shuffle (zero cost)",
        attrs=(Attr("downscale", Int(1), doc="r"),),
        shape=_unshuffle_shape,
        cost=_free,
        module=_pixel_unshuffle_lower,
        imports=(
            *imports("torch", "nn.PixelUnshuffle", "F.pixel_unshuffle")(
                lambda f: {"downscale": f.obj.downscale_factor if f.obj is not None else f.arg(1, "downscale_factor")}
            ),
            Importer("onnx", "Reshape>Transpose>Reshape", _onnx_pixel_unshuffle),
        ),
        saves=Saves(),
        backward=no_backward_macs,
        receptive_field=window(_unshuffle_geometry),  # one position reads an r×r block
        kernel=kernel_is("copy"),
        counted=NOTHING,
    ),
    OpDef(
        name="channel_shuffle",
        summary="interleave the channels of `groups` groups (ShuffleNet; zero cost)",
        attrs=(Attr("groups", Int(1), doc="divides the channels"),),
        shape=_channel_shuffle_shape,
        cost=_free,
        module=_channel_shuffle_lower,
        imports=(
            *imports("torch", "nn.ChannelShuffle", "F.channel_shuffle")(
                lambda f: {"groups": f.obj.groups if f.obj is not None else f.arg(1, "groups")}
            ),
            Importer("onnx", "Reshape>Transpose>Reshape", _onnx_channel_shuffle),
        ),
        saves=Saves(),
        backward=no_backward_macs,
        receptive_field=same,
        kernel=kernel_is("copy"),
        counted=NOTHING,
    ),
)
