"""Elementwise activations (softmax is :mod:`archscope.ops.softmax`; dropout and identity,
:mod:`archscope.ops.passthrough`).

Cost: no params, no MACs; ``ops`` = 1 per output element for every activation. Every op here
accepts any rank. ``relu``, ``relu6`` and ``leaky_relu`` may run in place, as
torchvision's do: their backward needs their output (in place) or their input (out of place).
``hardtanh`` may run in place as ``relu6`` (its special case) does; ``prelu``, whose slopes
are learned, is :mod:`archscope.ops.prelu`. What backward saves is read off the autograd node PyTorch 2 builds (its
``_saved_*`` fields, generated from ``tools/autograd/derivatives.yaml``): elu, mish, softplus,
hardtanh and prelu keep their input (``_saved_self``; prelu also its weight, a parameter).
Backward MACs: declared zero for every op here (their backward is elementwise, as their
forward; prelu's slope gradient is a sum); torch.utils.flop_counter counts none of it.
Peer tools (``counted``, per element): fvcore, torchinfo and flop_counter count no activation
(torchinfo counts prelu's slopes: its parameters × batch). ptflops counts a module hook (relu,
relu6, leaky_relu, elu, gelu, prelu: 1) plus the ``torch.nn.functional`` calls it patches
(F.relu, F.elu, F.gelu, F.prelu, F.silu: 1 more), and nn.ReLU calls F.relu: so relu, elu, gelu
and prelu count 2, relu6 and leaky_relu 1 (F.hardtanh and F.leaky_relu are not patched), silu
1, the others 0. thop: prelu 1 (``count_prelu`` in eval mode), the others 0 (relu, relu6 and
leaky_relu have rules that count 0; the rest no rule).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from archscope.diagnostics import ShapeError
from archscope.ops.attrs import Attr, Float
from archscope.ops.construct import Construct
from archscope.ops.construct import module as nn_module
from archscope.ops.counting import NOTHING, only, per_output
from archscope.ops.import_rules import Found, Importer, Unsupported, imports, same_attrs
from archscope.ops.receptive_field import same
from archscope.ops.registry import (
    Attrs,
    Cost,
    OpDef,
    Saves,
    Shape,
    kernel_is,
    no_backward_macs,
    numel,
    register,
)


def _same(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    return inputs[0]


def _per_element(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost(ops=numel(out))


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
)
