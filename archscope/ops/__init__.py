"""Every op family, imported explicitly, in one place. Adding an op touches its family file."""

from __future__ import annotations

from archscope.names import suggest
from archscope.ops import (  # noqa: F401  (registers the ops)
    activation,
    adaptive_pool,
    attention,
    conv,
    grn,
    linear,
    matmul,
    merge,
    norm,
    norm_stats,
    pad,
    passthrough,
    pool,
    prelu,
    resample,
    residual,
    softmax,
    split,
    std_conv,
    tokens,
    view,
)
from archscope.ops.attrs import Attr
from archscope.ops.registry import REGISTRY, Cost, OpDef, Shape

__all__ = ["REGISTRY", "Attr", "Cost", "OpDef", "Shape", "suggest"]
