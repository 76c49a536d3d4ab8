"""Global response normalisation (``grn``): ConvNeXt-V2's per-channel normalisation by the norm of
each channel over every position.

grn (Woo et al. 2023, "ConvNeXt V2", Global Response Normalization), channels first on (C, *spatial):
``g_c = ‖x_c‖₂`` over the positions, ``n_c = g_c / (mean over channels of g + ε)``,
``out = γ·(x·n) + β + x``, as timm's ``GlobalResponseNorm(channels_last=False)`` computes it (its
``weight``/``bias`` are γ/β, initialised to 0: the identity at first). Params 2·C. ``ops`` ≈ 6
per element (x² and its sum, x·n, γ·(x·n) + β, + x; the per-channel sqrt, mean and division are
left out). Receptive field global (each channel's norm reads every position). Backward saves the
input and x·n (one float32 tensor of its size; the per-channel norms are counted as 2 per
channel). At inference x·n and γ·(x·n) + β are alive together before the residual sum: one
float32 tensor of the output's size beyond it; its backward, one more (both measured with
MemTracker). Peer tools: torchinfo 2·C (its ``weight`` and ``bias`` × batch); fvcore, ptflops, thop and flop_counter 0 (no rule for ``norm``, ``mean``,
``div``, ``addcmul`` or the module), measured.
"""

from __future__ import annotations

from collections.abc import Sequence

from archscope.diagnostics import ShapeError
from archscope.ops.attrs import Attr, Float
from archscope.ops.construct import Construct, helper_module
from archscope.ops.counting import zero
from archscope.ops.receptive_field import everything
from archscope.ops.registry import (
    Attrs,
    Cost,
    Counted,
    MemoryFacts,
    OpDef,
    Saves,
    Shape,
    fmt_shape,
    kernel_is,
    no_backward_macs,
    numel,
    register,
)
from archscope.ops.window import LAYOUT

SPATIAL_RANKS = (1, 2, 3)  # (C, L), (C, H, W), (C, D, H, W), as instance norm


def _grn_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    x = inputs[0]
    if len(x) - 1 not in SPATIAL_RANKS:
        raise ShapeError(
            "E106",
            "`grn` needs a feature map (C, L), (C, H, W) or (C, D, H, W)",
            expected=" or ".join(LAYOUT[r] for r in SPATIAL_RANKS),
            found=fmt_shape(x),
        )
    return x


def _grn_cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost(params=2 * out[0], ops=6 * numel(out))


def _grn_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return helper_module("GlobalResponseNorm", out[0], len(out) - 1, eps=a["eps"])


register(
    OpDef(
        name="grn",
        summary="global response normalisation, channels first (ConvNeXt V2): x + γ·(x·n) + β",
        attrs=(Attr("eps", Float(0.0), 1e-6, "added to the mean of the channel norms"),),
        shape=_grn_shape,
        cost=_grn_cost,
        module=_grn_lower,
        overwritable_output=True,
        receptive_field=everything,  # each channel's norm is over every position
        kernel=kernel_is("norm"),
        saves=Saves(inputs=(0,), per_channel=2, like_output=(4,)),  # x, the norms and n, x·n
        # x·n beside γ·(x·n) + β at inference; one more output-sized gradient term in backward
        memory=MemoryFacts(transient=lambda a: 4, backward_temporaries=1),
        backward=no_backward_macs,
        counted=Counted(
            fvcore=zero,
            ptflops=zero,
            thop=zero,
            torchinfo=lambda a, inputs, out: 2 * out[0],
            flop_counter=zero,
        ),
    ),
)
