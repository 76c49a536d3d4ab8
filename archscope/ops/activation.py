"""Elementwise activations and other shape-preserving ops.

Cost: no params, no MACs; ``ops`` = 1 per output element for every activation. ``dropout``
and ``identity`` are declared zero-cost on purpose (dropout is the identity at inference).
Every op here accepts any rank. ``relu``, ``relu6`` and ``leaky_relu`` may run in place, as
torchvision's do: their backward needs their output (in place) or their input (out of place).
``prelu`` has 1 or C learned slopes (params); ``hardtanh`` may run in place as ``relu6`` (its
special case) does. What backward saves is read off the autograd node PyTorch 2 builds (its
``_saved_*`` fields, generated from ``tools/autograd/derivatives.yaml``): elu, mish, softplus,
hardtanh and prelu keep their input (``_saved_self``; prelu also its weight, a parameter).
Backward MACs: declared zero for every op here (their backward is elementwise, as their
forward; prelu's slope gradient is a sum); torch.utils.flop_counter counts none of it.
Peer tools (``counted``, per element): fvcore, torchinfo and flop_counter count no activation
(torchinfo counts prelu's slopes: its parameters × batch). ptflops counts a module hook (relu,
relu6, leaky_relu, elu, gelu, prelu: 1) plus the ``torch.nn.functional`` calls it patches
(F.relu, F.elu, F.gelu, F.prelu, F.silu, F.softmax: 1 more), and nn.ReLU calls F.relu: so relu,
elu, gelu and prelu count 2, relu6 and leaky_relu 1 (F.hardtanh and F.leaky_relu are not
patched), silu and softmax 1, the others 0. thop: prelu 1 (``count_prelu`` in eval mode),
softmax 3·n − 1 per row of n values (exp, sum, divide: ``count_softmax``), the others 0 (relu,
relu6, leaky_relu and dropout have rules that count 0; the rest no rule).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from archscope.diagnostics import ShapeError
from archscope.ops.attrs import Attr, Float, Int
from archscope.ops.construct import Construct
from archscope.ops.construct import module as nn_module
from archscope.ops.counting import NOTHING, only, per_output
from archscope.ops.import_rules import Found, Importer, Unsupported, imports, same_attrs
from archscope.ops.receptive_field import GLOBAL, SAME, same
from archscope.ops.registry import (
    Attrs,
    Cost,
    Count,
    MemoryFacts,
    OpDef,
    Saves,
    Shape,
    always,
    fmt_shape,
    kernel_is,
    no_backward_macs,
    numel,
    register,
)


def _same(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    return inputs[0]


def _per_element(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost(ops=numel(out))


def _free(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost()


SAVES_INPUT = Saves(inputs=(0,))
SAVES_OUTPUT = Saves(output=True)
# in place, `hardtanh_` (and relu6, which calls it) keeps a copy of its input; measured with
# torch.autograd.graph.saved_tensors_hooks: the saved tensor is a new storage
SAVES_INPUT_COPIED_IN_PLACE = Saves(inputs=(0,), copies_in_place=True)


def _activation(
    name: str,
    module: str,
    summary: str,
    saves: Saves,
    attrs: tuple[Attr, ...] = (),
    kwargs: Callable[[Attrs], dict[str, Any]] = lambda a: {},
    inplace: bool = False,
    ptflops: int = 0,
    calls: tuple[str, ...] = (),
    check: Callable[[Found], None] | None = None,
    onnx: tuple[Importer, ...] = (),
) -> OpDef:
    """``ptflops``: what ptflops counts per element (see the module docstring); no other tool counts it."""

    def lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
        return nn_module(module, **kwargs(a))

    return OpDef(
        name=name,
        summary=summary,
        attrs=attrs,
        shape=_same,
        cost=_per_element,
        module=lower,
        inplace=inplace,
        saves=saves,
        backward=no_backward_macs,
        receptive_field=same,
        kernel=kernel_is("elementwise"),
        counted=only(ptflops=per_output(ptflops)),
        imports=(*imports("torch", f"nn.{module}", *calls)(same_attrs(*attrs, check=check)), *onnx),
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


def _softmax_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return nn_module("Softmax", dim=a["dim"] + 1)  # our dims exclude the batch


def _dropout_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return nn_module("Dropout", p=a["p"])


def _identity_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return nn_module("Identity")


def _prelu_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    x = inputs[0]
    if a["num_parameters"] not in (1, x[0]):
        raise ShapeError(
            "E107",
            f"`num_parameters` must be 1 or the {x[0]} channels (as in PyTorch)",
            expected=f"1 or {x[0]}",
            found=a["num_parameters"],
        )
    return x


def _prelu_cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost(params=a["num_parameters"], ops=numel(out))


PRELU_COUNTED = only(ptflops=per_output(2), thop=per_output(1), torchinfo=lambda a, inputs, out: a["num_parameters"])


def _softmax_thop(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Count:
    n = out[a["dim"]]
    return numel(out) // n * (3 * n - 1)


def _prelu_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    return nn_module("PReLU", a["num_parameters"], init=a["init"])


def _hardtanh_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    if not a["min_val"] < a["max_val"]:
        raise ShapeError(
            "E107",
            "`min_val` must be below `max_val`",
            expected=f"min_val < {a['max_val']:g}",
            found=a["min_val"],
        )
    return inputs[0]


def _hardtanh_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    if not a["min_val"] < a["max_val"]:  # nn.Hardtanh would assert
        raise ValueError("hardtanh needs min_val < max_val")
    return nn_module("Hardtanh", a["min_val"], a["max_val"])


def _exact_gelu(found: Found) -> None:
    approximate = getattr(found.obj, "approximate", None) if found.obj is not None else found.kwargs.get("approximate")
    if approximate not in (None, "none"):
        raise Unsupported(f"approximate={approximate!r} (archscope's gelu is the exact one)")


def _prelu_import(found: Found) -> dict[str, Any]:
    n = found.obj.num_parameters
    return {"num_parameters": n} if n != 1 else {}


def _softmax_import(found: Found) -> dict[str, Any]:
    dim = found.obj.dim if found.obj is not None else found.arg(1, "dim", None)
    if dim is None:
        raise Unsupported("no `dim` (PyTorch's implicit choice is deprecated)")
    rank = len(found.inputs[0]) + 1
    dim = dim + rank if dim < 0 else dim
    if dim == 0:
        raise Unsupported("softmax over the batch")
    return {"dim": dim - 1}


def _one_tensor(found: Found) -> dict[str, Any]:
    """``torch.cat([x])``: a copy of one tensor (DenseNet's first layer of a block)."""
    if len(found.inputs) != 1:
        raise Unsupported("more than one tensor")
    return {}


def _dropout_import(found: Found) -> dict[str, Any]:
    p = found.obj.p if found.obj is not None else found.arg(1, "p", 0.5)
    return {"p": p}


def _onnx_plain(found: Found) -> dict[str, Any]:
    """An ONNX activation without attributes (Relu, Sigmoid, Tanh, HardSwish, Mish…)."""
    return {}


def _onnx_alpha(name: str, default: float) -> Callable[[Found], dict[str, Any]]:
    """LeakyRelu's or Elu's ``alpha`` as the op's attribute ``name`` (the ONNX defaults are
    PyTorch's: 0.01 and 1.0)."""

    def rule(found: Found) -> dict[str, Any]:
        alpha = _f32(found.obj.get("alpha", default))
        return {name: alpha} if alpha != default else {}

    return rule


def _f32(v: float) -> float:
    """An ONNX float attribute (stored as float32) as the decimal it was written as: 0.2 not 0.20000000298."""
    return float(f"{v:.7g}")


def _onnx_hardsigmoid(found: Found) -> dict[str, Any]:
    """ONNX HardSigmoid is max(0, min(1, alpha·x + beta)): PyTorch's with alpha = 1/6, beta = 0.5."""
    alpha, beta = found.obj.get("alpha", 0.2), found.obj.get("beta", 0.5)
    if abs(alpha - 1 / 6) > 1e-6 or abs(beta - 0.5) > 1e-6:
        raise Unsupported(f"alpha={alpha:g}, beta={beta:g} (archscope's hardsigmoid is relu6(x + 3)/6)")
    return {}


def _clip_bounds(found: Found) -> tuple[float | None, float | None]:
    """ONNX Clip's bounds: inputs 1 and 2 (opset 11 on), attributes ``min``/``max`` before; None
    where absent. A bound computed from data has no archscope form."""
    if found.kwargs.get("opset", 11) < 11:
        return found.obj.get("min"), found.obj.get("max")
    if len(found.inputs) != 1:
        raise Unsupported("a bound that is a tensor of the network")
    low, high = (found.args[i] if i < len(found.args) else None for i in (1, 2))
    return low, high


def _onnx_clip(low: float | None, high: float | None) -> Callable[[Found], dict[str, Any]]:
    """Clip with these bounds (relu6: 0 and 6)."""

    def rule(found: Found) -> dict[str, Any]:
        lo, hi = _clip_bounds(found)
        if lo != low or hi != high:
            raise Unsupported(f"bounds {lo}, {hi}")
        return {}

    return rule


def _onnx_hardtanh(found: Found) -> dict[str, Any]:
    lo, hi = _clip_bounds(found)
    if lo is None or hi is None:
        raise Unsupported("an open bound")
    out: dict[str, Any] = {}
    if lo != -1.0:
        out["min_val"] = _f32(lo)
    if hi != 1.0:
        out["max_val"] = _f32(hi)
    return out


def _onnx_gelu(found: Found) -> dict[str, Any]:
    """ONNX Gelu (opset 20): the exact one only."""
    if found.obj.get("approximate", "none") != "none":
        raise Unsupported(f"approximate={found.obj['approximate']!r} (archscope's gelu is the exact one)")
    return {}


def _close(v: Any, target: float) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v - target) < 1e-4 * max(1.0, abs(target))


def _one(values: tuple[Any, ...]) -> Any:
    """The one constant among a node's inputs (None when there is not exactly one)."""
    consts = [v[0] if isinstance(v, list) and len(v) == 1 else v for v in values if isinstance(v, (float, list))]
    return consts[0] if len(consts) == 1 else None


def _onnx_gelu_erf(found: Found) -> dict[str, Any]:
    """``Div>Erf>Add>Mul>Mul``, the TorchScript exporter's exact GELU: x/√2, erf, + 1, × x, × 0.5."""
    div, _, add, mul, half = found.args
    if len(found.inputs) != 1 or 0 not in mul or div[0] != 0:
        raise Unsupported("the product is not with the input of the division")
    if not (_close(_one(div[1:]), 2**0.5) and _close(_one(add), 1.0) and _close(_one(half), 0.5)):
        raise Unsupported("constants other than √2, 1 and 0.5")
    return {}


def _self_gated(found: Found) -> dict[str, Any]:
    """``Sigmoid>Mul`` (silu) and ``Softplus>Tanh>Mul`` (mish): x times a function of x itself."""
    if len(found.inputs) != 1 or 0 not in found.args[-1]:
        raise Unsupported("the product is with another tensor than the gate's input (a sigmoid, then a mul)")
    return {}


def _onnx_prelu(found: Found) -> dict[str, Any]:
    """ONNX PRelu whose slope is an initializer of 1 or C elements, broadcast over (C, 1, …)."""
    slope = found.weights.get(1)
    if slope is None:
        raise Unsupported("a slope that is not an initializer")
    n = numel(slope)
    if n != 1 and n != found.inputs[0][0]:
        raise Unsupported(f"a slope of shape {slope}")
    return {"num_parameters": n} if n != 1 else {}


def _onnx_softmax(found: Found) -> dict[str, Any]:
    """ONNX Softmax over ``axis`` (opset 13 on: one axis, default -1; before: the flattened
    dims from ``axis`` on, default 1: the same only for the last axis)."""
    rank = len(found.inputs[0]) + 1
    old = found.kwargs.get("opset", 13) < 13
    axis = found.obj.get("axis", 1 if old else -1)
    axis = axis + rank if axis < 0 else axis
    if old and axis != rank - 1:
        raise Unsupported(f"opset < 13 softmax from axis {axis} of a rank-{rank} tensor (several axes)")
    if axis == 0:
        raise Unsupported("softmax over the batch")
    return {"dim": axis - 1}


register(
    _activation(
        "relu",
        "ReLU",
        "max(x, 0)",
        SAVES_OUTPUT,
        inplace=True,
        ptflops=2,
        calls=("F.relu", "F.relu_", "torch.relu", "torch.relu_", "Tensor.relu", "Tensor.relu_"),
        onnx=(Importer("onnx", "Relu", _onnx_plain), Importer("onnx", "Clip", _onnx_clip(0.0, None))),
    ),
    # relu6 and leaky_relu save their input out of place; in place leaky_relu keeps its output
    # (the same tensor) and relu6 a copy of its input
    _activation(
        "relu6",
        "ReLU6",
        "min(max(x, 0), 6) (MobileNet)",
        SAVES_INPUT_COPIED_IN_PLACE,
        inplace=True,
        ptflops=1,
        calls=("F.relu6",),
        onnx=(Importer("onnx", "Clip", _onnx_clip(0.0, 6.0)),),
    ),
    _activation(
        "leaky_relu",
        "LeakyReLU",
        "x if x > 0 else slope·x",
        SAVES_INPUT,
        (Attr("negative_slope", Float(), 0.01),),
        lambda a: {"negative_slope": a["negative_slope"]},
        inplace=True,
        ptflops=1,
        calls=("F.leaky_relu", "F.leaky_relu_"),
        onnx=(Importer("onnx", "LeakyRelu", _onnx_alpha("negative_slope", 0.01)),),
    ),
    _activation(
        "tanh",
        "Tanh",
        "hyperbolic tangent (LeNet-5)",
        SAVES_OUTPUT,
        calls=("torch.tanh", "F.tanh", "Tensor.tanh"),
        onnx=(Importer("onnx", "Tanh", _onnx_plain),),
    ),
    _activation(
        "sigmoid",
        "Sigmoid",
        "logistic sigmoid",
        SAVES_OUTPUT,
        calls=("torch.sigmoid", "F.sigmoid", "Tensor.sigmoid", "Tensor.sigmoid_"),
        onnx=(Importer("onnx", "Sigmoid", _onnx_plain),),
    ),
    _activation(
        "silu",
        "SiLU",
        "x·sigmoid(x), a.k.a. swish (EfficientNet)",
        SAVES_INPUT,
        ptflops=1,
        calls=("F.silu",),
        onnx=(Importer("onnx", "Sigmoid>Mul", _self_gated),),
    ),
    _activation(
        "hardswish",
        "Hardswish",
        "x·relu6(x + 3)/6 (MobileNet v3)",
        SAVES_INPUT,
        calls=("F.hardswish",),
        onnx=(Importer("onnx", "HardSwish", _onnx_plain),),
    ),
    _activation(
        "hardsigmoid",
        "Hardsigmoid",
        "relu6(x + 3)/6 (MobileNet v3)",
        SAVES_INPUT,
        calls=("F.hardsigmoid",),
        onnx=(Importer("onnx", "HardSigmoid", _onnx_hardsigmoid),),
    ),
    _activation(
        "gelu",
        "GELU",
        "Gaussian error linear unit",
        SAVES_INPUT,
        ptflops=2,
        calls=("F.gelu",),
        check=_exact_gelu,
        onnx=(Importer("onnx", "Gelu", _onnx_gelu), Importer("onnx", "Div>Erf>Add>Mul>Mul", _onnx_gelu_erf)),
    ),
    _activation(
        "elu",
        "ELU",
        "x if x > 0 else alpha·(exp(x) − 1)",
        SAVES_INPUT,
        (Attr("alpha", Float(), 1.0),),
        lambda a: {"alpha": a["alpha"]},
        ptflops=2,
        calls=("F.elu",),
        onnx=(Importer("onnx", "Elu", _onnx_alpha("alpha", 1.0)),),
    ),
    _activation(
        "mish",
        "Mish",
        "x·tanh(softplus(x)) (YOLOv4)",
        SAVES_INPUT,
        calls=("F.mish",),
        onnx=(Importer("onnx", "Mish", _onnx_plain), Importer("onnx", "Softplus>Tanh>Mul", _self_gated)),
    ),
    _activation(
        "softplus",
        "Softplus",
        "log(1 + exp(beta·x))/beta, linear above `threshold`",
        SAVES_INPUT,
        (Attr("beta", Float(), 1.0), Attr("threshold", Float(), 20.0)),
        lambda a: {"beta": a["beta"], "threshold": a["threshold"]},
        calls=("F.softplus",),
        # ONNX Softplus is log(1 + exp(x)): beta 1, no threshold (PyTorch's 20 changes nothing in float32)
        onnx=(Importer("onnx", "Softplus", _onnx_plain),),
    ),
    OpDef(
        name="prelu",
        summary="x if x > 0 else a·x, with 1 or C learned slopes a",
        attrs=(
            Attr("num_parameters", Int(1), 1, "1 (one slope) or C (one per channel)"),
            Attr("init", Float(), 0.25, "initial slope"),
        ),
        shape=_prelu_shape,
        cost=_prelu_cost,
        module=_prelu_lower,
        saves=SAVES_INPUT,
        memory=MemoryFacts(backward_temporaries=1),  # its backward computes the slopes' gradient per element first
        backward=no_backward_macs,
        receptive_field=same,
        kernel=kernel_is("elementwise"),
        counted=PRELU_COUNTED,
        imports=(*imports("torch", "nn.PReLU")(_prelu_import), Importer("onnx", "PRelu", _onnx_prelu)),
    ),
    OpDef(
        name="hardtanh",
        summary="clamp(x, min_val, max_val)",
        attrs=(Attr("min_val", Float(-1e6), -1.0), Attr("max_val", Float(-1e6), 1.0)),
        shape=_hardtanh_shape,
        cost=_per_element,
        module=_hardtanh_lower,
        inplace=True,
        receptive_field=same,
        saves=SAVES_INPUT_COPIED_IN_PLACE,  # in place (`hardtanh_`), a copy of its input
        kernel=kernel_is("elementwise"),
        backward=no_backward_macs,
        counted=NOTHING,  # nn.Hardtanh: no ptflops or thop rule, F.hardtanh not patched
        imports=(
            *imports("torch", "nn.Hardtanh", "F.hardtanh")(
                same_attrs(Attr("min_val", Float(-1e6), -1.0), Attr("max_val", Float(-1e6), 1.0))
            ),
            Importer("onnx", "Clip", _onnx_hardtanh),
        ),
    ),
    OpDef(
        name="softmax",
        summary="softmax over a dimension (0 = channels/features)",
        attrs=(Attr("dim", Int(0, 8), 0, "dimension, not counting the batch"),),
        shape=_softmax_shape,
        cost=_per_element,
        module=_softmax_lower,
        saves=SAVES_OUTPUT,
        backward=no_backward_macs,
        receptive_field=lambda a: SAME if a["dim"] == 0 else GLOBAL,  # over a spatial dim: every unit
        kernel=kernel_is("elementwise"),
        counted=only(ptflops=per_output(1), thop=_softmax_thop),
        imports=(
            *imports("torch", "nn.Softmax", "F.softmax", "torch.softmax", "Tensor.softmax")(_softmax_import),
            Importer("onnx", "Softmax", _onnx_softmax),
        ),
    ),
    OpDef(
        name="dropout",
        summary="dropout (the identity at inference: zero cost)",
        attrs=(Attr("p", Float(0.0, 1.0), 0.5),),
        shape=_same,
        cost=_free,
        # training on CPU keeps a mask in the input's dtype (4 bytes at float32; the fused CUDA
        # kernel keeps a bool one); at inference, or with p = 0, it returns its input itself
        saves=Saves(like_output=(4,)),
        memory=MemoryFacts(view=lambda a, training: not training or a["p"] == 0.0),
        module=_dropout_lower,
        imports=imports("torch", "nn.Dropout", "F.dropout")(_dropout_import),
        backward=no_backward_macs,
        receptive_field=same,
        kernel=kernel_is("view"),
        counted=NOTHING,
    ),
    OpDef(
        name="identity",
        summary="passes its input through (zero cost)",
        attrs=(),
        shape=_same,
        cost=_free,
        module=_identity_lower,
        imports=(
            *imports("torch", "nn.Identity")(lambda found: {}),
            *imports("torch", "torch.cat", "torch.concat")(_one_tensor),
        ),
        saves=Saves(),
        memory=MemoryFacts(view=always, grad_view=True),
        backward=no_backward_macs,
        receptive_field=same,
        kernel=kernel_is("view"),
        counted=NOTHING,
    ),
)
