"""The receptive field measured in PyTorch, to check the static one (an oracle for tests and
``bench/rf_check.py``, never the implementation of ``archscope rf``).

The network is built from the spec and made monotone: every conv and linear weight is a positive
constant (1/fan-in), biases 0, batch norms in eval with their fresh statistics (mean 0, variance
1, γ 1, β 0), max pooling replaced by average pooling with the same window (unless its switches
feed an unpooling), in float64 with a small positive input so that no activation saturates.
Then every path carries a non-zero gradient, and the input units that one output unit depends on
are exactly the non-zero entries of the gradient of that unit (summed over channels).

Each spatial dim is measured on its own: the input is long along it (the field fits with room
to spare) and short along the others, so that the cost stays low; the extent along one dim does
not depend on the other dims' sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archscope.api import analyze
from archscope.overrides import Overrides
from archscope.passes.receptive_field import FieldResult
from archscope.torch_backend.errors import require_torch

SHORT = 64  # the size of the dims not measured


@dataclass(frozen=True)
class Measured:
    layer: str
    axis: int
    unit: int
    static: tuple[int, int] | None  # first and last input unit, from the static pass
    measured: tuple[int, int] | None  # from the gradient
    input_size: tuple[int, ...]
    is_global: bool = False  # the layer's field is global (static); measured covers the whole input

    @property
    def agree(self) -> bool:
        return self.static == self.measured

    @property
    def static_size(self) -> int | None:
        return None if self.static is None else self.static[1] - self.static[0] + 1

    @property
    def measured_size(self) -> int | None:
        return None if self.measured is None else self.measured[1] - self.measured[0] + 1


def monotone(model: Any) -> Any:
    """Positive weights, zero biases, average pooling instead of max pooling, eval, float64."""
    import torch
    from torch import nn

    switches = _switch_modules()
    avg = {nn.MaxPool1d: nn.AvgPool1d, nn.MaxPool2d: nn.AvgPool2d, nn.MaxPool3d: nn.AvgPool3d}
    adaptive = {nn.AdaptiveMaxPool1d: nn.AdaptiveAvgPool1d, nn.AdaptiveMaxPool2d: nn.AdaptiveAvgPool2d}
    for name, module in list(model.named_modules()):
        swap = None
        if type(module) in avg and module.dilation in (1, (1,), (1, 1), (1, 1, 1)):
            swap = avg[type(module)](module.kernel_size, module.stride, module.padding, ceil_mode=module.ceil_mode)
            if module.return_indices:
                swap = switches["pool"](swap)
        elif isinstance(module, nn.MaxUnpool2d):
            swap = switches["unpool"](module.kernel_size, module.stride, module.padding)
        elif type(module) in adaptive and not module.return_indices:
            swap = adaptive[type(module)](module.output_size)
        if swap is not None:
            parent, _, leaf = name.rpartition(".")
            setattr(model.get_submodule(parent) if parent else model, leaf, swap)
    with torch.no_grad():
        for module in model.modules():
            weight = getattr(module, "weight", None)
            if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)):
                module.weight.fill_(1.0 / module.weight[0].numel())
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(weight, nn.Parameter) and weight.numel() and bool((weight <= 0).any()):
                weight.fill_(1.0)
    return model.double().eval()


def _switch_modules() -> dict[str, type]:
    """Max pooling's switches depend on the data; the static field of an unpooled unit is the union
    over every switch position. Measured as that union: the pool averages (and gives dummy
    indices), and the unpooling spreads each value over its whole window (a transposed conv with
    a kernel of ones, one channel at a time)."""
    import torch
    from torch import nn
    from torch.nn import functional

    class PoolWithDummySwitches(nn.Module):
        def __init__(self, pool: nn.Module):
            super().__init__()
            self.pool = pool

        def forward(self, x: Any) -> Any:
            y = self.pool(x)
            return y, torch.zeros(y.shape, dtype=torch.long, device=y.device)

    class DenseUnpool(nn.Module):
        def __init__(self, kernel: Any, stride: Any, padding: Any):
            super().__init__()
            self.kernel, self.stride, self.padding = kernel, stride, padding

        def forward(self, x: Any, indices: Any) -> Any:  # noqa: ARG002  nn.MaxUnpool2d's (x, indices)
            kernel = self.kernel if isinstance(self.kernel, tuple) else (self.kernel, self.kernel)
            ones = torch.ones(x.shape[1], 1, *kernel, dtype=x.dtype, device=x.device)
            return functional.conv_transpose2d(x, ones, stride=self.stride, padding=self.padding, groups=x.shape[1])

    return {"pool": PoolWithDummySwitches, "unpool": DenseUnpool}


def _input_size(shape: tuple[int, ...], axis: int, length: int) -> tuple[int, ...]:
    spatial = [min(SHORT, s) if i != axis else length for i, s in enumerate(shape[1:])]
    return tuple(spatial)


def measure(
    source: str | Path, layers: list[str] | None = None, params: dict[str, Any] | None = None, text: str | None = None
) -> list[Measured]:
    """For each layer (default: the widest local one, and the output's), and each spatial dim:
    the static and the measured extent of its central unit (see the module's docstring)."""
    torch = require_torch("the receptive-field check")
    base = analyze(source, text=text, params=params)
    field: FieldResult = base.passes["receptive_field"]
    if field is None or base.graph is None:
        raise ValueError(f"{source}: no receptive field (the spec has errors)")
    names = layers or list(
        dict.fromkeys(layer.name for layer in (field.widest, field.final) if layer is not None and not layer.flat)
    )
    rank = len(base.graph.input.shape or ()) - 1
    out = []
    for axis in range(rank):
        widest = max(
            (layer.size[axis] or 0) + 4 * float(layer.stride[axis] or 1) for layer in field.layers if layer.local
        )
        length = max(64, int(widest) + 64)
        length = -(-length // 32) * 32
        out += _measure_axis(source, text, params, names, axis, length, torch)
    return out


def _measure_axis(source, text, params, names, axis, length, torch) -> list[Measured]:
    from archscope.torch_backend.lowering import build, graph_of

    first = analyze(source, text=text, params=params)
    native_input = graph_of(first).input.known_shape()
    resolution = _input_size(native_input, axis, length)
    analysis = analyze(source, text=text, overrides=Overrides(resolution=resolution, params=params or {}))
    if not analysis.ok:  # too short for the network (a pool with no input left): the spec's own sizes there
        native = native_input[1:]
        resolution = tuple(length if i == axis else size for i, size in enumerate(native))
        analysis = analyze(source, text=text, overrides=Overrides(resolution=resolution, params=params or {}))
    field: FieldResult = analysis.passes["receptive_field"]
    model = monotone(build(analysis, inplace=False))
    modules = model.meta["archscope"]["modules"]
    captured: dict[str, Any] = {}
    for name in names:
        module = model.get_submodule(modules[name])
        module.register_forward_hook(
            lambda _m, _i, o, name=name: captured.__setitem__(name, o[0] if isinstance(o, tuple) else o)
        )
    shape = (1, graph_of(analysis).input.known_shape()[0], *resolution)
    x = torch.full(shape, 1e-3, dtype=torch.float64, requires_grad=True)
    model(x)
    results = []
    for name in names:
        y = captured[name]
        layer = next(layer for layer in field.layers if layer.name == name)
        index = [0, slice(None)] + [s // 2 for s in y.shape[2:]]
        unit = y.shape[2 + axis] // 2 if y.dim() > 2 else 0
        (grad,) = torch.autograd.grad(y[tuple(index)].sum(), x, retain_graph=True)
        other = [d for d in range(grad.dim()) if d != 2 + axis]
        hit = torch.nonzero(grad.abs().sum(dim=other) > 0).flatten().tolist()
        measured = (hit[0], hit[-1]) if hit else None
        if layer.is_global or layer.flat:
            static = (0, resolution[axis] - 1) if layer.is_global else None
        else:
            static = field.extent(name, axis, unit)
        results.append(Measured(name, axis, unit, static, measured, resolution, layer.is_global))
    return results
