"""``archscope import``: a source → an :class:`~archscope.lang.importers.result.Imported` spec.

The PyTorch path: open the source (:mod:`.sources`), trace it (:mod:`.pytorch`), find its
repeated blocks (:mod:`.fold`), pin ``expect:`` to the source's own counts (``numel`` of its
parameters; ``torch.utils.flop_counter.FlopCounterMode`` / 2 for MACs), write the YAML
(:mod:`.write`), and analyse the written text as any spec is analysed. Never raises on bad
input: every problem is a diagnostic.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from archscope.diagnostics import Diagnostic
from archscope.lang.importers.finish import checked as _checked
from archscope.lang.importers.result import Imported
from archscope.lang.importers.sources import SourceError, kind, open_python, open_saved, open_timm, parse_kwargs
from archscope.ops.registry import Shape


def import_network(
    source: str,
    *,
    inputs: Mapping[str, Shape] | Shape | None = None,
    name: str | None = None,
    kwargs: str | dict[str, Any] | None = None,
    trust: bool = False,
    scale: str | None = None,
    fold: bool = True,
) -> Imported:
    """Import ``source`` (see :mod:`archscope.lang.importers.sources`)."""
    started = time.perf_counter()
    what = kind(source)
    if what == "ultralytics":
        from archscope.lang.importers.ultralytics import import_ultralytics

        return import_ultralytics(source, scale=scale, name=name)
    if what == "onnx":
        from archscope.lang.importers.onnx import import_onnx

        return import_onnx(source, name=name, inputs=inputs, fold=fold)
    try:
        from archscope.torch_backend.errors import require_torch

        require_torch()
        args = kwargs if isinstance(kwargs, dict) else parse_kwargs(kwargs)
        if what == "py":
            opened = open_python(source, args)
        elif what == "timm":
            opened = open_timm(source, args)
        else:
            opened = open_saved(source, trust)
    except SourceError as e:
        return Imported(name or "imported", source, None, (e.diagnostic,))
    shapes = inputs if inputs is not None else opened.input
    if shapes is None:
        return Imported(
            name or opened.name,
            source,
            None,
            (
                Diagnostic(
                    "E000",
                    "the input shape is not known: give it with --input C,H,W (without the batch)",
                    expected="--input 3,224,224",
                    found="no input shape",
                ),
            ),
        )
    result = import_module(
        opened.module, shapes, name=name or opened.name, source=source, notes=opened.notes, fold=fold
    )
    result.stats["seconds"] = time.perf_counter() - started
    return result


def import_module(module: Any, inputs: Mapping[str, Shape] | Shape, **kw: Any) -> Imported:
    """:func:`archscope.lang.importers.module.import_module`, then the written spec analysed."""
    from archscope.api import analyze
    from archscope.lang.importers.module import import_module as write

    result = write(module, inputs, analyze=analyze, **kw)
    if result.text is None:
        return result
    return _checked(result.stats["network"], result.text, result.stats)
