"""Every op family, imported explicitly, in one place. Adding an op touches its family file."""

from __future__ import annotations

from archscope.ops import (  # noqa: F401  (registers the ops)
    activation,
    conv,
    linear,
    merge,
    norm,
    norm_stats,
    pad,
    pool,
    resample,
    residual,
    split,
    std_conv,
    view,
)
from archscope.ops.registry import REGISTRY, Attr, Cost, OpDef, Shape, suggest

__all__ = ["REGISTRY", "Attr", "Cost", "OpDef", "Shape", "suggest"]
