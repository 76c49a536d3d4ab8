"""Token-sequence ops of Vision Transformers: the class token, the position embedding, and the
selection of one token.

After Dosovitskiy et al. 2021 ("An Image is Worth 16x16 Words", §3.1) as
torchvision.models.vision_transformer builds it: a sample is a sequence of L tokens of E
features, the shape (L, E) (tokens first: dim 0, where a feature map has its channels).

class_token: (L, E) → (L + 1, E): prepends one learned token (torchvision's ``class_token``, a
(1, 1, E) parameter initialised to zeros, expanded over the batch and concatenated on dim 1).
Params = E; no MACs, no ops (a copy). Backward saves nothing (the gradient is sliced).
position_embedding: (L, E) → (L, E): adds a learned (1, L, E) parameter (torchvision's
``encoder.pos_embedding``, initialised from N(0, 0.02²)). Params = L·E; ops = L·E adds.
Backward saves nothing (an add passes the gradient on).
select: the slice at ``index`` along ``dim`` (0 = the token dim; the batch excluded), one rank
less: torchvision's ``x[:, 0]``, the class token, (L, E) → (E,). A view: no params, MACs or ops;
backward saves nothing. The input needs rank 2 or more (a rank-0 sample is no archscope shape).
All three accept only what they are for: class_token and position_embedding a rank-2 (L, E)
input (E106 otherwise), select an index inside the size of its dim (E107 otherwise).
Receptive field: class_token and position_embedding act on every unit of the feature dim alone
(``same``: the added token reads nothing of the input); select makes a dim of the features a
feature dim with no spatial meaning left (``unknown``, with the reason). In a ViT the patch
embedding's ``permute`` already moves the channels, so the field there is unknown anyway.
Backward MACs: declared zero for all three (concatenation, an add and a view).
Peer tools (``counted``): zero in every tool, measured with fvcore, ptflops, thop, torchinfo and
FlopCounterMode on the lowered modules: concatenation, ``+`` and ``select`` are no op any of them
counts (ptflops patches ``torch.add``, not the operator ``+``), and the parameters are named
``class_token`` and ``pos_embedding``, not ``weight``, so torchinfo does not count them.
Weights: the lowered modules name their parameter as torchvision does, so a layer ``class_token``
holds ``class_token.class_token`` where torchvision has ``class_token``, and a layer
``encoder.pos_embedding`` holds ``encoder.pos_embedding.pos_embedding`` (bench/vit_check.py loads
torchvision's weights by those names).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archscope.diagnostics import ShapeError
from archscope.ops.attrs import Attr, Int
from archscope.ops.construct import helper_module
from archscope.ops.counting import NOTHING
from archscope.ops.import_rules import Found, Unsupported, imports
from archscope.ops.receptive_field import same, unknown
from archscope.ops.registry import (
    Attrs,
    Cost,
    MemoryFacts,
    OpDef,
    Saves,
    Shape,
    always,
    fmt_shape,
    kernel_is,
    no_backward_macs,
    numel,
    register,
)

MAX_RANK = 4  # a sample's rank, as in view.py
TOKENS = "(L, E)"


def _tokens(name: str, x: Shape) -> Shape:
    """The (L, E) input of a token op; a rank error for any other rank."""
    if len(x) != 2:
        raise ShapeError("E106", f"`{name}` needs a token sequence {TOKENS}", expected=TOKENS, found=fmt_shape(x))
    return x


def _class_token_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    length, features = _tokens("class_token", inputs[0])
    return (length + 1, features)


def _class_token_cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost(params=out[1])


def _position_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    return _tokens("position_embedding", inputs[0])


def _position_cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost(params=numel(out), ops=numel(out))


def _select_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    x, dim, index = inputs[0], a["dim"], a["index"]
    if len(x) < 2 or dim >= len(x):
        raise ShapeError(
            "E106",
            f"`select` along dim {dim} needs a rank of at least {max(2, dim + 1)}, not rank {len(x)}",
            expected=f"rank ≥ {max(2, dim + 1)}",
            found=fmt_shape(x),
        )
    if index >= x[dim]:
        raise ShapeError(
            "E107",
            f"`select` index {index} is outside dim {dim} of size {x[dim]}",
            expected=f"an index below {x[dim]}",
            found=f"index {index} on {fmt_shape(x)}",
        )
    return x[:dim] + x[dim + 1 :]


def _free(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost()  # a view: free on purpose


SELECTS = "a selected slice is features without positions: the field model has no answer for it"


def _class_token_import(found: Found) -> dict[str, Any]:
    if len(found.inputs) != 1 or len(found.inputs[0]) != 2:
        raise Unsupported("not a token sequence (L, E)")
    return {}


def _select_import(found: Found) -> dict[str, Any]:
    """archscope's ``Select``, or ``x.select(dim, index)`` / ``torch.select(x, dim, index)`` with a
    non-negative index along a dim other than the batch."""
    if found.obj is not None:
        dim, index = found.obj.dim, found.obj.index
    else:
        dim, index = found.arg(1, "dim"), found.arg(2, "index")
        rank = len(found.inputs[0]) + 1
        if not isinstance(dim, int) or not isinstance(index, int) or index < 0:
            raise Unsupported("a select with a negative or non-constant index")
        dim = dim + rank if dim < 0 else dim
        if dim == 0:
            raise Unsupported("it selects along the batch dimension")
        dim -= 1
    return {"dim": dim, "index": index}


register(
    OpDef(
        name="class_token",
        summary="prepend a learned class token: (L, E) → (L + 1, E) (ViT's `class_token`)",
        attrs=(),
        shape=_class_token_shape,
        cost=_class_token_cost,
        module=lambda a, inputs, out: helper_module("ClassToken", inputs[0][-1]),
        overwritable_output=True,
        saves=Saves(),  # the gradient of a concatenation is sliced
        memory=MemoryFacts(grad_view=True),  # a slice of the output's gradient
        backward=no_backward_macs,
        receptive_field=same,
        kernel=kernel_is("copy"),
        counted=NOTHING,
        imports=imports("torch", "archscope:ClassToken")(_class_token_import),
    ),
    OpDef(
        name="position_embedding",
        summary="add a learned position embedding of shape (L, E) (ViT's `pos_embedding`)",
        attrs=(),
        shape=_position_shape,
        cost=_position_cost,
        module=lambda a, inputs, out: helper_module("PositionEmbedding", inputs[0][0], inputs[0][-1]),
        overwritable_output=True,
        saves=Saves(),  # an add: the gradient passes on
        memory=MemoryFacts(grad_view=True),
        backward=no_backward_macs,
        receptive_field=same,
        kernel=kernel_is("elementwise"),
        counted=NOTHING,
        imports=imports("torch", "archscope:PositionEmbedding")(_class_token_import),
    ),
    OpDef(
        name="select",
        summary="the slice at `index` along `dim` (0 = tokens), one rank less: ViT's `x[:, 0]`",
        attrs=(
            Attr("dim", Int(0, MAX_RANK - 1), 0, "the dim to select along, without the batch (0 = tokens)"),
            Attr("index", Int(0), 0, "the position along `dim`"),
        ),
        shape=_select_shape,
        cost=_free,
        module=lambda a, inputs, out: helper_module("Select", a["dim"], a["index"]),
        saves=Saves(),
        memory=MemoryFacts(view=always),  # its gradient is a fresh zero tensor with the slice filled
        backward=no_backward_macs,
        receptive_field=lambda a: unknown(SELECTS),
        kernel=kernel_is("view"),
        counted=NOTHING,
        imports=imports("torch", "archscope:Select", "Tensor.select", "torch.select")(_select_import),
    ),
)
