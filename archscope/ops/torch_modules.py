"""The small torch modules that op lowerings need beyond ``torch.nn``: the merges, the split,
ConvNeXt's channel layer norm and layer scale, stochastic depth, and the token ops of ViT.

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


class Reshape(nn.Module):
    """``x.reshape(N, *shape)``: ``shape`` is the per-sample shape (the batch is kept; one size
    may be −1). A view when ``x`` is contiguous; torch copies otherwise (after a permute)."""

    def __init__(self, shape: list[int]):
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class Permute(nn.Module):
    """``x.permute(0, *(d + 1 for d in dims))``: ``dims`` permute the per-sample dims (0 =
    channels); the batch stays first. A view (strided, not contiguous)."""

    def __init__(self, dims: list[int]):
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, *(d + 1 for d in self.dims))

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


class Transpose(nn.Module):
    """``x.transpose(dim0 + 1, dim1 + 1)``: per-sample dims (0 = channels); a view."""

    def __init__(self, dim0: int, dim1: int):
        super().__init__()
        self.dim0 = dim0
        self.dim1 = dim1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(self.dim0 + 1, self.dim1 + 1)

    def extra_repr(self) -> str:
        return f"dim0={self.dim0}, dim1={self.dim1}"


class Scale(nn.Module):
    """Multiplies by a constant: NFNet's ``x * alpha`` and ``x * beta`` (no parameter)."""

    def __init__(self, value: float):
        super().__init__()
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.value

    def extra_repr(self) -> str:
        return f"value={self.value}"


class ScalarGain(nn.Module):
    """Multiplies by one learned scalar: NFNet's skip-init gain, ``nn.Parameter(torch.tensor(0.))``
    (timm ``NormFreeBlock.skipinit_gain``), a 0-d parameter initialised to ``init``."""

    def __init__(self, init: float):
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gain


class StdConv2d(nn.Conv2d):
    """A 2-D convolution whose weight is standardised per output channel at every forward:
    ``w' = (w − mean) / sqrt(var + eps)`` (biased variance over each filter), as timm's
    ``StdConv2d`` computes it with ``F.batch_norm`` on the weight reshaped to (1, out, −1).
    With ``scaled`` (NFNet's ``ScaledStdConv2d``): ``w'`` is also multiplied by a learned
    per-output-channel ``gain`` (initialised to 1) and by ``gamma · fan_in^-½``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        eps: float = 1e-6,
        scaled: bool = False,
        gamma: float = 1.0,
    ):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)
        self.eps = eps
        self.scaled = scaled
        fan_in = (in_channels // groups) * self.kernel_size[0] * self.kernel_size[1]
        self.scale = gamma * fan_in**-0.5
        if scaled:
            self.gain = nn.Parameter(torch.ones(out_channels, 1, 1, 1))

    def standardized_weight(self) -> torch.Tensor:
        gain = (self.gain * self.scale).view(-1) if self.scaled else None
        flat = self.weight.reshape(1, self.out_channels, -1)
        w = nn.functional.batch_norm(flat, None, None, weight=gain, training=True, momentum=0.0, eps=self.eps)
        return w.reshape_as(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.standardized_weight(), self.bias)


class GlobalResponseNorm(nn.Module):
    """ConvNeXt-V2's global response normalisation on (N, C, *spatial), channels first:
    ``g = ‖x‖₂`` over the spatial dims per channel, ``n = g / (mean_C g + eps)``,
    ``out = x + weight · (x · n) + bias`` (timm's ``GlobalResponseNorm`` with
    ``channels_last=False``; its ``weight``/``bias`` are the paper's γ/β, initialised to 0)."""

    def __init__(self, channels: int, spatial_rank: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.spatial_rank = spatial_rank
        self.weight = nn.Parameter(torch.zeros(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spatial = tuple(range(2, 2 + self.spatial_rank))
        view = (1, -1) + (1,) * self.spatial_rank
        g = x.norm(p=2, dim=spatial, keepdim=True)
        n = g / (g.mean(dim=1, keepdim=True) + self.eps)
        return x + torch.addcmul(self.bias.view(view), self.weight.view(view), x * n)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps}"


class ClassToken(nn.Module):
    """Prepends a learned token to (N, L, E): torchvision's ``VisionTransformer`` has
    ``self.class_token = nn.Parameter(torch.zeros(1, 1, hidden_dim))``, expands it over the batch
    and concatenates it in front (``torch.cat([batch_class_token, x], dim=1)``)."""

    def __init__(self, features: int):
        super().__init__()
        self.class_token = nn.Parameter(torch.zeros(1, 1, features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)


class PositionEmbedding(nn.Module):
    """Adds a learned (1, L, E) embedding to (N, L, E): torchvision's ``Encoder`` has
    ``self.pos_embedding = nn.Parameter(torch.empty(1, seq_length, hidden_dim).normal_(std=0.02))``
    and computes ``input + self.pos_embedding``."""

    def __init__(self, length: int, features: int):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, length, features).normal_(std=0.02))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pos_embedding


class Select(nn.Module):
    """``x.select(dim + 1, index)``: the slice at ``index`` along a per-sample dim, one rank less
    (torchvision's ViT reads the class token as ``x[:, 0]``); a view."""

    def __init__(self, dim: int, index: int):
        super().__init__()
        self.dim = dim
        self.index = index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.select(self.dim + 1, self.index)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, index={self.index}"


class MatMul(nn.Module):
    """``torch.matmul`` of two per-sample tensors, the batch kept apart: a rank-1 side is a row
    (``a``) or a column (``b``) whose dim is dropped from the result, and the leading dims of the
    samples broadcast right-aligned after the batch (a (N, H, L, E) by a (N, E, F) gives (N, H, L, F),
    where plain ``torch.matmul`` would align N with H)."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        row, column = a.dim() == 2, b.dim() == 2
        if row:
            a = a.unsqueeze(1)
        if column:
            b = b.unsqueeze(-1)
        while a.dim() < b.dim():
            a = a.unsqueeze(1)
        while b.dim() < a.dim():
            b = b.unsqueeze(1)
        out = torch.matmul(a, b)
        if column:
            out = out.squeeze(-1)
        if row:
            out = out.squeeze(-2)
        return out


class ScaledDotProductAttention(nn.Module):
    """``F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale)`` (no mask, no dropout).
    Keys and values of different lengths are refused, as the math backend refuses them (torch 2.13's
    CPU flash kernel does not check)."""

    def __init__(self, causal: bool = False, scale: float | None = None):
        super().__init__()
        self.causal = causal
        self.scale = scale

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        if k.shape[-2] != v.shape[-2]:
            raise ValueError(f"{k.shape[-2]} keys but {v.shape[-2]} values")
        return nn.functional.scaled_dot_product_attention(q, k, v, is_causal=self.causal, scale=self.scale)

    def extra_repr(self) -> str:
        return f"causal={self.causal}, scale={self.scale}"


class SelfAttention(nn.MultiheadAttention):
    """``nn.MultiheadAttention(E, heads, bias=bias, batch_first=True)`` called as self-attention,
    ``mha(x, x, x, need_weights=False)[0]``: a subclass, so its parameters keep their names
    (``in_proj_weight``, ``in_proj_bias``, ``out_proj.weight``, ``out_proj.bias``) and torchvision's
    ViT weights (``self_attention`` of its ``EncoderBlock``) load by name."""

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True):
        super().__init__(embed_dim, num_heads, bias=bias, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        out: torch.Tensor = super().forward(x, x, x, need_weights=False)[0]
        return out
