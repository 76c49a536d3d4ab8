"""``archscope import``: a source → an :class:`~archscope.importers.result.Imported` spec.

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

from ..diagnostics import Diagnostic
from ..ops.registry import Shape
from .finish import checked as _checked
from .finish import write_spec
from .network import INPUT, Network
from .result import Imported
from .sources import SourceError, kind, open_python, open_saved, open_timm, parse_kwargs


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
    """Import ``source`` (see :mod:`archscope.importers.sources`)."""
    started = time.perf_counter()
    what = kind(source)
    if what == "ultralytics":
        from .ultralytics import import_ultralytics

        return import_ultralytics(source, scale=scale, name=name)
    if what == "onnx":
        from .onnx import import_onnx

        return import_onnx(source, name=name, inputs=inputs, fold=fold)
    try:
        from ..torch_backend.errors import require_torch

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


def import_module(
    module: Any,
    inputs: Mapping[str, Shape] | Shape,
    *,
    name: str = "model",
    source: str = "",
    notes: list[str] | None = None,
    fold: bool = True,
) -> Imported:
    """An ``nn.Module`` → a spec (the module is run once, in eval mode, at batch 2 and batch 1)."""
    from .pytorch import Failed, from_module

    source = source or f"{type(module).__module__}.{type(module).__qualname__}"
    started = time.perf_counter()
    try:
        net, owner = from_module(module, inputs, name=name, source=source)
    except Failed as e:
        return Imported(name, source, None, tuple(e.diagnostics))
    net.notes += notes or []
    net.notes.append(f"input {_shapes_text(net)} (batch excluded); traced with torch.fx, shapes from a forward pass")
    net.expect = source_counts(module, net)
    text = write_spec(net, fold)
    return _checked(net, text, {"owner": owner, "seconds": time.perf_counter() - started, "module": module})


def _shapes_text(net: Network) -> str:
    if list(net.inputs) == [INPUT]:
        return "×".join(str(d) for d in net.inputs[INPUT])
    return ", ".join(f"{k} {'×'.join(str(d) for d in v)}" for k, v in net.inputs.items())


def source_counts(module: Any, net: Network) -> dict[str, Any]:
    """The source's own numbers: parameters (``numel``) and MACs (``FlopCounterMode`` / 2, batch 1)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    params = sum(p.numel() for p in module.parameters())
    example = [torch.randn(1, *s) for s in net.inputs.values()]
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            out = module(*example)
    finally:
        module.train(was_training)
    expect: dict[str, Any] = {"params": params, "macs": counter.get_total_flops() // 2}
    if isinstance(out, torch.Tensor):
        expect["output"] = list(out.shape[1:])
    return expect
