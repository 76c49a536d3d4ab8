"""Ops that pass their input on: ``identity``, and ``dropout`` (the identity at inference).

Cost: both are declared zero-cost on purpose (no params, MACs or ops). Either accepts any rank.
``identity``'s output is its input itself (a view: no memory, its gradient passed through);
``dropout`` in training keeps a mask for backward, at inference (or with p = 0) it returns its
input. Backward MACs: declared zero. Peer tools (``counted``): none counts either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archscope.ops.attrs import Attr, Float
from archscope.ops.construct import Construct
from archscope.ops.construct import module as nn_module
from archscope.ops.counting import NOTHING
from archscope.ops.import_rules import Found, Unsupported, imports
from archscope.ops.receptive_field import same
from archscope.ops.registry import (
    Attrs,
    Cost,
    MemoryFacts,
    OpDef,
    Saves,
    Shape,
    always,
    kernel_is,
    no_backward_macs,
    register,
)


def _same(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    return inputs[0]


def _free(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost()


def _dropout_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return nn_module("Dropout", p=a["p"])


def _identity_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return nn_module("Identity")


def _one_tensor(found: Found) -> dict[str, Any]:
    """``torch.cat([x])``: a copy of one tensor (DenseNet's first layer of a block)."""
    if len(found.inputs) != 1:
        raise Unsupported("more than one tensor")
    return {}


def _dropout_import(found: Found) -> dict[str, Any]:
    p = found.obj.p if found.obj is not None else found.arg(1, "p", 0.5)
    return {"p": p}


register(
    OpDef(
        name="dropout",
        summary="dropout (the identity at inference: zero cost)",
        attrs=(Attr("p", Float(0.0, 1.0), 0.5),),
        shape=_same,
        cost=_free,
        # training on CPU keeps a mask in the input's dtype (4 bytes at float32; the fused CUDA
        # kernel keeps a bool one); at inference, or with p = 0, it returns its input itself
        saves=Saves(like_output=(4,)),
        memory=MemoryFacts(view=lambda a, training: not training or a["p"] == 0.0),
        module=_dropout_lower,
        imports=imports("torch", "nn.Dropout", "F.dropout")(_dropout_import),
        backward=no_backward_macs,
        receptive_field=same,
        kernel=kernel_is("view"),
        counted=NOTHING,
    ),
    OpDef(
        name="identity",
        summary="passes its input through (zero cost)",
        attrs=(),
        shape=_same,
        cost=_free,
        module=_identity_lower,
        imports=(
            *imports("torch", "nn.Identity")(lambda found: {}),
            *imports("torch", "torch.cat", "torch.concat")(_one_tensor),
        ),
        saves=Saves(),
        memory=MemoryFacts(view=always, grad_view=True),
        backward=no_backward_macs,
        receptive_field=same,
        kernel=kernel_is("view"),
        counted=NOTHING,
    ),
)
