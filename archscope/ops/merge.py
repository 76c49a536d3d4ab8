"""Merges of several inputs: residual ``add``, channel ``concat``, broadcast ``mul``.

add: inputs of one shape (a residual), or shapes that broadcast at equal rank (sizes equal or 1:
adding a (C, 1, 1) map); ops = (n − 1) per output element.
concat: same rank and sizes except along ``dim`` (0 = channels); free (a copy).
mul: two inputs broadcast at equal rank, as add (squeeze-excitation scales (C, H, W) by (C, 1, 1)); ops = 1
per output element.
Every rank is accepted. ``add`` may accumulate into its first input in place (its backward
needs nothing); each merge's output is fresh and may be overwritten in place. Backward: ``add``
and ``concat`` save nothing, ``mul`` saves both inputs.
Backward MACs: declared zero (add and concat pass or slice the gradient; mul's two gradients
are elementwise products, not MACs); torch.utils.flop_counter counts none of it.
Peer tools (``counted``): zero in every tool. The merges are archscope modules (``Add``,
``Concat``, ``Mul``) that compute with the operators ``+``, ``add_`` and ``*``: ptflops patches the
functions ``torch.add``/``Tensor.add``/``Tensor.mul``, not the operators, and has no module rule
for them; thop counts modules by type and has none; fvcore, torchinfo and flop_counter count no
elementwise op. (A network that calls ``torch.add`` in its ``forward`` would count 1 per element
in ptflops.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archscope.diagnostics import ShapeError
from archscope.ops.attrs import Attr, Int
from archscope.ops.construct import Construct, helper_module
from archscope.ops.counting import NOTHING
from archscope.ops.import_rules import Found, Importer, Unsupported, imports
from archscope.ops.receptive_field import SAME, same, unknown
from archscope.ops.registry import (
    Attrs,
    Cost,
    MemoryFacts,
    OpDef,
    Saves,
    Shape,
    broadcast,
    fmt_shape,
    fmt_shapes,
    kernel_is,
    no_backward_macs,
    numel,
    register,
)


def _broadcast(inputs: Sequence[Shape]) -> Shape | None:
    """NumPy broadcasting at equal rank (each size equal, or 1); None if the inputs do not broadcast.

    Ranks must be equal: every tensor has a batch dimension in front, and broadcasting tensors of
    different ranks would align one input's batch with another's channels."""
    if any(len(s) != len(inputs[0]) for s in inputs):
        return None
    return broadcast(*inputs)


def _add_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    out = _broadcast(inputs)
    if out is None:
        first = inputs[0]
        other = next(s for s in inputs[1:] if s != first)
        what = "channels" if len(other) == len(first) and other[1:] == first[1:] else "shapes"
        raise ShapeError(
            "E104", f"`add` needs equal shapes; the {what} differ", expected=fmt_shape(first), found=fmt_shapes(inputs)
        )
    return out


def _add_cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost(ops=(len(inputs) - 1) * numel(out))


def _concat_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    dim = a["dim"]
    first = inputs[0]
    if dim >= len(first):
        raise ShapeError(
            "E105",
            f"`concat` dim {dim} does not exist in a rank-{len(first)} input",
            expected=f"dim < {len(first)}",
            found=fmt_shape(first),
        )
    total = 0
    for s in inputs:
        if len(s) != len(first) or any(s[i] != first[i] for i in range(len(s)) if i != dim):
            raise ShapeError(
                "E105",
                f"`concat` along dim {dim} needs the other sizes equal",
                expected=fmt_shape(first[:dim] + ("*",) + first[dim + 1 :]),
                found=fmt_shapes(inputs),
            )
        total += s[dim]
    return first[:dim] + (total,) + first[dim + 1 :]


def _free(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost()


def _mul_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    x, y = inputs
    if len(x) != len(y):
        raise ShapeError(
            "E104", "`mul` needs inputs of the same rank", expected=f"rank {len(x)}", found=fmt_shapes(inputs)
        )
    out = _broadcast(inputs)
    if out is None:
        raise ShapeError("E104", "`mul` inputs do not broadcast", expected="equal sizes or 1", found=fmt_shapes(inputs))
    return out


def _per_element(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost(ops=numel(out))


SPATIAL_CONCAT = unknown("a concat along a spatial dim puts different inputs at different positions")


def _two_tensors(found: Found) -> None:
    if len(found.inputs) != 2 or any(not isinstance(a, int) for a in found.args[:2]):
        raise Unsupported("not a product or sum of two tensors (a constant takes `scale`)")
    if "alpha" in found.kwargs and found.kwargs["alpha"] != 1:
        raise Unsupported(f"alpha={found.kwargs['alpha']!r}")


def _add_import(found: Found) -> dict[str, Any]:
    if found.obj is None:
        _two_tensors(found)
    return {}


def _concat_import(found: Found) -> dict[str, Any]:
    """``torch.cat(xs, dim)`` (a list of tensors) or the archscope helper ``Concat(dim)``."""
    if len(found.inputs) < 2:
        raise Unsupported("a concatenation of one tensor (a copy: `identity`)")
    dim = found.obj.dim if found.obj is not None else found.arg(1, "dim", 0)
    rank = len(found.inputs[0]) + 1
    dim = dim + rank if dim < 0 else dim
    if dim == 0:
        raise Unsupported("concatenation along the batch")
    return {"dim": dim - 1} if dim != 1 else {}


def _onnx_merge(found: Found) -> dict[str, Any]:
    """ONNX Add/Sum/Mul of two or more tensors of the network (a constant operand has no
    archscope form here: a learned per-channel one is a layer_scale)."""
    if len(found.inputs) < 2 or any(a is not None and not isinstance(a, int) for a in found.args):
        raise Unsupported("an operand that is a constant, not a tensor of the network")
    return {}


def _onnx_concat(found: Found) -> dict[str, Any]:
    """ONNX Concat along ``axis`` (not the batch)."""
    rank = len(found.inputs[0]) + 1
    axis = found.obj.get("axis", 1)
    axis = axis + rank if axis < 0 else axis
    if axis == 0:
        raise Unsupported("concatenation along the batch")
    if len(found.inputs) < 2 or len(found.inputs) != len(found.args):
        raise Unsupported("a constant or repeated operand")
    return {"dim": axis - 1} if axis != 1 else {}


def _lower_add(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return helper_module("Add")


def _lower_concat(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return helper_module("Concat", a["dim"] + 1)


def _lower_mul(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return helper_module("Mul")


register(
    OpDef(
        name="add",
        summary="elementwise sum (residual connection)",
        attrs=(),
        shape=_add_shape,
        cost=_add_cost,
        module=_lower_add,
        inputs=(2, None),
        inplace=True,
        overwritable_output=True,
        saves=Saves(),
        memory=MemoryFacts(grad_view=True),  # passes its gradient through to every input
        backward=no_backward_macs,
        receptive_field=same,
        merge="residual",
        kernel=kernel_is("elementwise"),
        counted=NOTHING,
        imports=(
            *imports(
                "torch", "archscope:Add", "operator.add", "operator.iadd", "torch.add", "Tensor.add", "Tensor.add_"
            )(_add_import),
            *imports("onnx", "Add", "Sum")(_onnx_merge),
        ),
    ),
    OpDef(
        name="concat",
        summary="concatenation along a dimension (0 = channels)",
        attrs=(Attr("dim", Int(0, 8), 0),),
        shape=_concat_shape,
        cost=_free,
        module=_lower_concat,
        inputs=(2, None),
        overwritable_output=True,
        saves=Saves(),
        memory=MemoryFacts(grad_view=True),  # each input's gradient is a slice of its own
        backward=no_backward_macs,
        receptive_field=lambda a: SAME if a["dim"] == 0 else SPATIAL_CONCAT,
        merge="concat",
        kernel=kernel_is("copy"),
        counted=NOTHING,
        imports=(
            *imports("torch", "archscope:Concat", "torch.cat", "torch.concat")(_concat_import),
            Importer("onnx", "Concat", _onnx_concat),
        ),
    ),
    OpDef(
        name="mul",
        summary="broadcast multiply (squeeze-excitation scaling)",
        attrs=(),
        shape=_mul_shape,
        cost=_per_element,
        module=_lower_mul,
        inputs=(2, 2),
        overwritable_output=True,
        saves=Saves(inputs=(0, 1)),
        backward=no_backward_macs,
        receptive_field=same,  # a (C, 1, 1) scale from a global branch makes it global
        merge="scale",
        kernel=kernel_is("elementwise"),
        counted=NOTHING,
        imports=(
            *imports(
                "torch", "archscope:Mul", "operator.mul", "operator.imul", "torch.mul", "Tensor.mul", "Tensor.mul_"
            )(_add_import),
            Importer("onnx", "Mul", _onnx_merge),
        ),
    ),
)
