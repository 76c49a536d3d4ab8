"""The op registry: one :class:`OpDef` per op, registered once.

An op is a name plus its attributes (with types and defaults), a pure *shape rule* over
shapes without the batch dimension, a *cost rule*, and a *lowering* to PyTorch, declared as
data (a :class:`Construct`: the module's class and constructor arguments) so that the same
declaration builds the module (imports torch only then) and writes it as Python source
(``archscope export --to pytorch``). Beside those rules an op declares the facts that passes and the
PyTorch backend need about it (in-place safety, extra outputs, what backward saves, how the
reference counter measures it), so that no code outside the op's family file names the op.
Family files (``conv.py``, ``pool.py``…) define and register their ops; :mod:`archscope.ops`
imports every family explicitly, in one place.
"""

from __future__ import annotations

import bisect
import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, NamedTuple, Protocol

from archscope.limits import take_suggestion

Shape = tuple[int, ...]
Attrs = Mapping[str, Any]

MAX_DIM = 2**31  # largest size, channel count or kernel we accept
FLOAT32_MAX = 3.4028234663852886e38  # the largest finite float32


class AttrError(Exception):
    def __init__(self, expected: str, found: Any):
        super().__init__(expected)
        self.expected = expected
        self.found = found


class _Required:
    def __repr__(self) -> str:
        return "required"


REQUIRED: Any = _Required()


# ---- attribute types: each takes a plain value and returns it normalised, or raises AttrError


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


@dataclass(frozen=True)
class Int:
    min: int = 0
    max: int = MAX_DIM
    name: str = "integer"

    def __call__(self, v: Any) -> int:
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if not _is_int(v):
            raise AttrError(self.describe(), v)
        if not self.min <= v <= self.max:
            raise AttrError(self.describe(), v)
        checked: int = v
        return checked

    def describe(self) -> str:
        return f"an integer ≥ {self.min}" if self.max == MAX_DIM else f"an integer in {self.min}..{self.max}"

    accepts_str = False


@dataclass(frozen=True)
class Float:
    """A number in [min, max]; with ``above_min``, in (min, max] (batch norm's ``eps`` > 0). A
    finite one is at most :data:`FLOAT32_MAX` in size: torch takes it as a float32."""

    min: float = 0.0
    max: float = float("inf")
    above_min: bool = False

    def __call__(self, v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not self.min <= v <= self.max:
            raise AttrError(self.describe(), v)
        if self.above_min and v == self.min:
            raise AttrError(self.describe(), v)
        try:
            value = float(v)
        except OverflowError:  # an integer beyond 1.8e308
            raise AttrError("a number below 1.8e308", v) from None
        if math.isfinite(value) and abs(value) > FLOAT32_MAX:
            # torch makes it a float32 scalar: "value cannot be converted to type float without overflow"
            raise AttrError("a number of at most 3.4e38 in size, or infinite (torch keeps it as a float32)", v)
        return value

    def describe(self) -> str:
        return f"a number in {'(' if self.above_min else '['}{self.min}, {self.max}]"

    accepts_str = False


@dataclass(frozen=True)
class Bool:
    def __call__(self, v: Any) -> bool:
        if not isinstance(v, bool):
            raise AttrError("true or false", v)
        return v

    def describe(self) -> str:
        return "true or false"

    accepts_str = False


@dataclass(frozen=True)
class Sizes:
    """An integer, or a list of integers (one per spatial dimension)."""

    min: int = 1
    length: tuple[int, ...] = (1, 2)
    words: tuple[str, ...] = ()

    def __call__(self, v: Any) -> int | tuple[int, ...] | str:
        if isinstance(v, str) and v in self.words:
            return v
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if _is_int(v) and self.min <= v <= MAX_DIM:
            size: int = v
            return size
        if isinstance(v, (list, tuple)) and len(v) in self.length:
            if all(_is_int(x) and self.min <= x <= MAX_DIM for x in v):
                return tuple(v)
        raise AttrError(self.describe(), v)

    def describe(self) -> str:
        lens = " or ".join(str(n) for n in self.length)
        words = "".join(f", or `{w}`" for w in self.words)
        return f"an integer ≥ {self.min}, or a list of {lens} such integers{words}"

    @property
    def accepts_str(self) -> bool:
        return bool(self.words)


@dataclass(frozen=True)
class Scales:
    """A positive number, or a list of positive numbers (one per spatial dimension)."""

    length: tuple[int, ...] = (1, 2, 3)
    max: float = 1024.0

    def _one(self, v: Any) -> bool:
        return not isinstance(v, bool) and isinstance(v, (int, float)) and 0 < v <= self.max

    def __call__(self, v: Any) -> float | tuple[float, ...]:
        if self._one(v):
            return float(v)
        if isinstance(v, (list, tuple)) and len(v) in self.length and all(self._one(x) for x in v):
            return tuple(float(x) for x in v)
        raise AttrError(self.describe(), v)

    def describe(self) -> str:
        lens = " or ".join(str(n) for n in self.length)
        return f"a number in (0, {self.max:g}], or a list of {lens} such numbers"

    accepts_str = False


@dataclass(frozen=True)
class Choice:
    values: tuple[str, ...]

    def __call__(self, v: Any) -> str:
        if v not in self.values:
            raise AttrError(self.describe(), v)
        chosen: str = v
        return chosen

    def describe(self) -> str:
        return "one of " + ", ".join(f"`{x}`" for x in self.values)

    accepts_str = True


class AttrType(Protocol):
    """An attribute's checker (``Int``, ``Sizes``, …): converts a written value or raises
    :class:`AttrError`, and says in words what it accepts."""

    def __call__(self, v: Any) -> Any: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Attr:
    name: str
    type: AttrType
    default: Any = REQUIRED
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class Cost:
    """Cost of one layer for one input (batch 1).

    ``macs``: multiply-accumulates of conv and linear weights only (1 fused multiply-add = 1).
    ``ops``: every other elementary operation (normalisation, activation, pooling, merges,
    bias adds), kept apart so that it is never mixed into MACs silently.
    """

    params: int = 0
    buffers: int = 0
    macs: int = 0
    ops: int = 0


@dataclass(frozen=True)
class ShapeWarning:
    code: str
    message: str


def no_warnings(attrs: Attrs, inputs: Sequence[Shape]) -> list[ShapeWarning]:
    return []


@dataclass(frozen=True)
class ExtraOutput:
    """An output beyond the op's main one; ``itemsize`` is the bytes per element (int64 indices:
    8). ``shape``: its shape rule, given the attributes and input shapes (None: the main
    output's shape). The lowered module then returns the tuple ``(main, *extras)``: extra
    output ``i`` is element ``i + 1`` of it, and a layer references it as ``name.<i + 1>`` or
    ``name.<its name>`` (``name.0`` is the main output)."""

    name: str
    itemsize: int
    shape: Callable[[Attrs, Sequence[Shape]], Shape] | None = None


def no_extra_outputs(attrs: Attrs) -> tuple[ExtraOutput, ...]:
    return ()


@dataclass(frozen=True)
class Saves:
    """What autograd keeps from the forward pass for the backward pass (training memory).

    ``inputs``: which inputs (0-based) are kept; ``output``: whether the output is kept;
    ``per_channel``: float32 values kept per output channel (batch norm's mean and inverse
    std: 2); ``like_output``: bytes per output element of every other tensor kept (max
    pooling's int64 indices: 8, dropout's bool mask: 1, one float32 intermediate: 4).
    Parameters are not listed: they are kept anyway.
    """

    inputs: tuple[int, ...] = ()
    output: bool = False
    per_channel: int = 0
    like_output: tuple[int, ...] = ()
    # inputs kept only when the layer's own parameters train (a linear layer's input serves its
    # weight gradient alone; PyTorch skips saving it when the weight is frozen)
    inputs_for_weights: tuple[int, ...] = ()
    # run in place, it keeps a copy of its input (made before it is overwritten) rather than the
    # shared tensor: `hardtanh_` (relu6) does; `relu_` and `leaky_relu_` keep their output instead
    copies_in_place: bool = False


def never(attrs: Attrs, training: bool) -> bool:
    return False


def always(attrs: Attrs, training: bool) -> bool:
    return True


@dataclass(frozen=True)
class MemoryFacts:
    """What an op allocates beyond its outputs and what it keeps, for the memory model
    (passes/memory.py); measured for every op against PyTorch's MemTracker.

    ``view(attrs, training)``: the main output is a view of the first input, or the input itself
    (flatten, identity, split's chunks; dropout at inference): it takes no new memory and keeps
    the input's alive. ``grad_view``: the gradient it passes to its inputs is its output's
    gradient itself or a view of it (add passes it through, concat narrows it), not a new tensor.
    ``transient(attrs)``: bytes per output element of tensors alive only while the op runs when it keeps
    nothing for backward (adaptive max pooling computes its int64 indices even at inference, and
    discards them; in training they are what it keeps, ``Saves.like_output``). The default: a fresh output,
    fresh input gradients, nothing else.
    """

    view: Callable[[Attrs, bool], bool] = never
    grad_view: bool = False
    transient: Callable[[Attrs], int] = lambda attrs: 0
    # tensors the size of its output, in the dtype, alive only while its backward runs (beyond
    # the gradients it returns): instance norm's backward copies the reshaped gradient
    backward_temporaries: int = 0


FRESH = MemoryFacts()


class Backward(NamedTuple):
    """Multiply-accumulates of one layer's backward pass (batch 1), in the convention of ``Cost.macs``.

    ``input_macs``: to compute the gradient with respect to its inputs, paid only when one of
    them requires grad (a trainable parameter lies upstream); ``weight_macs``: with respect to
    its parameters, paid only when the layer trains (it is not frozen).
    """

    input_macs: int
    weight_macs: int


def no_backward_macs(attrs: Attrs, inputs: Sequence[Shape], out: Shape) -> Backward:
    """Declared zero: the op's backward has no conv/linear multiply-accumulates (its work is
    elementwise, like its forward's ``ops``), and ``torch.utils.flop_counter`` counts none."""
    return Backward(0, 0)


@dataclass(frozen=True)
class CounterHandle:
    """A count the reference counter (fvcore) lacks for an aten operator this op calls."""

    operator: str  # `aten::…`
    count: Callable[[list[Any], list[Any]], int]  # fvcore handle: (inputs, outputs) → multiply-adds
    note: str  # said on every layer where it was used


@dataclass(frozen=True)
class Reference:
    """How ``verify`` measures a layer of this op with the reference counter (fvcore).

    ``untraceable``: why fvcore cannot trace the op (then ``torch.utils.flop_counter`` counts
    it); ``handles``: counts fvcore lacks; ``inputs``: makes the layer's input tensors from its
    attributes, static input shapes and a batch size, when random floats are not valid inputs
    (imports torch when called); None: random floats.
    """

    untraceable: str = ""
    handles: tuple[CounterHandle, ...] = ()
    inputs: Callable[[Attrs, Sequence[Shape], int], list[Any]] | None = None
    # what torch.utils.flop_counter counts for the layer's backward, where it differs from the op's
    # `backward` (None: it counts exactly that); the op's docstring says why
    backward: Callable[[Attrs, Sequence[Shape], Shape], Backward] | None = None


TRACED = Reference()  # fvcore traces the op on random float inputs


# The kinds of kernel a layer runs at inference, for the roofline and `predict` (archscope/roofline.py):
# calibration fits how close each kind comes to the device's roofs, on synthetic layers.
KERNELS: dict[str, str] = {
    "gemm": "a dense convolution or matrix product (one GEMM-like kernel)",
    "grouped": "a grouped or depthwise convolution",
    "pool": "a sliding-window or global pooling",
    "norm": "a normalisation (at inference: per-channel statistics or a reduction)",
    "elementwise": "an elementwise map or merge (activations, add, mul)",
    "copy": "moves data without arithmetic (concat, padding, upsampling, shuffles)",
    "view": "moves no data: its output is a view of its input (flatten, identity, dropout at inference)",
}


def kernel_is(kind: str) -> Callable[[Attrs], str]:
    """The ``kernel`` fact of an op whose kind does not depend on its attributes."""
    if kind not in KERNELS:
        raise ValueError(f"unknown kernel kind `{kind}`: one of {', '.join(KERNELS)}")
    return lambda attrs: kind


Count = int | Fraction  # a tool's count for one layer; a Fraction where the tool's own arithmetic is fractional
CountRule = Callable[[Attrs, Sequence[Shape], Shape], Count]


@dataclass(frozen=True)
class Counted:
    """What each peer counting tool counts for one layer of this op (batch 1), on the module the op's
    ``lower`` builds: the rules ``--convention`` sums (:mod:`archscope.passes.conventions`). One field
    per tool, each ``(attrs, input shapes, output shape) -> count`` in the tool's unit (MACs, or
    FLOPs for ``flop_counter``); the op's docstring says why. ``torchvision``, archscope's own
    convention, is ``Cost.macs`` and is not repeated here. Proven against each tool's headline
    number on every bundled spec (tests/passes/test_torch_conventions.py).
    """

    fvcore: CountRule  # FlopCountAnalysis(...).total()
    ptflops: CountRule  # get_model_complexity_info(...)'s MACs, pytorch backend
    thop: CountRule  # profile(...)'s MACs
    torchinfo: CountRule  # summary(...).total_mult_adds
    flop_counter: CountRule  # torch.utils.flop_counter.FlopCounterMode: FLOPs


@dataclass(frozen=True)
class Construct:
    """One layer's PyTorch module, as data: a class and the arguments of its constructor.

    An op declares it once (``OpDef.module``); :meth:`build` makes the module (``OpDef.lower``)
    and :meth:`source` writes the same call as Python (``nn.Conv2d(3, 64, 7, stride=2)``), so a
    built network and its exported source cannot disagree. ``cls`` names a ``torch.nn`` class,
    or, with ``helper``, a class of :mod:`archscope.ops.torch_modules` (an exported file carries
    that class's source).
    """

    cls: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()
    helper: bool = False

    def module_class(self) -> type[Any]:
        """The class (imports torch)."""
        if self.helper:
            from archscope.ops import torch_modules

            helper: type[Any] = getattr(torch_modules, self.cls)
            return helper
        from torch import nn

        cls: type[Any] = getattr(nn, self.cls)
        return cls

    def build(self) -> Any:
        return self.module_class()(*self.args, **dict(self.kwargs))

    def with_kwargs(self, **kwargs: Any) -> Construct:
        return replace(self, kwargs=tuple({**dict(self.kwargs), **kwargs}.items()))

    def source(self) -> str:
        """The constructor call as Python source; keyword arguments equal to the constructor's
        defaults are left out (imports torch, to read the signature)."""
        import inspect

        params = inspect.signature(self.module_class().__init__).parameters
        shown = [
            f"{k}={python_literal(v)}"
            for k, v in self.kwargs
            if k not in params or params[k].default is inspect.Parameter.empty or not _same_value(params[k].default, v)
        ]
        prefix = "" if self.helper else "nn."
        return f"{prefix}{self.cls}(" + ", ".join([python_literal(a) for a in self.args] + shown) + ")"


def module(cls: str, *args: Any, **kwargs: Any) -> Construct:
    """A ``torch.nn`` module: ``module("Conv2d", 3, 64, 7, stride=2)``."""
    return Construct(cls, args, tuple(kwargs.items()))


def helper_module(cls: str, *args: Any, **kwargs: Any) -> Construct:
    """A module of :mod:`archscope.ops.torch_modules`: ``helper_module("Add")``."""
    return Construct(cls, args, tuple(kwargs.items()), helper=True)


def _same_value(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b or (a is None and b is None)


_LITERAL_ESCAPES = {"\\": "\\\\", '"': '\\"'}


def _char_literal(c: str) -> str:
    return c if c.isprintable() else c.encode("unicode_escape").decode("ascii")


def python_literal(v: Any) -> str:
    """``v`` (a number, string, boolean, None, or a tuple or list of them) as Python source that
    evaluates to it: a string's quote, backslash and unprintable characters are escaped, an
    infinite or NaN float is ``float("inf")``."""
    if isinstance(v, str):  # every character that could end the literal or the line, escaped
        return '"' + "".join(_LITERAL_ESCAPES.get(c) or _char_literal(c) for c in v) + '"'
    if isinstance(v, float) and not math.isfinite(v):  # repr gives `inf`, a name in Python source
        return f'float("{v!r}")'
    if isinstance(v, tuple):
        inner = ", ".join(python_literal(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, list):
        return "[" + ", ".join(python_literal(x) for x in v) + "]"
    if v is None or isinstance(v, (bool, int, float)):
        return repr(v)
    raise TypeError(f"no Python literal for {v!r}")


class Unsupported(Exception):
    """A part of a foreign network has arguments its op cannot express; the message says which
    (``archscope import`` reports it as E301 at the part's place)."""


@dataclass(frozen=True)
class Weight:
    """A learned tensor a part of the source reads directly, as an import rule sees it: a
    parameter used in a ``forward`` (``x * self.gamma``), an ONNX initializer (a Conv's ``W``)."""

    name: str
    shape: Shape


@dataclass(frozen=True)
class Found:
    """A part of a foreign network, as an importer found it (``archscope import``).

    ``obj``: the PyTorch module (None for a function or method call) or the ONNX node's attributes
    (a dict); ``args``/``kwargs``: the call's arguments, each tensor replaced by its index among
    ``inputs``; ``inputs``/``out``: static shapes without the batch dimension (``out``: the main
    output); ``weights``: ONNX initializer shapes, by the node's input index.

    For an ONNX node, ``args`` are its inputs in order: a tensor of the network → its index among
    ``inputs``; a learned initializer (a Conv's ``W`` and ``B``, a Mul's per-channel weight) → a
    :class:`Weight`, also in ``weights``; another constant (Clip's
    bounds, Resize's scales, Pad's pads, values computed from shapes alone) → its value as Python
    numbers and lists; an absent optional input or a large constant → None. ``kwargs``: ``opset``,
    ``outputs`` (how many outputs the node has) and ``shapes`` (each node's first output shape). For
    a pattern of several nodes (an :class:`Importer` target ``Div>Erf>Add>Mul>Mul``), ``obj`` and
    ``args`` are tuples with one entry per node, a value made inside the pattern is None, and
    ``weights`` is empty (the weights are in ``args``).
    """

    obj: Any = None
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    inputs: tuple[Shape, ...] = ()
    out: Shape = ()
    weights: Mapping[int, Shape] = field(default_factory=dict)

    def learned(self) -> list[Weight]:
        """The learned tensors among the arguments (``self.gamma`` in ``x * self.gamma``), in order."""
        return [a for a in (*self.args, *self.kwargs.values()) if isinstance(a, Weight)]

    def arg(self, index: int, name: str, default: Any = REQUIRED) -> Any:
        """The argument at position ``index`` or keyword ``name`` (``default`` when absent)."""
        if index < len(self.args):
            return self.args[index]
        if name in self.kwargs:
            return self.kwargs[name]
        if default is REQUIRED:
            raise Unsupported(f"no `{name}` argument")
        return default


@dataclass(frozen=True)
class Importer:
    """How a part of a foreign network becomes a layer of this op (``archscope import``).

    ``front``: ``torch`` or ``onnx``. ``target``, for ``torch``: a module class ``nn.Conv2d`` (its
    exact class: a subclass may change ``forward``), an archscope helper ``archscope:Add`` (a class
    of :mod:`archscope.ops.torch_modules`, or a copy of its source in an exported file), a function
    ``torch.cat`` / ``F.relu`` / ``operator.add``, or a tensor method ``Tensor.flatten``; for
    ``onnx``: the node's ``op_type`` (``Conv``), or a pattern of nodes ``Sigmoid>Mul``: a chain in
    which each node reads the one before it, whose inner values nothing else reads (the importer
    tries the longest patterns at a node first, then its single op_type). ``attrs(found)`` gives the
    layer's attributes, or raises :class:`Unsupported`.
    """

    front: str
    target: str
    attrs: Callable[[Found], dict[str, Any]]


def imports(front: str, *targets: str) -> Callable[[Callable[[Found], dict[str, Any]]], tuple[Importer, ...]]:
    """``imports("torch", "nn.ReLU", "F.relu")(rule)``: one rule for several targets."""
    return lambda rule: tuple(Importer(front, t, rule) for t in targets)


def same_attrs(
    *attrs: Attr, check: Callable[[Found], None] | None = None, first: int = 1
) -> Callable[[Found], dict[str, Any]]:
    """A rule for an op whose attributes are the PyTorch module's attributes of the same names,
    or the function's arguments after its ``first`` tensor ones (``F.leaky_relu(x, 0.2)``), in
    order; an absent argument takes the attribute's default. ``check`` raises :class:`Unsupported`
    for arguments the op cannot express."""

    def rule(found: Found) -> dict[str, Any]:
        if check is not None:
            check(found)
        out: dict[str, Any] = {}
        for i, a in enumerate(attrs):
            if found.obj is not None:
                v = getattr(found.obj, a.name, a.default)
            else:
                v = found.arg(first + i, a.name, a.default)
            if v is REQUIRED:
                raise Unsupported(f"no `{a.name}`")
            if v != a.default or a.required:
                out[a.name] = v
        return out

    return rule


def compact(v: Any) -> Any:
    """A PyTorch size as a spec writes it: ``(3, 3)`` → ``3``; ``[1, 2]`` stays a list."""
    if isinstance(v, (tuple, list)):
        v = [compact(x) for x in v]
        return v[0] if v and all(x == v[0] for x in v) else v
    return v


def no_attrs(found: Found) -> dict[str, Any]:
    """The rule of an op without attributes (relu, add…)."""
    return {}


class Source(NamedTuple):
    """The layer that produces one of an op's inputs, as ``check_inputs`` sees it."""

    op: str
    attrs: Attrs
    inputs: tuple[Shape, ...]  # the source's own input shapes


@dataclass(frozen=True)
class OpDef:
    name: str
    summary: str
    attrs: tuple[Attr, ...]
    shape: Callable[[Attrs, Sequence[Shape]], Shape]
    cost: Callable[[Attrs, Sequence[Shape], Shape], Cost]
    # its PyTorch module for one layer, as data: built by `lower`, written as source by `export`
    module: Callable[[Attrs, Sequence[Shape], Shape], Construct]
    inputs: tuple[int, int | None] = (1, 1)
    weighted: bool = False  # a conv/linear layer: counts towards a network's depth
    warnings: Callable[[Attrs, Sequence[Shape]], list[ShapeWarning]] = no_warnings
    # optional: checks which layers feed this op, given each input's source (its op, attributes and
    # input shapes)
    check_inputs: Callable[[Attrs, Sequence[Source]], None] | None = None
    # may run in place on its first input (its backward needs its output or nothing); the module
    # the lowering returns then has an `inplace` attribute
    inplace: bool = False
    # an in-place consumer may overwrite its output: autograd saves its inputs, not its output,
    # and the output is a fresh tensor, not a view of an input
    overwritable_output: bool = False
    # outputs beyond the main one, given the attributes
    extra_outputs: Callable[[Attrs], tuple[ExtraOutput, ...]] = no_extra_outputs
    # (input index, extra output name): that input takes the named extra output of its source
    takes: tuple[tuple[int, str], ...] = ()
    saves: Saves | None = None  # None: undeclared (a test requires every op to declare it)
    memory: MemoryFacts = FRESH  # views, pass-through gradients, transient tensors: for the memory model
    # the MACs of its backward pass: (input gradient, weight gradient); None: undeclared (a test
    # requires every op to declare it; `no_backward_macs` declares zero)
    backward: Callable[[Attrs, Sequence[Shape], Shape], Backward] | None = None
    reference: Reference = TRACED
    # what each output unit reads, per spatial dim (ops/field.py): attrs → Field; None: undeclared
    # (a test requires every op to declare it)
    receptive_field: Callable[[Attrs], Any] | None = None
    # how it combines several inputs, as a diagram labels the edges into it (`archscope draw`):
    # `residual` (a sum), `concat`, `scale` (a product); "" for an op that does not merge inputs
    # (an op of several inputs declares it, or takes an extra output: tests/ops/test_op_facts.py)
    merge: str = ""
    # which kind of kernel the layer runs at inference (a key of KERNELS): attrs → kind; None:
    # undeclared (a test requires every op to declare it). A `view` moves no data (roofline bytes 0)
    kernel: Callable[[Attrs], str] | None = None
    # what each peer counting tool counts for a layer (--convention); None: undeclared (a test requires
    # every op to declare it)
    counted: Counted | None = None
    # how parts of foreign networks (PyTorch modules and calls, ONNX nodes) become layers of this op
    imports: tuple[Importer, ...] = ()
    defined_at: str = field(default="", compare=False)

    def lower(self, attrs: Attrs, inputs: Sequence[Shape], out: Shape) -> Any:
        """The layer's PyTorch module (imports torch): its declared ``module``, built."""
        return self.module(attrs, inputs, out).build()

    def attr(self, name: str) -> Attr | None:
        for a in self.attrs:
            if a.name == name:
                return a
        return None


REGISTRY: dict[str, OpDef] = {}


class RegistryError(Exception):
    pass


def register(*ops: OpDef) -> None:
    """Register ops. Registering a name twice is an error that names both places."""
    caller = sys._getframe(1)
    where = f"{caller.f_code.co_filename}:{caller.f_lineno}"
    for op in ops:
        if op.name in REGISTRY:
            raise RegistryError(f"op `{op.name}` registered twice: at {REGISTRY[op.name].defined_at} and at {where}")
        object.__setattr__(op, "defined_at", where)
        REGISTRY[op.name] = op


MAX_COMPARED = 64  # names one "did you mean" compares (difflib: 10–30 µs each)
MAX_NAME = 80  # longer names get no suggestion (difflib's time grows with the product of the lengths)


class Names:
    """The "did you mean" index of names looked up many times (a scope's layers): build it
    once, then ``near(name)`` per unknown name.

    A lookup compares ``name`` with at most :data:`MAX_COMPARED` names, as
    ``difflib.get_close_matches`` does (ratio ≥ 0.6, the best). With more names than that, those
    compared are ``name``'s neighbours in the names sorted as spelt and sorted by their spelling
    backwards, half each: the names that share the longest start or the longest end with it, which
    a typo (a letter changed, dropped, doubled or swapped) leaves intact on one side. The sorted
    lists are made on the first such lookup, once. An analysis runs at most
    :data:`archscope.limits.MAX_SUGGESTIONS` lookups (:func:`archscope.limits.take_suggestion`);
    after them, and for a name longer than :data:`MAX_NAME`, ``near`` answers None at no cost."""

    def __init__(self, *pools: Iterable[str]) -> None:
        self._pools = pools  # read on first use: an index that is never asked costs nothing
        self._all: dict[str, None] | None = None
        self._short: list[str] | None = None
        self._sorted: tuple[list[str], list[str]] | None = None

    def _names(self) -> dict[str, None]:
        if self._all is None:
            self._all = dict.fromkeys(n for pool in self._pools for n in pool)
        return self._all

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def near(self, name: str) -> str | None:
        if len(name) > MAX_NAME or not take_suggestion():
            return None
        import difflib  # only on the error path: keeps it (and heapq) out of every start-up

        matches = difflib.get_close_matches(name, self._compared(name), n=1, cutoff=0.6)
        return matches[0] if matches else None

    def _compared(self, name: str) -> list[str]:
        if self._short is None:  # a name 3× longer than MAX_NAME is never close enough (ratio < 0.6)
            self._short = [n for n in self._names() if len(n) <= 3 * MAX_NAME]
        if len(self._short) <= MAX_COMPARED:
            return self._short
        if self._sorted is None:
            self._sorted = sorted(self._short), sorted(n[::-1] for n in self._short)
        forward, backward = self._sorted
        return list(dict.fromkeys(_around(forward, name) + [n[::-1] for n in _around(backward, name[::-1])]))


def _around(ordered: list[str], name: str) -> list[str]:
    """The MAX_COMPARED / 2 names nearest ``name``'s place in ``ordered``."""
    half = MAX_COMPARED // 2
    start = min(max(bisect.bisect_left(ordered, name) - half // 2, 0), max(len(ordered) - half, 0))
    return ordered[start : start + half]


def suggest(name: str, *candidates: Iterable[str]) -> str | None:
    """The name in ``candidates`` (one or more collections) nearest ``name``, or None: a one-off
    lookup (:class:`Names`); the collections are read only when the lookup runs."""
    return Names(*candidates).near(name)


def numel(shape: Shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def fmt_shape(shape: tuple[int | str, ...] | None) -> str:
    """``(1, 3, 224, 224)``; ``?`` for no shape; a ``*`` in it stands for any size."""
    if shape is None:
        return "?"
    return f"({shape[0]},)" if len(shape) == 1 else "(" + ", ".join(str(d) for d in shape) + ")"
