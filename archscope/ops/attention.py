"""Attention: ``scaled_dot_product_attention`` and ``multihead_attention`` (``matmul`` is
:mod:`archscope.ops.matmul`).

Token shapes are (L, E): L tokens (positions) of E features, the batch left out as everywhere.

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

Memory (measured with MemTracker, tests/passes/test_torch_memory.py). The model assumes PyTorch's
fused kernels: on CPU ``_scaled_dot_product_flash_attention_for_cpu``, on CUDA (not measured here)
the flash or memory-efficient kernel, each of which keeps its output and one log-sum-exp per query
row and head, never the (L, S) attention matrix; the math path (other dtypes, a mask, torch's
fallbacks) keeps that matrix too. scaled_dot_product_attention keeps q, k, v, its output (so it may
not be overwritten in place) and the log-sum-exp; on the math path, which PyTorch takes on CPU where
the flash kernel does not apply (E ≠ Ev, broadcast leading dims, another rank: see
``_flash_on_cpu``), two (L, S) matrices' worth per leading index instead, and at inference two more
live while it runs (within 5% of MemTracker's peak where those matrices dominate, 64 tokens; 30%
over on 16 tokens, where other small tensors do). multihead_attention keeps its input, q/k/v
(3·L·E), the attention output and its contiguous copy for ``out_proj`` (2·L·E) and the log-sum-exp
(heads·L); its backward holds about 2·L·E of temporaries (within 6% of MemTracker's peak on small
networks); at inference off the fast path (see below) 5·L·E of temporaries live while it runs.
Backward MACs: scaled_dot_product_attention 2 × the forward's (a gradient for each operand of
each product; no weights). multihead_attention: input part 4·L·E² (the projections' input gradients)
+ 4·L·L·E (the attention's), weight part 4·L·E² (the projections' weight gradients); exact for a
layer that trains and whose input needs a gradient, and for a frozen one (torch.utils.flop_counter
over a training step, tests/passes/test_torch_train_macs.py on the meta device, where attention
runs on the math path).
Receptive field: ``GLOBAL`` for both: every output token reads every input token.
Kernel: ``gemm`` for both; the roofline and ``predict`` have no separate kind for a
batched product of activations yet (calibration fits ``gemm`` on convolutions).
Peer tools (``counted``), measured with torch 2.13, fvcore 0.1.5, ptflops 0.7.5, thop 0.1.1 and
torchinfo 1.8 on the lowered modules in eval mode without grad, as they are run:
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
Imports: ``nn.MultiheadAttention`` called as batch-first self-attention without masks,
``F.scaled_dot_product_attention`` without mask or dropout, and archscope's modules for both. An
ONNX export of either is a graph of MatMul, Softmax, Transpose… nodes, not imported as one layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archscope.diagnostics import ShapeError
from archscope.ops.attrs import Attr, Bool, Float, Int
from archscope.ops.construct import Construct, helper_module
from archscope.ops.counting import only, zero
from archscope.ops.import_rules import Found, Unsupported, imports
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
    broadcast,
    fmt_shape,
    fmt_shapes,
    kernel_is,
    numel,
    register,
)

# ---- scaled dot-product attention


def _sdpa_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    q, k, v = inputs
    if len(q) < 2 or len(k) != len(q) or len(v) != len(q):
        raise ShapeError(
            "E106",
            "`scaled_dot_product_attention` needs q, k, v of one rank ≥ 2",
            expected="(…, L, E), (…, S, E), (…, S, Ev)",
            found=fmt_shapes(inputs),
        )
    lead = broadcast(q[:-2], k[:-2])
    lead = None if lead is None else broadcast(lead, v[:-2])
    if lead is None or q[-1] != k[-1] or k[-2] != v[-2]:
        raise ShapeError(
            "E104",
            "`scaled_dot_product_attention` needs q (…, L, E), k (…, S, E), v (…, S, Ev), leading dims that broadcast",
            expected=f"{fmt_shape((*q[:-2], '*', q[-1]))}, {fmt_shape((*q[:-2], k[-2], '*'))}",
            found=fmt_shapes(inputs),
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


def _sdpa_kept(a: Attrs, inputs: Sequence[Shape], out: Shape) -> int:
    """The CPU flash kernel's log-sum-exp; on the math path, two (L, S) matrices' worth per leading
    index instead (measured with MemTracker)."""
    if _flash_on_cpu(inputs):
        return numel(out[:-1])
    return 2 * numel(out[:-1]) * inputs[1][-2]


def _sdpa_scores(a: Attrs, inputs: Sequence[Shape], out: Shape) -> int:
    """At inference the math path holds the (L, S) scores and their softmax while it runs."""
    return 0 if _flash_on_cpu(inputs) else 2 * numel(out[:-1]) * inputs[1][-2]


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


def _sdpa_import(found: Found) -> dict[str, Any]:
    """``F.scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal, scale, enable_gqa)``
    on three tensors of one rank (torch would align a batch with another's dims), no mask, no
    dropout; or archscope's module."""
    if found.obj is not None:
        causal, scale = found.obj.causal, found.obj.scale
    else:
        if len(found.inputs) != 3 or tuple(found.args[:3]) != (0, 1, 2):
            raise Unsupported("q, k and v are not three different tensors of the network")
        if len({len(s) for s in found.inputs}) != 1:
            raise Unsupported("q, k and v of different ranks")
        if found.arg(3, "attn_mask", None) is not None or found.arg(4, "dropout_p", 0.0):
            raise Unsupported("a mask or dropout (archscope's attention has neither)")
        if found.arg(7, "enable_gqa", False):
            raise Unsupported("grouped-query attention")
        causal, scale = found.arg(5, "is_causal", False), found.arg(6, "scale", None)
    return ({"causal": True} if causal else {}) | ({"scale": float(scale)} if scale is not None else {})


def _mha_import(found: Found) -> dict[str, Any]:
    """``nn.MultiheadAttention(E, heads, batch_first=True)`` called as self-attention, ``mha(x, x, x)``
    without masks (``need_weights`` either way: archscope's layer gives the first output), on tokens
    (L, E); or archscope's ``SelfAttention``."""
    m = found.obj
    if len(found.inputs) != 1 or len(found.inputs[0]) != 2:
        raise Unsupported("not self-attention on one (tokens, features) tensor")
    if tuple(found.args[:3]) not in ((0, 0, 0), (0,)):
        raise Unsupported("query, key and value are not one tensor")
    masks = (found.arg(3, "key_padding_mask", None), found.arg(5, "attn_mask", None), found.arg(7, "is_causal", False))
    if any(masks):
        raise Unsupported("a mask")
    if not m.batch_first or not m._qkv_same_embed_dim or m.bias_k is not None or m.add_zero_attn or m.dropout:
        raise Unsupported("batch_first=False, kdim/vdim, bias_k/bias_v, add_zero_attn or dropout")
    return {"heads": m.num_heads} | ({} if m.in_proj_bias is not None else {"bias": False})


MHA_COUNTED = Counted(
    fvcore=_mha_flop_counter_slow,
    ptflops=zero,
    thop=zero,
    torchinfo=zero,
    flop_counter=lambda a, inputs, out: 2 * _mha_flop_counter_slow(a, inputs, out),
)


register(
    OpDef(
        name="scaled_dot_product_attention",
        summary="attention softmax(q·kᵀ·scale)·v of queries (…, L, E) and keys (…, S, E)",
        attrs=(
            Attr("causal", Bool(), False, "mask the scores of later keys (PyTorch's `is_causal`)"),
            Attr("scale", Float(0.0, above_min=True), None, "scores' factor; default 1/√E"),
        ),
        shape=_sdpa_shape,
        cost=_sdpa_cost,
        module=_sdpa_lower,
        inputs=(3, 3),
        saves=Saves(inputs=(0, 1, 2), output=True, values=_sdpa_kept),
        memory=MemoryFacts(transient_values=_sdpa_scores),
        backward=_sdpa_backward,
        receptive_field=everything,
        merge="attention",
        reference=SDPA_REFERENCE,
        kernel=kernel_is("gemm"),
        counted=only(flop_counter=_sdpa_flop_counter),
        imports=imports("torch", "F.scaled_dot_product_attention", "archscope:ScaledDotProductAttention")(_sdpa_import),
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
        imports=imports("torch", "nn.MultiheadAttention", "archscope:SelfAttention")(_mha_import),
    ),
)
