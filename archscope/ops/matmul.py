"""Matrix products of two activations: ``matmul`` (attention's scores and weighted sums, written out).

matmul: ``torch.matmul`` of two per-sample tensors ``a`` (…, M, K) and ``b`` (…, K, N) → (…, M, N);
the leading dims broadcast by NumPy's rules (right-aligned, each size equal or 1; the lowered
module aligns them after the batch); a rank-1 ``a`` is a row (K,) and a rank-1 ``b`` a column (K,),
whose dim is dropped from the result, as torch does (two rank-1 inputs, a dot product of rank 0,
are refused: a sample has at least one dim). MACs = numel(out) · K. No params, no ``ops``.
Backward keeps both inputs; backward MACs 2 × the forward's (a gradient for each operand), no
weights. Receptive field ``GLOBAL`` (it contracts a whole dim); kernel ``gemm`` (the roofline has
no separate kind for a batched product of activations yet: calibration fits ``gemm`` on convs).
Peer tools (``counted``), measured with torch 2.13, fvcore 0.1.5, ptflops 0.7.5, thop 0.1.1 and
torchinfo 1.8: fvcore and ptflops numel(a) · (b's last size, 1 for a column) (``matmul_flop_jit``,
ptflops' ``torch.matmul`` patch: a broadcast of ``a`` over ``b``'s leading dims is not counted);
flop_counter 2 · numel(out) · K (``bmm``); thop and torchinfo nothing (no module rule, no parameters).
Imports: ``torch.matmul``, ``@`` and ``Tensor.matmul`` of two tensors of one rank ≥ 2 (the batch in
front broadcasts with the batch), archscope's ``MatMul``, and ONNX ``MatMul`` of two tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archscope.diagnostics import ShapeError
from archscope.ops.construct import Construct, helper_module
from archscope.ops.counting import only
from archscope.ops.import_rules import Found, Importer, Unsupported, imports
from archscope.ops.receptive_field import everything
from archscope.ops.registry import (
    Attrs,
    Backward,
    Cost,
    OpDef,
    Saves,
    Shape,
    broadcast,
    fmt_shapes,
    kernel_is,
    numel,
    register,
)


def _matmul_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    x, y = inputs
    if not x or not y or len(x) == len(y) == 1:
        raise ShapeError(
            "E106",
            "`matmul` needs a matrix on at least one side (two vectors give a rank-0 result)",
            expected="(…, M, K) and (…, K, N), or one of them (K,)",
            found=fmt_shapes(inputs),
        )
    xm = (1, *x) if len(x) == 1 else x
    ym = (*y, 1) if len(y) == 1 else y
    if xm[-1] != ym[-2]:
        raise ShapeError(
            "E104",
            f"`matmul` contracts {xm[-1]} columns with {ym[-2]} rows",
            expected=f"b with {xm[-1]} rows",
            found=fmt_shapes(inputs),
        )
    lead = broadcast(xm[:-2], ym[:-2])
    if lead is None:
        raise ShapeError(
            "E104", "`matmul` leading dims do not broadcast", expected="equal sizes or 1", found=fmt_shapes(inputs)
        )
    return lead + ((xm[-2],) if len(x) > 1 else ()) + ((ym[-1],) if len(y) > 1 else ())


def _contracted(inputs: Sequence[Shape]) -> int:
    return inputs[0][-1]


def _matmul_macs(a: Attrs, inputs: Sequence[Shape], out: Shape) -> int:
    return numel(out) * _contracted(inputs)


def _matmul_first_by_columns(a: Attrs, inputs: Sequence[Shape], out: Shape) -> int:
    """fvcore's ``matmul_flop_jit`` and ptflops' matmul hook: numel(a) · (b's last size; 1 for a
    column), which leaves out a broadcast of ``a`` over ``b``'s leading dims."""
    x, y = inputs
    return numel(x) * (y[-1] if len(y) > 1 else 1)


def _matmul_cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost(macs=_matmul_macs(a, inputs, out))


def _matmul_backward(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Backward:
    macs = _matmul_macs(a, inputs, out)
    return Backward(2 * macs, 0)  # a gradient for each input, each numel(out)·K; no weights


def _matmul_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return helper_module("MatMul")


def _matmul_import(found: Found) -> dict[str, Any]:
    """Two tensors of the network of one rank ≥ 2 (then torch's batch dims are the samples'); archscope's
    ``MatMul`` module computes per sample whatever the ranks."""
    if found.obj is not None:
        return {}
    if len(found.inputs) != 2 or found.args[:2] != (0, 1):
        raise Unsupported("not a product of two tensors of the network (a learned operand is a `linear`)")
    if len(found.inputs[0]) != len(found.inputs[1]) or len(found.inputs[0]) < 2:
        raise Unsupported("operands of different ranks or vectors (torch would mix the batch into the product)")
    return {}


def _onnx_matmul(found: Found) -> dict[str, Any]:
    """ONNX MatMul (NumPy's matmul, as torch's) of two tensors of the network of one rank ≥ 2."""
    if len(found.inputs) != 2 or any(not isinstance(v, int) for v in found.args[:2]):
        raise Unsupported("an operand that is a constant or learned (a linear layer), or one tensor twice")
    if len(found.inputs[0]) != len(found.inputs[1]) or len(found.inputs[0]) < 2:
        raise Unsupported("operands of different ranks or vectors")
    return {}


register(
    OpDef(
        name="matmul",
        summary="matrix product of two tensors, leading dims broadcast (torch.matmul)",
        attrs=(),
        shape=_matmul_shape,
        cost=_matmul_cost,
        module=_matmul_lower,
        inputs=(2, 2),
        overwritable_output=True,
        saves=Saves(inputs=(0, 1)),
        backward=_matmul_backward,
        receptive_field=everything,
        merge="product",
        kernel=kernel_is("gemm"),
        counted=only(
            fvcore=_matmul_first_by_columns,
            ptflops=_matmul_first_by_columns,
            flop_counter=lambda a, i, o: 2 * _matmul_macs(a, i, o),
        ),
        imports=(
            *imports("torch", "torch.matmul", "operator.matmul", "Tensor.matmul", "archscope:MatMul")(_matmul_import),
            Importer("onnx", "MatMul", _onnx_matmul),
        ),
    ),
)
