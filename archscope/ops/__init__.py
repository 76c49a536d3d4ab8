"""Every op family, imported explicitly, in one place. Adding an op touches its family file."""

from __future__ import annotations

from . import activation, conv, linear, merge, norm, pad, pool, split  # noqa: F401  (registers the ops)
from .registry import REGISTRY, Attr, Cost, OpDef, Shape, suggest

__all__ = ["REGISTRY", "Attr", "Cost", "OpDef", "Shape", "suggest"]
