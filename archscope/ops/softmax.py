"""Softmax over one dimension of a sample (0: channels or features).

Cost: no params, no MACs; ``ops`` = 1 per output element. It accepts any rank; over a spatial dim
its receptive field is every unit. Backward saves its output; backward MACs: declared zero
(elementwise, as its forward); torch.utils.flop_counter counts none of it. Peer tools
(``counted``): ptflops counts 1 per element (it patches F.softmax); thop counts 3·n − 1 per row of
n values (exp, sum, divide: ``count_softmax``); fvcore, torchinfo and flop_counter count nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archscope.diagnostics import ShapeError
from archscope.ops.attrs import Attr, Int
from archscope.ops.construct import Construct
from archscope.ops.construct import module as nn_module
from archscope.ops.counting import only, per_output
from archscope.ops.import_rules import Found, Importer, Unsupported, imports
from archscope.ops.receptive_field import GLOBAL, SAME
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


def _per_element(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost(ops=numel(out))


def _softmax_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    x = inputs[0]
    if a["dim"] >= len(x):
        raise ShapeError(
            "E107",
            f"`dim` {a['dim']} does not exist in a rank-{len(x)} input",
            expected=f"dim < {len(x)}",
            found=fmt_shape(x),
        )
    return x


def _softmax_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return nn_module("Softmax", dim=a["dim"] + 1)  # our dims exclude the batch


def _softmax_thop(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Count:
    n = out[a["dim"]]
    return numel(out) // n * (3 * n - 1)


def _softmax_import(found: Found) -> dict[str, Any]:
    dim = found.obj.dim if found.obj is not None else found.arg(1, "dim", None)
    if dim is None:
        raise Unsupported("no `dim` (PyTorch's implicit choice is deprecated)")
    rank = len(found.inputs[0]) + 1
    dim = dim + rank if dim < 0 else dim
    if dim == 0:
        raise Unsupported("softmax over the batch")
    return {"dim": dim - 1}


def _onnx_softmax(found: Found) -> dict[str, Any]:
    """ONNX Softmax over ``axis`` (opset 13 on: one axis, default -1; before: the flattened
    dims from ``axis`` on, default 1: the same only for the last axis)."""
    rank = len(found.inputs[0]) + 1
    old = found.kwargs.get("opset", 13) < 13
    axis = found.obj.get("axis", 1 if old else -1)
    axis = axis + rank if axis < 0 else axis
    if old and axis != rank - 1:
        raise Unsupported(f"opset < 13 softmax from axis {axis} of a rank-{rank} tensor (several axes)")
    if axis == 0:
        raise Unsupported("softmax over the batch")
    return {"dim": axis - 1}


register(
    OpDef(
        name="softmax",
        summary="softmax over a dimension (0 = channels/features)",
        attrs=(Attr("dim", Int(0, 8), 0, "dimension, not counting the batch"),),
        shape=_softmax_shape,
        cost=_per_element,
        module=_softmax_lower,
        saves=Saves(output=True),
        backward=no_backward_macs,
        receptive_field=lambda a: SAME if a["dim"] == 0 else GLOBAL,  # over a spatial dim: every unit
        kernel=kernel_is("elementwise"),
        counted=only(ptflops=per_output(1), thop=_softmax_thop),
        imports=(
            *imports("torch", "nn.Softmax", "F.softmax", "torch.softmax", "Tensor.softmax")(_softmax_import),
            Importer("onnx", "Softmax", _onnx_softmax),
        ),
    ),
)
