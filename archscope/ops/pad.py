"""Zero padding: (C, H, W) → (C, H + top + bottom, W + left + right). Free.

``padding`` is one integer for every side, or ``[left, right, top, bottom]`` as in PyTorch.
Backward saves nothing (it slices the gradient); the output is fresh.
Backward MACs: declared zero (the gradient is sliced); torch.utils.flop_counter counts none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archscope.ops.attrs import Attr, Sizes
from archscope.ops.construct import Construct, module
from archscope.ops.counting import NOTHING
from archscope.ops.import_rules import Found, Importer, Unsupported, imports
from archscope.ops.receptive_field import Window, window
from archscope.ops.registry import Attrs, Cost, OpDef, Saves, Shape, kernel_is, no_backward_macs, register
from archscope.ops.window import require_rank


def _sides(a: Attrs) -> tuple[int, int, int, int]:
    p = a["padding"]
    return (p, p, p, p) if isinstance(p, int) else p


def _field_geometry(a: Attrs, rank: int) -> Window:
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


def _onnx_pad(found: Found) -> dict[str, Any]:
    """ONNX Pad of a (C, H, W) map with zeros (``mode`` constant, no or zero ``constant_value``):
    ``pads`` (input 1 from opset 11, an attribute before) ``[n, c, top, left, n, c, bottom,
    right]``, nothing on the batch or the channels; no ``axes``."""
    if len(found.inputs) != 1 or len(found.inputs[0]) != 3:
        raise Unsupported(f"padding of a rank-{len(found.inputs[0]) + 1} tensor")
    if found.obj.get("mode", "constant") != "constant":
        raise Unsupported(f"mode={found.obj['mode']!r} (archscope pads with zeros)")
    pads = found.obj.get("pads", found.args[1] if len(found.args) > 1 else None)
    value = found.args[2] if len(found.args) > 2 else found.obj.get("value", 0.0)
    if value not in (None, 0, 0.0) or (len(found.args) > 3 and found.args[3] is not None):
        raise Unsupported(f"a constant {value} or axes (archscope pads all sides with zeros)")
    if not isinstance(pads, list) or len(pads) != 8 or pads[0] or pads[1] or pads[4] or pads[5] or min(pads) < 0:
        raise Unsupported(f"pads {pads}")
    top, left, bottom, right = pads[2], pads[3], pads[6], pads[7]
    sides = [left, right, top, bottom]
    return {"padding": sides[0] if len(set(sides)) == 1 else sides}


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
        imports=(*imports("torch", "nn.ZeroPad2d", "F.pad")(_pad_import), Importer("onnx", "Pad", _onnx_pad)),
    )
)
