"""Verify: the static numbers of a spec are the numbers of the network :func:`build` makes.

For every layer, three independent sources are compared with the static analysis:

- **shape**: the output shape of each layer in a forward pass of the whole built network,
  and of each layer run alone for real on CPU under fvcore. The whole-network pass runs on
  the ``meta`` device (exact: meta kernels share PyTorch's shape functions) when that is
  faster, i.e. for networks with many MACs per layer (VGG), and for real on CPU otherwise
  (meta kernels of BN and activations are Python decompositions, ≈ 2 ms a layer: resnet1202
  takes 8 s on meta and 0.4 s for real);
- **params / buffers**: ``numel`` of the layer module's parameters and buffers; **trainable**:
  ``numel`` of those parameters that have ``requires_grad`` (0 for a frozen layer);
- **MACs**: fvcore's count for the layer (fvcore counts one fused multiply-add as one flop).
  Only fvcore's conv/linear/matmul operators are multiply-adds (:data:`MAC_OPERATORS`); what
  else fvcore counts (``batch_norm``, ``adaptive_avg_pool2d``…) and the aten ops it does not
  know are reported per layer, never folded into the comparison. What fvcore needs to know
  about an op is declared on the op (its ``reference``): counts for aten operators fvcore's
  table lacks (multiply-adds too, and the layer says so when one was used); inputs to run it
  on when random floats are not valid ones; and, for an op fvcore cannot trace, why: such a
  layer is counted by ``torch.utils.flop_counter`` instead, and says so. A layer that fvcore
  fails on without such a declaration falls back the same way, with fvcore's error as the note.

Each layer runs alone on an input of its static input shape (batch 1, float32, one thread),
which proves each rule; the meta pass proves that the layers compose. fvcore's count depends
only on a layer's op, attributes and input shapes, so a layer identical to one already
measured (resnet1202 repeats a few configurations hundreds of times) reuses that measurement.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archscope.api import Analysis
from archscope.graph import Node
from archscope.ops import REGISTRY
from archscope.ops.registry import Shape
from archscope.torch_backend.errors import require_fvcore, require_torch
from archscope.torch_backend.lowering import checked_analysis, layer_modules, lower_graph
from archscope.torch_backend.verify_results import LayerCheck, VerifyReport

# fvcore's multiply-add counts, as fvcore keys them: an aten operator's name without `aten::`, and
# `conv` for its convolution handle. The counter handles an op declares count multiply-adds too.
_MAC_ATEN = ("aten::addmm", "aten::bmm", "aten::einsum", "aten::linear", "aten::matmul", "aten::mm")
MAC_OPERATORS = frozenset({"conv", *(name.removeprefix("aten::") for name in _MAC_ATEN)})
SINGLE_THREAD_MACS_PER_S = 14e9  # measured: resnet50 forward, 1 thread, 2-core EPYC
META_S_PER_LAYER = 2e-3  # measured: resnet1202 meta forward, 8 s for 4,210 layers


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Counts do not depend on threads; one thread avoids OpenMP stalls on a busy machine."""
    torch = require_torch()
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def verify(
    source: str | Path | Analysis,
    *,
    text: str | None = None,
    resolution: int | list[int] | None = None,
    freeze: Iterable[str] = (),
    unfreeze: Iterable[str] = (),
) -> VerifyReport:
    """Check every layer of a spec against its built network (see the module docstring).

    ``resolution`` verifies the network at another input size (the static numbers are then
    recomputed at that size); ``freeze``/``unfreeze`` add patterns as :func:`build` does. Raises :class:`SpecError` when the spec has errors and
    :class:`LoweringError` when torch rejects a layer. Never prints.
    """
    torch = require_torch("`verify`")
    require_fvcore()
    started = time.perf_counter()
    analysis = checked_analysis(source, text=text, resolution=resolution, freeze=freeze, unfreeze=unfreeze)
    graph, report = analysis.graph, analysis.report
    assert graph is not None and report is not None
    with one_thread(), torch.no_grad():
        with torch.device("meta"):
            net = lower_graph(graph).eval()
        on_meta = report.totals.macs / SINGLE_THREAD_MACS_PER_S > len(graph.nodes) * META_S_PER_LAYER
        forward_error = None
        returned: list[Shape] = []
        try:
            shapes, returned, shape_pass = _whole_network_shapes(
                net, [node.shape or () for node in graph.inputs], on_meta
            )
        except Exception as exc:  # noqa: BLE001 - torch refusing the network is a finding, reported
            shapes, shape_pass = {}, "cpu forward"
            forward_error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        modules = layer_modules(net)
        qualnames = net.meta["archscope"]["modules"]
        cache: dict[Any, Measured] = {}
        layers = [_check_layer(node, modules[node.name], qualnames[node.name], shapes, cache) for node in graph.nodes]
    output_forward = returned[0] if returned else None
    outputs = tuple(
        (name, static, returned[i] if i < len(returned) else None) for i, (name, static) in enumerate(report.outputs)
    )
    macs = [layer.fvcore_macs for layer in layers]
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    totals = {
        "params": {"static": report.totals.params, "module": sum(p.numel() for p in net.parameters())},
        "trainable": {"static": report.totals.trainable_params, "module": trainable},
        "frozen": {
            "static": report.totals.frozen_params,
            "module": sum(p.numel() for p in net.parameters()) - trainable,
        },
        "buffers": {"static": report.totals.buffers, "module": sum(b.numel() for b in net.buffers())},
        "macs": {"static": report.totals.macs, "fvcore": None if None in macs else sum(macs)},  # type: ignore[arg-type]
    }
    return VerifyReport(
        analysis.source,
        report.name,
        report.input,
        tuple(layers),
        report.output_shape,
        output_forward,
        shape_pass,
        totals,
        time.perf_counter() - started,
        len(cache),
        forward_error,
        outputs,
    )


def _zero(module: Any) -> Any:
    """Fill parameters and buffers with zeros: values change neither shapes nor counts, and
    zeros avoid the slow denormals that uninitialised memory may hold."""
    for t in [*module.parameters(), *module.buffers()]:
        t.zero_()
    return module


def _whole_network_shapes(
    net: Any, input_shapes: list[Shape], on_meta: bool
) -> tuple[dict[str, Shape], list[Shape], str]:
    """Every layer's output shape in one forward of the whole network (one random tensor per
    input), and the shape of each output it returns, on meta or (moving ``net`` to CPU in
    place) for real."""
    import torch

    if on_meta:
        try:
            xs = [torch.empty(1, *shape, device="meta") for shape in input_shapes]
            return (*_forward_shapes(net, xs), "meta forward")
        except (NotImplementedError, RuntimeError):  # an op without a meta kernel: do it for real
            pass
    _zero(net.to_empty(device="cpu"))
    return (*_forward_shapes(net, [torch.randn(1, *shape) for shape in input_shapes]), "cpu forward")


def _forward_shapes(net: Any, xs: list[Any]) -> tuple[dict[str, Shape], list[Shape]]:
    shapes: dict[str, Shape] = {}
    handles = []
    for name, module in layer_modules(net).items():

        def hook(_mod: Any, _args: Any, out: Any, name: str = name) -> None:
            first = out[0] if isinstance(out, tuple) else out
            shapes[name] = tuple(int(d) for d in first.shape[1:])

        handles.append(module.register_forward_hook(hook))
    try:
        out = net(*xs)
    finally:
        for h in handles:
            h.remove()
    returned = list(out) if isinstance(out, tuple) else [out]
    return shapes, [tuple(int(d) for d in t.shape[1:]) for t in returned]


@dataclass(frozen=True)
class Measured:
    """One layer run alone on CPU: what fvcore (or the fallback counter) saw."""

    shape: Shape | None = None
    macs: int | None = None
    other: tuple[tuple[str, int], ...] = ()
    unsupported: tuple[tuple[str, int], ...] = ()
    source: str = "fvcore"
    notes: tuple[str, ...] = ()
    error: str | None = None


def _check_layer(
    node: Node, module: Any, qualname: str, shapes: dict[str, Shape], cache: dict[Any, Measured]
) -> LayerCheck:
    cost = node.cost
    assert cost is not None and node.shape is not None
    in_shapes = tuple(node.input_shapes())
    key = (node.op, tuple(sorted(node.attrs.items(), key=lambda kv: kv[0])), in_shapes)
    if key not in cache:
        cache[key] = _measure(node, module, in_shapes)
    m = cache[key]
    return LayerCheck(
        node.name,
        node.op,
        qualname,
        node.shape,
        shapes.get(node.name),
        m.shape,
        cost.params,
        sum(p.numel() for p in module.parameters()),
        cost.buffers,
        sum(b.numel() for b in module.buffers()),
        cost.macs,
        m.macs,
        cost.ops,
        m.source,
        m.other,
        m.unsupported,
        m.error,
        m.notes,
        node.trainable_params,
        sum(p.numel() for p in module.parameters() if p.requires_grad),
    )


def _measure(node: Node, layer: Any, in_shapes: tuple) -> Measured:
    """Run one layer alone on CPU (batch 1, float32) under fvcore (a CPU copy if it is on meta)."""
    import torch

    fvnn = require_fvcore()
    on_meta = any(t.is_meta for t in [*layer.parameters(), *layer.buffers()])
    module = _zero(copy.deepcopy(layer).to_empty(device="cpu")) if on_meta else layer
    reference = REGISTRY[node.op].reference
    if reference.inputs is not None:
        inputs: list[Any] = reference.inputs(node.attrs, in_shapes, 1)
    else:
        inputs = [torch.randn(1, *s) for s in in_shapes]
    if reference.untraceable:
        return _measure_without_fvcore(module, inputs, reference.untraceable)
    seen: list[Shape] = []

    def hook(_mod: Any, _args: Any, out: Any) -> None:
        first = out[0] if isinstance(out, tuple) else out
        seen.append(tuple(int(d) for d in first.shape[1:]))

    handle = module.register_forward_hook(hook)
    try:
        analysis = (
            fvnn.FlopCountAnalysis(module, tuple(inputs))
            .unsupported_ops_warnings(False)
            .uncalled_modules_warnings(False)
            .tracer_warnings("none")
        )
        for declared_handle in reference.handles:
            analysis.set_op_handle(declared_handle.operator, declared_handle.count)
        counts = analysis.by_operator()
        unsupported = analysis.unsupported_ops()
    except Exception as exc:  # noqa: BLE001 - fvcore cannot trace it: count with torch instead
        return _measure_without_fvcore(module, inputs, f"{type(exc).__name__}: {exc}".split(". ")[0])
    finally:
        handle.remove()
    declared = {h.operator.removeprefix("aten::"): h.note for h in reference.handles}
    mac_keys = MAC_OPERATORS | set(declared)
    macs = sum(n for key, n in counts.items() if key in mac_keys)
    other = tuple(sorted((key, n) for key, n in counts.items() if key not in mac_keys))
    notes = tuple(note for key, note in declared.items() if key in counts)
    return Measured(seen[0] if seen else None, macs, other, tuple(sorted(unsupported.items())), "fvcore", notes)


def _measure_without_fvcore(module: Any, inputs: list[Any], why: str) -> Measured:
    from torch.utils.flop_counter import FlopCounterMode

    note = f"fvcore cannot trace the layer ({why}); its MACs come from torch.utils.flop_counter"
    try:
        with FlopCounterMode(display=False) as counter:
            out = module(*inputs)
    except Exception as exc:  # noqa: BLE001 - reported as this layer's error
        return Measured(error=f"{type(exc).__name__}: {exc}".splitlines()[0])
    first = out[0] if isinstance(out, tuple) else out
    flops = counter.get_total_flops()
    return Measured(
        tuple(int(d) for d in first.shape[1:]), flops // 2, source="torch.utils.flop_counter", notes=(note,)
    )
