"""Fully connected layers and flattening.

linear: a flat (features,) input, or a token sequence (L, features) (a Vision Transformer's MLP
and head act on the last dim, as ``nn.Linear`` does); params = in·out (+ out bias); MACs = L·in·out
(L = 1 for a flat input). Ranks above 2 are refused: a (C, H, W) map is flattened first, and the
receptive field (``everything``) is exact only where the last dim is the only spatial one.
flatten: (C, H, W) → (C·H·W,), any rank; free (a view: its output may not be overwritten).
Backward: linear saves its input; flatten saves nothing.
Backward MACs: linear's input gradient (grad_out · W) and weight gradient (grad_outᵀ · x) are
each in·out, as torch.utils.flop_counter counts its two ``mm`` calls; the bias gradient (a sum)
and the bias add of the forward ``addmm`` are not MACs, and the counter counts neither.
flatten is a view: declared zero.
Peer tools (``counted``, measured on (N, L, E) too): linear L·in·out MACs in fvcore and thop (bias
ignored); + L·out for the bias in ptflops (its linear hook: one per output element); in·out + out
in torchinfo ((weight + bias numel) × batch: the tokens are not counted); 2·L·in·out FLOPs in
flop_counter (``addmm``: the bias add is not counted). flatten: zero in every tool.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archscope.diagnostics import ShapeError
from archscope.ops.attrs import Attr, Bool, Int
from archscope.ops.construct import Construct, module
from archscope.ops.counting import NOTHING
from archscope.ops.import_rules import Found, Importer, Unsupported, Weight, imports
from archscope.ops.receptive_field import everything, flat
from archscope.ops.registry import (
    Attrs,
    Backward,
    Cost,
    Counted,
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

FLAT_OR_TOKENS = "(features,) or (L, features)"


def _linear_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    x = inputs[0]
    if len(x) > 2:
        raise ShapeError(
            "E106",
            "`linear` needs a flat input: add a `flatten` before it",
            expected=FLAT_OR_TOKENS,
            found=fmt_shape(x),
        )
    return (*x[:-1], a["out"])


def _weights(a: Attrs, inputs: Sequence[Shape]) -> int:
    out_features: int = a["out"]
    return inputs[0][-1] * out_features


def _linear_cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    bias = a["out"] if a["bias"] else 0
    return Cost(params=_weights(a, inputs) + bias, macs=_linear_macs(a, inputs, out), ops=numel(out) if bias else 0)


def _linear_backward(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Backward:
    macs = _linear_macs(a, inputs, out)
    return Backward(macs, macs)


def _linear_macs(a: Attrs, inputs: Sequence[Shape], out: Shape) -> int:
    """L·in·out: the weights once per token (L = 1 for a flat input)."""
    return numel(inputs[0][:-1]) * _weights(a, inputs)


def _ptflops_linear(a: Attrs, inputs: Sequence[Shape], out: Shape) -> int:
    return _linear_macs(a, inputs, out) + (numel(out) if a["bias"] else 0)


def _torchinfo_linear(a: Attrs, inputs: Sequence[Shape], out: Shape) -> int:
    return _weights(a, inputs) + (a["out"] if a["bias"] else 0)


LINEAR_COUNTED = Counted(
    fvcore=_linear_macs,
    ptflops=_ptflops_linear,
    thop=_linear_macs,
    torchinfo=_torchinfo_linear,
    flop_counter=lambda a, inputs, out: 2 * _linear_macs(a, inputs, out),
)


def _linear_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return module("Linear", inputs[0][-1], a["out"], bias=a["bias"])


def _linear_import(found: Found) -> dict[str, Any]:
    if len(found.inputs[0]) > 2:
        raise Unsupported(f"a linear layer on a rank-{len(found.inputs[0])} input (archscope's takes {FLAT_OR_TOKENS})")
    return {"out": found.obj.out_features} | ({} if found.obj.bias is not None else {"bias": False})


def _functional_linear(found: Found) -> dict[str, Any]:
    """``F.linear(x, self.weight, self.bias)`` (timm's ``Linear`` subclass calls it): ``out`` from
    the weight's (out, in) shape."""
    if len(found.inputs) != 1 or len(found.inputs[0]) > 2:
        raise Unsupported("not features or tokens times a learned weight")
    weight, bias = found.arg(1, "weight"), found.arg(2, "bias", None)
    if not isinstance(weight, Weight) or len(weight.shape) != 2 or weight.shape[1] != found.inputs[0][-1]:
        raise Unsupported("a weight that is not a learned (out, in) matrix")
    return {"out": weight.shape[0]} | ({} if bias is not None else {"bias": False})


def _flatten_import(found: Found) -> dict[str, Any]:
    """Flatten from dim 1 (everything but the batch) to the last."""
    start = found.obj.start_dim if found.obj is not None else found.arg(1, "start_dim", 0)
    end = found.obj.end_dim if found.obj is not None else found.arg(2, "end_dim", -1)
    rank = len(found.inputs[0]) + 1
    if (start % rank, end % rank) != (1, rank - 1) and len(found.out) != 1:
        raise Unsupported(f"flatten of dims {start}..{end} (archscope's flattens all but the batch)")
    return {}


def _flatten_view_import(found: Found) -> dict[str, Any]:
    """``x.view(x.size(0), -1)`` and the like: a reshape to (batch, features)."""
    if len(found.out) != 1 or found.out[0] != numel(found.inputs[0]):
        raise Unsupported(f"a reshape to {found.out} is not a flatten")
    return {}


def _onnx_gemm(found: Found) -> dict[str, Any]:
    """ONNX Gemm A·B + C on (batch, features): B an initializer ((out, K) with ``transB``, else
    (K, out)), C the bias; ``alpha``, ``beta`` 1 and ``transA`` 0."""
    a = found.obj
    b = found.weights.get(1)
    if len(found.inputs) != 1 or b is None or len(b) != 2:
        raise Unsupported("B is not an initializer of rank 2")
    if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
        raise Unsupported("transA, alpha or beta other than PyTorch's Linear's")
    if len(found.inputs[0]) != 1:
        raise Unsupported(f"a rank-{len(found.inputs[0])} input (archscope's linear takes features)")
    out = b[0] if a.get("transB", 0) else b[1]
    return {"out": out} if 2 in found.weights else {"out": out, "bias": False}


def _onnx_matmul_add(found: Found) -> dict[str, Any]:
    """``MatMul>Add``: x·W + b with W (K, out) and b (out,) initializers (a Linear on (…, K) as
    exporters write it for a rank > 2 input: archscope's linear takes (features,) or (L, features))."""
    (x, w), add = found.args
    bias = [v for v in add if hasattr(v, "shape")]
    if x != 0 or not hasattr(w, "shape") or len(w.shape) != 2 or len(bias) != 1 or bias[0].shape != (w.shape[1],):
        raise Unsupported("not x·W + b with learned W and b")
    if len(found.inputs[0]) > 2:
        raise Unsupported(f"a rank-{len(found.inputs[0])} input (archscope's linear takes {FLAT_OR_TOKENS})")
    return {"out": w.shape[1]}


def _onnx_flatten(found: Found) -> dict[str, Any]:
    """ONNX Flatten at axis 1, or a Reshape/Squeeze whose result is (batch, every element)."""
    if found.kwargs.get("shapes", ((),))[-1] != (numel(found.inputs[0]),) or len(found.inputs) != 1:
        raise Unsupported(f"a result of shape {found.out} (archscope's flatten keeps the batch only)")
    if "axis" in found.obj and found.obj["axis"] not in (1, -len(found.inputs[0])):
        raise Unsupported(f"axis={found.obj['axis']}")
    return {}


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
        saves=Saves(inputs_for_weights=(0,)),  # grad of the input needs only the weight
        backward=_linear_backward,
        receptive_field=everything,  # every feature: after a flatten, every position
        kernel=kernel_is("gemm"),
        counted=LINEAR_COUNTED,
        imports=(
            *imports("torch", "nn.Linear")(_linear_import),
            *imports("torch", "F.linear")(_functional_linear),
            Importer("onnx", "Gemm", _onnx_gemm),
            Importer("onnx", "MatMul>Add", _onnx_matmul_add),
        ),
    ),
    OpDef(
        name="flatten",
        summary="flatten everything but the batch into (features,)",
        attrs=(),
        shape=_flatten_shape,
        cost=_flatten_cost,
        module=_flatten_lower,
        saves=Saves(),
        memory=MemoryFacts(view=always, grad_view=True),  # a view, and so is its gradient
        backward=no_backward_macs,  # a view: its backward is a reshape
        receptive_field=flat,
        kernel=kernel_is("view"),
        counted=NOTHING,
        imports=(
            *imports("torch", "nn.Flatten", "torch.flatten", "Tensor.flatten")(_flatten_import),
            *imports("torch", "Tensor.view", "Tensor.reshape", "torch.reshape")(_flatten_view_import),
            *imports("onnx", "Flatten", "Reshape", "Squeeze")(_onnx_flatten),
        ),
    ),
)
