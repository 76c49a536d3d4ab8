"""The sliding-window size rule shared by convolution and pooling.

O = floor((W + 2P − D·(K−1) − 1) / S) + 1, or with ceil instead of floor when ``ceil_mode``
(then, as in PyTorch and ONNX, the last window must start inside the input or the left
padding, otherwise it is dropped).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archscope.diagnostics import ShapeError
from archscope.ops.registry import Shape, ShapeWarning, fmt_shape

SPATIAL_NAMES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
LAYOUT = {1: "(C, L)", 2: "(C, H, W)", 3: "(C, D, H, W)"}


def per_dim(value: Any, rank: int, attr: str) -> tuple[Any, ...]:
    """Broadcast an attribute (a size, or upsample's scale) to one value per spatial dimension."""
    if isinstance(value, tuple):
        if len(value) != rank:
            raise ShapeError(
                "E107",
                f"`{attr}` has {len(value)} values for a {rank}-D input",
                expected=f"1 or {rank} values",
                found=list(value),
            )
        return value
    return (value,) * rank


def require_rank(inputs: Sequence[Shape], rank: int, op: str) -> Shape:
    x = inputs[0]
    if len(x) != rank + 1:
        raise ShapeError(
            "E106", f"`{op}` needs a {rank}-D feature map {LAYOUT[rank]}", expected=LAYOUT[rank], found=fmt_shape(x)
        )
    return x


def window_output(size: int, kernel: int, stride: int, pad: int, dilation: int, ceil_mode: bool, dim: str) -> int:
    span = dilation * (kernel - 1) + 1
    padded = size + 2 * pad
    # floor mode: a window larger than the padded input gives no output. ceil mode: PyTorch still
    # gives one window when it starts inside the input (`ceil((W + 2P − span)/S) + 1` ≥ 1).
    too_big = span > padded and (not ceil_mode or -(-(padded - span) // stride) + 1 < 1)
    if too_big:
        raise ShapeError(
            "E102",
            f"{dim}: kernel {span} is larger than the padded input {padded}",
            expected=f"{dim} + 2·padding ≥ {span}",
            found=f"{size} + 2·{pad} = {padded}",
        )
    if ceil_mode:
        out = -(-(padded - span) // stride) + 1
        if (out - 1) * stride >= size + pad:
            out -= 1
    else:
        out = (padded - span) // stride + 1
    if out <= 0:
        raise ShapeError("E101", f"{dim}: output size {out}", expected="≥ 1", found=out)
    return out


def dropped_rows(size: int, kernel: int, stride: int, pad: int, dilation: int) -> int:
    """How many real (non-padding) input rows the last window never reaches (floor mode)."""
    span = dilation * (kernel - 1) + 1
    if span > size + 2 * pad or span < stride:  # windows that skip rows by design drop nothing extra
        return 0
    return max(0, (size + 2 * pad - span) % stride - pad)


def drop_warnings(
    x: Shape, kernel: Sequence[int], stride: Sequence[int], pad: Sequence[int], dilation: Sequence[int]
) -> list[ShapeWarning]:
    rank = len(kernel)
    out = []
    for i, name in enumerate(SPATIAL_NAMES[rank]):
        w, k, s, p, d = x[1 + i], kernel[i], stride[i], pad[i], dilation[i]
        lost = dropped_rows(w, k, s, p, d)
        if lost:
            span = d * (k - 1) + 1
            exact = (w + 2 * p - span) / s + 1
            rows = "input row never reaches" if lost == 1 else f"{lost} input rows never reach"
            out.append(
                ShapeWarning(
                    "W101",
                    f"{name}: ({w} + 2·{p} − {span}) / {s} + 1 = {exact:g}; the last {rows} a window",
                )
            )
    return out


def onnx_window(found: Any, rank: int, default_stride: Any = 1) -> dict[str, Any]:
    """An ONNX Conv/Pool node's window as a PyTorch layer holds it: ``kernel``, ``stride``,
    ``padding`` (ONNX ``pads`` are ``[x1_begin, x2_begin, …, x1_end, x2_end, …]``: each dim's begin
    and end must be equal; ``auto_pad`` SAME_* must pad evenly), ``dilation``; raises
    ``Unsupported`` for a kernel of another rank. ``default_stride``: the stride left out
    (``kernel`` for a pool, as in PyTorch). Sizes are :func:`compact`."""
    from archscope.ops.import_rules import Unsupported, compact

    a = found.obj
    weight = found.weights.get(1)
    kernel = list(a.get("kernel_shape") or (weight[2:] if weight else []))
    if len(kernel) != rank:
        raise Unsupported(f"a {len(kernel)}-D window")
    stride = list(a.get("strides") or [1] * rank)
    dilation = list(a.get("dilations") or [1] * rank)
    auto = a.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        x = found.inputs[0][1:]
        pads = []
        for i in range(rank):
            size = -(-x[i] // stride[i])
            total = max((size - 1) * stride[i] + (kernel[i] - 1) * dilation[i] + 1 - x[i], 0)
            if total % 2:
                raise Unsupported(f"auto_pad={auto} pads {total} (unevenly) on one dim")
            pads.append(total // 2)
    elif auto == "VALID":
        pads = [0] * rank
    else:
        given = list(a.get("pads") or [0] * (2 * rank))
        begin, end = given[:rank], given[rank:]
        if begin != end:
            raise Unsupported(f"pads {given}: begin and end differ (archscope pads both sides alike)")
        pads = begin
    out: dict[str, Any] = {"kernel": compact(kernel)}
    stride_value = compact(stride)
    if stride_value != (out["kernel"] if default_stride == "kernel" else default_stride):
        out["stride"] = stride_value
    if compact(pads) != 0:
        out["padding"] = compact(pads)
    if compact(dilation) != 1:
        out["dilation"] = compact(dilation)
    return out
