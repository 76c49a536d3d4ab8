"""The sliding-window size rule shared by convolution and pooling.

O = floor((W + 2P − D·(K−1) − 1) / S) + 1, or with ceil instead of floor when ``ceil_mode``
(then, as in PyTorch and ONNX, the last window must start inside the input or the left
padding, otherwise it is dropped).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..diagnostics import ShapeError
from .registry import Shape, ShapeWarning, fmt_shape

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
