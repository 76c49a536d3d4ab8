"""Pieces of modern residual blocks (ConvNeXt, EfficientNet, NFNet): layer scale, constant and
learned scalar scales, and stochastic depth.

layer_scale (Touvron et al. 2021, "Going deeper with image transformers", CaiT; ConvNeXt): a
learned per-channel scale γ of shape (C, 1, …, 1), initialised to ``init``. Params = C;
``ops`` = 1 multiply per element; no MACs (a scale, not a weight summed over inputs).
Backward saves the input (for γ's gradient).

scale (NFNet's constant scaling, Brock et al. 2021: ``x * alpha``, ``x * beta``, activations
``* 1.7015``): multiplies by the constant ``value``; no params, ``ops`` = 1 multiply per element.
Backward saves nothing (the gradient is the output's gradient times the constant).
scalar_gain (NFNet's skip-init gain, De & Smith 2020; timm ``NormFreeBlock.skipinit_gain``):
multiplies by one learned scalar, a 0-d parameter initialised to ``init``. Params = 1; ``ops`` = 1
multiply per element. Backward keeps the input only while the gain trains (for its gradient:
autograd's ``mul`` saves the other factor of each operand that requires grad); its backward makes
grad · x, of the output's size, before summing it into the gain's gradient (measured with MemTracker).

drop_path (stochastic depth, Huang et al. 2016): drops whole samples of a residual branch with
probability ``p`` while training; the identity at inference, so it costs zero on purpose, as
``dropout`` does: no params, no MACs, no ops.
Backward MACs: declared zero (elementwise scaling and masking); torch.utils.flop_counter
counts none of it.
Peer tools (``counted``): zero in every tool, measured (layer scale, scale and scalar gain are a
``*`` in an archscope module, which no tool counts, and their parameters are not named ``weight``,
so torchinfo does not count them either).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archscope.ops.attrs import Attr, Float
from archscope.ops.construct import Construct, helper_module
from archscope.ops.counting import NOTHING
from archscope.ops.import_rules import Found, Importer, Unsupported, imports
from archscope.ops.receptive_field import same
from archscope.ops.registry import (
    Attrs,
    Cost,
    MemoryFacts,
    OpDef,
    Saves,
    Shape,
    kernel_is,
    no_backward_macs,
    numel,
    register,
)

ANY_NUMBER = Float(float("-inf"))


def _same(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    return inputs[0]


def _layer_scale_cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost(params=out[0], ops=numel(out))


def _layer_scale_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return helper_module("LayerScale", out[0], len(out) - 1, a["init"])


def _scale_cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost(ops=numel(out))


def _scalar_gain_cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost(params=1, ops=numel(out))


def _free(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost()  # zero on purpose: the identity at inference


def _drop_path_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return helper_module("StochasticDepth", a["p"])


def _scale_import(found: Found) -> dict[str, Any]:
    """``x * 1.7015`` or ``1.7015 * x``: one tensor (its index 0 among the inputs) and one number."""
    if len(found.inputs) != 1 or len(found.args) != 2:
        raise Unsupported("not a tensor times a number")
    first, second = found.args
    value = second if _is_tensor(first) else first if _is_tensor(second) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Unsupported("not a tensor times a number")
    return {"value": float(value)}


def _is_tensor(arg: Any) -> bool:
    return type(arg) is int and arg == 0  # the one tensor input, by its index


def _divide_import(found: Found) -> dict[str, Any]:
    """``x / 2``: a scale by 1/2."""
    if len(found.inputs) != 1 or len(found.args) != 2 or found.args[0] != 0 or isinstance(found.args[1], bool):
        raise Unsupported("not a tensor divided by a number")
    if not isinstance(found.args[1], (int, float)) or found.args[1] == 0:
        raise Unsupported("not a tensor divided by a non-zero number")
    return {"value": 1.0 / found.args[1]}


def _gain_import(found: Found) -> dict[str, Any]:
    """``x * self.gain`` with a learned one-element gain (NFNet's skip-init)."""
    weights = found.learned()
    if len(found.inputs) != 1 or len(weights) != 1 or numel(weights[0].shape) != 1:
        raise Unsupported("not a tensor times a one-element learned gain")
    return {}


def _layer_scale_import(found: Found) -> dict[str, Any]:
    """archscope's ``LayerScale``, or a product of a tensor and a learned (C, 1, …, 1) or (C,)
    weight in a ``forward`` (``self.gamma * x``); the spec's ``init`` is the weight's first value
    at import (the weights themselves travel with ``--verify``)."""
    if found.obj is not None:
        return {"init": float(found.obj.layer_scale.detach().flatten()[0])}
    weights = found.learned()
    if len(found.inputs) != 1 or len(weights) != 1:
        raise Unsupported("not a product of one tensor and one learned weight")
    shape, x = tuple(weights[0].shape), found.inputs[0]
    if len(shape) == len(x) + 1 and shape[0] == 1:  # (1, C, 1, 1): a batch of one, for broadcasting
        shape = shape[1:]
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
        name="scale",
        summary="multiply by a constant (NFNet's `x * alpha`, `x * beta`): no params",
        attrs=(Attr("value", ANY_NUMBER, doc="the constant factor"),),
        shape=_same,
        cost=_scale_cost,
        module=lambda a, inputs, out: helper_module("Scale", a["value"]),
        overwritable_output=True,
        saves=Saves(),  # a product with a constant: backward multiplies the gradient by it
        backward=no_backward_macs,
        receptive_field=same,
        kernel=kernel_is("elementwise"),
        counted=NOTHING,
        imports=(
            *imports("torch", "operator.mul", "Tensor.mul", "torch.mul")(_scale_import),
            *imports("torch", "operator.truediv", "Tensor.div")(_divide_import),
        ),
    ),
    OpDef(
        name="scalar_gain",
        summary="multiply by one learned scalar (NFNet's skip-init gain): 1 param",
        attrs=(Attr("init", ANY_NUMBER, 0.0, "initial value of the gain (skip-init: 0)"),),
        shape=_same,
        cost=_scalar_gain_cost,
        module=lambda a, inputs, out: helper_module("ScalarGain", a["init"]),
        overwritable_output=True,
        saves=Saves(inputs_for_weights=(0,)),  # for the gain's gradient
        memory=MemoryFacts(backward_temporaries=1),  # the gain's gradient sums grad · x, made first
        backward=no_backward_macs,
        receptive_field=same,
        kernel=kernel_is("elementwise"),
        counted=NOTHING,
        imports=imports("torch", "operator.mul", "Tensor.mul", "torch.mul")(_gain_import),
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
