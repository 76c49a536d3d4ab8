"""Views that rearrange a sample's dims: ``reshape``, ``permute`` and ``transpose``.

Dims are per sample, as every archscope shape is (0 = channels); the lowering keeps the batch
first (``x.reshape(N, *shape)``, ``x.permute(0, *(d + 1 …))``, ``x.transpose(d0 + 1, d1 + 1)``).

reshape: ``shape`` lists the per-sample output sizes, one of which may be −1 (inferred, as in
torch); their product must equal the input's element count. A view of a contiguous input (torch's
``reshape``): after a ``permute`` or ``transpose`` torch copies instead, which the memory model
does not see (it counts the reshape as a view: up to one tensor of its size too little).
permute (``dims``, a permutation of the input's dims) and transpose (``dim0`` ↔ ``dim1``) are
always views, strided rather than contiguous: the next op may copy its input to read it
(a conv does, inside its kernel; ``reshape`` does, see above), which the memory model leaves out.
All three: no params, no MACs, no ops (free on purpose: they move no data); backward saves nothing
and passes a view of the output's gradient; kernel ``view``.
Receptive field: a reshape to one dim is ``flat`` (as ``flatten``); any other reshape regroups
units across dims, and a permute or transpose that moves the channels (dim 0) makes channels of
spatial units: the field model has no answer for those (``unknown``, with the reason). A permute
or transpose of spatial dims only (H ↔ W) reorders the input's per-dim fields (``permuted``).
Backward MACs: declared zero (the gradient is reshaped or permuted back).
Peer tools (``counted``): zero in every tool, measured (fvcore, ptflops, thop, torchinfo and
FlopCounterMode count none of ``reshape``, ``permute``, ``transpose``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from archscope.diagnostics import ShapeError
from archscope.ops.attrs import MAX_DIM, Attr, AttrError, Int
from archscope.ops.construct import Construct, helper_module
from archscope.ops.counting import NOTHING
from archscope.ops.import_rules import Found, Unsupported, imports
from archscope.ops.receptive_field import FLAT, SAME, Field, permuted, unknown
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

MAX_RANK = 4  # a sample's rank: (C,), (C, L), (C, H, W), (C, D, H, W)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


class TargetShape:
    """A per-sample shape: 1 to 4 sizes ≥ 1, one of which may be −1 (inferred)."""

    accepts_str = False

    def __call__(self, v: Any) -> tuple[int, ...]:
        if isinstance(v, (list, tuple)) and 1 <= len(v) <= MAX_RANK and all(_is_int(x) for x in v):
            if all(x == -1 or 1 <= x <= MAX_DIM for x in v) and list(v).count(-1) <= 1:
                return tuple(v)
        raise AttrError(self.describe(), v)

    def describe(self) -> str:
        return f"a list of 1 to {MAX_RANK} sizes ≥ 1 (without the batch), one of which may be -1"

    def json_schema(self) -> dict[str, Any]:
        size = {"anyOf": [{"type": "integer", "minimum": 1}, {"const": -1}]}
        return {"type": "array", "items": size, "minItems": 1, "maxItems": MAX_RANK}


class Permutation:
    """A permutation of a sample's dims 0..n−1 (0 = channels), n from 1 to 4."""

    accepts_str = False

    def __call__(self, v: Any) -> tuple[int, ...]:
        if isinstance(v, (list, tuple)) and 1 <= len(v) <= MAX_RANK and all(_is_int(x) for x in v):
            if sorted(v) == list(range(len(v))):
                return tuple(v)
        raise AttrError(self.describe(), v)

    def describe(self) -> str:
        return f"a permutation of the dims 0..n-1 without the batch (n ≤ {MAX_RANK}), e.g. [0, 2, 1]"

    def json_schema(self) -> dict[str, Any]:
        item = {"type": "integer", "minimum": 0, "maximum": MAX_RANK - 1}
        return {"type": "array", "items": item, "minItems": 1, "maxItems": MAX_RANK, "uniqueItems": True}


def _reshape_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    x, target = inputs[0], a["shape"]
    total, known = numel(x), numel(tuple(d for d in target if d != -1))
    if -1 in target:
        if total % known:
            raise ShapeError(
                "E107",
                f"`reshape` cannot make {list(target)} of {total} elements: {known} does not divide {total}",
                expected=f"sizes whose product divides {total}",
                found=f"{list(target)} on {fmt_shape(x)}",
            )
        return tuple(total // known if d == -1 else d for d in target)
    if known != total:
        raise ShapeError(
            "E107",
            f"`reshape` to {list(target)} needs {known} elements, the input has {total}",
            expected=f"sizes whose product is {total}",
            found=f"{list(target)} on {fmt_shape(x)}",
        )
    shape: Shape = target
    return shape


def _order(a: Attrs, rank: int, name: str) -> tuple[int, ...]:
    """The input dim each output dim takes, for a rank-``rank`` input; a rank error when the
    attributes name dims the input lacks."""
    if name == "permute":
        dims = a["dims"]
        if len(dims) != rank:
            raise ShapeError(
                "E106",
                f"`permute` dims {list(dims)} are for a rank-{len(dims)} input, not rank {rank}",
                expected=f"{len(dims)} dims",
                found=f"{rank} dims",
            )
        permutation: tuple[int, ...] = dims
        return permutation
    d0, d1 = a["dim0"], a["dim1"]
    if max(d0, d1) >= rank:
        raise ShapeError(
            "E106",
            f"`transpose` of dims {d0} and {d1} needs a rank above {max(d0, d1)}, not rank {rank}",
            expected=f"rank > {max(d0, d1)}",
            found=f"{rank} dims",
        )
    order = list(range(rank))
    order[d0], order[d1] = d1, d0
    return tuple(order)


def _moved(name: str) -> tuple[Callable[[Attrs, Sequence[Shape]], Shape], Callable[[Attrs], Field]]:
    def shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
        x = inputs[0]
        return tuple(x[i] for i in _order(a, len(x), name))

    def field(a: Attrs) -> Field:
        if name == "transpose":  # the rank is unknown here, the swap is not
            d0, d1 = a["dim0"], a["dim1"]
            if d0 == d1:
                return SAME
            if 0 in (d0, d1):
                return unknown(MOVES_CHANNELS)
            return permuted(lambda rank: tuple(d - 1 for d in _order(a, rank + 1, name)[1:]))
        dims = a["dims"]
        if dims[0] != 0:
            return unknown(MOVES_CHANNELS)
        return SAME if list(dims) == sorted(dims) else permuted(lambda rank: tuple(d - 1 for d in dims[1:]))

    return shape, field


MOVES_CHANNELS = "it moves the channels (dim 0) into a spatial dim: a unit of it is no longer one position"
REGROUPS = "a reshape regroups units across dims: a unit of its output is no longer one position of its input"


def _free(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost()


VIEW = MemoryFacts(view=always, grad_view=True)  # a view, and so is the gradient it passes back

_permute_shape, _permute_field = _moved("permute")
_transpose_shape, _transpose_field = _moved("transpose")


def _reshape_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return helper_module("Reshape", list(a["shape"]))


def _permute_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return helper_module("Permute", list(a["dims"]))


def _transpose_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return helper_module("Transpose", a["dim0"], a["dim1"])


def _per_sample(dim: int, rank: int) -> int:
    """A torch dim (batch included, maybe negative) as a per-sample dim; the batch is refused."""
    dim = dim + rank if dim < 0 else dim
    if dim == 0:
        raise Unsupported("it moves the batch dimension")
    return dim - 1


def _reshape_import(found: Found) -> dict[str, Any]:
    """``x.reshape(n, ...)``/``x.view(...)`` that keeps the batch first: the per-sample target shape."""
    if not found.out or found.out == found.inputs[0]:
        raise Unsupported("a reshape to the same shape")
    return {"shape": list(found.out)}


def _permute_import(found: Found) -> dict[str, Any]:
    rank = len(found.inputs[0]) + 1
    dims = found.args[1:] if len(found.args) > 2 else found.arg(1, "dims")
    dims = [d + rank if d < 0 else d for d in (dims if isinstance(dims, (list, tuple)) else [dims])]
    if not dims or dims[0] != 0:
        raise Unsupported("it moves the batch dimension")
    return {"dims": [d - 1 for d in dims[1:]]}


def _transpose_import(found: Found) -> dict[str, Any]:
    rank = len(found.inputs[0]) + 1
    return {"dim0": _per_sample(found.arg(1, "dim0"), rank), "dim1": _per_sample(found.arg(2, "dim1"), rank)}


register(
    OpDef(
        name="reshape",
        summary="reshape each sample to `shape` (one size may be -1), as `x.reshape(N, *shape)`",
        attrs=(Attr("shape", TargetShape(), doc="the per-sample output shape, without the batch"),),
        shape=_reshape_shape,
        cost=_free,
        module=_reshape_lower,
        saves=Saves(),
        memory=VIEW,
        backward=no_backward_macs,
        receptive_field=lambda a: FLAT if len(a["shape"]) == 1 else unknown(REGROUPS),
        kernel=kernel_is("view"),
        counted=NOTHING,
        imports=imports("torch", "Tensor.reshape", "Tensor.view", "torch.reshape")(_reshape_import),
    ),
    OpDef(
        name="permute",
        summary="permute each sample's dims (0 = channels), as `x.permute(0, *(d + 1 for d in dims))`",
        attrs=(Attr("dims", Permutation(), doc="the input dim each output dim takes, without the batch"),),
        shape=_permute_shape,
        cost=_free,
        module=_permute_lower,
        saves=Saves(),
        memory=VIEW,
        backward=no_backward_macs,
        receptive_field=_permute_field,
        kernel=kernel_is("view"),
        counted=NOTHING,
        imports=imports("torch", "Tensor.permute", "torch.permute")(_permute_import),
    ),
    OpDef(
        name="transpose",
        summary="swap two of each sample's dims (0 = channels), as `x.transpose(dim0 + 1, dim1 + 1)`",
        attrs=(
            Attr("dim0", Int(0, MAX_RANK - 1), doc="a dim without the batch (0 = channels)"),
            Attr("dim1", Int(0, MAX_RANK - 1), doc="the dim swapped with `dim0`"),
        ),
        shape=_transpose_shape,
        cost=_free,
        module=_transpose_lower,
        saves=Saves(),
        memory=VIEW,
        backward=no_backward_macs,
        receptive_field=_transpose_field,
        kernel=kernel_is("view"),
        counted=NOTHING,
        imports=imports("torch", "Tensor.transpose", "torch.transpose")(_transpose_import),
    ),
)
