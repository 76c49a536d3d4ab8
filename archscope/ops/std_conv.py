"""Weight-standardised convolution: ``std_conv2d`` (BiT's StdConv2d, NFNet's ScaledStdConv2d).

A 2-D convolution whose weight is standardised per output channel at every forward pass,
``w' = (w − mean) / √(var + ε)`` with the biased variance over each filter (Qiao et al. 2019,
"Weight Standardization"; timm's ``StdConv2d`` computes it with ``F.batch_norm`` over the weight
reshaped to (1, out, −1), ε = 1e-6). With ``scaled: true`` it is NFNet's ``ScaledStdConv2d``
(Brock et al. 2021): ``w'`` is also multiplied by a learned per-output-channel gain (init 1) and
by ``gamma · fan_in^-½``. Everything else is ``conv2d``'s: the same attributes (plus ``eps``,
``scaled``, ``gamma``), shape rule, receptive field, kernel and backward MACs.
Cost: params = conv2d's (+ ``out`` gains when scaled); MACs = conv2d's (the standardisation
multiplies no weight by an input); ``ops`` = conv2d's bias adds + the standardisation, counted
as fvcore counts the training-mode ``batch_norm`` it is: 4 per weight element, 5 when scaled
(the gain is its affine weight). It runs once per forward pass whatever the batch, so at batch N
the per-sample ``ops`` overstate it N-fold (a few thousand ops per layer: a conv's MACs dwarf it).
Backward saves the input, as conv2d does, and the per-channel mean and inverse std of the
standardisation; the standardised weight (one weight-sized tensor, kept for the input gradient)
is left out of the memory model, which has no weight-sized category: the model is short by the
layer's weight count × 4 bytes in training (measured with MemTracker: 10% of a 2→4→2-channel net
on 8×8, under 2% at batch 8; a weight is small beside a layer's activations).
Peer tools (``counted``), measured on the ``StdConv2d`` module the lowering builds:
  fvcore        conv2d's MACs (0 with `padding: same`/`valid`, as for conv2d) + the batch_norm:
                4 per weight element, 5 when scaled (``norm_flop_counter``, training mode)
  ptflops       0: a subclass of nn.Conv2d (ptflops matches exact module types) and it patches
                no function the forward calls
  thop          0: the same (its hooks are keyed by exact type)
  torchinfo     conv2d's: (weight + bias numel) × output positions, as for any module whose class
                name holds "Conv"; the gain is not named ``weight``, so it is not counted
  flop_counter  2 × conv2d's MACs (``batch_norm`` is not in its table)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from archscope.ops.attrs import Attr, Bool, Float
from archscope.ops.construct import Construct
from archscope.ops.conv import conv_family
from archscope.ops.registry import Attrs, Cost, Count, Counted, Saves, Shape, numel, register

CONV2D = conv_family(2)  # the rules it shares (not registered again: a fresh OpDef of conv2d's family)


def _weights(a: Attrs, inputs: Sequence[Shape]) -> int:
    kernel = a["kernel"] if isinstance(a["kernel"], tuple) else (a["kernel"],) * 2
    groups: int = a["groups"]
    out_channels: int = a["out"]
    return numel(kernel) * (inputs[0][0] // groups) * out_channels


def _standardisation_ops(a: Attrs, inputs: Sequence[Shape]) -> int:
    return (5 if a["scaled"] else 4) * _weights(a, inputs)


def _cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    conv = CONV2D.cost(a, inputs, out)
    gains = a["out"] if a["scaled"] else 0
    return replace(conv, params=conv.params + gains, ops=conv.ops + _standardisation_ops(a, inputs))


def _fvcore(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Count:
    counted = CONV2D.counted
    assert counted is not None  # conv2d declares its peer counts
    return counted.fvcore(a, inputs, out) + _standardisation_ops(a, inputs)


def _zero(a: Attrs, inputs: Sequence[Shape], out: Shape) -> int:
    return 0


def _lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    """conv2d's constructor call, on archscope's ``StdConv2d`` (an ``nn.Conv2d`` subclass), plus its own arguments."""
    conv = CONV2D.module(a, inputs, out)
    return replace(conv, cls="StdConv2d", helper=True).with_kwargs(eps=a["eps"], scaled=a["scaled"], gamma=a["gamma"])


assert CONV2D.counted is not None
register(
    replace(
        CONV2D,
        name="std_conv2d",
        summary="2-D convolution with a weight standardised per output channel (BiT, NFNet's ScaledStdConv2d)",
        attrs=(
            *CONV2D.attrs,
            Attr("eps", Float(0.0, above_min=True), 1e-6, "added to each filter's variance"),
            Attr(
                "scaled", Bool(), False, "NFNet's ScaledStdConv2d: a learned gain per output channel, × gamma/√fan_in"
            ),
            Attr("gamma", Float(), 1.0, "with `scaled`: the activation's gain γ (NFNet: 1.7015 after a GELU…)"),
        ),
        cost=_cost,
        module=_lower,
        saves=Saves(inputs=(0,), per_channel=2),
        counted=Counted(
            fvcore=_fvcore,
            ptflops=_zero,
            thop=_zero,
            torchinfo=CONV2D.counted.torchinfo,
            flop_counter=CONV2D.counted.flop_counter,
        ),
    )
)
