"""``archscope import --verify``: the written spec, built, computes what the source computes.

The spec is built (:func:`~archscope.torch_backend.lowering.build`), each layer's weights are
copied from the source module it came from (by the recorded names: layer → module path, or →
parameter for a weight used in a ``forward``), and then, in eval mode on one random input:

- every output equals the source's within ``|a − b| ≤ RTOL · max|b| + ATOL`` (float32 sums in
  another order differ in the last bits; a wrong graph differs by the size of the values);
- every layer's parameters and buffers equal, in count, those of the source module it came from
  (batch norm's running statistics and its `num_batches_tracked`);
- the spec's MACs equal ``torch.utils.flop_counter.FlopCounterMode`` / 2 on the source (attention on
  PyTorch's composite paths, which it counts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from archscope.api import Analysis
from archscope.torch_backend.errors import require_torch

RTOL = 1e-4
ATOL = 1e-5


@dataclass
class ImportCheck:
    outputs: list[tuple[str, float, float]]  # (output, max |a − b|, allowed)
    layers_checked: int
    param_mismatches: list[str] = field(default_factory=list)
    not_loaded: list[str] = field(default_factory=list)  # layers whose weights could not be copied
    macs: int = 0
    reference_macs: int = 0

    @property
    def ok(self) -> bool:
        return (
            all(d <= allowed for _, d, allowed in self.outputs)
            and not self.param_mismatches
            and not self.not_loaded
            and self.macs == self.reference_macs
        )


def _copy(src: list[Any], dst: list[Any]) -> bool:
    """Copy tensors ``src`` into ``dst`` in order (reshaped where the layouts differ: a (C,) gain
    into a (C, 1, 1) one); False when they do not pair up by size."""
    if len(src) != len(dst) or any(s.numel() != d.numel() for s, d in zip(src, dst, strict=True)):
        return False
    for s, d in zip(src, dst, strict=True):
        d.data.copy_(s.detach().reshape(d.shape).to(d.dtype))
    return True


def check_import(
    analysis: Analysis, module: Any, owner: Mapping[str, str], example_shapes: Mapping[str, tuple[int, ...]]
) -> ImportCheck:
    """Build ``analysis``, load ``module``'s weights by ``owner`` (layer → source module path, or
    ``param:NAME`` for a weight used in a forward) and compare (see the module docstring)."""
    require_torch()
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from archscope.lang.importers.torch_trace import composite_attention
    from archscope.torch_backend.lowering import build

    built = build(analysis, inplace=False)
    where = built.meta["archscope"]["modules"]
    mismatches, not_loaded = [], []
    for layer, path in owner.items():
        dst = built.get_submodule(where[layer]) if layer in where else None
        if dst is None:
            not_loaded.append(layer)
            continue
        dst_tensors = [*dst.parameters(), *(b for b in dst.buffers() if b.dtype.is_floating_point)]
        if path.startswith("param:"):
            src_tensors = [module.get_parameter(path[6:])] if path[6:] in dict(module.named_parameters()) else []
        else:
            src = module.get_submodule(path)
            src_tensors = [*src.parameters(), *(b for b in src.buffers() if b.dtype.is_floating_point)]
            for what, mine, theirs in (
                ("params", dst.parameters(), src.parameters()),
                ("buffer elements", dst.buffers(), src.buffers()),
            ):
                n_dst, n_src = sum(t.numel() for t in mine), sum(t.numel() for t in theirs)
                if n_src != n_dst:
                    mismatches.append(f"{layer}: {n_dst:,} {what}, source `{path}` has {n_src:,}")
        with torch.no_grad():
            if not _copy(src_tensors, dst_tensors):
                not_loaded.append(layer)
    torch.manual_seed(0)
    example = [torch.randn(2, *s) for s in example_shapes.values()]
    was_training = module.training
    module.eval()
    built.eval()
    try:
        with torch.no_grad():
            want = module(*example)
            got = built(*example)
        with torch.no_grad(), composite_attention(torch), FlopCounterMode(display=False) as counter:
            module(*[x[:1] for x in example])
    finally:
        module.train(was_training)
    wants = _flat(want)
    gots = _flat(got)
    names = analysis.graph.output_names if analysis.graph is not None else []
    outputs = []
    for k, (w, g) in enumerate(zip(wants, gots, strict=False)):
        diff = float((w - g).abs().max()) if w.shape == g.shape else float("inf")
        allowed = RTOL * float(w.abs().max()) + ATOL
        outputs.append((names[k] if k < len(names) else str(k), diff, allowed))
    if len(wants) != len(gots):
        outputs.append(("number of outputs", float(abs(len(wants) - len(gots))), 0.0))
    macs = analysis.report.totals.macs if analysis.report is not None else 0
    return ImportCheck(outputs, len(owner), mismatches, not_loaded, macs, counter.get_total_flops() // 2)


def _flat(out: Any) -> list[Any]:
    import torch

    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in _flat(o)]
    return []
