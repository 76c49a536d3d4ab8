"""The small torch modules that op lowerings need beyond ``torch.nn``: the merges, the split,
ConvNeXt's channel layer norm and layer scale, and stochastic depth.

Imported only by lowerings, inside the function (this file imports torch at module level), and
it imports nothing else from archscope, so loading it never loads the API or the backend.
The merges take their inputs as separate positional arguments, in the order of the spec's
``in:`` list, so that the generated ``forward`` reads ``self.add(bn2, down_bn)``.
Dimensions count the batch (the lowering adds 1 to the spec's batch-free ``dim``).
Each class is self-contained (torch and ``nn`` only): ``archscope export --to pytorch`` copies
the source of the ones a network uses into the exported file.
"""

from __future__ import annotations

import torch
from torch import nn


class Add(nn.Module):
    """Elementwise sum of two or more tensors of one shape (a residual connection).

    With ``inplace`` (set by the lowering when the first input feeds nothing else) the sum is
    accumulated into the first input, as torchvision's ``out += identity`` does.
    """

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

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


class Split(nn.Module):
    """Chunks along ``dim`` (batch included: channels are dim 1), as a tuple (a tensor for one):
    ``sections`` equal ones (refused when they do not divide the size, as the static rule
    refuses them), or ones of the listed sizes (``torch.split``)."""

    def __init__(self, sections: int | list[int], dim: int):
        super().__init__()
        self.sections = sections
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        if isinstance(self.sections, int):
            size = x.shape[self.dim]
            if size % self.sections:
                raise ValueError(f"cannot cut size {size} into {self.sections} equal chunks")
            parts = x.split(size // self.sections, dim=self.dim)
        else:
            parts = x.split(self.sections, dim=self.dim)
        return tuple(parts) if len(parts) > 1 else parts[0]  # one chunk: no extra outputs

    def extra_repr(self) -> str:
        return f"sections={self.sections}, dim={self.dim}"


class Mul(nn.Module):
    """Broadcast product of two tensors (squeeze-excitation scales (N, C, H, W) by (N, C, 1, 1))."""

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x * y


class ChannelLayerNorm(nn.LayerNorm):
    """Layer norm over the channels at every position of (N, C, *spatial), as torchvision's
    ``LayerNorm2d`` (ConvNeXt) computes it: channels last, ``F.layer_norm`` over C, channels back
    (torchvision's ``permute(0, 2, 3, 1)`` on a 4-D batch, written for 1-D/3-D too; with
    non-negative dims, as the ONNX exporter needs: ``movedim(1, -1)`` exported as an invalid
    Transpose)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = x.dim() - 1
        x = x.permute(0, *range(2, last + 1), 1)
        x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, last, *range(1, last))


class LayerScale(nn.Module):
    """A learned per-channel scale γ of shape (C, 1, …, 1): torchvision's ConvNeXt ``CNBlock`` has
    ``self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)`` and multiplies by it."""

    def __init__(self, channels: int, spatial_rank: int, init: float):
        super().__init__()
        self.layer_scale = nn.Parameter(torch.ones(channels, *(1,) * spatial_rank) * init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer_scale * x


class StochasticDepth(nn.Module):
    """Drops whole samples with probability ``p`` in training and rescales the others by 1/(1 − p)
    (torchvision.ops.StochasticDepth, mode "row"); the identity in eval mode."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        noise = torch.empty((x.shape[0],) + (1,) * (x.ndim - 1), dtype=x.dtype, device=x.device)
        noise = noise.bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise

    def extra_repr(self) -> str:
        return f"p={self.p}"
