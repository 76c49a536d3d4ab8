"""Elementwise activations and other shape-preserving ops.

Cost: no params, no MACs; ``ops`` = 1 per output element for every activation. ``dropout``
and ``identity`` are declared zero-cost on purpose (dropout is the identity at inference).
Every op here accepts any rank. ``relu``, ``relu6`` and ``leaky_relu`` may run in place, as
torchvision's do: their backward needs their output (in place) or their input (out of place).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..diagnostics import ShapeError
from .registry import Attr, Attrs, Cost, Float, Int, OpDef, Saves, Shape, fmt_shape, numel, register


def _same(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    return inputs[0]


def _per_element(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost(ops=numel(out))


def _free(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost()


SAVES_INPUT = Saves(inputs=(0,))
SAVES_OUTPUT = Saves(output=True)


def _activation(
    name: str,
    module: str,
    summary: str,
    saves: Saves,
    attrs: tuple[Attr, ...] = (),
    kwargs: Callable[[Attrs], dict[str, Any]] = lambda a: {},
    inplace: bool = False,
) -> OpDef:
    def lower(a: Attrs, inputs: Sequence[Shape], out: Shape):
        from torch import nn

        return getattr(nn, module)(**kwargs(a))

    return OpDef(
        name=name,
        summary=summary,
        attrs=attrs,
        shape=_same,
        cost=_per_element,
        lower=lower,
        inplace=inplace,
        saves=saves,
    )


def _softmax_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    x = inputs[0]
    if a["dim"] >= len(x):
        raise ShapeError(
            "E107",
            f"`dim` {a['dim']} does not exist in a rank-{len(x)} input",
            expected=f"dim < {len(x)}",
            found=fmt_shape(x),
        )
    return x


def _softmax_lower(a: Attrs, inputs: Sequence[Shape], out: Shape):
    from torch import nn

    return nn.Softmax(dim=a["dim"] + 1)  # our dims exclude the batch


def _dropout_lower(a: Attrs, inputs: Sequence[Shape], out: Shape):
    from torch import nn

    return nn.Dropout(p=a["p"])


def _identity_lower(a: Attrs, inputs: Sequence[Shape], out: Shape):
    from torch import nn

    return nn.Identity()


register(
    _activation("relu", "ReLU", "max(x, 0)", SAVES_OUTPUT, inplace=True),
    # relu6 and leaky_relu save their input out of place, their output (the same size) in place
    _activation("relu6", "ReLU6", "min(max(x, 0), 6) (MobileNet)", SAVES_INPUT, inplace=True),
    _activation(
        "leaky_relu",
        "LeakyReLU",
        "x if x > 0 else slope·x",
        SAVES_INPUT,
        (Attr("negative_slope", Float(), 0.01),),
        lambda a: {"negative_slope": a["negative_slope"]},
        inplace=True,
    ),
    _activation("tanh", "Tanh", "hyperbolic tangent (LeNet-5)", SAVES_OUTPUT),
    _activation("sigmoid", "Sigmoid", "logistic sigmoid", SAVES_OUTPUT),
    _activation("silu", "SiLU", "x·sigmoid(x), a.k.a. swish (EfficientNet)", SAVES_INPUT),
    _activation("hardswish", "Hardswish", "x·relu6(x + 3)/6 (MobileNet v3)", SAVES_INPUT),
    _activation("hardsigmoid", "Hardsigmoid", "relu6(x + 3)/6 (MobileNet v3)", SAVES_INPUT),
    _activation("gelu", "GELU", "Gaussian error linear unit", SAVES_INPUT),
    OpDef(
        name="softmax",
        summary="softmax over a dimension (0 = channels/features)",
        attrs=(Attr("dim", Int(0, 8), 0, "dimension, not counting the batch"),),
        shape=_softmax_shape,
        cost=_per_element,
        lower=_softmax_lower,
        saves=SAVES_OUTPUT,
    ),
    OpDef(
        name="dropout",
        summary="dropout (the identity at inference: zero cost)",
        attrs=(Attr("p", Float(0.0, 1.0), 0.5),),
        shape=_same,
        cost=_free,
        lower=_dropout_lower,
        saves=Saves(like_output=(1,)),  # training: the bool mask
    ),
    OpDef(
        name="identity",
        summary="passes its input through (zero cost)",
        attrs=(),
        shape=_same,
        cost=_free,
        lower=_identity_lower,
        saves=Saves(),
    ),
)
