"""An ``nn.Module`` → spec text (imports torch); the analysis of the text is the caller's
(:mod:`archscope.lang.importers.run` for ``archscope import``, :func:`archscope.analyze` for a module)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from archscope.lang.importers.network import INPUT, Network
from archscope.lang.importers.result import Imported
from archscope.lang.importers.text import write_spec
from archscope.ops.registry import Shape


def import_module(
    module: Any,
    inputs: Mapping[str, Shape] | Shape,
    *,
    name: str = "model",
    source: str = "",
    notes: list[str] | None = None,
    fold: bool = True,
    analyze: Callable[..., Any],
) -> Imported:
    """An ``nn.Module`` → a spec (the module is run once, in eval mode, at batch 2);
    ``analyze`` is :func:`archscope.analyze`, which checks the folded spec against the flat one."""
    from archscope.lang.importers.pytorch import from_module
    from archscope.lang.importers.torch_trace import Failed

    source = source or f"{type(module).__module__}.{type(module).__qualname__}"
    started = time.perf_counter()
    try:
        net, owner = from_module(module, inputs, name=name, source=source)
    except Failed as e:
        return Imported(name, source, None, tuple(e.diagnostics))
    net.notes += notes or []
    net.notes.append(f"input {_shapes_text(net)} (batch excluded); traced with torch.fx, shapes from a forward pass")
    net.expect = source_counts(module, net)
    text = write_spec(net, fold, analyze)
    spec_name = {layer.name: layer.qualified or layer.name for layer in net.layers}  # folded: `layer1.0.conv1`
    owner = {spec_name[name]: path for name, path in owner.items()}
    stats = {"owner": owner, "seconds": time.perf_counter() - started, "module": module, "network": net}
    return Imported(net.name, net.source, text, (), stats)


def _shapes_text(net: Network) -> str:
    if list(net.inputs) == [INPUT]:
        return "×".join(str(d) for d in net.inputs[INPUT])
    return ", ".join(f"{k} {'×'.join(str(d) for d in v)}" for k, v in net.inputs.items())


def _used_params(module: Any, net: Network) -> int:
    """Parameters of the modules the traced forward calls, and of the weights it reads directly."""
    seen: dict[int, int] = {}
    named = dict(module.named_parameters())
    for layer in net.layers:
        path = layer.origin
        if ":" not in path:
            for p in module.get_submodule(path).parameters():
                seen[id(p)] = p.numel()
    for name in net.weights:
        if name in named:
            seen[id(named[name])] = named[name].numel()
        else:
            for p in module.get_submodule(name).parameters():
                seen[id(p)] = p.numel()
    return sum(seen.values())


def source_counts(module: Any, net: Network) -> dict[str, Any]:
    """The source's own numbers: parameters (``numel`` of those forward uses), then the MACs
    (``FlopCounterMode`` / 2) and output shape the trace's forward pass recorded."""
    params = sum(p.numel() for p in module.parameters())
    used = _used_params(module, net)
    if used < params:  # a module forward never calls (a spare head): not part of the network
        net.notes.append(
            f"{params - used:,} of the module's {params:,} parameters are never used by forward: not counted"
        )
        params = used
    return {"params": params, **net.expect}
