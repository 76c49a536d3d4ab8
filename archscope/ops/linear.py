"""Fully connected layers and flattening.

linear: needs a flat (features,) input; params = in·out (+ out bias); MACs = in·out.
flatten: (C, H, W) → (C·H·W,), any rank; free (a view: its output may not be overwritten).
Backward: linear saves its input; flatten saves nothing.
Backward MACs: linear's input gradient (grad_out · W) and weight gradient (grad_outᵀ · x) are
each in·out, as torch.utils.flop_counter counts its two ``mm`` calls; the bias gradient (a sum)
and the bias add of the forward ``addmm`` are not MACs, and the counter counts neither.
flatten is a view: declared zero.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..diagnostics import ShapeError
from .field import everything, flat
from .registry import (
    Attr,
    Attrs,
    Backward,
    Bool,
    Construct,
    Cost,
    Int,
    OpDef,
    Saves,
    Shape,
    fmt_shape,
    module,
    no_backward_macs,
    numel,
    register,
)


def _linear_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    x = inputs[0]
    if len(x) != 1:
        raise ShapeError(
            "E106", "`linear` needs a flat input: add a `flatten` before it", expected="(features,)", found=fmt_shape(x)
        )
    return (a["out"],)


def _linear_cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    weights = inputs[0][0] * a["out"]
    return Cost(params=weights + (a["out"] if a["bias"] else 0), macs=weights, ops=a["out"] if a["bias"] else 0)


def _linear_backward(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Backward:
    weights = inputs[0][0] * a["out"]
    return Backward(weights, weights)


def _linear_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return module("Linear", inputs[0][0], a["out"], bias=a["bias"])


def _flatten_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    return (numel(inputs[0]),)


def _flatten_cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost()


def _flatten_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return module("Flatten", 1)


register(
    OpDef(
        name="linear",
        summary="fully connected layer",
        attrs=(Attr("out", Int(1), doc="output features"), Attr("bias", Bool(), True)),
        shape=_linear_shape,
        cost=_linear_cost,
        module=_linear_lower,
        weighted=True,
        overwritable_output=True,
        saves=Saves(inputs=(0,)),
        backward=_linear_backward,
        receptive_field=everything,  # every feature: after a flatten, every position
    ),
    OpDef(
        name="flatten",
        summary="flatten everything but the batch into (features,)",
        attrs=(),
        shape=_flatten_shape,
        cost=_flatten_cost,
        module=_flatten_lower,
        saves=Saves(),
        backward=no_backward_macs,  # a view: its backward is a reshape
        receptive_field=flat,
    ),
)
