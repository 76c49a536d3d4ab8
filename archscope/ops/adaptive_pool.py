"""Adaptive and global pooling: adaptive average pools 2-D and 3-D, adaptive max pools 1-, 2-
and 3-D, and the global average pool (1-, 2- or 3-D); the windowed pools are :mod:`archscope.ops.pool`.

Shape: adaptive pooling outputs the requested size; global pooling keeps the channels and makes
every spatial dim 1. Cost: no MACs (no weights); ``ops``: one add (average) or comparison (max)
per input element. Backward: every pool saves its input, adaptive max pooling also its int64
indices; average pools' outputs are fresh and may be overwritten in place. Backward MACs:
declared zero, as for every pool. Peer tools (``counted``): see :mod:`archscope.ops.pool`, whose
docstring covers the pools of both files.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

from archscope.diagnostics import ShapeError
from archscope.ops.attrs import Attr, Sizes
from archscope.ops.construct import Construct, module
from archscope.ops.counting import only, per_input, thop_adaptive_avg
from archscope.ops.import_rules import Found, Importer, Unsupported, compact, imports
from archscope.ops.receptive_field import Field, Taps, everything
from archscope.ops.registry import (
    Attrs,
    Cost,
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
from archscope.ops.window import per_dim, require_rank


def _input_adds(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost(ops=numel(inputs[0]))


def _global_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    """(C, *spatial) → (C, 1, …, 1) for 1, 2 or 3 spatial dims (a video net's (C, T, H, W)):
    the adaptive average pool of that rank, to 1. A bare (C) has nothing to pool."""
    x = inputs[0]
    if len(x) not in (2, 3, 4):
        raise ShapeError(
            "E106",
            "`global_avgpool` needs a feature map (C, L), (C, H, W) or (C, T, H, W)",
            expected="(C, L), (C, H, W) or (C, T, H, W)",
            found=fmt_shape(x),
        )
    return (x[0],) + (1,) * (len(x) - 1)


def _global_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    rank = min(max(len(inputs[0]) - 1, 1), 3)  # (a rank the shape rule refuses still lowers: torch's own verdict)
    return module(f"AdaptiveAvgPool{rank}d", 1)


def _global_fvcore(a: Attrs, inputs: Sequence[Shape], out: Shape) -> int:
    """fvcore has a handle for aten::adaptive_avg_pool2d (a (C, H, W) map), not ``…1d`` ((C, L))."""
    return numel(inputs[0]) if len(inputs[0]) == 3 else 0


def _adaptive_taps(a: Attrs, inputs: Sequence[Shape], out: Shape) -> tuple[Taps | None, ...]:
    """PyTorch's adaptive windows: output ``o`` of ``O`` reads ``⌊o·W/O⌋ … ⌈(o+1)·W/O⌉ − 1``; a
    plain window when ``O`` divides ``W``, and periodic (stride ``W/O``) when it does not. Pooling
    to 1: every unit (global)."""
    taps: list[Taps | None] = []
    for size_in, size_out in zip(inputs[0][1:], out[1:]):
        if size_out == 1 and size_in > 1:
            taps.append(None)
            continue
        r = Fraction(size_in, size_out)
        taps.append(Taps(r, _adaptive_window(r)))
    return tuple(taps)


def _adaptive_window(r: Fraction) -> Callable[[int], range]:
    """Output ``o`` reads input units ``⌊o·r⌋ … ⌈(o+1)·r⌉ − 1``."""
    return lambda o: range(math.floor(o * r), math.ceil((o + 1) * r))


ADAPTIVE_FIELD = Field("taps", _adaptive_taps)


def _int64(a: Attrs) -> int:
    return 8


def _adaptive(kind: str, rank: int) -> OpDef:
    """Adaptive pooling to a fixed ``output_size`` on a (C, *spatial) map of exactly ``rank``
    spatial dims (PyTorch's adaptive pools read other ranks as other batches). Cost: one add
    (average) or one comparison (max) per input element. Max pooling saves its input and its
    int64 argmax indices for backward; average pooling its input (only its size, in fact)."""
    name = f"adaptive_{kind}pool{rank}d"

    def shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
        x = require_rank(inputs, rank, name)
        return (x[0], *per_dim(a["output_size"], rank, "output_size"))

    def lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
        return module(f"Adaptive{kind.capitalize()}Pool{rank}d", a["output_size"])

    if kind == "max":
        # it computes int64 indices whatever it returns: kept in training, discarded at inference
        facts: dict[str, Any] = {"saves": Saves(inputs=(0,), like_output=(8,)), "memory": MemoryFacts(transient=_int64)}
        counted = only(ptflops=per_input(2))
    else:
        facts = {"overwritable_output": True, "saves": Saves(inputs=(0,))}
        # fvcore's handle is for aten::adaptive_avg_pool2d only
        counted = only(fvcore=per_input(1 if rank == 2 else 0), ptflops=per_input(2), thop=thop_adaptive_avg)
    return OpDef(
        name=name,
        summary=f"adaptive {dict(avg='average', max='max')[kind]} pooling to a fixed output size",
        attrs=(Attr("output_size", Sizes(1, (rank,)), 1),),
        shape=shape,
        cost=_input_adds,
        module=lower,
        backward=no_backward_macs,
        receptive_field=lambda a: ADAPTIVE_FIELD,
        kernel=kernel_is("pool"),
        counted=counted,
        imports=(
            *imports("torch", f"nn.Adaptive{kind.capitalize()}Pool{rank}d", f"F.adaptive_{kind}_pool{rank}d")(
                _adaptive_import
            ),
            *((Importer("onnx", "GlobalMaxPool", _onnx_global(rank)),) if kind == "max" else ()),
        ),
        **facts,
    )


def _onnx_global(rank: int) -> Callable[[Found], dict[str, Any]]:
    """ONNX GlobalMaxPool on a map of ``rank`` spatial dims: adaptive max pooling to 1."""

    def rule(found: Found) -> dict[str, Any]:
        if len(found.inputs[0]) != rank + 1:
            raise Unsupported(f"a rank-{len(found.inputs[0]) - 1} map")
        return {}

    return rule


def _onnx_global_avg(found: Found) -> dict[str, Any]:
    """ONNX GlobalAveragePool, of any rank."""
    return {}


def _onnx_reduce_mean(found: Found) -> dict[str, Any]:
    """ONNX ReduceMean over every spatial axis with ``keepdims`` (axes: an attribute before
    opset 18, an input from 18)."""
    rank = len(found.inputs[0]) + 1
    if len(found.inputs) != 1:
        raise Unsupported("axes that are a tensor of the network")
    axes = found.obj.get("axes", found.args[1] if len(found.args) > 1 else None)
    if not isinstance(axes, list) or sorted(a % rank for a in axes) != list(range(2, rank)) or rank < 3:
        raise Unsupported(f"a mean over axes {axes} (global pooling averages every spatial axis)")
    if not found.obj.get("keepdims", 1):
        raise Unsupported("keepdims=0 (archscope's global_avgpool keeps the spatial dims as 1s)")
    return {}


def _adaptive_import(found: Found) -> dict[str, Any]:
    size = found.obj.output_size if found.obj is not None else found.arg(1, "output_size")
    size = compact(size)
    if size is None or (isinstance(size, list) and None in size):
        raise Unsupported("an output size of None (keep the input's size)")
    return {"output_size": size} if size != 1 else {}


def _global_import(found: Found) -> dict[str, Any]:
    """Adaptive average pooling to 1 is a global average pooling."""
    size = found.obj.output_size if found.obj is not None else found.arg(1, "output_size")
    if compact(size) != 1:
        raise Unsupported(f"output size {size} (global pooling is 1)")
    return {}


def _mean_import(found: Found) -> dict[str, Any]:
    """``x.mean((2, 3), keepdim=True)``: the mean over every spatial dim, keeping them as 1s."""
    dims = found.arg(1, "dim", None)
    rank = len(found.inputs[0]) + 1
    dims = (dims,) if isinstance(dims, int) else tuple(dims or ())
    if sorted(d % rank for d in dims) != list(range(2, rank)) or rank < 3:
        raise Unsupported(f"a mean over dims {list(dims)} (global pooling averages every spatial dim)")
    if not found.arg(2, "keepdim", False):
        raise Unsupported("keepdim=False (archscope's global_avgpool keeps the spatial dims as 1s: add a flatten)")
    return {}


register(
    OpDef(
        name="global_avgpool",
        summary="average over all spatial positions (adaptive to 1)",
        attrs=(),
        shape=_global_shape,
        cost=_input_adds,
        module=_global_lower,
        overwritable_output=True,
        saves=Saves(inputs=(0,)),
        backward=no_backward_macs,
        receptive_field=everything,
        kernel=kernel_is("pool"),
        counted=only(fvcore=_global_fvcore, ptflops=per_input(2), thop=thop_adaptive_avg),
        imports=(
            *imports("torch", "nn.AdaptiveAvgPool1d", "nn.AdaptiveAvgPool2d", "F.adaptive_avg_pool2d")(_global_import),
            *imports("torch", "Tensor.mean", "torch.mean")(_mean_import),
            Importer("onnx", "GlobalAveragePool", _onnx_global_avg),
            Importer("onnx", "ReduceMean", _onnx_reduce_mean),
        ),
    ),
    _adaptive("avg", 2),
    _adaptive("avg", 3),
    _adaptive("max", 1),
    _adaptive("max", 2),
    _adaptive("max", 3),
)
