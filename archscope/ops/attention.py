"""Attention: ``matmul``, ``scaled_dot_product_attention`` and ``multihead_attention``.

Token shapes are (L, E): L tokens (positions) of E features, the batch left out as everywhere.

matmul: ``torch.matmul`` of two per-sample tensors ``a`` (…, M, K) and ``b`` (…, K, N) → (…, M, N);
the leading dims broadcast by NumPy's rules (right-aligned, each size equal or 1; the lowered
module aligns them after the batch); a rank-1 ``a`` is a row (K,) and a rank-1 ``b`` a column (K,),
whose dim is dropped from the result, as torch does (two rank-1 inputs, a dot product of rank 0,
are refused: a sample has at least one dim). MACs = numel(out) · K. No params.
scaled_dot_product_attention: q (…, L, E), k (…, S, E), v (…, S, Ev) → (…, L, Ev), equal ranks
≥ 2 whose leading dims broadcast; softmax(q·kᵀ · scale [+ causal mask]) · v with ``scale`` = 1/√E
by default. MACs = L·S·E + L·S·Ev per (broadcast) leading index: the two matrix products.
``ops`` = 2·L·S per leading index: 1 per score for the scaling and 1 per score for the softmax,
as :mod:`archscope.ops.softmax` counts it; the causal mask is not counted.
multihead_attention: ``nn.MultiheadAttention(E, heads, bias=bias, batch_first=True)`` as
self-attention on (L, E) → (L, E) (q = k = v = x). Params 4E² (+ 4E with bias): the packed
in-projection ``in_proj_weight`` (3E, E) and ``in_proj_bias`` (3E,), and ``out_proj`` (E, E) +
(E,). MACs = 3·L·E² (in-projection) + L·L·E (scores) + L·L·E (weighted sum) + L·E²
(out-projection); ``ops`` = 2·heads·L·L (scale and softmax per score, as above) + 4·L·E with bias.

Memory (measured with MemTracker, tests/passes/test_torch_memory.py). The model assumes
PyTorch's fused kernels: on CPU ``_scaled_dot_product_flash_attention_for_cpu``, on CUDA the
flash or memory-efficient kernel, each of which keeps its output and one log-sum-exp per query
row and head, never the (L, S) attention matrix; the math path (other dtypes, a mask, torch's
fallbacks) keeps that matrix too, which is not modelled. matmul keeps both inputs.
scaled_dot_product_attention keeps q, k, v, its output (so it may not be overwritten in place)
and the log-sum-exp. multihead_attention keeps its input, q/k/v (3·L·E), the attention output and
its contiguous copy for ``out_proj`` (2·L·E) and the log-sum-exp (heads·L); its backward holds
about 2·L·E of temporaries (within 6% of MemTracker's peak on small networks); at inference off
the fast path (see below) 5·L·E of temporaries live while it runs.
Backward MACs: matmul and attention 2 × the forward's (a gradient for each operand of each
product; no weights). multihead_attention: input part 4·L·E² (the projections' input gradients)
+ 4·L·L·E (the attention's), weight part 4·L·E² (the projections' weight gradients); exact for a
layer that trains and whose input needs a gradient, and for a frozen one (torch.utils.flop_counter
over a training step, tests/passes/test_torch_train_macs.py on the meta device, where attention
runs on the math path).
Receptive field: ``GLOBAL`` for all three: every output token reads every input token (a matmul
contracts a whole dim, and the dims after the first are what the field model calls spatial).
Kernel: ``gemm`` for all three; the roofline and ``predict`` have no separate kind for a
batched product of activations yet (calibration fits ``gemm`` on convolutions).
Peer tools (``counted``), measured with torch 2.13, fvcore 0.1.5, ptflops 0.7.5, thop 0.1.1 and
torchinfo 1.8 on the lowered modules in eval mode without grad, as they are run:
  matmul        fvcore and ptflops numel(a) · (b's last size, 1 for a column) (``matmul_flop_jit``,
                the ``torch.matmul`` patch: a broadcast of ``a`` is not counted); flop_counter 2 ·
                numel(out) · K; thop and torchinfo nothing (no module rule, no parameters)
  sdpa          flop_counter 2 × the MACs on the math path, nothing on the CPU flash kernel (taken for
                a rank-3 sample with equal leading dims and E = Ev: no formula for it); fvcore,
                ptflops, thop and torchinfo nothing (no handle for
                ``aten::scaled_dot_product_attention``; ptflops does not patch it)
  mha           ptflops, thop and torchinfo nothing (ptflops' MultiheadAttention hook matches the
                exact class, and the lowered module subclasses it to take one input; thop has no rule
                for it; torchinfo sums leaf modules only, and the module's child ``out_proj`` is never
                called); fvcore and flop_counter nothing on PyTorch's fast path
                (``_native_multi_head_attention``, taken in eval mode without grad with ``bias``
                and an even ``heads``), otherwise fvcore 4·L·E² (its ``linear`` handle on both
                projections) and flop_counter 2 · 4·L·E² (the attention runs the CPU flash kernel)
``verify`` counts fvcore's missing operators (``aten::scaled_dot_product_attention``,
``aten::_native_multi_head_attention``) with the formulas above (``reference``).
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
    MemoryFacts,
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
    lead = broadcast_leading(q[:-2], k[:-2])
    lead = None if lead is None else broadcast_leading(lead, v[:-2])
    if lead is None or q[-1] != k[-1] or k[-2] != v[-2]:
        raise ShapeError(
            "E104",
            "`scaled_dot_product_attention` needs q (…, L, E), k (…, S, E), v (…, S, Ev), leading dims that broadcast",
            expected=f"{fmt_shape((*q[:-2], '*', q[-1]))}, {fmt_shape((*q[:-2], k[-2], '*'))}",
            found=_shapes(inputs),
        )
    return (*lead, q[-2], v[-1])


def _sdpa_macs(a: Attrs, inputs: Sequence[Shape], out: Shape) -> int:
    """numel(out without Ev) · S · (E + Ev): per (broadcast) leading index and query, S scores of E
    products and an Ev-wide sum of S products."""
    q, k, v = inputs
    return numel(out[:-1]) * k[-2] * (q[-1] + v[-1])


def _sdpa_cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost(macs=_sdpa_macs(a, inputs, out), ops=2 * numel(out[:-1]) * inputs[1][-2])


def _query_rows(a: Attrs, inputs: Sequence[Shape], out: Shape) -> int:
    """The fused kernels' log-sum-exp: one float per query row and head (per leading index)."""
    if "heads" in a:
        heads: int = a["heads"]
        return heads * inputs[0][0]
    return numel(out[:-1])


def _sdpa_backward(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Backward:
    return Backward(2 * _sdpa_macs(a, inputs, out), 0)


def _flash_on_cpu(inputs: Sequence[Shape]) -> bool:
    """Whether torch 2.13 runs ``_scaled_dot_product_flash_attention_for_cpu`` (no formula in
    flop_counter): 4-D batches (a rank-3 sample), equal leading dims (no broadcast) and E = Ev
    (measured; also a last dim of stride 1, which a transpose of it would break: not seen here)."""
    q, k, v = inputs
    return len(q) == 3 and q[:-2] == k[:-2] == v[:-2] and q[-1] == v[-1]


def _sdpa_flop_counter(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Count:
    """2 per MAC on the math path (``bmm``); nothing on the CPU flash kernel."""
    return 0 if _flash_on_cpu(inputs) else 2 * _sdpa_macs(a, inputs, out)


def _sdpa_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return helper_module("ScaledDotProductAttention", causal=a["causal"], scale=a["scale"])


def _fvcore_sdpa(inputs: list[Any], outputs: list[Any]) -> int:
    """``aten::scaled_dot_product_attention`` (batch included): numel(out without Ev) · S · (E + Ev)."""
    from fvcore.nn.jit_handles import get_shape

    q, k, v, out = (tuple(int(d) for d in get_shape(x)) for x in (*inputs[:3], outputs[0]))
    return numel(out[:-1]) * k[-2] * (q[-1] + v[-1])


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
    """Input: the projections' input gradients (4·L·E²) and the attention's (2 × 2·L·L·E); weights:
    the projections' weight gradients (4·L·E²)."""
    length, e = inputs[0]
    return Backward(4 * length * e * e + 4 * length * length * e, 4 * length * e * e)


def _mha_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return helper_module("SelfAttention", inputs[0][-1], a["heads"], bias=a["bias"])


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
        counted=only(
            fvcore=_matmul_first_by_columns,
            ptflops=_matmul_first_by_columns,
            flop_counter=lambda a, i, o: 2 * _matmul_macs(a, i, o),
        ),
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
        saves=Saves(inputs=(0, 1, 2), output=True, values=_query_rows),
        backward=_sdpa_backward,
        receptive_field=everything,
        merge="attention",
        reference=SDPA_REFERENCE,
        kernel=kernel_is("gemm"),
        counted=only(flop_counter=_sdpa_flop_counter),
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
        # q, k, v (3·L·E), the fused kernel's output and its contiguous copy for out_proj (2·L·E)
        saves=Saves(inputs=(0,), like_output=(4, 4, 4, 4, 4), values=_query_rows),
        memory=MemoryFacts(transient=lambda a: 0 if _mha_fast_path(a) else 20, backward_temporaries=2),
        backward=_mha_backward,
        reference=MHA_REFERENCE,
        receptive_field=everything,
        kernel=kernel_is("gemm"),
        counted=MHA_COUNTED,
    ),
)
