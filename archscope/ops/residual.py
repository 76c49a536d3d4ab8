"""Pieces of modern residual blocks (ConvNeXt, EfficientNet): layer scale and stochastic depth.

layer_scale (Touvron et al. 2021, "Going deeper with image transformers", CaiT; ConvNeXt): a
learned per-channel scale γ of shape (C, 1, …, 1), initialised to ``init``. Params = C;
``ops`` = 1 multiply per element; no MACs (a scale, not a weight summed over inputs).
Backward saves the input (for γ's gradient).

drop_path (stochastic depth, Huang et al. 2016): drops whole samples of a residual branch with
probability ``p`` while training; the identity at inference, so it costs zero on purpose, as
``dropout`` does: no params, no MACs, no ops.
Backward MACs: declared zero (elementwise scaling and masking); torch.utils.flop_counter
counts none of it.
Peer tools (``counted``): zero in every tool (layer scale is a ``*`` in an archscope module, and
its γ is not named ``weight``, so torchinfo does not count it either).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .counting import NOTHING
from .field import same
from .registry import (
    Attr,
    Attrs,
    Construct,
    Cost,
    Float,
    Found,
    Importer,
    MemoryFacts,
    OpDef,
    Saves,
    Shape,
    Unsupported,
    helper_module,
    imports,
    kernel_is,
    no_backward_macs,
    numel,
    register,
)


def _same(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    return inputs[0]


def _layer_scale_cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost(params=out[0], ops=numel(out))


def _layer_scale_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return helper_module("LayerScale", out[0], len(out) - 1, a["init"])


def _free(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost()  # zero on purpose: the identity at inference


def _drop_path_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return helper_module("StochasticDepth", a["p"])


def _layer_scale_import(found: Found) -> dict[str, Any]:
    """archscope's ``LayerScale``, or a product of a tensor and a learned (C, 1, …, 1) or (C,)
    weight in a ``forward`` (``self.gamma * x``); the spec's ``init`` is the weight's first value
    at import (the weights themselves travel with ``--verify``)."""
    if found.obj is not None:
        return {"init": float(found.obj.layer_scale.flatten()[0])}
    weights = [a for a in (*found.args, *found.kwargs.values()) if hasattr(a, "shape") and hasattr(a, "name")]
    if len(found.inputs) != 1 or len(weights) != 1:
        raise Unsupported("not a product of one tensor and one learned weight")
    shape, x = tuple(weights[0].shape), found.inputs[0]
    if shape not in ((x[0],) + (1,) * (len(x) - 1),):
        raise Unsupported(f"a weight of shape {shape} (a per-channel layer scale is ({x[0]}, 1, …))")
    return {}


def _onnx_layer_scale(found: Found) -> dict[str, Any]:
    """ONNX Mul of a tensor and a learned initializer of shape (C, 1, …, 1) or (C,) for a
    (C,) input (``init`` stays the default: the values are weights, not architecture)."""
    weights = list(found.weights.values())
    if len(found.inputs) != 1 or len(weights) != 1:
        raise Unsupported("not a product of one tensor and one learned weight")
    x, shape = found.inputs[0], weights[0]
    if shape not in ((x[0],) + (1,) * (len(x) - 1), (1, x[0]) + (1,) * (len(x) - 1)):
        raise Unsupported(f"a weight of shape {shape} (a per-channel layer scale is ({x[0]}, 1, …))")
    return {}


register(
    OpDef(
        name="layer_scale",
        summary="learned per-channel scale γ·x (ConvNeXt, CaiT)",
        attrs=(Attr("init", Float(0.0), 1e-6, "initial value of every γ"),),
        shape=_same,
        cost=_layer_scale_cost,
        module=_layer_scale_lower,
        overwritable_output=True,
        saves=Saves(inputs=(0,)),
        backward=no_backward_macs,
        receptive_field=same,
        kernel=kernel_is("elementwise"),
        counted=NOTHING,
        imports=(
            *imports("torch", "archscope:LayerScale", "operator.mul", "Tensor.mul", "Tensor.mul_", "torch.mul")(
                _layer_scale_import
            ),
            Importer("onnx", "Mul", _onnx_layer_scale),
        ),
    ),
    OpDef(
        name="drop_path",
        summary="stochastic depth: drops whole samples while training (the identity at inference: zero cost)",
        attrs=(Attr("p", Float(0.0, 1.0), 0.0, "probability of dropping a sample"),),
        shape=_same,
        cost=_free,
        module=_drop_path_lower,
        # approximation: training keeps a mask of one float per sample, negligible and left out
        saves=Saves(),
        memory=MemoryFacts(view=lambda a, training: not training or a["p"] == 0.0),  # then the identity
        backward=no_backward_macs,
        receptive_field=same,
        kernel=kernel_is("view"),
        counted=NOTHING,
        imports=imports("torch", "archscope:StochasticDepth")(lambda found: {"p": found.obj.p}),
    ),
)
