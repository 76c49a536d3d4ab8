"""Small modules the lowering needs beyond ``torch.nn``: merges, named block containers, and
the network class.

The merges take their inputs as separate positional arguments, in the order of the spec's
``in:`` list, so that the generated ``forward`` reads ``self.add(bn2, down_bn)``.
Dimensions count the batch (the lowering adds 1 to the spec's batch-free ``dim``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import fx, nn


class Add(nn.Module):
    """Elementwise sum of two or more tensors of one shape (a residual connection).

    With ``inplace`` (set by the lowering when the first input feeds nothing else) the sum is
    accumulated into the first input, as torchvision's ``out += identity`` does.
    """

    inplace = False

    def forward(self, first: torch.Tensor, *rest: torch.Tensor) -> torch.Tensor:
        if self.inplace:
            for t in rest:
                first = first.add_(t)
            return first
        out = first
        for t in rest:
            out = out + t
        return out

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Concat(nn.Module):
    """Concatenation along ``dim`` (batch included: channels are dim 1)."""

    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Mul(nn.Module):
    """Broadcast product of two tensors (squeeze-excitation scales (N, C, H, W) by (N, C, 1, 1))."""

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x * y


def attach(parent: nn.Module, name: str, child: nn.Module) -> None:
    """``parent.add_module(name, child)``, and ``child`` also as a plain instance attribute.

    The generated ``forward`` reaches a leaf as ``getattr(self.layer1, "0").conv1``; through
    ``nn.Module.__getattr__`` (a Python function, called for every level) that cost 1.0 ms per
    MobileNet v2 forward, 3.5% of it. A plain attribute is found by Python's C lookup instead.
    ``nn.Module.__setattr__`` drops the attribute when a child is replaced; the
    ``__delattr__`` below drops it when a child is deleted.
    """
    parent.add_module(name, child)
    parent.__dict__[name] = child


class _FastChildren:
    """Keeps :func:`attach`'s plain attributes consistent when a child is deleted."""

    def __delattr__(self, name: str) -> None:
        if name in self.__dict__.get("_modules", {}):
            self.__dict__.pop(name, None)
        super().__delattr__(name)  # type: ignore[misc]


class Scope(_FastChildren, nn.Module):
    """A container for the layers of one block instance or one repeated layer.

    It has no ``forward``: the network's generated ``forward`` calls the leaf modules directly.
    ``kind`` is the block's type (``basic``) or ``repeat``; it is what ``print(model)`` shows.
    """

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def _get_name(self) -> str:
        return self.kind

    def __getitem__(self, key: int | str) -> nn.Module:
        """``net.layer1[0]`` for the instances of a repeated layer, as with ``nn.Sequential``."""
        return self._modules[str(key)]


class Network(_FastChildren, fx.GraphModule):
    """The module :func:`archscope.build` returns: a ``torch.fx.GraphModule`` whose top-level
    children are also plain attributes (see :func:`attach`)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> Network:
        copy = super().__deepcopy__(memo)
        copy.__class__.__name__ = type(self).__name__  # fx's copy would be named `GraphModule`
        for name, child in copy._modules.items():
            copy.__dict__[name] = child
        return copy
