"""The roofline of every layer and the static latency prediction of `archscope predict` (no torch).

Per layer, for a batch of ``batch`` at a dtype of ``s`` bytes per element:

* FLOPs = (2 × MACs + ops) × batch: every multiply and add the layer does, its elementwise
  work (normalisation, activation, pooling, merges) included, since that is what a
  memory-bound layer spends its time on;
* bytes = s × (elements of its inputs + its output) × batch + s × (params + buffers): what it
  must read and write at least once. A layer whose op's ``kernel`` is ``view`` (flatten,
  identity, dropout at inference) moves no data: 0 bytes;
* arithmetic intensity = FLOPs / bytes; the layer is *compute-bound* on a device when that is
  above the device's ridge point (peak GFLOP/s / bandwidth GB/s), else *memory-bound*;
* attainable time = max(FLOPs / peak, bytes / bandwidth) (Williams, Waterman & Patterson,
  "Roofline", CACM 2009): the floor no implementation can beat.

The prediction adds what calibration fitted on synthetic layers (never on the networks it is
judged on): each kind of kernel (the op's declared ``kernel``: gemm, grouped, pool, norm,
elementwise, copy; ``archscope.ops.registry.KERNELS``) reaches its roof at a fraction ``e`` of
it, fitted at a few batch sizes (a depthwise convolution on CPU reaches a far smaller fraction
at batch 16 than at batch 1) and interpolated on log(batch) between them; every layer costs a
fixed overhead besides (the module call, dispatch, allocation, and the network's own forward
between layers)::

    predicted = Σ max(FLOPs / peak, bytes / bandwidth) / e(kind, batch) + overhead

The MACs-only predictor that ``bench/predict.py`` compares against is 2 × MACs × batch / peak.
Where the model stops being right: kernels far from both roofs (depthwise and grouped
convolutions on CPU), caches (a layer whose tensors fit in cache beats the DRAM bandwidth),
fused or in-place layers, and ``torch.compile`` (not modelled).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archscope.graph import Graph
from archscope.ops import REGISTRY
from archscope.ops.registry import numel
from archscope.passes.memory import inplace_nodes
from archscope.perf.calibration import DTYPE_BYTES, Calibration


@dataclass(frozen=True)
class LayerWork:
    """What one layer does for a whole batch."""

    name: str
    op: str
    kernel: str  # a key of ops.registry.KERNELS
    macs: int
    flops: int  # 2 × MACs + ops
    bytes: int
    fresh_bytes: int = 0  # the output's bytes when the layer allocates it (not a view, not in place)

    @property
    def intensity(self) -> float | None:
        """FLOPs per byte; None for a layer that moves no data."""
        return self.flops / self.bytes if self.bytes else None


def layer_work(graph: Graph, batch: int = 1, dtype: str = "float32") -> list[LayerWork]:
    """Every layer's FLOPs and bytes (see the module docstring); the graph must be costed."""
    size = DTYPE_BYTES[dtype]
    in_place = inplace_nodes(graph)
    out = []
    for node in graph.nodes:
        cost = node.cost
        if cost is None or node.shape is None:
            raise ValueError(f"`{node.name}` has no cost: the spec has errors")
        op = REGISTRY[node.op]
        kernel = op.kernel(node.attrs) if op.kernel else "elementwise"
        moved = fresh = 0
        if kernel != "view":
            # (no input shape is None in a costed graph)
            activations = sum(numel(s) for s in node.input_shapes() if s is not None) + numel(node.shape)
            moved = size * (activations * batch + cost.params + cost.buffers)
            fresh = 0 if node in in_place else size * numel(node.shape) * batch
        flops = (2 * cost.macs + cost.ops) * batch
        out.append(LayerWork(node.name, node.op, kernel, cost.macs * batch, flops, moved, fresh))
    return out


@dataclass(frozen=True)
class LayerRoof:
    work: LayerWork
    bound: str  # compute | memory | none (no work)
    attainable_s: float  # max(FLOPs / peak, bytes / bandwidth)
    predicted_s: float  # the fitted model, overhead included
    first_touch_s: float = 0.0  # of predicted_s: faulting in a fresh output above the allocator's threshold


def first_touch(work: LayerWork, cal: Calibration) -> float:
    """Seconds to fault in the pages of a fresh output too large for the allocator to keep."""
    if cal.first_touch_gbs <= 0 or not cal.fresh_threshold_bytes or work.fresh_bytes <= cal.fresh_threshold_bytes:
        return 0.0
    return work.fresh_bytes / (cal.first_touch_gbs * 1e9)


def roof(work: LayerWork, cal: Calibration, batch: int = 1) -> LayerRoof:
    compute = work.flops / (cal.peak_gflops * 1e9)
    memory = work.bytes / (cal.bandwidth_gbs * 1e9)
    bound = "none" if not (work.flops or work.bytes) else "compute" if compute >= memory else "memory"
    modelled = max(compute, memory) / cal.efficiency_at(work.kernel, batch, bound)
    overhead = (cal.layer_overhead_us + cal.framework_overhead_us) * 1e-6
    touch = first_touch(work, cal)
    return LayerRoof(work, bound, max(compute, memory), modelled + touch + overhead, touch)


@dataclass(frozen=True)
class Prediction:
    name: str
    batch: int
    dtype: str
    calibration: Calibration
    layers: tuple[LayerRoof, ...]

    @property
    def latency_s(self) -> float:
        return sum(r.predicted_s for r in self.layers)

    @property
    def attainable_s(self) -> float:
        return sum(r.attainable_s for r in self.layers)

    @property
    def macs(self) -> int:
        return sum(r.work.macs for r in self.layers)

    @property
    def macs_only_s(self) -> float:
        """The naive predictor: 2 × MACs / peak."""
        return 2 * self.macs / (self.calibration.peak_gflops * 1e9)

    def to_dict(self) -> dict[str, Any]:
        cal = self.calibration
        return {
            "name": self.name,
            "batch": self.batch,
            "dtype": self.dtype,
            "device": cal.device,
            "latency_ms": self.latency_s * 1e3,
            "attainable_ms": self.attainable_s * 1e3,
            "macs_only_ms": self.macs_only_s * 1e3,
            "calibration": cal.to_dict(),
            "layers": [layer_dict(r) for r in self.layers],
        }


def layer_dict(r: LayerRoof) -> dict[str, Any]:
    w = r.work
    return {
        "name": w.name,
        "op": w.op,
        "kernel": w.kernel,
        "macs": w.macs,
        "flops": w.flops,
        "bytes": w.bytes,
        "intensity": w.intensity,
        "bound": r.bound,
        "attainable_ms": r.attainable_s * 1e3,
        "predicted_ms": r.predicted_s * 1e3,
    }


def predict(graph: Graph, cal: Calibration, batch: int = 1, dtype: str | None = None) -> Prediction:
    """The static latency of one forward pass of ``batch`` images on ``cal``'s device."""
    dtype = dtype or cal.dtype
    layers = tuple(roof(w, cal, batch) for w in layer_work(graph, batch, dtype))
    return Prediction(graph.name, batch, dtype, cal, layers)
