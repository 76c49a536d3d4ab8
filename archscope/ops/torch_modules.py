"""The small torch modules that op lowerings need beyond ``torch.nn``: the merges.

Imported only by lowerings, inside the function (this file imports torch at module level), and
it imports nothing else from archscope, so loading it never loads the API or the backend.
The merges take their inputs as separate positional arguments, in the order of the spec's
``in:`` list, so that the generated ``forward`` reads ``self.add(bn2, down_bn)``.
Dimensions count the batch (the lowering adds 1 to the spec's batch-free ``dim``).
"""

from __future__ import annotations

import torch
from torch import nn


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
