"""The activation with learned slopes: ``prelu`` (x if x > 0 else a·x, with 1 or C slopes a).

Cost: its slopes are params; no MACs; ``ops`` = 1 per output element. It accepts any rank (C:
dim 0 of a sample). Backward saves its input (``_saved_self``) and its weight (a parameter), and
computes the slopes' gradient per element first (a temporary the size of its output). Backward
MACs: declared zero (the slope gradient is a sum); torch.utils.flop_counter counts none of it.
Peer tools (``counted``, per element): ptflops 2 (its module hook, and F.prelu, which it
patches), thop 1 (``count_prelu`` in eval mode), torchinfo its slopes (its parameters × batch);
fvcore and flop_counter nothing. See :mod:`archscope.ops.activation` for the other activations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archscope.diagnostics import ShapeError
from archscope.ops.attrs import Attr, Float, Int
from archscope.ops.construct import Construct
from archscope.ops.construct import module as nn_module
from archscope.ops.counting import only, per_output
from archscope.ops.import_rules import Found, Importer, Unsupported, imports
from archscope.ops.receptive_field import same
from archscope.ops.registry import (
    Attrs,
    Cost,
    MemoryFacts,
    OpDef,
    Saves,
    Shape,
    kernel_is,
    no_backward_macs,
    numel,
    register,
)


def _prelu_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    x = inputs[0]
    if a["num_parameters"] not in (1, x[0]):
        raise ShapeError(
            "E107",
            f"`num_parameters` must be 1 or the {x[0]} channels (as in PyTorch)",
            expected=f"1 or {x[0]}",
            found=a["num_parameters"],
        )
    return x


def _prelu_cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost(params=a["num_parameters"], ops=numel(out))


PRELU_COUNTED = only(ptflops=per_output(2), thop=per_output(1), torchinfo=lambda a, inputs, out: a["num_parameters"])


def _prelu_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return nn_module("PReLU", a["num_parameters"], init=a["init"])


def _prelu_import(found: Found) -> dict[str, Any]:
    n = found.obj.num_parameters
    return {"num_parameters": n} if n != 1 else {}


def _onnx_prelu(found: Found) -> dict[str, Any]:
    """ONNX PRelu whose slope is an initializer of 1 or C elements, broadcast over (C, 1, …)."""
    slope = found.weights.get(1)
    if slope is None:
        raise Unsupported("a slope that is not an initializer")
    n = numel(slope)
    if n != 1 and n != found.inputs[0][0]:
        raise Unsupported(f"a slope of shape {slope}")
    return {"num_parameters": n} if n != 1 else {}


register(
    OpDef(
        name="prelu",
        summary="x if x > 0 else a·x, with 1 or C learned slopes a",
        attrs=(
            Attr("num_parameters", Int(1), 1, "1 (one slope) or C (one per channel)"),
            Attr("init", Float(), 0.25, "initial slope"),
        ),
        shape=_prelu_shape,
        cost=_prelu_cost,
        module=_prelu_lower,
        saves=Saves(inputs=(0,)),
        memory=MemoryFacts(backward_temporaries=1),  # its backward computes the slopes' gradient per element first
        backward=no_backward_macs,
        receptive_field=same,
        kernel=kernel_is("elementwise"),
        counted=PRELU_COUNTED,
        imports=(*imports("torch", "nn.PReLU")(_prelu_import), Importer("onnx", "PRelu", _onnx_prelu)),
    ),
)
