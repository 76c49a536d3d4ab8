"""Zero padding: (C, H, W) → (C, H + top + bottom, W + left + right). Free.

``padding`` is one integer for every side, or ``[left, right, top, bottom]`` as in PyTorch.
Backward saves nothing (it slices the gradient); the output is fresh.
Backward MACs: declared zero (the gradient is sliced); torch.utils.flop_counter counts none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .counting import NOTHING
from .field import window
from .registry import (
    Attr,
    Attrs,
    Construct,
    Cost,
    Found,
    OpDef,
    Saves,
    Shape,
    Sizes,
    Unsupported,
    imports,
    kernel_is,
    module,
    no_backward_macs,
    register,
)
from .window import require_rank


def _sides(a: Attrs) -> tuple[int, int, int, int]:
    p = a["padding"]
    return (p, p, p, p) if isinstance(p, int) else p


def _field_geometry(a: Attrs, rank: int):
    left, _, top, _ = _sides(a)
    return (1, 1), (1, 1), (top, left), (1, 1)


def _shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    c, h, w = require_rank(inputs, 2, "zeropad2d")
    left, right, top, bottom = _sides(a)
    return (c, h + top + bottom, w + left + right)


def _cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost()


def _lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return module("ZeroPad2d", _sides(a))


def _pad_import(found: Found) -> dict[str, Any]:
    """``nn.ZeroPad2d`` or ``F.pad(x, (left, right, top, bottom))`` with zeros."""
    if found.obj is not None:
        pads = tuple(found.obj.padding)
    else:
        pads = tuple(found.arg(1, "pad"))
        mode, value = found.arg(2, "mode", "constant"), found.arg(3, "value", None)
        if mode != "constant" or value not in (None, 0, 0.0):
            raise Unsupported(f"mode={mode!r}, value={value!r} (archscope pads with zeros)")
    if len(pads) != 4 or len(found.inputs[0]) != 3 or min(pads) < 0:
        raise Unsupported(f"padding {list(pads)} of a rank-{len(found.inputs[0])} input")
    return {"padding": pads[0] if len(set(pads)) == 1 else list(pads)}


register(
    OpDef(
        name="zeropad2d",
        summary="pad a feature map with zeros",
        attrs=(Attr("padding", Sizes(0, (4,)), doc="all sides, or [left, right, top, bottom]"),),
        shape=_shape,
        cost=_cost,
        module=_lower,
        overwritable_output=True,
        saves=Saves(),
        backward=no_backward_macs,
        receptive_field=window(_field_geometry),  # a 1-wide window shifted by the top and left padding
        kernel=kernel_is("copy"),
        counted=NOTHING,
        imports=imports("torch", "nn.ZeroPad2d", "F.pad")(_pad_import),
    )
)
