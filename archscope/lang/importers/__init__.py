"""Importers: networks people already have, written as archscope specs.

Each front end (a PyTorch module, an ONNX file, an Ultralytics model YAML) returns an
:class:`~archscope.lang.importers.result.Imported`: the spec's YAML text, or located diagnostics
naming every part that has no archscope equivalent. ``archscope import`` writes the text; the
spec is then checked by the same front end as a hand-written one.
"""

from __future__ import annotations

from archscope.lang.importers.result import Imported

__all__ = ["Imported"]
