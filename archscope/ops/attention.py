"""Attention: ``matmul``, ``scaled_dot_product_attention`` and ``multihead_attention``.

Token shapes are (L, E): L tokens (positions) of E features, the batch left out as everywhere.

matmul: ``torch.matmul`` of two per-sample tensors ``a`` (…, M, K) and ``b`` (…, K, N) → (…, M, N);
the leading dims broadcast by NumPy's rules (right-aligned, each size equal or 1); a rank-1 ``a``
is a row (K,) and a rank-1 ``b`` a column (K,), whose dim is dropped from the result, as torch does
(two rank-1 inputs, a dot product of rank 0, are refused: a sample has at least one dim).
MACs = numel(out) · K. No params.
scaled_dot_product_attention: q (…, L, E), k (…, S, E), v (…, S, Ev) → (…, L, Ev), the leading
dims equal; softmax(q·kᵀ · scale [+ causal mask]) · v with ``scale`` = 1/√E by default.
MACs = (L·S·E + L·S·Ev) per leading index (the two matrix products); ``ops`` = 2·L·S per leading
index: 1 per score for the scaling and 1 per score for the softmax, as ``softmax`` counts
(:mod:`archscope.ops.softmax`); the causal mask is not counted.
multihead_attention: ``nn.MultiheadAttention(E, heads, bias=bias, batch_first=True)`` as
self-attention on (L, E) → (L, E) (q = k = v = x). Params 4E² (+ 4E bias): the packed in-projection
``in_proj_weight`` (3E, E) and ``in_proj_bias`` (3E,), and ``out_proj`` (E, E) + (E,). MACs =
3·L·E² (in-projection) + L·L·E (scores) + L·L·E (weighted sum) + L·E² (out-projection);
``ops`` = 2·heads·L·L (scale and softmax per score, as above) + 4·L·E with bias (the bias adds).

Backward (what autograd keeps): matmul both inputs; scaled_dot_product_attention its inputs, its
output and the attention matrix (…, L, S) (PyTorch's math path; the CPU and CUDA fused kernels
keep less, log-sum-exp rows instead of the matrix: the model assumes the math path everywhere);
multihead_attention its input, the q/k/v projections (3·L·E), the attention weights per head
(heads·L·L), the pre-out-projection output (L·E) and its output.
Backward MACs: matmul 2 × its forward (a gradient for each input); attention 2 × the two products
(input gradients); multihead_attention 2 × everything, of which the projections' weight
gradients (4·L·E²) are the weight part.
Receptive field: every output token reads every input token (``GLOBAL``), for all three (a
matmul contracts a whole dim).
Kernel: ``gemm`` for all three (batched matrix products; the roofline has no separate kind for
them yet).
Peer tools (``counted``), measured with torch 2.13, fvcore 0.1.5, ptflops 0.7.5, thop 0.1.1 and
torchinfo 1.8 on the lowered modules in eval mode without grad, as they are run:
  matmul        fvcore numel(out)·K (``matmul_flop_jit``), ptflops the same (it patches
                ``torch.matmul``), flop_counter 2× that; thop and torchinfo nothing (no module rule,
                no parameters)
  sdpa          flop_counter 2× the two products; fvcore, ptflops, thop, torchinfo nothing (no handle
                for ``aten::scaled_dot_product_attention``; ptflops does not patch it)
  mha           ptflops nothing (its MultiheadAttention hook matches the exact class; the lowered
                module subclasses it to take one input); thop and torchinfo nothing; fvcore and
                flop_counter: nothing on PyTorch's fast path (``_native_multi_head_attention``, taken
                in eval mode without grad when ``bias`` and ``heads`` is even), otherwise fvcore
                4·L·E² (its two ``linear`` handles; no handle for the attention) and flop_counter
                2 × 4·L·E² (the attention, ``_scaled_dot_product_flash_attention_for_cpu``, has no
                formula in it)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archscope.diagnostics import ShapeError
from archscope.ops.attrs import Attr, Bool, Float, Int
from archscope.ops.construct import Construct, helper_module
from archscope.ops.counting import only, zero
from archscope.ops.receptive_field import everything
from archscope.ops.registry import (
    Attrs,
    Backward,
    Cost,
    Count,
    Counted,
    CounterHandle,
    OpDef,
    Reference,
    Saves,
    Shape,
    fmt_shape,
    kernel_is,
    numel,
    register,
)


def _shapes(inputs: Sequence[Shape]) -> str:
    return ", ".join(fmt_shape(s) for s in inputs)


def broadcast_leading(x: Shape, y: Shape) -> Shape | None:
    """NumPy broadcasting of two shapes (right-aligned, each size equal or 1); None if they do not."""
    out = []
    for i in range(1, max(len(x), len(y)) + 1):
        p = x[-i] if i <= len(x) else 1
        q = y[-i] if i <= len(y) else 1
        if p != q and 1 not in (p, q):
            return None
        out.append(max(p, q))
    return tuple(reversed(out))


# ---- matmul


def _matmul_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    x, y = inputs
    if not x or not y or len(x) == len(y) == 1:
        raise ShapeError(
            "E106",
            "`matmul` needs a matrix on at least one side (two vectors give a rank-0 result)",
            expected="(…, M, K) and (…, K, N), or one of them (K,)",
            found=_shapes(inputs),
        )
    xm = (1, *x) if len(x) == 1 else x
    ym = (*y, 1) if len(y) == 1 else y
    if xm[-1] != ym[-2]:
        raise ShapeError(
            "E104",
            f"`matmul` contracts {xm[-1]} columns with {ym[-2]} rows",
            expected=f"b with {xm[-1]} rows",
            found=_shapes(inputs),
        )
    lead = broadcast_leading(xm[:-2], ym[:-2])
    if lead is None:
        raise ShapeError(
            "E104", "`matmul` leading dims do not broadcast", expected="equal sizes or 1", found=_shapes(inputs)
        )
    return lead + ((xm[-2],) if len(x) > 1 else ()) + ((ym[-1],) if len(y) > 1 else ())


def _contracted(inputs: Sequence[Shape]) -> int:
    return inputs[0][-1]


def _matmul_macs(a: Attrs, inputs: Sequence[Shape], out: Shape) -> int:
    return numel(out) * _contracted(inputs)


def _matmul_cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost(macs=_matmul_macs(a, inputs, out))


def _matmul_backward(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Backward:
    macs = _matmul_macs(a, inputs, out)
    return Backward(2 * macs, 0)  # a gradient for each input, each numel(out)·K; no weights


def _matmul_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return helper_module("MatMul")


# ---- scaled dot-product attention


def _sdpa_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    q, k, v = inputs
    if len(q) < 2 or len(k) != len(q) or len(v) != len(q):
        raise ShapeError(
            "E106",
            "`scaled_dot_product_attention` needs q, k, v of one rank ≥ 2",
            expected="(…, L, E), (…, S, E), (…, S, Ev)",
            found=_shapes(inputs),
        )
    if q[:-2] != k[:-2] or q[:-2] != v[:-2] or q[-1] != k[-1] or k[-2] != v[-2]:
        raise ShapeError(
            "E104",
            "`scaled_dot_product_attention` needs q (…, L, E), k (…, S, E), v (…, S, Ev) with equal leading dims",
            expected=f"{fmt_shape((*q[:-2], '*', q[-1]))}, {fmt_shape((*q[:-2], k[-2], '*'))}",
            found=_shapes(inputs),
        )
    return (*q[:-1], v[-1])


def _sdpa_sizes(inputs: Sequence[Shape]) -> tuple[int, int, int, int, int]:
    """(leading indices, L, S, E, Ev)."""
    q, k, v = inputs
    return numel(q[:-2]), q[-2], k[-2], q[-1], v[-1]


def _sdpa_macs(a: Attrs, inputs: Sequence[Shape], out: Shape) -> int:
    n, length, source, e, ev = _sdpa_sizes(inputs)
    return n * length * source * (e + ev)


def _sdpa_cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    n, length, source, _, _ = _sdpa_sizes(inputs)
    return Cost(macs=_sdpa_macs(a, inputs, out), ops=2 * n * length * source)


def _sdpa_backward(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Backward:
    return Backward(2 * _sdpa_macs(a, inputs, out), 0)


def _sdpa_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return helper_module("ScaledDotProductAttention", causal=a["causal"], scale=a["scale"])


def _fvcore_sdpa(inputs: list[Any], outputs: list[Any]) -> int:
    """``aten::scaled_dot_product_attention`` (batch included): numel(q without E) · S · (E + Ev)."""
    from fvcore.nn.jit_handles import get_shape

    q, k, v = (tuple(int(d) for d in get_shape(x)) for x in inputs[:3])
    return numel(q[:-1]) * k[-2] * (q[-1] + v[-1])


SDPA_REFERENCE = Reference(
    handles=(
        CounterHandle(
            "aten::scaled_dot_product_attention",
            _fvcore_sdpa,
            "fvcore has no handle for aten::scaled_dot_product_attention; counted as its two matrix products",
        ),
    )
)


# ---- multi-head self-attention


def _mha_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    x = inputs[0]
    if len(x) != 2:
        raise ShapeError(
            "E106", "`multihead_attention` needs tokens (L, E)", expected="(tokens, features)", found=fmt_shape(x)
        )
    if x[1] % a["heads"]:
        raise ShapeError(
            "E103",
            f"`heads` {a['heads']} does not divide the {x[1]} features",
            expected=f"features divisible by {a['heads']}",
            found=fmt_shape(x),
        )
    return x


def _mha_macs(a: Attrs, inputs: Sequence[Shape], out: Shape) -> int:
    length, e = inputs[0]
    return 4 * length * e * e + 2 * length * length * e


def _mha_cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    length, e = inputs[0]
    params = 4 * e * e + (4 * e if a["bias"] else 0)
    ops = 2 * a["heads"] * length * length + (4 * length * e if a["bias"] else 0)
    return Cost(params=params, macs=_mha_macs(a, inputs, out), ops=ops)


def _mha_backward(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Backward:
    length, e = inputs[0]
    return Backward(_mha_macs(a, inputs, out), 4 * length * e * e)


def _mha_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return helper_module("SelfAttention", inputs[0][1], a["heads"], bias=a["bias"])


def _mha_flop_counter_slow(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Count:
    """What fvcore (×1) and flop_counter (×2) see off the fast path: the two projections only."""
    length, e = inputs[0]
    return 0 if _mha_fast_path(a) else 4 * length * e * e


def _mha_fast_path(a: Attrs) -> bool:
    """PyTorch takes ``_native_multi_head_attention`` (eval, no grad) only with biases and an even head count."""
    return bool(a["bias"]) and a["heads"] % 2 == 0


def _fvcore_native_mha(inputs: list[Any], outputs: list[Any]) -> int:
    """``aten::_native_multi_head_attention`` (PyTorch's fast path; query (N, L, E)): 4·N·L·E² + 2·N·L²·E."""
    from fvcore.nn.jit_handles import get_shape

    n, length, e = (int(d) for d in get_shape(inputs[0]))
    return n * (4 * length * e * e + 2 * length * length * e)


MHA_REFERENCE = Reference(
    handles=(
        CounterHandle(
            "aten::_native_multi_head_attention",
            _fvcore_native_mha,
            "fvcore has no handle for aten::_native_multi_head_attention; counted as its projections and products",
        ),
        SDPA_REFERENCE.handles[0],
    )
)


MHA_COUNTED = Counted(
    fvcore=_mha_flop_counter_slow,
    ptflops=zero,
    thop=zero,
    torchinfo=zero,
    flop_counter=lambda a, inputs, out: 2 * _mha_flop_counter_slow(a, inputs, out),
)


register(
    OpDef(
        name="matmul",
        summary="matrix product of two tensors, leading dims broadcast (torch.matmul)",
        attrs=(),
        shape=_matmul_shape,
        cost=_matmul_cost,
        module=_matmul_lower,
        inputs=(2, 2),
        weighted=False,
        overwritable_output=True,
        saves=Saves(inputs=(0, 1)),
        backward=_matmul_backward,
        receptive_field=everything,
        merge="product",
        kernel=kernel_is("gemm"),
        counted=only(fvcore=_matmul_macs, ptflops=_matmul_macs, flop_counter=lambda a, i, o: 2 * _matmul_macs(a, i, o)),
    ),
    OpDef(
        name="scaled_dot_product_attention",
        summary="softmax(q·kᵀ·scale)·v on (…, L, E) queries and (…, S, E) keys (F.scaled_dot_product_attention)",
        attrs=(
            Attr("causal", Bool(), False, "mask the scores of later keys (PyTorch's `is_causal`)"),
            Attr("scale", Float(0.0, above_min=True), None, "scores' factor; default 1/√E"),
        ),
        shape=_sdpa_shape,
        cost=_sdpa_cost,
        module=_sdpa_lower,
        inputs=(3, 3),
        overwritable_output=True,
        saves=Saves(inputs=(0, 1, 2), output=True),
        backward=_sdpa_backward,
        receptive_field=everything,
        merge="attention",
        reference=SDPA_REFERENCE,
        kernel=kernel_is("gemm"),
        counted=only(flop_counter=lambda a, i, o: 2 * _sdpa_macs(a, i, o)),
    ),
    OpDef(
        name="multihead_attention",
        summary="multi-head self-attention on tokens (L, E) (nn.MultiheadAttention, batch_first)",
        attrs=(
            Attr("heads", Int(1), doc="attention heads (divides the features E)"),
            Attr("bias", Bool(), True, "biases of the in- and out-projections"),
        ),
        shape=_mha_shape,
        cost=_mha_cost,
        module=_mha_lower,
        weighted=True,
        overwritable_output=True,
        saves=Saves(inputs=(0,), output=True, like_output=(4, 4, 4, 4)),
        backward=_mha_backward,
        reference=MHA_REFERENCE,
        receptive_field=everything,
        kernel=kernel_is("gemm"),
        counted=MHA_COUNTED,
    ),
)
