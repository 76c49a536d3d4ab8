"""How much memory an inference run needs, from the static graph alone (imports no torch).

``weights``: parameters and buffers, once in float32 (as built) and once in the run's dtype
when that differs (both exist while converting). ``activations``: the peak of tensors alive
at once while the layers run in topological order. A layer's output is alive from the
moment it is computed until its last consumer has run (the generated ``forward`` drops each
value after its last use; ``inference_mode`` keeps no graph), and a layer's inputs and
output are alive together. A layer's extra outputs (its op's ``extra_outputs``, e.g. int64
pooling switches, or chunks) are alive with its main output, counted at their own
shape and item size. The input batches are counted too. Workspace of conv algorithms is not: the estimate is a floor.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..graph import Graph
from ..ops import REGISTRY
from ..ops.registry import numel

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}


@dataclass(frozen=True)
class MemoryEstimate:
    weights: int  # bytes
    activations: int  # bytes, for the whole batch

    @property
    def total(self) -> int:
        return self.weights + self.activations


def peak_live_elements(graph: Graph) -> int:
    """Peak number of activation elements alive at once (batch 1; an extra output's elements,
    of its own shape, count as many float32 elements as their bytes fill: an int64 index counts 2)."""
    order = {node: i for i, node in enumerate(graph.nodes)}
    last_use = {node: -1 for node in graph.inputs}
    for node in graph.nodes:
        last_use.setdefault(node, order[node])
        for src in node.inputs:
            last_use[src] = max(last_use.get(src, -1), order[node])
    for out in graph.outputs:
        if out is not None:
            last_use[out] = len(graph.nodes)

    inputs = set(graph.inputs)

    def size(node) -> int:  # noqa: ANN001
        n = numel(node.shape or ())
        if node in inputs:
            return n
        extras = REGISTRY[node.op].extra_outputs(node.attrs)
        return n + sum(
            numel(shape) * extra.itemsize // 4 for extra, shape in zip(extras, node.extra_shapes, strict=True)
        )

    live = 0
    expiring: dict[int, int] = {}
    for node in graph.inputs:
        n = size(node)
        live += n
        expiring[last_use[node]] = expiring.get(last_use[node], 0) + n
    peak = live
    for i, node in enumerate(graph.nodes):
        out = size(node)
        live += out
        peak = max(peak, live)
        expiring[last_use[node]] = expiring.get(last_use[node], 0) + out
        live -= expiring.pop(i, 0)
        live -= expiring.pop(-1, 0)
    return peak


def estimate(graph: Graph, params: int, buffers: int, batch: int, dtype: str) -> MemoryEstimate:
    width = DTYPE_BYTES[dtype]
    weights = (params + buffers) * (4 + (width if width != 4 else 0))
    return MemoryEstimate(weights, peak_live_elements(graph) * batch * width)


def available_host_memory() -> int | None:
    """Bytes the OS can give this process now (``MemAvailable``), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
